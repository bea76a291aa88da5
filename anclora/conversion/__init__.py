"""Converters: the contract, the registry, the format graph and planner, chains of steps, the catalog."""
