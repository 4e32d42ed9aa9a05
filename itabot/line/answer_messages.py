"""Answer model → LINE message objects: a Flex card per phase, or plain text, with quick replies.

Built with line-bot-sdk v3 models so the SDK validates the shape. LINE's size limits are
enforced here as well, because neither the SDK models nor Prism check them all (Prism does not
look inside message objects, and the SDK does not bound a text or an altText): at most 5
messages, a text ≤ 5,000 characters, an altText ≤ 1,500, ≤ 13 quick replies with labels
≤ 20 characters, ≤ 12 bubbles in a carousel. The altText is the answer's text — what the
console `chat` command prints and what LINE shows in notifications and chat lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexCarousel,
    FlexComponent,
    FlexMessage,
    FlexSeparator,
    FlexText,
    Message,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)

from itabot.calendars.model import Phase, days_until
from itabot.calendars.thai_dates import BANGKOK
from itabot.calendars.wording import closing_text, countdown, owner_label
from itabot.conversation.answer import Answer

MAX_MESSAGES = 5
MAX_TEXT = 5000
MAX_ALT_TEXT = 1500
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_ACTION_TEXT = 300
MAX_POSTBACK_DATA = 300
MAX_BUBBLES = 12
_FIELD_LIMIT = 400  # one line of a card; keeps a bubble far below LINE's 10 KB
ELLIPSIS = "…"

APOLOGY_TEXT = "ขออภัย ระบบขัดข้องชั่วคราว กรุณาลองใหม่อีกครั้ง"
_HEADER_COLOR = "#1F4E79"
_MUTED = "#777777"
_URGENT = "#C62828"
_SOON = "#E65100"
_LATER = "#2E7D32"


# --- small text helpers -----------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked with … when something was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def split_text(text: str, limit: int = MAX_TEXT, max_parts: int = MAX_MESSAGES) -> list[str]:
    """Split a long text into LINE-sized parts at line breaks (a line longer than `limit` is
    cut at a space); beyond `max_parts` the last part is clipped rather than a message lost."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            parts, current = _flush(parts, current), ""
            parts.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts = _flush(parts, current)
            candidate = line
        current = candidate
    parts = _flush(parts, current)
    if not parts:
        return []
    if len(parts) > max_parts:
        parts = [*parts[: max_parts - 1], clip("\n".join(parts[max_parts - 1 :]), limit)]
    return parts


def _flush(parts: list[str], current: str) -> list[str]:
    return [*parts, current] if current.strip() else parts


# --- quick replies --------------------------------------------------------------------------


def quick_reply(
    questions: Iterable[str], postbacks: Sequence[tuple[str, str]] = ()
) -> QuickReply | None:
    """Buttons that send a whole question when tapped (the label is the question, shortened);
    postback buttons ("ยกเลิก", a phase to confirm) first."""
    seen: dict[str, None] = {}
    for q in questions:
        q = " ".join(q.split())
        if q:
            seen.setdefault(clip(q, MAX_ACTION_TEXT), None)
    items = [postback_item(label, data) for label, data in postbacks[:MAX_QUICK_REPLIES]]
    items += [
        QuickReplyItem(action=MessageAction(label=clip(q, MAX_LABEL), text=q))
        for q in list(seen)[: MAX_QUICK_REPLIES - len(items)]
    ]
    return QuickReply(items=items) if items else None


def postback_action(label: str, data: str) -> PostbackAction:
    """A button that tells the bot, not the chat: the label is shown as the member's message."""
    label = clip(label, MAX_LABEL)
    return PostbackAction(label=label, data=data[:MAX_POSTBACK_DATA], display_text=label)


def postback_item(label: str, data: str) -> QuickReplyItem:
    return QuickReplyItem(action=postback_action(label, data))


def done_footer(data: str | None, confirmed: str | None) -> FlexBox | None:
    """"✓ ทำแล้ว" under a card of a phase the chat's agency must act on, or, once it is
    confirmed, who confirmed it and when."""
    if confirmed:
        return FlexBox(
            layout="vertical",
            contents=[
                FlexText(text=clip(confirmed, _FIELD_LIMIT), size="xs", color=_LATER, wrap=True)
            ],
        )
    if data:
        button = FlexButton(
            action=postback_action("✓ ทำแล้ว", data), style="primary", color=_LATER, height="sm"
        )
        return FlexBox(layout="vertical", contents=[button])
    return None


# --- the phase card ------------------------------------------------------------------------


def _countdown_color(now: datetime, when: datetime) -> str:
    days = days_until(now, when)
    if when < now:
        return _MUTED
    return _URGENT if days <= 3 else _SOON if days <= 7 else _LATER


def _label_value(label: str, value: str, *, color: str | None = None) -> FlexBox:
    return FlexBox(
        layout="baseline",
        spacing="sm",
        contents=[
            FlexText(text=label, size="sm", color=_MUTED, flex=2),
            FlexText(
                text=clip(value, _FIELD_LIMIT),
                size="sm",
                wrap=True,
                flex=5,
                color=color,
                weight="bold" if color else None,
            ),
        ],
    )


def phase_bubble(
    phase: Phase,
    now: datetime,
    heading: str | None = None,
    done: tuple[str | None, str | None] = (None, None),
) -> FlexBubble:
    """One card: title, calendar owner, closing date and time, countdown, responsible units;
    `done` is the "✓ ทำแล้ว" postback data or the "✓ ยืนยันแล้ว…" note (`done_footer`)."""
    body: list[FlexComponent] = [
        FlexText(text=clip(phase.title, _FIELD_LIMIT), weight="bold", size="md", wrap=True),
        FlexText(text=owner_label(phase), size="xs", color=_MUTED, wrap=True),
        FlexSeparator(margin="md"),
    ]
    details: list[FlexComponent] = []
    closing = phase.closing
    when = closing_text(phase)
    if closing is not None and when:
        verb = "ระบบปิด" if phase.scope == "national" and phase.time_stated else "ภายใน"
        details.append(_label_value(verb, when))
        details.append(
            _label_value("เหลือเวลา", countdown(now, closing), color=_countdown_color(now, closing))
        )
    elif phase.period:
        details.append(_label_value("ช่วงเวลา", phase.period))
    if phase.responsible:
        details.append(_label_value("ผู้รับผิดชอบ", ", ".join(phase.responsible_expanded())))
    if details:
        body.append(FlexBox(layout="vertical", spacing="sm", margin="md", contents=details))
    header = None
    if heading:
        header = FlexBox(
            layout="vertical",
            background_color=_HEADER_COLOR,
            contents=[
                FlexText(text=clip(heading, _FIELD_LIMIT), color="#FFFFFF", size="sm", wrap=True)
            ],
        )
    return FlexBubble(
        size="kilo",
        header=header,
        body=FlexBox(layout="vertical", contents=body, spacing="sm"),
        footer=done_footer(*done),
    )


# --- answers → messages ----------------------------------------------------------------------


def text_messages(
    text: str, quick_questions: Sequence[str] = (), postbacks: Sequence[tuple[str, str]] = ()
) -> list[Message]:
    """A text answer as ≤ 5 text messages of ≤ 5,000 characters; quick replies on the last
    (LINE shows quick replies only while the message carrying them is the latest)."""
    parts = split_text(text) or ["…"]
    messages: list[Message] = [TextMessage(text=p) for p in parts]
    messages[-1].quick_reply = quick_reply(quick_questions, postbacks)
    return messages


def answer_to_messages(answer: Answer, *, now: datetime | None = None) -> list[Message]:
    """Phases → one Flex message (a bubble, or a carousel for several) whose altText is the
    answer's text; no phases → text. `now` defaults to the answer's own clock, so the countdown
    agrees with the text.

    The same answer in the same minute renders the same cards, and building a card is most of
    the webhook's CPU (pydantic validates every Flex component), so renderings are cached. The
    returned message objects are shared: treat them as read-only.
    """
    if not answer.phases:
        if answer.postbacks:
            return text_messages(answer.text, answer.quick_replies, answer.postbacks)
        return list(_text_answer(answer.text, tuple(answer.quick_replies)))
    now = (now or answer.now or datetime.now(BANGKOK)).replace(second=0, microsecond=0)
    phases = tuple(_PhaseKey.of(p) for p in answer.phases[:MAX_BUBBLES])
    quick = tuple(answer.quick_replies)
    return list(_flex_answer(answer.text, answer.heading, quick, phases, now, answer.done))


@dataclass(frozen=True)
class _PhaseKey:
    """A phase as a cache key: everything a card shows (Phase itself holds dicts: unhashable)."""

    key: str
    title: str
    closing: datetime | None
    responsible: tuple[str, ...]
    phase: Phase = field(compare=False, hash=False)

    @classmethod
    def of(cls, phase: Phase) -> _PhaseKey:
        return cls(phase.key, phase.title, phase.closing, phase.responsible_expanded(), phase)


@lru_cache(maxsize=256)
def _text_answer(text: str, quick: tuple[str, ...]) -> tuple[Message, ...]:
    return tuple(text_messages(text, quick))


@lru_cache(maxsize=256)
def _flex_answer(
    text: str,
    heading: str | None,
    quick: tuple[str, ...],
    phases: tuple[_PhaseKey, ...],
    now: datetime,
    done: tuple[tuple[str, str | None, str | None], ...] = (),
) -> tuple[Message, ...]:
    marks = {key: (data, note) for key, data, note in done}
    bubbles = [phase_bubble(p.phase, now, heading, marks.get(p.key, (None, None))) for p in phases]
    contents = bubbles[0] if len(bubbles) == 1 else FlexCarousel(contents=bubbles)
    alt_text = clip(text.strip() or heading or "กำหนดการ ITA", MAX_ALT_TEXT)
    return (FlexMessage(alt_text=alt_text, contents=contents, quick_reply=quick_reply(quick)),)


def apology_messages() -> list[Message]:
    return [TextMessage(text=APOLOGY_TEXT)]


def greeting_text(chat_type: str, examples: Sequence[str]) -> str:
    """What the bot says when added as a friend or to a group: what to ask and how to bind."""
    if chat_type == "user":
        hello = (
            "สวัสดีครับ ขอบคุณที่เพิ่มเป็นเพื่อน ผมคือบอทเตือนกำหนดการประเมิน ITA (ระบบ ITAS ของ สำนักงาน ป.ป.ช.)"
        )
    else:
        hello = (
            "สวัสดีครับ ขอบคุณที่เชิญเข้ากลุ่ม ผมคือบอทเตือนกำหนดการประเมิน ITA (ระบบ ITAS ของ สำนักงาน ป.ป.ช.)"
        )
    lines = [hello, "", "ถามผมได้เลย เช่น", *(f"• {q}" for q in examples), ""]
    lines.append(
        "สำหรับผู้ดูแลระบบ: ผูกแชทนี้กับหน่วยงานด้วยคำสั่ง /bind <ชื่อหน่วยงาน> "
        "เพื่อให้ผมตอบตามกำหนดการของจังหวัดและหน่วยงาน และแจ้งเตือนก่อนวันปิดระบบ"
    )
    lines.append("พิมพ์ /whoami เพื่อดูรหัสผู้ใช้และรหัสกลุ่มของแชทนี้")
    return "\n".join(lines)


def greeting_messages(
    chat_type: str, examples: Sequence[str], quick_questions: Sequence[str] = ()
) -> list[Message]:
    return text_messages(greeting_text(chat_type, examples), quick_questions)
