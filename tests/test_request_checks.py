"""Requests a client gets wrong are 400s naming what is wrong, never 500s, and leave nothing behind."""

import uuid

import pytest
from rawhttp import open_connection, read_response, request_head

from anclora.accounts import apikeys, service

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def anclora_overrides():
    return {"stripe_webhook_secret": "whsec_" + "s" * 32}


@pytest.fixture
async def admin(anclora_ctx) -> dict:
    """Headers of a signed-in administrator: every route reads its body for them."""
    user = await service.create_admin(anclora_ctx, "checks@example.com", "a long enough password")
    return {"X-API-Key": (await apikeys.create(anclora_ctx, user.id, "checks"))["key"]}


def partials(ctx) -> list:
    return sorted(ctx.storage.tmp_dir.iterdir())


async def test_a_body_nested_too_deep_is_400_on_every_json_route(client, admin):
    paths = (await client.get("/api/openapi.json")).json()["paths"]
    json_routes = [(method, path) for path, operations in paths.items() for method, operation in operations.items()
                   if "application/json" in operation.get("requestBody", {}).get("content", {})]
    assert len(json_routes) >= 12
    for method, path in json_routes:
        url = path.replace("{", "").replace("}", "")
        for name in ("run_id", "key_id", "conversion_id", "file_id", "upload_id"):
            url = url.replace(name, str(uuid.uuid4()))
        response = await client.request(method.upper(), url, content=DEEP,
                                        headers={**admin, "Content-Type": "application/json"})
        expected = 413 if path == "/api/billing/webhook" else 400  # (Stripe's events stop at 64 KiB)
        assert response.status_code == expected, f"{method.upper()} {path}: {response.text}"


@pytest.mark.parametrize("query, name", [
    ("limit=abc", "limit"), ("offset=xyz", "offset"), ("limit=-1", "limit"), ("offset=-5", "offset"),
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=1e3", "limit"),
    ("offset=41959817003851585062699008", "offset"),  # (past any database's integers)
])
@pytest.mark.parametrize("path", ["/api/files", "/api/conversions", "/api/billing/transactions"])
async def test_bad_paging_is_400_naming_the_parameter(client, admin, path, query, name):
    response = await client.get(f"{path}?{query}", headers=admin)
    assert response.status_code == 400, response.text
    assert f"`{name}`" in response.json()["error"]["message"]


async def test_good_paging_still_pages(client, admin):
    for content in (b"one", b"two", b"three"):
        assert (await client.post("/api/files", content=content, headers=admin)).status_code == 201
    page = (await client.get("/api/files?limit=2&offset=1", headers=admin)).json()["files"]
    assert [entry["size"] for entry in page] == [3, 3]
    assert (await client.get("/api/billing/transactions?limit=5", headers=admin)).json() == {"transactions": []}


@pytest.mark.parametrize("path, body, field", [
    ("/api/auth/password-reset", b'{"email": ["a@b.c"]}', "email"),
    ("/api/auth/logout", b'{"refresh_token": [1, 2]}', "refresh_token"),
    ("/api/auth/login", b'{"email": {"$ne": 1}, "password": "x"}', "email"),
    ("/api/auth/refresh", b'{"refresh_token": 12}', "refresh_token"),
    ("/api/conversions", b'{"file_id": "x", "to": "pdf", "dry_run": "yes"}', "dry_run"),
])
async def test_wrong_json_types_are_400_naming_the_field(client, path, body, field):
    response = await client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert f"`{field}`" in error["message"] and error["details"][0]["path"] == field


@pytest.mark.parametrize("body", [b'{"email": NaN}', b'{"email": Infinity}', b'{"email": -Infinity}',
                                  b'{"email": 1e999}', b'{"email": "a@b.c"} trailing', b'"a@b.c"', b"[]"])
async def test_what_json_does_not_allow_is_400(client, body):
    response = await client.post("/api/auth/password-reset", content=body)
    assert response.status_code == 400, response.text


async def test_a_stripe_event_that_is_not_utf8_is_400(client, anclora_overrides):
    response = await client.post("/api/billing/webhook", content=b"\xff\xfe{",
                                 headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"})
    assert response.status_code == 400, response.text


async def test_fields_a_route_does_not_take_are_refused_by_name(client):
    response = await client.post("/api/auth/password-reset", json={"email": "a@b.c", "redirect": "x"})
    assert response.status_code == 400 and "'redirect'" in response.json()["error"]["message"]
    assert (await client.post("/api/auth/password-reset", json={"email": "a@b.c"})).status_code == 202


async def test_a_multipart_boundary_too_long_is_400_and_leaves_no_partial(client, anclora_ctx):
    boundary = "b" * 300
    body = f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n" \
           f"--{boundary}--\r\n".encode()
    response = await client.post("/api/files", content=body,
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 400 and "boundary" in response.json()["error"]["message"]
    assert partials(anclora_ctx) == []


@pytest.mark.parametrize("path", ["/api/files", "/api/convert?to=pdf"])
async def test_refused_uploads_leave_nothing_in_the_temporary_folder(client, anclora_server, anclora_ctx, path):
    for content_type in ("multipart/form-data; boundary=" + "x" * 257, "multipart/form-data",
                         "multipart/form-data; boundary=abc"):  # (the last: a body without its boundary)
        response = await client.post(path, content=b"not a form", headers={"Content-Type": content_type})
        assert response.status_code == 400, response.text
        assert partials(anclora_ctx) == [], content_type
    reader, writer = await open_connection(anclora_server)
    writer.write(request_head("POST", path, {"Content-Length": str(10**12)}))
    await writer.drain()
    status, _, _ = await read_response(reader)
    writer.close()
    assert status == 413 and partials(anclora_ctx) == []


async def test_methods_a_route_does_not_have_are_405_before_any_upload_starts(client, anclora_ctx):
    for method in ("PUT", "PATCH"):
        response = await client.request(method, "/api/convert?to=pdf", content=b"hello")
        assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    assert partials(anclora_ctx) == []
