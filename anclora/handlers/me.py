"""/api/me: who the caller is, their limits and usage, password change, and API keys."""

from __future__ import annotations

from typing import Any

from .. import plugins
from ..accounts import apikeys, service
from ..db.models import User
from ..openapi import MOMENT, STRING, obj, operation
from .auth import PASSWORD, SIGNED_IN, USER
from .base import APIHandler

ME = obj({**USER["properties"], "id": {"type": ["string", "null"]}, "email": {"type": ["string", "null"]},
          "anonymous": {"type": "boolean"}, "credits": {"type": "integer"}},
         required=("id", "email", "anonymous", "level", "points"), closed=False)
API_KEY = obj({"id": STRING, "name": STRING, "prefix": STRING, "created_at": MOMENT, "last_used_at": MOMENT},
              required=("id", "name", "prefix", "created_at"), closed=False)


class UserHandler(APIHandler):
    """A handler for signed-in callers only."""

    access = "user"

    def user_id(self) -> str:
        return self.identity.user_id


class MeHandler(APIHandler):
    @operation({200: ME})
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
    @operation({200: SIGNED_IN, 422: "The new password is not acceptable (the message says why)."},
               body=obj({"current_password": PASSWORD, "password": PASSWORD},
                        required=("current_password", "password")))
    async def post(self) -> None:
        """Change the password; every other sign-in ends and a new token pair is returned."""
        body = self.json_body()
        self.write_json(await service.change_password(self.ctx, self.user_id(), body.get("current_password"),
                                                      body.get("password")))


class ApiKeysHandler(UserHandler):
    @operation({200: obj({"api_keys": {"type": "array", "items": API_KEY}}, required=("api_keys",), closed=False)})
    async def get(self) -> None:
        """The caller's live API keys (never the keys themselves)."""
        self.write_json({"api_keys": await apikeys.list_keys(self.ctx, self.user_id())})

    @operation({201: obj({**API_KEY["properties"], "key": STRING}, required=("id", "key"), closed=False),
                422: "The name is longer than 100 characters, or the account holds the most keys allowed."},
               body=obj({"name": {"type": ["string", "null"]}}))
    async def post(self) -> None:
        """Create an API key; the key is shown once, in this answer."""
        self.write_json(await apikeys.create(self.ctx, self.user_id(), self.json_body().get("name")), 201)


class ApiKeyHandler(UserHandler):
    @operation({204: None})
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
