"""Reminder pushes as LINE messages: one Flex bubble per closing, merged into one push per chat.

Built with line-bot-sdk v3's models so the SDK validates them. LINE's limits shape the
output: ≤ 5 message objects per push, ≤ 12 bubbles per carousel, altText ≤ 1,500 characters,
text ≤ 5,000. More than 60 closings due at once (never seen in a real calendar, but an agency
plan could be written that way) become four carousels and a text message listing the rest.

The altText is the push's plain-text form: it is what a phone shows in the notification and
the chat list, and what LINE shows where Flex cannot be drawn, so it carries everything that
matters — the tool, the title, the date with its BE year, the time when stated, and the
countdown (`อีก 7 วัน`, or `วันนี้ ปิดเวลา 17.00 น.` on the day).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexCarousel,
    FlexMessage,
    FlexText,
    Message,
    TextMessage,
)

from itabot.admin.done import postback_data
from itabot.calendars.model import Phase
from itabot.calendars.thai_dates import BANGKOK, format_date_short
from itabot.calendars.wording import (
    closing_short,
    closing_time_text,
    countdown_days,
    tool_label,
)
from itabot.line.answer_messages import MUTED, countdown_colour, done_footer, tool_strip

MAX_MESSAGES = 5
MAX_BUBBLES = 12
MAX_ALT_TEXT = 1500
MAX_TEXT = 5000
TITLE_IN_ALT = 70  # characters of a phase title kept in one altText line

HEADER = "🔔 แจ้งเตือนกำหนดปิด ITA"


class ReminderItem(Protocol):
    """What a message needs from a due reminder (`reminders.planner.DueReminder` fits)."""

    @property
    def phase(self) -> Phase: ...

    @property
    def offset_days(self) -> int: ...


# --- words -----------------------------------------------------------------------------------


def countdown_text(phase: Phase, offset_days: int) -> str:
    """The countdown of a reminder sent `offset_days` before; on the day, with the closing
    time ("วันนี้ ปิดเวลา 17.00 น.") or "วันนี้ วันสุดท้าย" — the one moment it matters most."""
    if offset_days <= 0:
        clock = closing_time_text(phase)
        return f"วันนี้ ปิดเวลา {clock}" if clock else "วันนี้ วันสุดท้าย"
    return countdown_days(offset_days)


def _whose(phase: Phase) -> str:
    """A province's or an agency's own deadline is marked; NACC's (ITAS) is the unmarked case."""
    if phase.scope == "province":
        return f" [จ.{phase.province or phase.owner or ''}]"
    if phase.scope == "agency":
        return f" [{phase.owner or 'แผนหน่วยงาน'}]"
    return ""


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def reminder_line(phase: Phase, offset_days: int) -> str:
    """One closing in plain text, the tool first, e.g.
    "• OIT: ตอบและอนุมัติข้อมูลตามแบบวัด OIT — ปิด 30 มิ.ย. 2569 เวลา 17.00 น. (อีก 7 วัน)".
    """
    head = f"{tool_label(phase)}: {_short(phase.title, TITLE_IN_ALT)}{_whose(phase)}"
    if offset_days <= 0:
        when = format_date_short(phase.closing.astimezone(BANGKOK).date())
        return f"• {head} — {countdown_text(phase, offset_days)} ({when})"
    return f"• {head} — {closing_short(phase)} ({countdown_text(phase, offset_days)})"


def alt_text(items: Sequence[ReminderItem], header: str = HEADER) -> str:
    """The plain-text form of a set of closings, cut to LINE's 1,500 characters by whole
    lines (never mid-date), ending with how many were left out."""
    lines = [reminder_line(i.phase, i.offset_days) for i in items]
    return _fit([header, *lines], MAX_ALT_TEXT)


def _fit(lines: list[str], limit: int) -> str:
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    for n, line in enumerate(lines):
        more = f"\n… และอีก {len(lines) - n} รายการ"
        if len("\n".join([*kept, line])) + len(more) > limit:
            return "\n".join(kept) + more
        kept.append(line)
    return "\n".join(kept)  # pragma: no cover - the loop always returns once over the limit


# --- Flex ------------------------------------------------------------------------------------


def reminder_bubble(phase: Phase, offset_days: int, secret: str = "") -> FlexBubble:
    """A card: the tool and whose deadline in the header, the title, the closing, the countdown,
    and "✓ ทำแล้ว" (a signed postback: pressed, the agency's reminders of it stop). Header and
    colours are the answer card's (`line.answer_messages`): the same closing looks the same."""
    colour = countdown_colour(offset_days)
    header = tool_strip(phase, colour)
    body = FlexBox(
        layout="vertical",
        spacing="sm",
        contents=[
            FlexText(text=phase.title, weight="bold", size="sm", wrap=True, max_lines=4),
            FlexText(text=closing_short(phase), size="sm", color=MUTED, wrap=True),
            FlexText(
                text=countdown_text(phase, offset_days),
                size="xl",
                weight="bold",
                color=colour,
                wrap=True,
            ),
        ],
    )
    footer = done_footer(postback_data(secret, "done", phase), None)
    return FlexBubble(size="kilo", header=header, body=body, footer=footer)


def _flex(items: Sequence[ReminderItem], header: str, secret: str = "") -> FlexMessage:
    bubbles = [reminder_bubble(i.phase, i.offset_days, secret) for i in items]
    contents = bubbles[0] if len(bubbles) == 1 else FlexCarousel(contents=bubbles)
    return FlexMessage(alt_text=alt_text(items, header), contents=contents)


def _chunks(items: Sequence[ReminderItem], size: int) -> list[Sequence[ReminderItem]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def reminder_messages(items: Sequence[ReminderItem], secret: str = "") -> list[Message]:
    """One push's messages for everything due for a chat at once (≤ 5 message objects);
    `secret` (the channel secret) signs the "✓ ทำแล้ว" buttons — without it they are left out."""
    if not items:
        raise ValueError("no reminders to build a message from")
    max_flex = MAX_BUBBLES * MAX_MESSAGES
    if len(items) <= max_flex:
        chunks = _chunks(items, MAX_BUBBLES)
        rest: Sequence[ReminderItem] = ()
    else:
        shown = MAX_BUBBLES * (MAX_MESSAGES - 1)
        chunks, rest = _chunks(items[:shown], MAX_BUBBLES), items[shown:]
    messages: list[Message] = []
    for n, chunk in enumerate(chunks, start=1):
        header = HEADER if len(chunks) == 1 and not rest else f"{HEADER} ({n}/{len(chunks)})"
        messages.append(_flex(chunk, header, secret))
    if rest:
        lines = [f"และอีก {len(rest)} รายการ:"] + [
            reminder_line(i.phase, i.offset_days) for i in rest
        ]
        messages.append(TextMessage(text=_fit(lines, MAX_TEXT)))
    return messages


def plain_text(messages: Sequence[Message]) -> str:
    """What a push says without Flex: the altTexts and texts, in order (for logs and `plan`)."""
    parts = []
    for m in messages:
        if isinstance(m, FlexMessage):
            parts.append(m.alt_text)
        elif isinstance(m, TextMessage):
            parts.append(m.text)
    return "\n".join(parts)
