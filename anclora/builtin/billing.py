"""Billing: prices, free allowances, the credits ledger and Stripe Checkout (built-in plugin `billing`)."""
