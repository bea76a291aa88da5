"""Passwords: argon2id hashes, and a dummy check so unknown accounts take as long as known ones."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 256  # argon2 hashes anything, but an enormous password is a cheap way to burn CPU

# argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): a login costs tens of milliseconds and
# 19 MiB, so concurrent logins cannot exhaust a small server's memory as 64 MiB each would.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# A hash of a throwaway password with the same parameters, precomputed (hashing it at import would cost every
# process 19 MiB of peak memory at start).
_DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$VZNOxbC5warIooaEqBYaLw$xoP/FXxMdUNVibLgjPyVzNkVyub5KQyDgGUMufFqX4U"


def check_strength(password) -> str:
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValidationFailed(f"The password must be {MIN_LENGTH} to {MAX_LENGTH} characters long.")
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown account) the same work is done and False returned."""
    if not isinstance(password, str) or len(password) > MAX_LENGTH:
        password = ""
    return await asyncio.to_thread(_verify, password_hash, password)
