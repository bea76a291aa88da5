"""The error hierarchy: each error knows its HTTP status, stable code and a message safe to show."""

from __future__ import annotations

from typing import Any


class ConfigError(Exception):
    """A setting is missing or invalid; startup stops with this message."""


class AncloraError(Exception):
    status = 500
    code = "internal_error"
    message = "Internal server error."

    def __init__(self, message: str | None = None, *, details: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(AncloraError):
    status, code, message = 400, "bad_request", "The request is malformed."


class Unauthorized(AncloraError):
    status, code, message = 401, "unauthorized", "Authentication is required."


class PaymentRequired(AncloraError):
    status, code, message = 402, "payment_required", "Not enough credits."


class Forbidden(AncloraError):
    status, code, message = 403, "forbidden", "You may not do this."


class NotFound(AncloraError):
    status, code, message = 404, "not_found", "Not found."


class MethodNotAllowed(AncloraError):
    status, code, message = 405, "method_not_allowed", "Method not allowed."


class Conflict(AncloraError):
    status, code, message = 409, "conflict", "The resource is not in a state that allows this."


class PayloadTooLarge(AncloraError):
    status, code, message = 413, "payload_too_large", "The upload is larger than allowed."


class RangeNotSatisfiable(AncloraError):
    status, code, message = 416, "range_not_satisfiable", "The requested range is outside the file."


class UnsupportedMediaType(AncloraError):
    status, code, message = 415, "unsupported_media_type", "This type of file is not accepted."


class UnsupportedConversion(AncloraError):
    status, code, message = 422, "unsupported_conversion", "No converter turns this format into that one."


class ConversionFailed(AncloraError):
    status, code, message = 422, "conversion_failed", "The conversion failed."


class PasswordRequired(ConversionFailed):
    code, message = "password_required", "This file is protected by a password: give it with the `password` option."


class PasswordIncorrect(ConversionFailed):
    code, message = "password_incorrect", "The password given does not open this file."


class ValidationFailed(AncloraError):
    status, code, message = 422, "validation_failed", "The request is well formed but its values are invalid."


class Infected(AncloraError):
    status, code, message = 422, "infected", "The malware scanner found something in the file; it was not stored."


class IdempotencyMismatch(AncloraError):
    status, code, message = 422, "idempotency_mismatch", "This Idempotency-Key was used with another request."


class QuotaExceeded(AncloraError):
    status, code, message = 429, "quota_exceeded", "A limit of your plan has been reached."


class RateLimited(AncloraError):
    status, code, message = 429, "rate_limited", "Too many requests; slow down."


class RequestTimeout(AncloraError):
    status, code, message = 408, "request_timeout", "The request body stopped arriving."


class InsufficientStorage(AncloraError):
    status, code, message = 507, "insufficient_storage", "The server has no room left for this; try again later."


class ServiceUnavailable(AncloraError):
    status, code, message = 503, "service_unavailable", "The service is temporarily unavailable."


class ConversionTimeout(AncloraError):
    status, code, message = 504, "conversion_timeout", "The conversion did not finish in time."
