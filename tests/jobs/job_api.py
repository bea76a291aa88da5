"""Client-side helpers the job tests share: the API calls they repeat, and polling with a deadline."""

import asyncio


async def until(condition, timeout: float = 15.0, what: str = "condition"):
    """Poll `condition()` until it is truthy or the deadline passes; returns its value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := condition()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return value


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def all_dead(pids, timeout: float = 5.0) -> bool:
    """SIGKILL is delivered asynchronously: give the kernel a moment to end every process."""
    await until(lambda: not any(alive(pid) for pid in pids), timeout, f"processes {pids} to end")
    return True


class Api:
    """The few calls the job tests repeat, made the way a client makes them."""

    def __init__(self, client):
        self.client = client

    async def upload(self, filename: str, data: bytes) -> str:
        response = await self.client.post(f"/api/files?filename={filename}", content=data)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def convert(self, filename: str, data: bytes, to: str, **body) -> dict:
        file_id = await self.upload(filename, data)
        response = await self.client.post("/api/conversions", json={"file_id": file_id, "to": to, **body})
        assert response.status_code == 202, response.text
        return response.json()

    async def wait(self, conversion_id: str, *statuses: str, timeout: float = 30.0) -> dict:
        """Poll until the conversion reaches one of `statuses`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.client.get(f"/api/conversions/{conversion_id}")
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] in statuses:
                return body
            assert asyncio.get_running_loop().time() < deadline, f"still {body['status']}: {body}"
            await asyncio.sleep(0.05)
