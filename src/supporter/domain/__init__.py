"""Pydantic models, messages and pure functions: no I/O at all."""
