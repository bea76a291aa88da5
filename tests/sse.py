"""Reading Server-Sent Events the way a client does."""

from __future__ import annotations

import json
from typing import AsyncIterator


async def sse_events(client, path: str, headers: dict | None = None) -> AsyncIterator[tuple[str | None, dict]]:
    """(event, data) for each event of the stream at `path`, until the server ends it. Use with aclosing() when
    stopping early."""
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        kind = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                yield kind, json.loads(line.removeprefix("data: "))
