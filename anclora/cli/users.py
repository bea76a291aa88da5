"""`anclora users …` commands."""

from __future__ import annotations

import argparse
import getpass
import sys

from ..errors import AncloraError


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise AncloraError("The passwords differ.")
    return first


async def _create_admin(ctx, args: argparse.Namespace) -> int:
    from ..accounts.service import create_admin

    try:
        user = await create_admin(ctx, args.email, _read_password(args))
    except AncloraError as error:
        print(f"anclora: {error.message}", file=sys.stderr)
        return 1
    print(f"{user.email} is an administrator (id {user.id})")
    return 0


def add_commands(subparsers) -> None:
    from . import with_context

    users = subparsers.add_parser("users", help="manage accounts")
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    admin = actions.add_parser("create-admin", help="create an administrator, or make an account one")
    admin.add_argument("email")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    admin.set_defaults(func=with_context(_create_admin))
