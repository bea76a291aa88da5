"""A small stand-in for the Stripe API over real HTTP: the endpoints billing calls, with Stripe's Idempotency-Key
behaviour (the same key and parameters give the same answer; the same key with other parameters is an error).

Tests play the buyer with `pay(session_id)` and build and sign the webhook events themselves (`event`, `sign`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time
import urllib.parse
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

API_KEY = "sk_test_fake_" + "k" * 24


class FakeStripe:
    def __init__(self):
        self.sessions: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[str, bytes]] = {}  # key -> (params fingerprint, response body)
        self.requests: list[dict[str, Any]] = []
        self.server = None
        self.url = ""

    def start(self) -> "FakeStripe":
        app = tornado.web.Application([
            (r"/v1/checkout/sessions", SessionsHandler, {"fake": self}),
            (r"/v1/checkout/sessions/([A-Za-z0-9_]+)", SessionHandler, {"fake": self}),
        ])
        self.server = tornado.httpserver.HTTPServer(app)
        [sock] = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.server.add_sockets([sock])
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def stop(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()

    def create_session(self, params: dict[str, str]) -> dict[str, Any]:
        session_id = "cs_test_" + secrets.token_hex(12)
        metadata = {key[len("metadata["):-1]: value for key, value in params.items() if key.startswith("metadata[")}
        session = {
            "id": session_id, "object": "checkout.session", "mode": params.get("mode"), "status": "open",
            "payment_status": "unpaid", "payment_intent": None, "metadata": metadata,
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "amount_total": int(params.get("line_items[0][price_data][unit_amount]", 0)),
            "currency": params.get("line_items[0][price_data][currency]"),
            "url": f"{self.url}/pay/{session_id}", "success_url": params.get("success_url"),
        }
        self.sessions[session_id] = session
        return session

    def pay(self, session_id: str, payment_status: str = "paid") -> dict[str, Any]:
        """The buyer completes checkout: the session gets its payment intent."""
        session = self.sessions[session_id]
        session.update(status="complete", payment_status=payment_status,
                       payment_intent=session["payment_intent"] or "pi_" + secrets.token_hex(12))
        return dict(session)


class _Handler(tornado.web.RequestHandler):
    def initialize(self, fake: FakeStripe) -> None:
        self.fake = fake

    def prepare(self) -> None:
        if self.request.headers.get("Authorization") != f"Bearer {API_KEY}":
            self.reply({"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}, 401)

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class SessionsHandler(_Handler):
    def post(self) -> None:
        params = dict(urllib.parse.parse_qsl(self.request.body.decode(), keep_blank_values=True))
        key = self.request.headers.get("Idempotency-Key")
        self.fake.requests.append({"method": "POST", "path": self.request.path, "idempotency_key": key,
                                   "params": params})
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        if key and key in self.fake.idempotent:
            seen, body = self.fake.idempotent[key]
            if seen != fingerprint:
                return self.reply({"error": {"type": "idempotency_error",
                                             "message": "Keys for idempotent requests can only be used with the "
                                                        "same parameters they were first used with."}}, 400)
            self.set_header("Idempotent-Replayed", "true")
            self.set_header("Content-Type", "application/json")
            return self.finish(body)
        body = json.dumps(self.fake.create_session(params)).encode()
        if key:
            self.fake.idempotent[key] = (fingerprint, body)
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    def get(self) -> None:
        intent = self.get_query_argument("payment_intent", None)
        found = [s for s in self.fake.sessions.values() if intent is None or s["payment_intent"] == intent]
        self.reply({"object": "list", "url": "/v1/checkout/sessions", "has_more": False, "data": found[:1]})


class SessionHandler(_Handler):
    def get(self, session_id: str) -> None:
        if session_id not in self.fake.sessions:
            return self.reply({"error": {"type": "invalid_request_error", "message": "No such session"}}, 404)
        self.reply(self.fake.sessions[session_id])


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {"id": event_id or "evt_" + secrets.token_hex(12), "object": "event", "type": kind,
            "created": int(time.time()), "data": {"object": obj}}


def charge(session: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "ch_" + secrets.token_hex(8), "object": "charge", "payment_intent": session["payment_intent"],
            "amount": session["amount_total"], "amount_refunded": session["amount_total"], "refunded": True,
            **fields}


def sign(secret: str, payload: bytes, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<unix>,v1=HMAC-SHA256(secret, "t.body")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
