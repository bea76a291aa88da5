"""Fixtures of the operations tests."""

from __future__ import annotations

import pytest
from ops_site import Site, make_root

from anclora.ops.service import OpsService


@pytest.fixture
def site():
    """A fresh staging site, removed afterwards with everything it started or created."""
    site = Site(make_root())
    yield site
    site.cleanup()


@pytest.fixture
def ops(anclora_ctx) -> OpsService:
    """The application's playbook runner."""
    return OpsService(anclora_ctx)
