"""Accounts: register, sign in, verify an e-mail address, reset and change a password.

Unknown and known e-mail addresses get the same answers in the same time: argon2 runs on a dummy hash for
unknown accounts, and mails go out in the background.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..db.base import iso, new_id, utcnow
from ..db.models import EmailToken, User
from ..errors import BadRequest, Unauthorized, ValidationFailed
from .. import mail
from . import passwords, sessions, throttle, tokens

if TYPE_CHECKING:
    from ..context import AppContext

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
VERIFY_TTL = dt.timedelta(days=2)
RESET_TTL = dt.timedelta(hours=1)


def normalize_email(email: Any) -> str:
    email = email.strip().lower() if isinstance(email, str) else ""
    if not _EMAIL.match(email):
        raise ValidationFailed("A valid e-mail address is required.")
    return email


def alias_key(email: str) -> str:
    """One key for every alias of a mailbox (plus tags, Gmail's dots), to spot self-referrals."""
    local, _, domain = email.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "is_verified": user.is_verified, "is_admin": user.is_admin,
            "level": user.level, "points": user.points, "plan": user.plan, "referral_code": user.referral_code,
            "created_at": iso(user.created_at)}


async def _email_token(session, user: User, purpose: str, ttl: dt.timedelta) -> str:
    token = tokens.new_secret()
    session.add(EmailToken(user_id=user.id, purpose=purpose, token_hash=tokens.digest(token),
                           expires_at=utcnow() + ttl))
    return token


async def _referrer(session, code: Any, email: str, address: str) -> str | None:
    """The referring user's id, unless the code is unknown or the referral is to oneself."""
    if not isinstance(code, str) or not code:
        return None
    referrer = (await session.execute(select(User).where(User.referral_code == code))).scalar_one_or_none()
    if referrer is None or referrer.signup_address == address or alias_key(referrer.email) == alias_key(email):
        return None
    return referrer.id


async def register(ctx: "AppContext", email: Any, password: Any, address: str, referral_code: Any = None) -> dict:
    email = normalize_email(email)
    passwords.check_strength(password)
    await throttle.per_address(ctx, "register", address, throttle.REGISTRATIONS_PER_ADDRESS)
    password_hash = await passwords.hash_password(password)
    async with ctx.sessionmaker() as session:
        user = User(id=new_id(), email=email, password_hash=password_hash, signup_address=address,
                    referral_code=secrets.token_urlsafe(9), referred_by_id=await _referrer(
                        session, referral_code, email, address), level=1, points=0, plan="free",
                    is_verified=False, is_admin=False, created_at=utcnow())
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            return _already_registered(ctx, user)
        verify = await _email_token(session, user, "verify", VERIFY_TTL)
        pair = await sessions.issue(session, ctx, user)
        await session.commit()
    mail.send_later(ctx, email, "Confirm your e-mail address",
                    f"Welcome to Anclora.\n\nConfirm your address: {mail.link(ctx, 'verify', verify)}\n")
    return {"user": user_json(user), **pair}


def _already_registered(ctx: "AppContext", phantom: User) -> dict:
    """The answer a new account gets, for an address that has one: the mailbox, not the caller, learns the truth.
    The tokens belong to no account and authenticate nothing."""
    mail.send_later(ctx, phantom.email, "Someone tried to register with your address",
                    "An account already exists for this address. If you forgot its password, reset it: "
                    f"{mail.link(ctx, 'reset-password', '')}\n")
    return {"user": user_json(phantom), **sessions.pair(ctx, phantom.id, tokens.new_secret("rt_"))}


async def login(ctx: "AppContext", email: Any, password: Any, address: str) -> dict:
    email = email.strip().lower() if isinstance(email, str) else ""
    await throttle.check_login(ctx, email, address)
    async with ctx.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
        matched = await passwords.verify_password(user.password_hash if user else None, password)
        if not matched or not user.is_active:
            await throttle.login_failed(ctx, email, address)
            raise Unauthorized("Wrong e-mail address or password.")
        user.last_login_at = utcnow()
        pair = await sessions.issue(session, ctx, user)
        await session.commit()
    await throttle.login_succeeded(ctx, email)
    return {"user": user_json(user), **pair}


async def _use_email_token(session, token: Any, purpose: str) -> User:
    if not isinstance(token, str) or not token:
        raise BadRequest("The token is invalid or expired.")
    row = (await session.execute(select(EmailToken).where(
        EmailToken.token_hash == tokens.digest(token), EmailToken.purpose == purpose))).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise BadRequest("The token is invalid or expired.")
    row.used_at = utcnow()
    return await session.get(User, row.user_id)


async def verify_email(ctx: "AppContext", token: Any) -> dict:
    async with ctx.sessionmaker() as session:
        user = await _use_email_token(session, token, "verify")
        user.is_verified = True
        await session.commit()
    return {"user": user_json(user)}


async def request_reset(ctx: "AppContext", email: Any, address: str) -> None:
    await throttle.per_address(ctx, "reset", address, throttle.RESETS_PER_ADDRESS)
    email = email.strip().lower() if isinstance(email, str) else ""
    async with ctx.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
        if user is None or not user.is_active or not await throttle.reset_mail_allowed(ctx, email):
            return
        token = await _email_token(session, user, "reset", RESET_TTL)
        await session.commit()
    mail.send_later(ctx, email, "Reset your password",
                    f"Choose a new password within the hour: {mail.link(ctx, 'reset-password', token)}\n"
                    "If you did not ask for this, ignore this message.\n")


async def _set_password(session, user: User, password: str) -> None:
    user.password_hash = await passwords.hash_password(password)
    user.tokens_valid_after = utcnow()  # access tokens issued before now stop working
    await sessions.revoke_user(session, user.id)


async def confirm_reset(ctx: "AppContext", token: Any, password: Any) -> None:
    passwords.check_strength(password)
    async with ctx.sessionmaker() as session:
        user = await _use_email_token(session, token, "reset")
        await _set_password(session, user, password)
        user.is_verified = True  # the reset mail proved the mailbox
        await session.commit()


async def change_password(ctx: "AppContext", user_id: str, current: Any, password: Any) -> dict:
    passwords.check_strength(password)
    async with ctx.sessionmaker() as session:
        user = await session.get(User, user_id)
        if not await passwords.verify_password(user.password_hash, current if isinstance(current, str) else ""):
            raise Unauthorized("The current password is wrong.")
        await _set_password(session, user, password)
        pair = await sessions.issue(session, ctx, user)
        await session.commit()
    return {"user": user_json(user), **pair}


async def create_admin(ctx: "AppContext", email: Any, password: Any) -> User:
    """Create a verified administrator, or promote (and re-password) the account with this address."""
    email = normalize_email(email)
    passwords.check_strength(password)
    password_hash = await passwords.hash_password(password)
    async with ctx.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
        if user is None:
            user = User(email=email, referral_code=secrets.token_urlsafe(9), level=1, points=0, plan="free",
                        created_at=utcnow(), password_hash=password_hash)
            session.add(user)
        else:  # a new password ends the account's sign-ins, as any password change does
            user.tokens_valid_after = utcnow()
            await sessions.revoke_user(session, user.id)
        user.password_hash, user.is_admin, user.is_verified, user.is_active = password_hash, True, True, True
        await session.commit()
    return user
