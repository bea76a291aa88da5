"""/api/rewards: the caller's level, points and rewards. Served through the rewards plugin's `anclora_handlers`
hook, so blocking the plugin removes the route."""

from __future__ import annotations

from ..rewards import service as rewards
from .me import UserHandler


class RewardsHandler(UserHandler):
    async def get(self) -> None:
        """The caller's level, points, points needed for the next level, and rewards granted."""
        self.write_json(await rewards.summary(self.ctx, self.user_id()))


rewards_handlers = [(r"/api/rewards", RewardsHandler)]
