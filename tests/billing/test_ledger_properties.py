"""Random interleavings of conversions (succeeding, failing, canceled), rewards, purchases, duplicate and
out-of-order webhooks, refunds and disputes keep the ledger's promises (hypothesis, stateful):

- a balance is the sum of its entries and never below zero;
- each Stripe event takes effect once, however often it is delivered;
- a refund reverses exactly what was granted (no more than the balance holds); a failed or canceled
  conversion gets back exactly what it was charged.
"""

import asyncio
import gc
import uuid

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)
from sqlalchemy import func, select

from anclora.billing import charges, checkout, ledger, webhooks
from anclora.rewards import service as rewards
from anclora.server import build_context, close, start
from anclora.db.base import utcnow
from anclora.db.models import Conversion, CreditEntry, StripeEvent, User
from anclora.errors import PaymentRequired
from anclora.identity import Identity
from billing_helpers import converter_overrides
from fake_stripe import API_KEY, FakeStripe, charge, event

OUTCOMES = ("succeeded", "failed", "canceled")


@pytest.fixture
def anclora_overrides():
    return {"plan_limits": {"free": {"free_conversions_per_day": 1}},
            "credit_packs": [{"id": "tiny", "name": "6", "credits": 6, "amount_cents": 100},
                             {"id": "small", "name": "20", "credits": 20, "amount_cents": 300}],
            **converter_overrides()}


class World:
    """One event loop, application context and fake Stripe shared by every example of the run."""

    def __init__(self, base_settings):
        self.loop = asyncio.new_event_loop()
        self.fake = FakeStripe()
        self.run(self._start(base_settings))

    async def _start(self, base_settings):
        self.fake.start()
        self.ctx = build_context(base_settings.replace(stripe_secret_key=API_KEY, stripe_api_base=self.fake.url))
        if self.ctx.redis is not None:
            await self.ctx.redis.flushdb()
        await start(self.ctx)

    def run(self, coroutine):
        return self.loop.run_until_complete(coroutine)

    def close(self):
        async def stop():
            await close(self.ctx)
            await self.fake.stop()
        self.run(stop())
        # Whatever still holds a database connection is collected while its loop can still close it.
        gc.collect()
        self.run(asyncio.sleep(0))
        self.run(self.loop.shutdown_asyncgens())
        self.run(self.loop.shutdown_default_executor())
        self.loop.close()


class LedgerMachine(RuleBasedStateMachine):
    world: World

    @initialize()
    def new_user(self):
        self.user_id = str(uuid.uuid4())
        self.identity = Identity(address="10.1.1.1", user_id=self.user_id, level=1, plan="free", via="token")
        self.purchases: dict[str, dict] = {}  # session id -> {"credits", "status", "succeeds"}
        self.pending: list[dict] = []  # events Stripe has yet to deliver
        self.delivered: list[dict] = []
        self.conversions: dict[str, int] = {}  # id -> credits charged

        async def create():
            async with self.world.ctx.sessionmaker() as session:
                session.add(User(id=self.user_id, email=f"{self.user_id}@example.org", password_hash="x",
                                 is_verified=True, referral_code=self.user_id[:30], created_at=utcnow()))
                await session.commit()
        self.world.run(create())

    def balance(self) -> int:
        return self.world.run(ledger.current_balance(self.world.ctx, self.user_id))

    # --- purchases and Stripe events -------------------------------------------------------------------------

    @rule(pack=st.sampled_from(["tiny", "small"]), delayed=st.booleans(), succeeds=st.booleans())
    def buy(self, pack, delayed, succeeds):
        opened = self.world.run(checkout.start(self.world.ctx, self.user_id, pack))
        session = self.world.fake.pay(opened["session_id"], payment_status="unpaid" if delayed else "paid")
        self.purchases[session["id"]] = {"credits": opened["pack"]["credits"], "status": "open",
                                         "succeeds": succeeds or not delayed, "session": session}
        if not delayed:
            self.pending.append(event("checkout.session.completed", session))
            return
        self.pending.append(event("checkout.session.completed", session))
        kind = "succeeded" if succeeds else "failed"
        self.pending.append(event(f"checkout.session.async_payment_{kind}", {**session, "payment_status": "paid"}))

    @precondition(lambda self: any(p["succeeds"] and not p.get("reversed") for p in self.purchases.values()))
    @rule(data=st.data(), dispute=st.booleans())
    def refund_or_dispute(self, data, dispute):
        choices = sorted(sid for sid, p in self.purchases.items() if p["succeeds"] and not p.get("reversed"))
        purchase = self.purchases[data.draw(st.sampled_from(choices))]
        purchase["reversed"] = True
        session = purchase["session"]
        self.pending.append(
            event("charge.dispute.created", {"id": "dp_x", "payment_intent": session["payment_intent"]})
            if dispute else event("charge.refunded", charge(session)))

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def deliver(self, data):
        """Stripe delivers any pending event: out of order."""
        chosen = self.pending.pop(data.draw(st.integers(0, len(self.pending) - 1)))
        self._apply(chosen, duplicate=False)
        self.delivered.append(chosen)

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redeliver(self, data):
        self._apply(data.draw(st.sampled_from(self.delivered)), duplicate=True)

    def _apply(self, stripe_event, duplicate):
        before = self.balance()
        obj = stripe_event["data"]["object"]
        session_id = obj["id"] if obj.get("object") == "checkout.session" else next(
            sid for sid, p in self.purchases.items() if p["session"]["payment_intent"] == obj["payment_intent"])
        purchase = self.purchases[session_id]
        expected = 0 if duplicate else self._expected_change(purchase, stripe_event, before)
        self.world.run(webhooks.apply(self.world.ctx, stripe_event))
        assert self.balance() - before == expected, (stripe_event["type"], purchase)

    @staticmethod
    def _expected_change(purchase, stripe_event, balance) -> int:
        kind, status = stripe_event["type"], purchase["status"]
        obj = stripe_event["data"]["object"]
        opened = status in ("open", "pending")
        if kind in ("checkout.session.async_payment_succeeded",) or (
                kind == "checkout.session.completed" and obj["payment_status"] == "paid"):
            if opened:
                purchase["status"], purchase["granted"] = "paid", True
                return purchase["credits"]
            return 0
        if kind == "checkout.session.completed":
            purchase["status"] = "pending" if status == "open" else status
            return 0
        if kind == "checkout.session.async_payment_failed":
            purchase["status"] = "failed" if opened else status
            return 0
        if status in ("refunded", "disputed"):
            return 0
        purchase["status"] = "refunded" if kind == "charge.refunded" else "disputed"
        return -min(purchase["credits"], balance) if status == "paid" else 0

    # --- conversions and rewards -----------------------------------------------------------------------------

    @rule(cost=st.integers(0, 7), outcome=st.sampled_from(OUTCOMES), repeat_hook=st.booleans())
    def convert(self, cost, outcome, repeat_hook):
        conversion = {"id": str(uuid.uuid4()), "from": "txt", "to": "md", "converter": "priced_text",
                      "cost": cost, "dry_run": False}
        before = self.balance()
        try:
            self.world.run(charges.authorize(self.world.ctx, self.identity, conversion))
        except PaymentRequired:
            assert self.balance() == before < cost
            return
        charged = before - self.balance()
        assert charged in (0, cost)
        self.conversions[conversion["id"]] = charged
        self.world.run(self._finish(conversion, outcome, repeat_hook))
        if outcome != "succeeded":
            assert self.balance() == before, "a failed or canceled conversion gets back what it was charged"

    async def _finish(self, conversion, outcome, repeat_hook):
        ctx = self.world.ctx
        async with ctx.sessionmaker() as session:
            session.add(Conversion(id=conversion["id"], user_id=self.user_id, owner_key=f"user:{self.user_id}",
                                   from_format="txt", to_format="md", converter="priced_text", status=outcome,
                                   cost=conversion["cost"]))
            await session.commit()
        for _ in range(2 if repeat_hook else 1):
            if outcome == "succeeded":
                await rewards.conversion_succeeded(ctx, {**conversion, "status": outcome}, self.identity)
            else:
                await charges.refund(ctx, {**conversion, "status": outcome})

    # --- invariants ------------------------------------------------------------------------------------------

    @invariant()
    def balance_is_never_negative(self):
        assert self.balance() >= 0

    @invariant()
    def each_event_applied_once(self):
        async def counts():
            async with self.world.ctx.sessionmaker() as session:
                ids = {e["id"] for e in self.delivered}
                stored = await session.scalar(select(func.count()).select_from(StripeEvent).where(
                    StripeEvent.id.in_(ids))) if ids else 0
                grants = await session.scalar(select(func.count()).select_from(CreditEntry).where(
                    CreditEntry.user_id == self.user_id, CreditEntry.reason == "purchase"))
                return stored, len(ids), grants
        stored, delivered, grants = self.world.run(counts())
        assert stored == delivered
        assert grants == sum(1 for p in self.purchases.values() if p.get("granted"))


def test_ledger_invariants_hold_under_random_interleavings(anclora_settings):
    world = World(anclora_settings)
    LedgerMachine.world = world
    try:
        run_state_machine_as_test(LedgerMachine, settings=settings(
            max_examples=12, stateful_step_count=25, deadline=None,
            suppress_health_check=[HealthCheck.too_slow]))
    finally:
        world.close()
