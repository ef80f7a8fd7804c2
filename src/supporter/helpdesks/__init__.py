"""Helpdesk connectors: the port in base.py, one module per helpdesk."""
