"""Billing: prices, the credits ledger, conversion charges, credit packs and Stripe (used by the built-in
plugin `anclora.builtin.billing`)."""
