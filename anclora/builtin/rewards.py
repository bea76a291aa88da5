"""Rewards: points, levels and rewards earned by converting (built-in plugin `rewards`)."""
