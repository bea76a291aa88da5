"""The OpenAPI 3.1 document, built from the application's own routes so it cannot drift from them."""

from __future__ import annotations

import inspect
import re
from typing import Any

from .version import __version__

METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
_GROUP = re.compile(r"\([^)]*\)")
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}},
}


def path_template(pattern: str, handler) -> tuple[str, list[str]]:
    """`/api/files/([0-9a-f-]{36})` -> `/api/files/{file_id}`, naming groups after the method's arguments."""
    method = next(getattr(handler, m) for m in METHODS if _implements(handler, m))
    names = [p for p in inspect.signature(method).parameters if p != "self"]
    groups = _GROUP.findall(pattern)
    names = (names + [f"param{i}" for i in range(len(groups))])[: len(groups)]
    path = pattern
    for name in names:
        path = _GROUP.sub("{" + name + "}", path, count=1)
    return path.rstrip("$").replace("\\", ""), names


def _implements(handler, method: str) -> bool:
    from tornado.web import RequestHandler

    return getattr(handler, method) is not getattr(RequestHandler, method)


def document(routes: list[tuple]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for pattern, handler, *_ in routes:
        path, params = path_template(pattern, handler)
        item = paths.setdefault(path, {})
        for method in METHODS:
            if not _implements(handler, method):
                continue
            doc = inspect.getdoc(getattr(handler, method)) or ""
            summary, _, description = doc.partition("\n")
            operation: dict[str, Any] = {
                "operationId": f"{handler.__name__}.{method}",
                "summary": summary,
                "responses": {
                    "default": {"description": "Error", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}},
                    "200": {"description": "Success"},
                },
            }
            if description.strip():
                operation["description"] = description.strip()
            if params:
                operation["parameters"] = [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in params]
            item[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Anclora Converter", "version": __version__},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
