"""Signed, durable webhook deliveries: the rows, the secrets and signatures, the sender, the target checks."""
