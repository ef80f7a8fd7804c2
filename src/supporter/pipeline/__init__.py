"""Stages, the worker loop that runs them, retries and dead letters, and the orchestrator."""
