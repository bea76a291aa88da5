"""`anclora users …` commands."""


def add_commands(subparsers) -> None:
    """Accounts add their subcommands here."""
