"""Converters: the contract, the format graph and planner, the sandbox runner, engine pools."""
