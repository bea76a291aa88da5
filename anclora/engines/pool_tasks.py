"""What every engine pool shares: its background tasks (starting and replacing members) and the gauge of its
members' states (`anclora_engine_pool_instances`)."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Iterable


class PoolTasks:
    engine: ClassVar[str] = ""  # the gauge's `engine` label
    metrics: Any = None
    _tasks: set[asyncio.Task]

    def _members(self) -> Iterable[Any]:
        """The pool's members (each with a `state`: starting, idle or busy)."""
        raise NotImplementedError

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self) -> None:
        if self.metrics is None:
            return
        states = [member.state for member in self._members()]
        for state in ("starting", "idle", "busy"):
            self.metrics.pool.labels(engine=self.engine, state=state).set(states.count(state))

    async def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
