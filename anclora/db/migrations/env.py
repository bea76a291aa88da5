"""Alembic environment: runs on the connection handed over by anclora.db.migrate."""

from alembic import context

from anclora.db.base import Base
from anclora.db import models  # noqa: F401  (registers every table)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
