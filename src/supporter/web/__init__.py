"""The review screen of `supporter serve`, and the application that carries it and the API."""
