"""Test and benchmark helpers: an OpenAI-compatible simulator (`fake_llm`)."""
