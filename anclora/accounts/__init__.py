"""Accounts: users, sign-in, tokens, API keys, sessions, mail, and the limits of each plan.

Other packages use accounts through what this module exports (`authenticate`, `limits_for`), never its internals.
"""

from .authentication import authenticate
from .limits import limits_for

__all__ = ["authenticate", "limits_for"]
