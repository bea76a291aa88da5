"""schemathesis against a live server: every operation of /api/openapi.json, its generated requests (valid and
invalid), checked for server errors and for answers that differ from what the document promises."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

from anclora.accounts import apikeys, service

HERE = Path(__file__).parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES = 8  # per operation and phase: about a minute for the whole document on a loaded two-core machine
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


async def test_schemathesis_finds_nothing(anclora_server, anclora_ctx, tmp_path):
    key = await _admin_key(anclora_ctx)
    command = [str(Path(sys.executable).with_name("schemathesis")), "--no-color", "--config-file", str(HERE / "schemathesis.toml"), "run",
               f"{anclora_server}/api/openapi.json", "--checks", CHECKS, "--max-examples", str(EXAMPLES),
               "--seed", "1", "--workers", "1", "--header", f"X-API-Key: {key}", "--request-timeout", "30",
               "--phases", "examples,coverage,fuzzing", "--generation-database", "none",
               "--generation-with-security-parameters", "false", "--exclude-operation-id", NOT_GENERATED]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")})
    output, _ = await asyncio.wait_for(process.communicate(), 600)
    assert process.returncode == 0, output.decode(errors="replace")[-20000:]
