"""The HTTP API of `supporter serve`, versioned under /api/v1."""
