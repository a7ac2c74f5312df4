"""Exponential backoff with full jitter (delay drawn uniformly in [base/2, base])."""

from __future__ import annotations

import random


class Backoff:
    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 60.0,
        factor: float = 2.0,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        base = min(self.maximum, self.initial * self.factor**self.attempt)
        self.attempt += 1
        # half fixed, half random: spreads reconnect storms but keeps the schedule growing
        return base / 2 + self._rng.random() * base / 2

    def reset(self) -> None:
        self.attempt = 0
