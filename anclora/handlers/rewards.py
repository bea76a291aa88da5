"""/api/rewards: the caller's level, points and rewards. Served through the rewards plugin's `anclora_handlers`
hook, so blocking the plugin removes the route."""

from __future__ import annotations

from ..openapi import MOMENT, STRING, obj, operation
from ..rewards import service as rewards
from .me import UserHandler

INTEGER = {"type": "integer"}
REWARD = obj({"type": STRING, "points": INTEGER, "credits": INTEGER, "source": {"type": ["string", "null"]},
              "created_at": MOMENT}, required=("type", "points", "created_at"), closed=False)
SUMMARY = obj({"level": INTEGER, "points": INTEGER, "next_level_points": {"type": ["integer", "null"]},
               "streak_days": INTEGER, "conversions": INTEGER, "rewards": {"type": "array", "items": REWARD}},
              required=("level", "points", "rewards"), closed=False)


class RewardsHandler(UserHandler):
    @operation({200: SUMMARY})
    async def get(self) -> None:
        """The caller's level, points, points needed for the next level, and rewards granted."""
        self.write_json(await rewards.summary(self.ctx, self.user_id()))


rewards_handlers = [(r"/api/rewards", RewardsHandler)]
