"""/api/me: who the caller is, their limits and usage, password change, and API keys."""

from __future__ import annotations

from typing import Any

from .. import plugins
from ..accounts import apikeys, service
from ..db.models import User
from ..errors import Unauthorized
from .base import APIHandler


class UserHandler(APIHandler):
    """A handler for signed-in callers only."""

    def user_id(self) -> str:
        if self.identity.is_anonymous:
            raise Unauthorized("Sign in first.")
        return self.identity.user_id


class MeHandler(APIHandler):
    async def get(self) -> None:
        """The caller: account, level, points, credits, limits and today's usage (anonymous callers too)."""
        me: dict[str, Any] = {"id": None, "email": None, "anonymous": True, "level": 0, "points": 0, "credits": 0}
        if not self.identity.is_anonymous:
            async with self.ctx.sessionmaker() as session:
                user = await session.get(User, self.identity.user_id)
            me.update(service.user_json(user), anonymous=False)
        for extra in await plugins.notify(self.ctx.pm, "anclora_me", ctx=self.ctx, identity=self.identity):
            me.update(extra or {})
        self.write_json(me)


class PasswordHandler(UserHandler):
    async def post(self) -> None:
        """Change the password; every other sign-in ends and a new token pair is returned."""
        body = self.json_body()
        self.write_json(await service.change_password(self.ctx, self.user_id(), body.get("current_password"),
                                                      body.get("password")))


class ApiKeysHandler(UserHandler):
    async def get(self) -> None:
        """The caller's live API keys (never the keys themselves)."""
        self.write_json({"api_keys": await apikeys.list_keys(self.ctx, self.user_id())})

    async def post(self) -> None:
        """Create an API key; the key is shown once, in this answer."""
        self.write_json(await apikeys.create(self.ctx, self.user_id(), self.json_body().get("name")), 201)


class ApiKeyHandler(UserHandler):
    async def delete(self, key_id: str) -> None:
        """Revoke one of the caller's API keys."""
        await apikeys.revoke(self.ctx, self.user_id(), key_id)
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"/api/me", MeHandler),
    (r"/api/me/password", PasswordHandler),
    (r"/api/me/api-keys", ApiKeysHandler),
    (r"/api/me/api-keys/([0-9a-f-]{36})", ApiKeyHandler),
]
