"""/api/openapi.json: the OpenAPI document of every route."""

from __future__ import annotations

from ..openapi import document, obj, operation
from .base import APIHandler


class OpenAPIHandler(APIHandler):
    access = "public"

    async def prepare(self) -> None:
        pass

    @operation({200: obj({"openapi": {"type": "string"}, "paths": {"type": "object"}}, required=("openapi", "paths"),
                         closed=False)})
    async def get(self) -> None:
        """This document."""
        self.write_json(document(self.application.settings["anclora_routes"]))


default_handlers = [(r"/api/openapi.json", OpenAPIHandler)]
