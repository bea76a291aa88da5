"""Conversion jobs: creating, claiming, running and finishing them; the database row is the only truth."""
