"""The company's own knowledge: help-center articles and saved replies, parsed into
passages, indexed beside the store, and retrieved for each ticket's reply."""
