"""Where results, attempts and dead letters are kept: the port and its adapters."""
