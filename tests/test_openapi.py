"""The OpenAPI document: every route, every answer with its schema, built from what the handlers declare."""

import re

import pytest

from anclora.app import collect_routes

ERROR_REF = {"$ref": "#/components/schemas/Error"}
PLUGIN = '''
from anclora import hookimpl
from anclora.handlers.base import APIHandler
from anclora.openapi import obj, operation


class EchoHandler(APIHandler):
    @operation({200: obj({"times": {"type": "integer"}}, required=("times",))},
               query=obj({"times": {"type": "integer", "minimum": 1, "maximum": 5, "default": 1}}))
    async def get(self) -> None:
        """How many times, as asked."""
        self.write_json({"times": self.query()["times"]})


class BareHandler(APIHandler):
    async def get(self) -> None:
        """Declares nothing."""
        self.write_json({})


@hookimpl
def anclora_handlers(ctx):
    return [(r"/api/echo", EchoHandler), (r"/api/bare", BareHandler)]
'''


@pytest.fixture
def anclora_overrides(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "echo.py").write_text(PLUGIN)
    return {"plugins_dirs": [str(folder)]}


async def document(client) -> dict:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_every_route_and_method_is_described(client, anclora_ctx):
    paths = (await document(client))["paths"]
    routes = [route for route in collect_routes(anclora_ctx) if route[0].startswith("/api/")]
    assert len(paths) == len({pattern for pattern, *_ in routes})
    for pattern, handler, *_ in routes:
        template = re.sub(r"\([^)]*\)", "{}", pattern).rstrip("?")
        matches = [path for path in paths if re.sub(r"\{[^}]+\}", "{}", path) == template]
        assert matches, f"{pattern} missing from the OpenAPI document"
        for method in ("get", "head", "post", "put", "patch", "delete", "options"):
            if getattr(handler, method).__qualname__.split(".")[0] != "RequestHandler":
                assert paths[matches[0]][method]["summary"], f"{method.upper()} {pattern} has no summary"
    assert paths["/api/files/{file_id}/content"]["get"]["parameters"][0]["schema"]["pattern"] == "^[0-9a-f-]{36}$"


async def test_every_builtin_operation_declares_its_answers_and_errors(client):
    paths = (await document(client))["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            if path in ("/api/echo", "/api/bare"):
                continue
            statuses = set(operation["responses"])
            assert "default" not in statuses, f"{name} answers anything"
            assert any(status.startswith("2") for status in statuses), f"{name} has no success"
            for status, response in operation["responses"].items():
                if status >= "400" and method != "head" and path != "/api/health":  # (its 503 is its report)
                    assert response["content"]["application/json"]["schema"] == ERROR_REF, f"{name} {status}"


async def test_answers_and_bodies_are_those_the_handlers_give_and_take(client):
    paths = (await document(client))["paths"]
    created = paths["/api/files"]["post"]
    assert created["responses"]["201"]["content"]["application/json"]["schema"]["properties"]["sha256"]
    assert {"application/octet-stream", "multipart/form-data"} == set(created["requestBody"]["content"])
    assert "413" in created["responses"] and "Location" in created["responses"]["201"]["headers"]
    assert "Retry-After" in created["responses"]["429"]["headers"]
    assert "Upload-Offset" in paths["/api/uploads/{upload_id}"]["head"]["responses"]["200"]["headers"]
    assert set(paths["/api/uploads/{upload_id}"]["patch"]["requestBody"]["content"]) == {
        "application/offset+octet-stream"}
    assert "204" in paths["/api/uploads/{upload_id}"]["patch"]["responses"]
    assert "202" in paths["/api/auth/password-reset"]["post"]["responses"]
    assert "204" in paths["/api/auth/logout"]["post"]["responses"]
    reset_body = paths["/api/auth/password-reset"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert reset_body["properties"]["email"] == {"type": "string"} and reset_body["required"] == ["email"]
    limit = next(p for p in paths["/api/files"]["get"]["parameters"] if p["name"] == "limit")
    assert limit == {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}


async def test_security_says_who_may_call(client):
    doc = await document(client)
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey", "sessionHeader", "sessionCookie"}
    assert doc["components"]["securitySchemes"]["sessionHeader"]["name"] == "X-Anclora-Session"
    paths = doc["paths"]
    assert {} in paths["/api/files"]["post"]["security"]  # anonymous sessions may upload
    assert paths["/api/me/api-keys"]["get"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "401" in paths["/api/me/api-keys"]["get"]["responses"]
    assert "403" in paths["/api/admin/ops/playbooks"]["get"]["responses"]
    assert paths["/api/health"]["get"]["security"] == []


async def test_a_plugins_route_is_documented_and_checked_the_same_way(client):
    paths = (await document(client))["paths"]
    echo = paths["/api/echo"]["get"]
    assert echo["summary"] == "How many times, as asked." and echo["tags"] == ["echo"]
    assert echo["parameters"][0]["schema"]["maximum"] == 5
    assert (await client.get("/api/echo?times=3")).json() == {"times": 3}
    refused = await client.get("/api/echo?times=9")
    assert refused.status_code == 400 and "`times`" in refused.json()["error"]["message"]
    assert "default" in paths["/api/bare"]["get"]["responses"]  # undeclared: described as answering anything
