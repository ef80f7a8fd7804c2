"""Looking up a customer's recent transactions."""
