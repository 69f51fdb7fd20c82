"""Every write to stock, reservations, parts orders and the catalogue.

`stock.py` (reserve, release, consume, allocate waiting, adjust, transfer), `orders.py`
(parts orders), `catalogue.py` (parts), `ledger.py` (the one writer of stock counts and
their movements).
Callers import this package: `from parts import services`.
"""

from parts.services.catalogue import part_create
from parts.services.ledger import stock_set_count
from parts.services.orders import (
    parts_order_cancel,
    parts_order_receive,
    parts_order_request,
    parts_order_ship,
)
from parts.services.stock import (
    Allocation,
    allocate_waiting,
    reservation_create,
    reservations_consume,
    reservations_release,
    stock_adjust,
    stock_transfer,
)

__all__ = [
    "Allocation",
    "allocate_waiting",
    "part_create",
    "parts_order_cancel",
    "parts_order_receive",
    "parts_order_request",
    "parts_order_ship",
    "reservation_create",
    "reservations_consume",
    "reservations_release",
    "stock_adjust",
    "stock_set_count",
    "stock_transfer",
]
