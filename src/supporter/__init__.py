"""Supporter: classify support tickets and draft replies grounded in payment transactions."""

__version__ = "0.1.0"
