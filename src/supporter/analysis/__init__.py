"""What the analyze stage works with: the ticket taxonomy, rules and checks."""
