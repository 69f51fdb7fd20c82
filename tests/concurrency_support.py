"""Real threads for the PostgreSQL race tests: calls released together, each on its own connection.

(No tests here; the `*_pg.py` modules import these helpers.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import connections

Outcome = tuple[Any, BaseException | None]


def race(*calls: Callable[[], Any]) -> list[Outcome]:
    """Run the calls in threads released together; [(result or None, exception or None)], in
    the order of the calls. Fails the test if a thread hangs (a lock never released)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome] = [(None, None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[i] = (call(), None)
        except Exception as exc:  # reported to the test, which decides what was acceptable
            outcomes[i] = (None, exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (lock never released?)"
    return outcomes


def race_each(count: int, call: Callable[[int], Any]) -> list[Outcome]:
    """`count` threads at once, thread n running call(n)."""
    return race(*[partial(call, n) for n in range(count)])


def results(outcomes: list[Outcome]) -> list[Any]:
    """What each call returned; fails the test if any call raised."""
    errors = [e for _, e in outcomes if e is not None]
    assert not errors, [repr(e) for e in errors]
    return [r for r, _ in outcomes]


def errors(outcomes: list[Outcome]) -> list[BaseException]:
    """The exceptions the calls raised (the refused ones), in call order."""
    return [e for _, e in outcomes if e is not None]
