"""Thin HTTP handlers, one module per resource; each module ends with `default_handlers`."""
