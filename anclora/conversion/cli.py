"""`anclora convert`, `anclora formats`, `anclora plugins`."""


def add_commands(subparsers) -> None:
    """Conversion commands are added here."""
