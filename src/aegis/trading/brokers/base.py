"""The broker interface the order path talks to. A broker acknowledges, refuses or times out on
``submit``; fills come back later through the service (tape matching for paper, fill notices
and reconciliation for KIS). A timeout is never retried: the order becomes UNKNOWN."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass

from aegis.trading.models import Order, OrderStatus


def broker_key(broker_order_id: str) -> str:
    """The order number of a broker id (``ORGNO:ODNO`` for KIS) without zero padding: fill
    notices and inquiries pad it differently."""
    return broker_order_id.rsplit(":", 1)[-1].lstrip("0")


class BrokerRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BrokerTimeout(Exception):
    """No answer in time: the order may or may not be at the broker."""


@dataclass(frozen=True, slots=True)
class BrokerOrderView:
    """What the broker says about one of our orders (for reconciliation)."""

    broker_order_id: str
    status: OrderStatus  # ACCEPTED (open), FILLED, CANCELLED, REJECTED
    filled_quantity: int
    average_price: int  # of the fills, won (truncated)
    filled_amount: int = 0  # Σ price × qty of the fills, when the broker tells it


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    symbol: str
    quantity: int
    average_price: float


@dataclass(frozen=True, slots=True)
class BrokerBalance:
    cash: int
    positions: dict[str, BrokerPosition]


class Broker(ABC):
    name: str = "broker"

    @abstractmethod
    async def submit(self, order: Order) -> str:
        """Send ``order``; returns the broker's order id. Raises BrokerRejected/BrokerTimeout."""

    @abstractmethod
    async def cancel(self, order: Order) -> None:
        """Cancel what is left of ``order``. Raises BrokerRejected/BrokerTimeout."""

    @abstractmethod
    async def lookup(self, order: Order, taken: Collection[str] = ()) -> BrokerOrderView | None:
        """The broker's view of ``order`` (None: the broker never received it). ``taken``:
        the keys (``broker_key``) of our other orders, which a look-up by content skips."""
