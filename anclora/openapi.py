"""What each handler method takes and answers (`@operation`), and the OpenAPI 3.1 document built from the routes
and those declarations — the same ones the handlers validate requests with, so the two cannot drift."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .version import __version__

METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
_GROUP = re.compile(r"\(([^)]*)\)")
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}},
}
BINARY = {"type": "string", "format": "binary"}
EVENT = {"type": "object", "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
         "required": ["data"]}  # one Server-Sent Event, as clients parse them

# Who may call an operation (a handler class's `access`): "public" looks at no credentials; "anyone" takes a
# signed-in caller or an anonymous session; "user" and "admin" need a signed-in caller (an admin for "admin").
SECURITY = {
    "public": [],
    "anyone": [{"bearer": []}, {"apiKey": []}, {"sessionHeader": []}, {"sessionCookie": []}, {}],
    "user": [{"bearer": []}, {"apiKey": []}],
    "admin": [{"bearer": []}, {"apiKey": []}],
}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "An access token from /api/auth/login, /register or /refresh."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "A key from POST /api/me/api-keys."},
    "sessionHeader": {"type": "apiKey", "in": "header", "name": "X-Anclora-Session",
                      "description": "An anonymous session, as the server named it in an earlier answer."},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "anclora_session",
                      "description": "The same anonymous session, as a cookie."},
}


def obj(properties: dict[str, Any], required: tuple[str, ...] = (), closed: bool = True, **extra: Any) -> dict:
    """A JSON Schema object; `closed` refuses properties it does not name (an option we would ignore)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


STRING = {"type": "string"}
TEXT = {"type": "string", "maxLength": 1000}
MOMENT = {"type": ["string", "null"], "format": "date-time"}  # UTC, with a Z
LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
OFFSET = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0}  # (within any database's integers)
PAGE = {"limit": LIMIT, "offset": OFFSET}  # the query parameters of a listing, newest first
IDEMPOTENCY_KEY = {"type": "string", "minLength": 1, "maxLength": 255,
                   "description": "Repeat the request safely: the same key answers with the first result."}


@dataclass(frozen=True)
class Body:
    """A body that is not JSON: its media type and a schema of it."""
    media_type: str
    schema: dict = field(default_factory=lambda: dict(BINARY))
    description: str = ""


@dataclass(frozen=True)
class Reply:
    """An answer (as `Operation.responses` takes them) with the response headers it carries, name -> what it says:
    `Reply(FILE, {"Location": "The new file."})`."""
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Operation:
    """One method of a handler.

    `responses`: status -> the JSON Schema of the JSON answer, a `Body`, None (no body), or a string: an error
    status (the error shape), described by the string; any of these inside a `Reply` names its headers. 400, 401,
    403, 404 and 503 are added where the route implies them.
    `query`: an `obj()` of the query parameters (types, bounds, defaults).
    `body`: the JSON Schema of a JSON body.
    `uploads`: the media types of a body that is not JSON.
    `headers`: request headers, name -> JSON Schema (`"required": True` inside marks one the operation needs)."""
    responses: dict[int, Any]
    query: dict | None = None
    body: dict | None = None
    uploads: tuple[Body, ...] = ()
    headers: dict[str, dict] = field(default_factory=dict)


def operation(responses: dict[int, Any], **declared: Any) -> Callable:
    """Declare a handler method: `@operation({200: SCHEMA, 409: "why"}, query=obj(...), body=obj(...))`."""
    def mark(method: Callable) -> Callable:
        method.operation = Operation(responses, **declared)
        return method
    return mark


def declared(handler, method: str) -> Operation | None:
    return getattr(getattr(handler, method, None), "operation", None)


# --- the document ---------------------------------------------------------------------------------------------

def implements(handler, method: str) -> bool:
    from tornado.web import RequestHandler

    return getattr(handler, method) is not getattr(RequestHandler, method)


def path_template(pattern: str, handler) -> tuple[str, list[dict]]:
    """`/api/files/([0-9a-f-]{36})` -> (`/api/files/{file_id}`, its path parameters), named after the method's
    arguments, each with the group's pattern."""
    method = next(getattr(handler, m) for m in METHODS if implements(handler, m))
    names = [p for p in inspect.signature(method).parameters if p not in ("self", "_args")]
    groups = _GROUP.findall(pattern)
    names = (names + [f"param{i}" for i in range(len(groups))])[: len(groups)]
    path = pattern
    for name in names:
        path = _GROUP.sub("{" + name + "}", path, count=1)
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": f"^{group}$"}} for name, group in zip(names, groups)]
    return path.rstrip("$").rstrip("?").replace("\\", ""), parameters


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _response(status: int, answer: Any) -> dict:
    if isinstance(answer, Reply):
        response = _response(status, answer.body)
        headers = answer.headers
    else:
        response = _body(answer)
        headers = {"Retry-After": "Seconds to wait before trying again."} if status in (429, 503) else {}
    if headers:
        response["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                               for name, text in headers.items()}
    return response


def _body(answer: Any) -> dict:
    if isinstance(answer, str):
        return {"description": answer, "content": _json(ERROR_REF)}
    if answer is None:
        return {"description": "No body."}
    if isinstance(answer, Body):
        return {"description": answer.description or answer.media_type,
                "content": {answer.media_type: {"schema": answer.schema}}}
    return {"description": answer.get("description", "Success."), "content": _json(answer)}


IMPLIED_ERRORS = {
    400: "The request is malformed (the message names what is wrong).",
    401: "The credentials sent are invalid, or this needs a signed-in caller.",
    403: "The caller may not do this.",
    404: "No such resource (or it is not the caller's).",
    503: "A backing service is unavailable; try again after Retry-After.",
}


def _implied(handler, op: Operation, has_path: bool) -> list[int]:
    access = getattr(handler, "access", "anyone")
    statuses = []
    if op.query or op.body or op.uploads or op.headers:
        statuses.append(400)
    if access != "public":
        statuses += [401, 503]
    if access == "admin":
        statuses.append(403)
    if has_path:
        statuses.append(404)
    return statuses


def _parameters(op: Operation, path_parameters: list[dict]) -> list[dict]:
    parameters = list(path_parameters)
    query = op.query or {}
    for name, schema in query.get("properties", {}).items():
        parameters.append({"name": name, "in": "query", "required": name in query.get("required", ()),
                           "schema": schema})
    for name, schema in op.headers.items():
        schema = dict(schema)
        required = schema.pop("required", False)
        parameters.append({"name": name, "in": "header", "required": required is True, "schema": schema})
    return parameters


def _request_body(op: Operation) -> dict | None:
    content = {}
    if op.body is not None:
        content.update(_json(op.body))
    for body in op.uploads:
        content[body.media_type] = {"schema": body.schema}
    if not content:
        return None
    return {"required": bool(op.uploads) or bool(op.body and op.body.get("required")), "content": content}


def _undeclared() -> Operation:
    """A plugin's handler that declares nothing: documented as answering anything, in the error shape on error."""
    return Operation({200: Body("*/*", {})})


def describe(handler, method: str, path: str, path_parameters: list[dict]) -> dict[str, Any]:
    """The OpenAPI operation object of `handler`'s `method` at `path`."""
    op = declared(handler, method) or _undeclared()
    doc = inspect.getdoc(getattr(handler, method)) or ""
    summary, _, description = doc.partition("\n")
    responses = {str(status): _response(status, IMPLIED_ERRORS[status])
                 for status in _implied(handler, op, bool(path_parameters))}
    responses.update({str(status): _response(status, answer) for status, answer in op.responses.items()})
    result: dict[str, Any] = {"operationId": f"{handler.__name__}.{method}", "summary": summary,
                              "tags": [path.split("/")[2]], "responses": dict(sorted(responses.items()))}
    if description.strip():
        result["description"] = description.strip()
    if parameters := _parameters(op, path_parameters):
        result["parameters"] = parameters
    if body := _request_body(op):
        result["requestBody"] = body
    result["security"] = SECURITY[getattr(handler, "access", "anyone")]
    if declared(handler, method) is None:
        result["responses"]["default"] = _response(0, "An error.")
    if method == "head":  # the answers of the matching GET, headers only
        result["responses"] = {status: {key: value for key, value in answer.items() if key != "content"}
                               for status, answer in result["responses"].items()}
    return result


def document(routes: list[tuple]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for pattern, handler, *_ in routes:
        if not pattern.startswith("/api/"):
            continue  # other protocols' routes (Gotenberg's) are described by their own documentation
        path, path_parameters = path_template(pattern, handler)
        item = paths.setdefault(path, {})
        for method in METHODS:
            if implements(handler, method):
                item[method] = describe(handler, method, path, path_parameters)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Anclora Converter", "version": __version__},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"Error": ERROR_SCHEMA}, "securitySchemes": SECURITY_SCHEMES},
    }
