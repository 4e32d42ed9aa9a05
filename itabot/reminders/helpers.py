"""Helper processes that share the sending of a large dispatch.

Why: a push through line-bot-sdk costs ~0.8 ms of CPU (the SDK's serialisation, urllib3,
http.client) under one GIL, so one process tops out near 1,000 pushes/s while LINE accepts
2,000. More threads do not help; more processes do. The push leases (`lease_pushes`: a
conditional UPDATE, `FOR UPDATE SKIP LOCKED` on PostgreSQL) already make concurrent senders
safe — two clock processes rely on them — so helpers simply lease and send beside the
dispatcher until nothing is left.

Each helper builds its own engine and gateway from `Settings`, sends with an equal share of the
rate limit, and spends the month's quota from one counter in shared memory, so N senders never
spend more than one would. They are started after planning, when the plan is large. A helper
that dies leaves its leases to expire; the next dispatch re-sends those with the same retry key
and LINE's 409 says which ones had gone out.

How a helper starts (`start_method`): forked when the dispatcher runs no other thread (`python
-m itabot reminders send`), so it is ready at once — a spawned interpreter spends ~2 s of CPU
importing line-bot-sdk, on a 2-core host as much as the claiming it is meant to overlap. The
forked child sets the parent's database engines aside unused (`db._after_fork_in_child`) and
makes its own LINE client. Spawned when other threads exist (the clock dispatches on a
scheduler thread, `python bot.py` has the web server's): a fork copies only the calling thread,
and a lock another thread held at that moment would stay locked in the child for ever.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from typing import Any

from itabot.config import Settings
from itabot.reminders.report import DispatchReport

log = logging.getLogger(__name__)

HELPER_MIN_PUSHES = 1000  # below this many due reminders the dispatcher sends alone
SENT_COUNTS = ("sent", "duplicates", "failed", "retry_later", "over_quota")


class SharedQuotaBudget:
    """`QuotaBudget` with the remaining count in shared memory: one month's quota, spent by
    every sending thread of every sending process."""

    def __init__(self, remaining: Any, shortfall: Any, limited: Any, reserve: Any) -> None:
        self._remaining, self._shortfall = remaining, shortfall
        self._limited, self._reserve = limited, reserve

    @classmethod
    def create(cls, context: Any) -> SharedQuotaBudget:
        return cls(
            context.Value("q", 0),
            context.Value("q", 0, lock=False),
            context.Value("b", 0, lock=False),
            context.Value("q", 0, lock=False),
        )

    def parts(self) -> tuple[Any, Any, Any, Any]:
        """What a helper process is given at start-up to rebuild the same budget."""
        return self._remaining, self._shortfall, self._limited, self._reserve

    def reset(self, remaining: int | None, reserve: int) -> None:
        with self._remaining.get_lock():
            self._limited.value = remaining is not None
            self._remaining.value = remaining or 0
            self._reserve.value = reserve
            self._shortfall.value = 0

    @property
    def limited(self) -> bool:
        return bool(self._limited.value)

    @property
    def remaining(self) -> int | None:
        return self._remaining.value if self.limited else None

    @property
    def shortfall(self) -> int:
        return self._shortfall.value

    def take(self, cost: int) -> bool:
        if not self.limited:
            return True
        with self._remaining.get_lock():
            if cost <= self._remaining.value - self._reserve.value:
                self._remaining.value -= cost
                return True
            self._shortfall.value += cost
            return False

    def refund(self, cost: int) -> None:
        if self.limited:
            with self._remaining.get_lock():
                self._remaining.value += cost


# --- inside a helper process ------------------------------------------------------------------

_helper: dict[str, Any] = {}


def _start_helper(
    settings: Settings, budget_parts: tuple[Any, Any, Any, Any], claimed: Any
) -> None:
    """Helper start-up: its own engine and LINE client (none is inherited)."""
    from itabot.line.client import make_line_gateway
    from itabot.storage import db

    _helper["sessions"] = db.session_factory(settings.database_url)
    _helper["gateway"] = make_line_gateway(settings)
    _helper["budget"] = SharedQuotaBudget(*budget_parts)
    _helper["claimed"] = claimed


def _still_claiming(wait: bool) -> bool:
    """True while the dispatcher is claiming: an empty lease then only means the next claim
    batch has not committed yet. With `wait`, first waits up to CLAIM_POLL for the claim to
    end (the sender has nothing else to do)."""
    from itabot.reminders.sender import CLAIM_POLL

    claimed = _helper["claimed"]
    if claimed.is_set():
        return False
    if wait:
        claimed.wait(CLAIM_POLL)
    return True


def _send_share(now: datetime, worker_id: str, rate: float, burst: int, workers: int) -> dict:
    """Lease and send until nothing is left; the counts for the dispatcher's report."""
    from itabot.reminders.sender import RateLimiter, Sender

    report = DispatchReport(at=now, worker_id=worker_id)
    sender = Sender(
        _helper["sessions"],
        _helper["gateway"],
        now,
        worker_id,
        report,
        _helper["budget"],
        RateLimiter(rate, burst),
        workers,
        still_claiming=_still_claiming,
    )
    sender.run()
    return {"counts": {name: getattr(report, name) for name in SENT_COUNTS}, "held": sender.held}


# --- in the dispatcher ------------------------------------------------------------------------


def start_method() -> str:
    """`fork` in a process with no other thread (a fork is a safe copy of it), else `spawn`."""
    if threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
        return "fork"
    return "spawn"


class SendingHelpers:
    """`count` helper processes for one dispatch: given the sending with `send` (they start
    then, and lease as the claim batches commit), told with `claiming_done` that no more
    pushes are coming, stopped with `close`."""

    def __init__(self, settings: Settings, count: int) -> None:
        method = start_method()
        log.info("starting %d reminder sending helper(s) (%s)", count, method)
        context = mp.get_context(method)
        self.count = count
        self.budget = SharedQuotaBudget.create(context)
        self._claimed = context.Event()
        self._pool = ProcessPoolExecutor(
            count,
            mp_context=context,
            initializer=_start_helper,
            initargs=(settings, self.budget.parts(), self._claimed),
        )

    def send(
        self, now: datetime, worker_id: str, rate: float, burst: int, workers: int
    ) -> list[Future]:
        """Each helper leases and sends beside the caller; futures of their counts."""
        return [
            self._pool.submit(_send_share, now, f"{worker_id}/h{n}", rate, burst, workers)
            for n in range(1, self.count + 1)
        ]

    def claiming_done(self) -> None:
        """The dispatcher has claimed all it will: a helper finding nothing left may stop."""
        self._claimed.set()

    @staticmethod
    def collect(futures: list[Future], report: DispatchReport) -> list[int]:
        """Add the helpers' counts to the dispatch's report; the pushes they hold over quota.
        A helper that failed is logged: its leases expire and the next dispatch sends what it
        held, with the same keys."""
        held: list[int] = []
        for future in futures:
            try:
                share = future.result()
            except Exception as exc:
                log.error("a reminder sending helper failed: %s: %s", type(exc).__name__, exc)
                continue
            for name, n in share["counts"].items():
                report.count(name, n)
            held.extend(share["held"])
        return held

    def close(self) -> None:
        self._claimed.set()  # whatever happened, no helper waits for more claims
        self._pool.shutdown(wait=True, cancel_futures=True)
