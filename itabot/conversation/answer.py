"""The answer model: what the bot means to say, before it becomes LINE messages.

The conversation engine and the admin commands produce an `Answer`; `messages` turns it into
LINE message objects (Flex with a text alt, quick replies); the console `chat` command prints
`Answer.text`, which is exactly the text alternative the bot sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from itabot.calendars.model import Phase


@dataclass(frozen=True)
class Context:
    """Who is asking, where, and when: the bound chat's province and agency, a fixed clock."""

    now: datetime
    province: str | None = None
    agency: str | None = None
    user_id: str | None = None
    chat_id: str | None = None
    chat_type: str | None = None  # user | group | room
    is_admin: bool = False
    # The year answers are about: the agency's plan year, else the current one (`replies`
    # fills it in); anything shown from another year says its year.
    fiscal_year: int | None = None


@dataclass(frozen=True)
class Answer:
    intent: str
    text: str
    phases: tuple[Phase, ...] = ()
    units: tuple[str, ...] = ()
    quick_replies: tuple[str, ...] = ()
    heading: str | None = None
    # What the text says beside the phases, for the card to show as well: the line under the
    # heading (the province's earlier deadline, the units asked for), how many phases were
    # left out ("… และอีก N รายการ"), and an unbound chat's "national calendar only" hint.
    body: str | None = None
    more: int = 0
    hint: str | None = None
    now: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)
    # Quick-reply postback buttons, (label, data): "ยกเลิก", the phases `/done` can confirm.
    postbacks: tuple[tuple[str, str], ...] = ()
    # A question with buttons on a card, (label, data): "ยืนยันลบ" / "ยกเลิก" (admin.confirm).
    confirm: tuple[tuple[str, str], ...] = ()
    # Per phase card, (phase key, "✓ ทำแล้ว" postback data or None, "✓ ยืนยันแล้ว…" or None):
    # only in a bound chat, for the phases its agency must act on.
    done: tuple[tuple[str, str | None, str | None], ...] = ()
