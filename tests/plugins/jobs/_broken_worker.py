"""A worker script that cannot even be imported, for the warm-worker tests."""

raise ImportError("the broken worker's library is missing")
