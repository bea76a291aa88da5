"""/api/auth: register, log in, refresh, log out, verify an e-mail address, reset a password."""

from __future__ import annotations

from ..accounts import service, sessions, tokens
from ..errors import Unauthorized
from ..openapi import MOMENT, STRING, obj, operation
from .base import APIHandler

USER = obj({"id": STRING, "email": STRING, "is_verified": {"type": "boolean"}, "is_admin": {"type": "boolean"},
            "level": {"type": "integer"}, "points": {"type": "integer"}, "plan": STRING,
            "referral_code": {"type": ["string", "null"]}, "created_at": MOMENT},
           required=("id", "email", "is_verified", "is_admin", "level", "points", "plan"), closed=False)
SIGNED_IN = obj({"user": USER, "access_token": STRING, "refresh_token": STRING, "token_type": {"const": "Bearer"},
                 "expires_in": {"type": "integer"}},
                required=("user", "access_token", "refresh_token", "token_type", "expires_in"), closed=False,
                description="The account and a new token pair.")
EMAIL = PASSWORD = STRING  # (their rules answer 422 with a reason: anclora.accounts)
TOKEN = {"type": "string", "maxLength": 1000}
WEAK = "The e-mail address or password is not acceptable (the message says why)."
THROTTLED = "Too many attempts from this address or for this account; try again after Retry-After."


class RegisterHandler(APIHandler):
    @operation({201: SIGNED_IN, 422: WEAK, 429: THROTTLED},
               body=obj({"email": EMAIL, "password": PASSWORD, "referral_code": {"type": ["string", "null"]}},
                        required=("email", "password")))
    async def post(self) -> None:
        """Create an account; a verification link is mailed."""
        body = self.json_body()
        result = await service.register(self.ctx, body.get("email"), body.get("password"), self.client_address,
                                        body.get("referral_code"))
        self.write_json(result, 201)


class LoginHandler(APIHandler):
    @operation({200: SIGNED_IN, 429: THROTTLED},
               body=obj({"email": EMAIL, "password": PASSWORD}, required=("email", "password")))
    async def post(self) -> None:
        """Sign in with e-mail address and password; returns an access and a refresh token."""
        body = self.json_body()
        self.write_json(await service.login(self.ctx, body.get("email"), body.get("password"), self.client_address))


class RefreshHandler(APIHandler):
    @operation({200: SIGNED_IN}, body=obj({"refresh_token": TOKEN}, required=("refresh_token",)))
    async def post(self) -> None:
        """Trade a refresh token for a new pair; the old refresh token stops working."""
        user, pair = await sessions.rotate(self.ctx, self.json_body().get("refresh_token"))
        self.write_json({"user": service.user_json(user), **pair})


class LogoutHandler(APIHandler):
    @operation({204: None}, body=obj({"refresh_token": TOKEN}))
    async def post(self) -> None:
        """Revoke the refresh token's sign-in, and the access token sent with the request."""
        await sessions.revoke_token(self.ctx, self.json_body().get("refresh_token"))
        await self._revoke_access_token()
        self.set_status(204)
        self.finish()

    async def _revoke_access_token(self) -> None:
        scheme, _, token = (self.request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return
        try:
            claims = tokens.decode_access(self.ctx.settings, token.strip())
        except Unauthorized:
            return
        remaining = int(claims["exp"]) - int(claims["iat"]) + 60
        await self.ctx.counters.flag(f"revoked:{claims['jti']}", remaining)


class VerifyHandler(APIHandler):
    @operation({200: obj({"user": USER}, required=("user",), closed=False)},
               body=obj({"token": TOKEN}, required=("token",)))
    async def post(self) -> None:
        """Confirm an e-mail address with the token from the verification mail."""
        self.write_json(await service.verify_email(self.ctx, self.json_body().get("token")))


class PasswordResetHandler(APIHandler):
    @operation({202: obj({"status": {"const": "accepted"}, "message": STRING}, required=("status",), closed=False),
                429: THROTTLED}, body=obj({"email": EMAIL}, required=("email",)))
    async def post(self) -> None:
        """Mail a password-reset link; the answer is the same whether or not the address has an account."""
        await service.request_reset(self.ctx, self.json_body().get("email"), self.client_address)
        self.write_json({"status": "accepted",
                         "message": "If the address has an account, a reset link is on its way."}, 202)


class PasswordResetConfirmHandler(APIHandler):
    @operation({200: obj({"status": {"const": "password_changed"}}, required=("status",), closed=False),
                422: WEAK}, body=obj({"token": TOKEN, "password": PASSWORD}, required=("token", "password")))
    async def post(self) -> None:
        """Set a new password with the token from the reset mail; every sign-in of the account ends."""
        body = self.json_body()
        await service.confirm_reset(self.ctx, body.get("token"), body.get("password"))
        self.write_json({"status": "password_changed"})


default_handlers = [
    (r"/api/auth/register", RegisterHandler),
    (r"/api/auth/login", LoginHandler),
    (r"/api/auth/refresh", RefreshHandler),
    (r"/api/auth/logout", LogoutHandler),
    (r"/api/auth/verify", VerifyHandler),
    (r"/api/auth/password-reset", PasswordResetHandler),
    (r"/api/auth/password-reset/confirm", PasswordResetConfirmHandler),
]
