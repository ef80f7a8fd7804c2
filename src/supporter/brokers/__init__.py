"""The broker port and its adapters: how messages travel between stages."""
