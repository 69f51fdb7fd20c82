"""The schemathesis fixtures of `POST /api/v1/stock/transfer/` (tests/schemathesis_support.py):
a second center for the units to go to, and plenty of free units at GN to send one at a time.

(No tests here.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RECEIVER = "SC"


def transfer_operation(api: Any, part_number: str, operation: Callable[..., str]) -> str:
    """Create the receiving center, put 100,000 free units of the part on GN's shelf (a delivery
    outside an order, through the API), and return the config block that pins the operation's
    centers, part and quantity to them."""
    from service_center.models import ServiceCenter

    ServiceCenter.objects.get_or_create(code=RECEIVER, defaults={"name": "서초 서비스센터"})
    body = {"part_number": part_number, "delta": 100000, "reason": "schemathesis fixture"}
    api.ok("POST", "/api/v1/stock/adjust/", body)
    pinned = {
        "body.from_center": "GN",
        "body.to_center": RECEIVER,
        "body.part_number": part_number,
        "body.quantity": 1,
    }
    return operation("POST", "/api/v1/stock/transfer/", pinned)
