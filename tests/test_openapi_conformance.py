"""schemathesis against a live server: every operation of /api/openapi.json, its generated requests (valid and
invalid) sent as an administrator and as an anonymous caller, checked for server errors and for answers that
differ from what the document promises (status, content type, schema)."""

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from anclora.accounts import apikeys, service

HERE = Path(__file__).parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES = 6  # per operation and phase, for each caller: well under two minutes for both on a loaded machine
# Starting a playbook run provisions this machine (the ops tests do that in a staging root): never generated.
NOT_GENERATED = "RunsHandler.post"


@pytest.fixture
def anclora_overrides():
    """Stripe's webhook route checks signatures (unconfigured, it answers 503 to everything)."""
    return {"stripe_webhook_secret": "whsec_" + "s" * 32}


async def _admin_key(ctx) -> str:
    """An administrator's API key, so the generated requests reach every route as far as their owner may go."""
    user = await service.create_admin(ctx, "schemathesis@example.com", "a long enough password")
    return (await apikeys.create(ctx, user.id, "schemathesis"))["key"]


def _command(base_url: str, headers: list[str]) -> list[str]:
    return [str(Path(sys.executable).with_name("schemathesis")), "--no-color",
            "--config-file", str(HERE / "schemathesis.toml"), "run", f"{base_url}/api/openapi.json",
            "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", "1", "--workers", "1",
            "--phases", "examples,coverage,fuzzing", "--generation-database", "none",
            *headers, "--generation-with-security-parameters", "false",
            "--request-timeout", "30", "--exclude-operation-id", NOT_GENERATED]


@pytest.mark.parametrize("caller", ["administrator", "anonymous"])
async def test_schemathesis_finds_nothing(anclora_server, anclora_ctx, tmp_path, caller):
    headers = ["--header", f"X-API-Key: {await _admin_key(anclora_ctx)}"] if caller == "administrator" else []
    process = await asyncio.create_subprocess_exec(
        *_command(anclora_server, headers), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")})
    output = (await asyncio.wait_for(process.communicate(), 600))[0].decode(errors="replace")
    assert process.returncode == 0, output[-20000:]
    selected, tested = re.search(r"Selected: (\d+)/.*?Tested: (\d+)", output, re.S).groups()
    assert int(selected) >= 45 and tested == selected, output[-3000:]  # every operation was exercised
