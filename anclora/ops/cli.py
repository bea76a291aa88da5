"""`anclora ops …` commands."""


def add_commands(subparsers) -> None:
    """Operations add their subcommands here."""
