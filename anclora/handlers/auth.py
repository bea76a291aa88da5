"""/api/auth: register, log in, refresh, log out, verify an e-mail address, reset a password."""

from __future__ import annotations

from ..accounts import service, sessions, tokens
from ..errors import Unauthorized
from .base import APIHandler


class RegisterHandler(APIHandler):
    async def post(self) -> None:
        """Create an account; a verification link is mailed."""
        body = self.json_body()
        result = await service.register(self.ctx, body.get("email"), body.get("password"), self.client_address,
                                        body.get("referral_code"))
        self.write_json(result, 201)


class LoginHandler(APIHandler):
    async def post(self) -> None:
        """Sign in with e-mail address and password; returns an access and a refresh token."""
        body = self.json_body()
        self.write_json(await service.login(self.ctx, body.get("email"), body.get("password"), self.client_address))


class RefreshHandler(APIHandler):
    async def post(self) -> None:
        """Trade a refresh token for a new pair; the old refresh token stops working."""
        user, pair = await sessions.rotate(self.ctx, self.json_body().get("refresh_token"))
        self.write_json({"user": service.user_json(user), **pair})


class LogoutHandler(APIHandler):
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
    async def post(self) -> None:
        """Confirm an e-mail address with the token from the verification mail."""
        self.write_json(await service.verify_email(self.ctx, self.json_body().get("token")))


class PasswordResetHandler(APIHandler):
    async def post(self) -> None:
        """Mail a password-reset link; the answer is the same whether or not the address has an account."""
        await service.request_reset(self.ctx, self.json_body().get("email"), self.client_address)
        self.write_json({"status": "accepted",
                         "message": "If the address has an account, a reset link is on its way."}, 202)


class PasswordResetConfirmHandler(APIHandler):
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
