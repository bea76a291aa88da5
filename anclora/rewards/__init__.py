"""Rewards: points, levels, streaks, referrals and purchase bonuses, granted once per source event."""
