"""When the bot speaks in a group or room: spoken to (@mentioned or named), or asked about ITA.

A LINE group is an office's whole conversation — lunch, the aircon, leave, the monthly report.
A bot that answers "ปิดไฟด้วยนะ" with a carousel of deadlines gets removed, and its reminders
with it. So in a group the bot answers only what is clearly an ITA question: one that names
something the calendars are about (a tool, an indicator, ITA/ITAS, the calendar itself) or
describes one of their activities in two of its own words, and asks something. A time word,
"ปิด" or "ใคร" alone is chatter. In a 1:1 chat everything is for the bot. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from itabot.conversation.answer import Answer
from itabot.conversation.understanding import Parsed, normalise, parse_question

# How staff call the bot when they do not @mention it; ITABOT_BOT_NAME replaces these.
DEFAULT_BOT_NAMES: tuple[str, ...] = ("น้องITA", "น้องไอต้า", "ITA bot", "บอท ITA", "บอทITA")
# "บอท …" at the start of a message is spoken to the bot; inside a sentence it may be about one.
_CALLS = ("บอท", "bot", "@บอท", "@bot")
# Words that make a message about ITA even without a tool's name.
ITA_WORDS = (
    "ita",
    "itas",
    "ป.ป.ช",
    "ปปช",
    "แบบวัด",
    "ตัวชี้วัด",
    "กำหนดการ",
    "ปฏิทิน",
    "คุณธรรมและความโปร่งใส",
)
# A question, not a statement ("ส่งรายงานภายในวันที่ 5 นะคะ" is a statement).
QUESTION_WORDS = (
    "?",
    "ไหน",
    "ไหม",
    "มั้ย",
    "มั๊ย",
    "อะไร",
    "ไร",
    "ยังไง",
    "อย่างไร",
    "เมื่อไ",
    "เมื่อใด",
    "กี่",
    "ใคร",
    "เท่าไ",
    "หรือยัง",
    "รึยัง",
    "บ้าง",
    "หรอ",
    "เหรอ",
)
# Answers that carry no ITA fact: never volunteered to a group.
_NOT_ANSWERS = frozenset({"help", "unknown", "courtesy", "silent"})
DUE_WORDS = ("ปิด", "ส่ง", "หมดเขต", "ครบกำหนด", "deadline", "กำหนด")
PHASE_WORDS = ("ช่วงไหน", "ขั้นตอนไหน", "ขั้นตอนอะไร", "เปิดอะไร")

# A word in at most ~7 of the ~70 phases (IDF log(1 + 70/7) ≈ 2.4) names an activity.
RARE_IDF = 2.4

SILENT = Answer(intent="silent", text="")


@lru_cache(maxsize=8)
def bot_names(configured: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The names from ITABOT_BOT_NAME, normalised, longest first; the defaults if unset."""
    names = configured or DEFAULT_BOT_NAMES
    return tuple(sorted({normalise(n) for n in names if n.strip()}, key=len, reverse=True))


def without_name(text: str, names: Iterable[str]) -> str | None:
    """The message with the bot's name taken out, if it names the bot; None if it does not.
    The rest keeps its spacing (a command after the name still parses)."""
    norm = normalise(text)
    called = next((n for n in names if n and n in norm), None)
    if called is None:
        called = next((c for c in _CALLS if norm.startswith(c)), None)
        if called is None:
            return None
    pattern = r"@?\s*" + r"\s*".join(map(re.escape, called))
    return re.sub(pattern, " ", text, count=1, flags=re.IGNORECASE).strip(" ,:@")


_AT_NAME = re.compile(r"^\s*@\S+\s*")


def without_mention(text: str, names: Iterable[str]) -> str:
    """A message that @mentions the bot, without the mention: the leading "@word", and the rest
    of the bot's name after it (a display name may have spaces: "@ITA Bot …")."""
    rest = _AT_NAME.sub("", text, count=1)
    if rest == text:
        return without_name(text, names) or text
    after = without_name(rest, names)
    return after if after is not None and normalise(rest).startswith(_CALLS) else rest


def asks_about_ita(text: str, answer: Answer) -> bool:
    """Is `text`, sent to a group without calling the bot, an ITA question it answered?"""
    if answer.intent in _NOT_ANSWERS or not answer.text:
        return False
    parsed: Parsed = parse_question(text[:500])
    norm = parsed.text
    asks = any(w in norm for w in QUESTION_WORDS)
    if not asks and (
        any(c.isdigit() for c in norm)  # "ส่ง OIT ภายใน 30 มิ.ย. นะคะ" tells, does not ask
        or not (parsed.asks_when or parsed.asks_open or parsed.asks_left or parsed.asks_next)
    ):
        return False
    if parsed.guessed:  # "ไอที" is not IIT unless it asks when: "ลงทะเบียญปิดวันไหร"
        return parsed.asks_when or parsed.asks_open
    if parsed.topics or parsed.indicator or any(w in norm for w in ITA_WORDS):
        return True
    found, rarest = answer.extra.get("described"), answer.extra.get("rarest")
    if isinstance(found, tuple) and len(found) >= 2 and isinstance(rarest, float):
        # two of a phase's words, one of them its own ("ทบทวน", not "ประชุม", "ผู้บริหาร")
        return rarest >= RARE_IDF and any(w in norm for w in QUESTION_WORDS)
    if answer.intent == "window":  # "พรุ่งนี้มีอะไรปิดบ้าง"
        return "อะไร" in norm and any(w in norm for w in DUE_WORDS)
    if answer.intent == "open_now":  # "ตอนนี้อยู่ช่วงไหน"
        return any(w in norm for w in PHASE_WORDS)
    return False
