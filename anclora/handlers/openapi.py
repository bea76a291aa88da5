"""/api/openapi.json: the OpenAPI document of every route."""

from __future__ import annotations

from ..openapi import document
from .base import APIHandler


class OpenAPIHandler(APIHandler):
    async def prepare(self) -> None:
        pass

    async def get(self) -> None:
        """This document."""
        self.write_json(document(self.application.settings["anclora_routes"]))


default_handlers = [(r"/api/openapi.json", OpenAPIHandler)]
