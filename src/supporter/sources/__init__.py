"""Where tickets and transactions come from: the ports and their adapters."""
