"""Shared fixtures: the server fixtures plugin authors get from anclora.testing, plus a few of our own."""

pytest_plugins = ["anclora.testing"]
