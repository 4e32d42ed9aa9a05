"""What one reminder dispatch did (`DispatchReport`), counted by every step."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass
class DispatchReport:
    """What one dispatch did, for the CLI, the clock's log and the tests."""

    at: datetime
    worker_id: str
    due: int = 0  # reminders the planner found due now
    claimed: int = 0  # … newly claimed in the ledger by this dispatch
    already_claimed: int = 0  # … already in the ledger (sent earlier, or another dispatcher)
    dropped: int = 0  # dropped by the month plan (LINE quota): never sent
    skipped: int = 0  # larger offsets recorded as skipped (their day went by unsent)
    suppressed: int = 0  # recorded suppressed: the agency confirmed the phase done (no push)
    pushes_created: int = 0
    sent: int = 0  # LINE accepted (200)
    duplicates: int = 0  # LINE had already accepted this retry key (409): sent, not re-delivered
    failed: int = 0  # LINE refused (4xx other than 409/429): not retried
    retry_later: int = 0  # still failing after line/client.py's retries: pending for the next dispatch
    expired: int = 0  # pending pushes that went stale (never sent)
    over_quota: int = 0  # pushes left pending because the monthly quota cannot pay for them
    quota_notice: bool = False  # admins were told (or it was logged) this dispatch
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}
        data["at"] = self.at.isoformat()
        return data

    @property
    def changed(self) -> bool:
        """Anything written or sent (the clock logs only these, not every idle minute)."""
        return any(
            (
                self.pushes_created,
                self.skipped,
                self.suppressed,
                self.dropped,
                self.sent,
                self.duplicates,
                self.failed,
                self.retry_later,
                self.expired,
                self.over_quota,
            )
        )

    def summary(self) -> str:
        return (
            f"reminders due={self.due} new={self.claimed} already={self.already_claimed} "
            f"skipped={self.skipped} suppressed={self.suppressed} dropped={self.dropped} | pushes created={self.pushes_created} sent={self.sent} "
            f"duplicates={self.duplicates} failed={self.failed} retry_later={self.retry_later} "
            f"expired={self.expired} over_quota={self.over_quota}"
        )
