"""Drafting replies and holding them to the customer's real transactions."""
