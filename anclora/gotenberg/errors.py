"""Our errors as Gotenberg shows them: its status codes and a plain-text message naming the form field."""

from __future__ import annotations

from ..errors import AncloraError
from . import fields

# Gotenberg answers 400 for what it cannot convert, and 503 when the time limit passes.
STATUS = {415: 400, 422: 400, 504: 503}
# Refusals Gotenberg has no counterpart for keep their own status (Gotenberg scans nothing).
OWN_STATUS = {"infected"}
TIMEOUT_MESSAGE = "The request exceeded the time limit. Increase it with --api-timeout, or reduce the workload."


def status_of(error: AncloraError) -> int:
    return error.status if error.code in OWN_STATUS else STATUS.get(error.status, error.status)


def message_of(error: AncloraError) -> str:
    """The message Gotenberg would show; option errors name the form field they came from."""
    if error.status == 504:
        return TIMEOUT_MESSAGE
    details = error.details if isinstance(error.details, list) else []
    named = [f"form field '{fields.field_of(item['path'])}' is invalid ({item['message']})"
             for item in details if isinstance(item, dict) and item.get("path")]
    return f"Invalid form data: {'; '.join(named)}" if named else error.message
