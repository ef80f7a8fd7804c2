"""Where results go for people to read: the port and its file adapters."""
