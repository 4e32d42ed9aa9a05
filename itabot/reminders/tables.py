"""Shared plumbing of the reminder dispatcher: the ledger and outbox tables, UTC timestamps,
id chunks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from itabot.storage.models import Push, PushPayload, Reminder

PAYLOAD = PushPayload.__table__
PUSH = Push.__table__
REMINDER = Reminder.__table__

_ID_CHUNK = 500


@lru_cache(maxsize=1024)
def _utc(moment: datetime) -> datetime:
    """Timestamps are stored in UTC: SQLite keeps no offset, so everything is written in one.
    (Memoised: 10,000 chats share a handful of closings and due times.)"""
    return moment.astimezone(UTC)


def _chunks(items: Sequence[Any], size: int = _ID_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
