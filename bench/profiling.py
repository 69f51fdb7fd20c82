"""What the profile scripts (profile_detail, profile_status, profile_board) share: the CPU per
request of a fetch, and the fetch under cProfile with its top functions printed."""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Callable


def fastest_cpu_ms(fetch: Callable[[], None], n: int) -> float:
    """Process CPU per call of `fetch`, in ms: the fastest of five batches of n/5 calls (other
    processes on the machine add noise)."""
    per_batch = max(n // 5, 1)
    batches = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(per_batch):
            fetch()
        batches.append((time.process_time() - started) * 1000 / per_batch)
    return min(batches)


def profile_top(fetch: Callable[[], None], n: int, top: int, *, cpu: bool, dump: str = "") -> str:
    """`fetch` called n times under cProfile (wall clock, or process CPU with `cpu`): the top
    functions by cumulative time and by own time (where the time is spent, not passed on)."""
    profile = cProfile.Profile(time.process_time) if cpu else cProfile.Profile()
    profile.enable()
    for _ in range(n):
        fetch()
    profile.disable()
    if dump:
        profile.dump_stats(dump)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()
