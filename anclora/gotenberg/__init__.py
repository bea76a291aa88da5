"""Gotenberg's HTTP API on our jobs: form parsing and field mapping, the routes' steps, the health shape."""
