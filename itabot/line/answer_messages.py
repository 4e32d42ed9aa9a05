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
from itabot.calendars.thai_dates import BANGKOK, thai_month_name, thai_weekday_name
from itabot.calendars.wording import closing_time_text, countdown, owner_label, tool_label
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

# One palette for answer cards and reminder cards: the same countdown has the same colour in
# both, and every text keeps a WCAG contrast of at least 4.5:1 on its background
# (tests/test_cards.py checks every pair the JSON uses).
WHITE = "#FFFFFF"
INK = "#111111"  # LINE's default text colour
MUTED = "#5F6368"  # labels; 6.0:1 on white (#777777 was 4.48:1)
LEAD_BG = "#EEF3F8"  # the answer's lead: heading, the line under it, hints
LEAD_INK = "#1F4E79"
RED = "#C62828"  # closes today
ORANGE = "#B34700"  # tomorrow (#EF6C00 with white text was 3.1:1)
BLUE = "#1565C0"  # later
GREY = "#616161"  # already closed
GREEN = "#2E7D32"  # "✓ ทำแล้ว" and confirmations


def countdown_colour(days: int) -> str:
    """The colour of a closing `days` calendar days away (negative: closed): the reminder
    card's rule, so an answer and yesterday's reminder look alike."""
    if days < 0:
        return GREY
    return RED if days == 0 else ORANGE if days == 1 else BLUE


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
    postback buttons ("ยกเลิก", a phase to confirm) first. No two labels are the same."""
    seen: dict[str, None] = {}
    for q in questions:
        q = " ".join(q.split())
        if q:
            seen.setdefault(clip(q, MAX_ACTION_TEXT), None)
    postbacks = postbacks[:MAX_QUICK_REPLIES]
    texts = list(seen)[: MAX_QUICK_REPLIES - len(postbacks)]
    labels = distinct_labels([label for label, _ in postbacks] + texts)
    items = [
        postback_item(label, data)
        for label, (_, data) in zip(labels[: len(postbacks)], postbacks, strict=True)
    ]
    items += [
        QuickReplyItem(action=MessageAction(label=label, text=q))
        for label, q in zip(labels[len(postbacks) :], texts, strict=True)
    ]
    return QuickReply(items=items) if items else None


def distinct_labels(labels: Sequence[str], limit: int = MAX_LABEL) -> list[str]:
    """Labels cut to LINE's 20 characters, none the same: three agencies whose names start
    alike were three identical "/agency remove สุริ…". Where cutting the end makes two equal,
    their first word and their ends are kept instead ("ลบ …สุรินทร์ใต้"); if those are equal too,
    they are numbered."""
    out = [clip(label, limit) for label in labels]
    for attempt in ("tail", "number"):
        counts: dict[str, int] = {}
        for label in out:
            counts[label] = counts.get(label, 0) + 1
        clashing = [n for n, label in enumerate(out) if counts[label] > 1]
        if not clashing:
            break
        for k, n in enumerate(clashing, start=1):
            full = labels[n]
            if attempt == "tail":  # the first word (the verb) stays: "ลบ …สุรินทร์ใต้"
                head = full.split(" ", 1)[0] + " " if " " in full[:8] else ""
                out[n] = head + ELLIPSIS + full[-(limit - len(head) - 1) :]
            else:
                out[n] = clip(f"{k}. {full}", limit)
    return out


def postback_action(label: str, data: str) -> PostbackAction:
    """A button that tells the bot, not the chat: the label is shown as the member's message."""
    label = clip(label, MAX_LABEL)
    return PostbackAction(label=label, data=data[:MAX_POSTBACK_DATA], display_text=label)


def postback_item(label: str, data: str) -> QuickReplyItem:
    return QuickReplyItem(action=postback_action(label, data))


def done_footer(data: str | None, confirmed: str | None) -> FlexBox | None:
    """ "✓ ทำแล้ว" under a card of a phase the chat's agency must act on, or, once it is
    confirmed, who confirmed it and when."""
    if confirmed:
        return FlexBox(
            layout="vertical",
            contents=[
                FlexText(text=clip(confirmed, _FIELD_LIMIT), size="xs", color=GREEN, wrap=True)
            ],
        )
    if data:
        button = FlexButton(
            action=postback_action("✓ ทำแล้ว", data), style="primary", color=GREEN, height="sm"
        )
        return FlexBox(layout="vertical", contents=[button])
    return None


# --- the phase card ------------------------------------------------------------------------


def days_left(now: datetime, when: datetime) -> int:
    """Calendar days to a closing, or -1 once it has passed (even earlier the same day)."""
    return -1 if when < now else days_until(now, when)


def tool_strip(phase: Phase, colour: str) -> FlexBox:
    """The reminder card's header: the tool and whose deadline, on the countdown's colour."""
    return FlexBox(
        layout="vertical",
        background_color=colour,
        padding_all="12px",
        contents=[
            FlexText(text=tool_label(phase), weight="bold", size="lg", color=WHITE, wrap=True),
            FlexText(text=owner_label(phase), size="xs", color=WHITE, wrap=True),
        ],
    )


def _label(text: str) -> FlexText:
    """A field's name on its own line, so it is never cut ("ผู้รับผิดช…" beside its value)."""
    return FlexText(text=text, size="xs", color=MUTED, wrap=True)


def _day_and_time(phase: Phase) -> tuple[str, str]:
    """("30 มิถุนายน 2569", "วันอังคาร เวลา 17.00 น."): the date big, the rest under it."""
    assert phase.closing is not None
    local = phase.closing.astimezone(BANGKOK).date()
    day = f"{local.day} {thai_month_name(local.month)} {local.year + 543}"
    weekday = f"วัน{thai_weekday_name(local)}"
    clock = closing_time_text(phase)
    return day, f"{weekday} เวลา {clock}" if clock else f"{weekday} (วันสุดท้าย)"


def phase_bubble(
    phase: Phase,
    now: datetime,
    *,
    lead: FlexBox | None = None,
    tail: str | None = None,
    done: tuple[str | None, str | None] = (None, None),
    units_asked: bool = False,
) -> FlexBubble:
    """One card, the reminder card's layout: tool and owner on the countdown's colour, the
    title, the closing date and the countdown as the largest text, the responsible units.
    `lead` (the answer's heading and what it says beside the phases) tops the first card only;
    `tail` ("… และอีก N รายการ") ends the last; `done` is the "✓ ทำแล้ว" postback data or the
    "✓ ยืนยันแล้ว…" note (`done_footer`); `units_asked`: a who-question, the units stand out."""
    closing = phase.closing
    colour = countdown_colour(days_left(now, closing)) if closing else GREY
    body: list[FlexComponent] = [
        FlexText(text=clip(phase.title, _FIELD_LIMIT), weight="bold", size="sm", wrap=True)
    ]
    if closing is not None:
        verb = "ระบบ ITAS ปิด" if phase.scope == "national" and phase.time_stated else "กำหนดภายใน"
        day, rest = _day_and_time(phase)
        body += [
            _label(verb),
            FlexText(text=day, size="xl", weight="bold", wrap=True, margin="none"),
            FlexText(text=rest, size="sm", wrap=True, margin="none"),
            FlexText(
                text=countdown(now, closing), size="xl", weight="bold", color=colour, wrap=True
            ),
        ]
    elif phase.period:
        body += [_label("ช่วงเวลา"), FlexText(text=clip(phase.period, _FIELD_LIMIT), wrap=True)]
    if phase.responsible:
        units = clip(", ".join(phase.responsible_expanded()), _FIELD_LIMIT)
        body += [
            FlexSeparator(margin="md"),
            _label("ผู้รับผิดชอบ"),
            FlexText(
                text=units,
                size="md" if units_asked else "sm",
                weight="bold" if units_asked else None,
                wrap=True,
                margin="none",
            ),
        ]
    if tail:
        body += [FlexSeparator(margin="md"), FlexText(text=tail, size="sm", color=MUTED, wrap=True)]
    strip = tool_strip(phase, colour)
    header = FlexBox(
        layout="vertical", padding_all="0px", contents=[lead, strip] if lead else [strip]
    )
    return FlexBubble(
        size="kilo",
        header=header,
        body=FlexBox(layout="vertical", contents=body, spacing="sm"),
        footer=done_footer(*done),
    )


def lead_box(heading: str | None, body: str | None, hint: str | None) -> FlexBox | None:
    """The answer's heading and the lines beside its phases — the province's earlier deadline,
    the units asked for, an unbound chat's hint — once, above the first card."""
    lines = [
        FlexText(text=clip(text, _FIELD_LIMIT), size=size, weight=weight, color=colour, wrap=True)
        for text, size, weight, colour in (
            (heading, "md", "bold", LEAD_INK),
            (body, "sm", "bold", INK),
            (hint, "xs", None, MUTED),
        )
        if text
    ]
    if not lines:
        return None
    return FlexBox(
        layout="vertical",
        spacing="sm",
        padding_all="12px",
        background_color=LEAD_BG,
        contents=lines,
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
    if answer.confirm:
        return confirm_messages(answer.text, answer.confirm)
    if not answer.phases:
        if answer.postbacks:
            return text_messages(answer.text, answer.quick_replies, answer.postbacks)
        return list(_text_answer(answer.text, tuple(answer.quick_replies)))
    now = (now or answer.now or datetime.now(BANGKOK)).replace(second=0, microsecond=0)
    phases = tuple(_PhaseKey.of(p) for p in answer.phases[:MAX_BUBBLES])
    card = _Card(answer.intent, answer.heading, answer.body, answer.hint, answer.more)
    quick = tuple(answer.quick_replies)
    return list(_flex_answer(answer.text, card, quick, phases, now, answer.done))


@dataclass(frozen=True)
class _Card:
    """What a card shows beside its phases (hashable: part of the rendering's cache key)."""

    intent: str
    heading: str | None
    body: str | None
    hint: str | None
    more: int


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
    card: _Card,
    quick: tuple[str, ...],
    phases: tuple[_PhaseKey, ...],
    now: datetime,
    done: tuple[tuple[str, str | None, str | None], ...] = (),
) -> tuple[Message, ...]:
    marks = {key: (data, note) for key, data, note in done}
    lead = lead_box(card.heading, card.body, card.hint)
    tail = f"… และอีก {card.more} รายการ" if card.more else None
    last = len(phases) - 1
    bubbles = [
        phase_bubble(
            p.phase,
            now,
            lead=lead if n == 0 else None,
            tail=tail if n == last else None,
            done=marks.get(p.key, (None, None)),
            units_asked=card.intent == "responsible",
        )
        for n, p in enumerate(phases)
    ]
    contents = bubbles[0] if len(bubbles) == 1 else FlexCarousel(contents=bubbles)
    alt_text = clip(text.strip() or card.heading or "กำหนดการ ITA", MAX_ALT_TEXT)
    return (FlexMessage(alt_text=alt_text, contents=contents, quick_reply=quick_reply(quick)),)


def confirm_messages(text: str, buttons: Sequence[tuple[str, str]]) -> list[Message]:
    """A question that acts only on its first button ("ยืนยันลบ", red), the others beside it
    ("ยกเลิก"): a card, so the buttons stay with the question after newer messages."""
    (label, data), *others = buttons
    actions = [
        FlexButton(action=postback_action(label, data), style="primary", color=RED, height="sm")
    ]
    actions += [
        FlexButton(action=postback_action(other, d), style="secondary", height="sm")
        for other, d in others
    ]
    question = FlexText(text=clip(text, _FIELD_LIMIT * 2), size="sm", wrap=True)
    bubble = FlexBubble(
        size="kilo",
        body=FlexBox(layout="vertical", contents=[question]),
        footer=FlexBox(layout="horizontal", spacing="sm", contents=actions),
    )
    return [FlexMessage(alt_text=clip(text, MAX_ALT_TEXT), contents=bubble)]


def apology_messages() -> list[Message]:
    return [TextMessage(text=APOLOGY_TEXT)]


def greeting_text(
    chat_type: str, examples: Sequence[str], bound_to: tuple[str, str] | None = None
) -> str:
    """What the bot says when added as a friend or to a group: a few lines that fit one phone
    screen (the example questions are the quick replies). A group is told how it gets bound —
    a code from the coordinator, typed by anyone — and what that gives; a group re-invited
    while still bound (leaving keeps the binding) hears what it is bound to instead."""
    ask = f'ถามได้เลย เช่น "{examples[0]}" หรือกดปุ่มด้านล่าง' if examples else "ถามได้เลย"
    hello = "สวัสดีครับ ผมคือบอทเตือนกำหนดการประเมิน ITA (ระบบ ITAS ของ ป.ป.ช.)"
    if chat_type == "user":
        return "\n".join(
            [
                f"{hello} ขอบคุณที่เพิ่มเป็นเพื่อนครับ",
                ask,
                "ผู้ประสานงานจังหวัด: /agency code <หน่วยงาน> ขอรหัสผูกกลุ่มของหน่วยงาน",
                "/help วิธีใช้ทั้งหมด · /whoami รหัสของคุณ",
            ]
        )
    where = "ห้องนี้" if chat_type == "room" else "กลุ่มนี้"
    if bound_to is not None:
        agency, province = bound_to
        return "\n".join(
            [
                "สวัสดีครับ ขอบคุณที่เชิญเข้ากลุ่มอีกครั้ง ผมคือบอทเตือนกำหนดการประเมิน ITA",
                f'{where}ผูกกับ "{agency}" จังหวัด{province} อยู่แล้ว: '
                f"ผมจะเตือนก่อนกำหนดปิดของหน่วยงานนี้และของจังหวัดตามเดิม",
                ask,
                "/remind ดูการตั้งค่าการเตือน · /help วิธีใช้",
            ]
        )
    return "\n".join(
        [
            "สวัสดีครับ ขอบคุณที่เชิญเข้ากลุ่ม ผมคือบอทเตือนกำหนดการประเมิน ITA",
            ask,
            f"ผูก{where}กับหน่วยงาน แล้วผมจะเตือนก่อนกำหนดปิดของหน่วยงานและของจังหวัด:",
            "1. ผู้ประสานงานจังหวัดพิมพ์ /agency code <หน่วยงาน> ในแชทส่วนตัวกับผม แล้วส่งรหัสให้กลุ่ม",
            f"2. ใครใน{where}ก็ได้ พิมพ์ /bind <รหัส>",
        ]
    )


def greeting_messages(
    chat_type: str,
    examples: Sequence[str],
    quick_questions: Sequence[str] = (),
    *,
    bound_to: tuple[str, str] | None = None,
) -> list[Message]:
    return text_messages(greeting_text(chat_type, examples, bound_to), quick_questions)
