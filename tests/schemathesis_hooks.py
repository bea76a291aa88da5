"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in tests/test_openapi_conformance.py: how to send tus bodies."""

import json

import schemathesis

TUS_BODY = "application/offset+octet-stream"


@schemathesis.serializer(TUS_BODY)
def tus_body(ctx, value) -> dict:
    """tus PATCH and creation-with-upload bodies: bytes as they are, anything else as its JSON text."""
    if isinstance(value, bytes):
        return {"data": value}
    return {"data": (value if isinstance(value, str) else json.dumps(value)).encode()}
