"""Thai question in, answer out: what staff ask about ITA closings, answered from the calendars.

Pure: text + context (now, province, agency) + calendars → `Answer`. No LINE types, no database.
Staff type on phones in LINE groups: Thai mixed with English tool names, Thai or Arabic
digits, no spaces, typos ("ลงทะเบียญ", "ปิดวันไหร"). So the text is normalised (PyThaiNLP),
matched first exactly against a small lexicon, then — only if nothing matched — fuzzily over
PyThaiNLP's word tokens. Anything not understood gets a short hint with example questions,
never an error.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from pythainlp.util import normalize as thai_normalize
from pythainlp.util import thai_digit_to_arabic_digit

from itabot.calendars.model import Calendars, Phase, days_until, drop_echoes
from itabot.calendars.names import agency_key, resolve_province
from itabot.calendars.thai_dates import (
    BANGKOK,
    fiscal_year_of,
    format_closing,
    format_date_long,
    thai_month_name,
)
from itabot.conversation.answer import Answer, Context
from itabot.conversation.dictionary import tokenize, words

EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "OIT ปิดวันไหน",
    "กำหนดการถัดไป",
    "พรุ่งนี้มีอะไรปิดบ้าง",
    "ตอนนี้อยู่ช่วงไหน",
    "ตัวชี้วัดที่ 9 ใครรับผิดชอบ",
    "ลงทะเบียน ITAS ปิดวันไหน",
    "ชี้แจง OIT ถึงวันไหน",
    "ประกาศผลเมื่อไหร่",
)
QUICK_REPLIES: tuple[str, ...] = (
    "กำหนดการถัดไป",
    "OIT ปิดวันไหน",
    "IIT ปิดวันไหน",
    "EIT ปิดวันไหน",
    "สัปดาห์นี้มีอะไรปิด",
    "ตอนนี้อยู่ช่วงไหน",
)
INDICATOR_NAMES: dict[int, str] = {
    1: "การปฏิบัติหน้าที่",
    2: "การใช้งบประมาณ",
    3: "การใช้อำนาจ",
    4: "การใช้ทรัพย์สินของราชการ",
    5: "การแก้ไขปัญหาการทุจริต",
    6: "คุณภาพการดำเนินงาน",
    7: "ประสิทธิภาพการสื่อสาร",
    8: "การปรับปรุงการทำงาน",
    9: "การเปิดเผยข้อมูล",
    10: "การป้องกันการทุจริต",
}
TOOL_LABELS: dict[str, str] = {
    "registration": "การลงทะเบียนในระบบ ITAS",
    "IIT": "แบบวัด IIT (ผู้มีส่วนได้ส่วนเสียภายใน)",
    "EIT": "แบบวัด EIT (ผู้มีส่วนได้ส่วนเสียภายนอก)",
    "OIT": "แบบวัด OIT (การเปิดเผยข้อมูลสาธารณะ)",
    "OIT-links": "การส่ง LINK แบบวัด OIT ให้จังหวัด",
    "OIT-check": "การตรวจให้คะแนนแบบวัด OIT",
    "OIT-appeal": "การชี้แจงเพิ่มเติมแบบวัด OIT",
    "screening": "การกลั่นกรองแบบวัด IIT/EIT",
    "processing": "การประมวลผลการประเมิน",
    "results": "การประกาศผลการประเมิน ITA",
}
MAX_PHASES = 5

# --- the lexicon ---------------------------------------------------------------------------
# Keys are spaceless, lower-case, Arabic-digit forms; order matters where one contains another
# (sub-steps of OIT are looked for before OIT itself).
TOPIC_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("OIT-appeal", ("ชี้แจง", "ชี้แจ้ง", "อุทธรณ์", "โต้แย้ง", "appeal", "ทักท้วง")),
    ("OIT-links", ("ส่งlink", "ส่งลิงก์", "ส่งลิ้งค์", "ส่งลิงค์", "ลิงก์", "ลิ้งค์", "ลิงค์", "link")),
    (
        "OIT-check",
        (
            "ตรวจให้คะแนน",
            "ตรวจแบบวัด",
            "ตรวจoit",
            "ให้คะแนน",
            "รอบ1",
            "รอบ2",
            "รอบที่1",
            "รอบที่2",
            "รอบแรก",
            "รอบสอง",
        ),
    ),
    (
        "results",
        ("ประกาศผล", "ผลการประเมิน", "ผลคะแนน", "ประกาศคะแนน", "รู้ผล", "ผลita", "results", "result"),
    ),
    ("screening", ("กลั่นกรอง",)),
    ("processing", ("ประมวลผล",)),
    ("registration", ("ลงทะเบียน", "ลงทะเบียน", "สมัคร", "register", "registration", "regis")),
    # Not bare "ภายใน": "ส่งภายในวันไหน" means "by when", not IIT.
    ("IIT", ("iit", "ไอไอที", "ส่วนเสียภายใน", "บุคลากรภายใน", "แบบวัดภายใน")),
    ("EIT", ("eit", "อีไอที", "ส่วนเสียภายนอก", "ผู้รับบริการ", "แบบวัดภายนอก")),
    ("OIT", ("oit", "0it", "โอไอที", "เปิดเผยข้อมูลสาธารณะ", "แบบวัดการเปิดเผย")),
)
TOOL_OF_TOPIC: dict[str, str] = {"OIT-links": "OIT"}

WHEN_WORDS = (
    "ปิด",
    "หมดเขต",
    "สิ้นสุด",
    "ถึงวันไหน",
    "ถึงเมื่อ",
    "ถึงกี่",
    "วันไหน",
    "วันที่เท่าไร",
    "เท่าไหร่",
    "เมื่อไหร่",
    "เมื่อไร",
    "เมื่อใด",
    "กี่โมง",
    "วันสุดท้าย",
    "deadline",
    "ภายในวัน",
    "เหลือกี่วัน",
    "อีกกี่วัน",
    "กำหนดส่ง",
    "ส่งวันไหน",
    "ครบกำหนด",
    "when",
    "ช่วงไหน",
    "ทันไหม",
    "ทันมั้ย",
    "ยังทัน",
)
NEXT_WORDS = (
    "ถัดไป",
    "ต่อไป",
    "ใกล้จะปิด",
    "ใกล้ปิด",
    "ที่จะถึง",
    "ข้างหน้า",
    "upcoming",
    "next",
    "กำหนดการ",
    "มีอะไรต้องทำ",
    "ต้องทำอะไร",
    "ปฏิทิน",
    "calendar",
    "timeline",
)
NOW_WORDS = ("ตอนนี้", "ขณะนี้", "ปัจจุบัน", "เปิดอยู่", "อยู่ช่วงไหน", "อยู่ขั้นตอนไหน", "ช่วงนี้", "now", "ถึงไหนแล้ว")
WHO_WORDS = (
    "ใคร",
    "รับผิดชอบ",
    "หน่วยงานไหน",
    "หน่วยไหน",
    "กองไหน",
    "ผู้รับผิดชอบ",
    "who",
    "ผู้ดำเนินการ",
    "ใครทำ",
)
HELP_WORDS = (
    "help",
    "ช่วยเหลือ",
    "วิธีใช้",
    "ใช้งานยังไง",
    "ใช้งานอย่างไร",
    "ใช้ยังไง",
    "ใช้อย่างไร",
    "ทำอะไรได้",
    "ถามอะไรได้",
    "เมนู",
    "menu",
    "คำสั่ง",
    "สวัสดี",
    "hello",
    "hi",
)
WINDOW_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("day_after_tomorrow", ("มะรืน",)),
    ("tomorrow", ("พรุ่งนี้", "พรุ่งนี", "tomorrow")),
    ("today", ("วันนี้", "today", "คืนนี้")),
    ("next_week", ("สัปดาห์หน้า", "อาทิตย์หน้า", "nextweek")),
    ("this_week", ("สัปดาห์นี้", "อาทิตย์นี้", "thisweek", "7วัน", "เจ็ดวัน")),
    ("next_month", ("เดือนหน้า", "nextmonth")),
    ("this_month", ("เดือนนี้", "thismonth")),
)
# The tools' own indicators: a preparation row tagged with indicators 1–8 but no tool (Surin's
# stakeholder lists) is about IIT and EIT.
TOOL_INDICATORS: dict[str, frozenset[int]] = {
    "IIT": frozenset(range(1, 6)),
    "EIT": frozenset(range(6, 9)),
    "OIT": frozenset({9, 10}),
}
ROUND_RE = re.compile(r"รอบ(?:ที่)?(1|2|แรก|สอง)")
DAYS_AHEAD_RE = re.compile(r"(?:อีก|ภายใน)(\d{1,3})วัน|(\d{1,3})วัน(?:ข้างหน้า|ต่อจากนี้|ถัดไป)")
# Phases a user is told about as windows ("when does it happen"), not only as deadlines.
WINDOW_TOOLS = frozenset({"results", "processing", "screening", "OIT-check"})
# Words too common in phase titles to find a phase by (for the title search fallback).
TITLE_STOP_WORDS = frozenset(
    {
        "ita",
        "itas",
        "การประเมิน",
        "ประเมิน",
        "หน่วยงาน",
        "จังหวัด",
        "รับผิดชอบ",
        "ใคร",
        "เมื่อไหร่",
        "เมื่อไร",
        "วันไหน",
        "ปิด",
        "ครับ",
        "ค่ะ",
        "คะ",
        "อะไร",
        "บ้าง",
        "ต้อง",
        "ทำ",
        "ของ",
        "และ",
        "ผู้รับผิดชอบ",
        "ข้อมูล",
        "แบบวัด",
        "ช่วง",
        "ตอนนี้",
        "ถึง",
    }
)
INDICATOR_RE = re.compile(r"(?:ตัวชี้วัด(?:ที่)?|indicator|ข้อ)\s*(\d{1,2})")
_SPACE_RE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_FUZZY_MIN_LEN = 4


@dataclass(frozen=True)
class Parsed:
    """What the question asks, before it is answered."""

    topics: tuple[str, ...]
    indicator: int | None
    window: str | None
    asks_when: bool
    asks_next: bool
    asks_now: bool
    asks_who: bool
    asks_help: bool
    round_no: int | None = None
    days_ahead: int | None = None
    text: str = ""

    @property
    def topic(self) -> str | None:
        return self.topics[0] if self.topics else None


# --- normalising and matching --------------------------------------------------------------


def normalise(text: str) -> str:
    """NFC, PyThaiNLP's Thai normalisation (doubled vowels, tone order), Arabic digits,
    lower case, no spaces: the one form every keyword is compared against."""
    text = unicodedata.normalize("NFC", text)
    text = thai_normalize(text)
    text = thai_digit_to_arabic_digit(text).lower()
    return _SPACE_RE.sub("", text)


def _has_any(haystack: str, words: Iterable[str]) -> bool:
    return any(w in haystack for w in words)


def _fuzzy_windows(text: str) -> list[str]:
    """Joined runs of 1–3 PyThaiNLP tokens: a typo often splits a word into odd pieces."""
    tokens = [t for t in tokenize(text) if t.strip()]
    out = []
    for n in (1, 2, 3):
        for i in range(len(tokens) - n + 1):
            joined = "".join(tokens[i : i + n])
            if len(joined) >= _FUZZY_MIN_LEN - 1:
                out.append(joined)
    return out


def _fuzzy_has(windows: Sequence[str], words: Iterable[str], cutoff: float = 0.8) -> bool:
    """Any token run within `cutoff` similarity of a keyword (difflib's cheap bounds first,
    as in `difflib.get_close_matches`, so most pairs never pay for the full ratio)."""
    matcher = difflib.SequenceMatcher()
    for word in words:
        if len(word) < _FUZZY_MIN_LEN:
            continue
        matcher.set_seq2(word)
        for piece in windows:
            if abs(len(piece) - len(word)) > 2:
                continue
            matcher.set_seq1(piece)
            if (
                matcher.real_quick_ratio() >= cutoff
                and matcher.quick_ratio() >= cutoff
                and matcher.ratio() >= cutoff
            ):
                return True
    return False


def _topics_in(norm: str) -> tuple[str, ...]:
    """Every topic the text names ("IIT กับ EIT" → both); a step of OIT hides plain OIT."""
    found = [topic for topic, words in TOPIC_WORDS if _has_any(norm, words)]
    if any(t.startswith("OIT-") for t in found) and "OIT" in found:
        found.remove("OIT")
    return tuple(found)


def _fuzzy_topic(windows: Sequence[str]) -> tuple[str, ...]:
    """The first topic a misspelt word comes close to (one is enough: typos are rare)."""
    return next(((t,) for t, words in TOPIC_WORDS if _fuzzy_has(windows, words)), ())


def _round_in(norm: str) -> int | None:
    match = ROUND_RE.search(norm)
    if not match:
        return None
    return 1 if match.group(1) in {"1", "แรก"} else 2


def _days_ahead_in(norm: str) -> int | None:
    match = DAYS_AHEAD_RE.search(norm)
    if not match:
        return None
    days = int(match.group(1) or match.group(2))
    return days if 0 < days <= 366 else None


def _indicator_in(norm: str, topics: tuple[str, ...]) -> int | None:
    match = INDICATOR_RE.search(norm)
    if match and 1 <= int(match.group(1)) <= 10:
        return int(match.group(1))
    by_name = next(
        (n for n, name in INDICATOR_NAMES.items() if name.replace(" ", "") in norm and n != 9),
        None,
    )
    if by_name is None and "เปิดเผยข้อมูล" in norm and "OIT" not in topics:
        return 9
    return by_name


@lru_cache(maxsize=2048)
def parse_question(text: str) -> Parsed:
    """What a text asks. Cached by text (`Parsed` is immutable): staff tap the same quick
    replies and ask the same few questions, and parsing (PyThaiNLP normalising, tokenising a
    typo) is half the cost of an answer."""
    norm = normalise(text)
    topics = _topics_in(norm)
    window = next((w for w, words in WINDOW_WORDS if _has_any(norm, words)), None)
    days_ahead = _days_ahead_in(norm)
    if days_ahead is not None:
        window = "days_ahead"
    flags = {
        "asks_when": _has_any(norm, WHEN_WORDS),
        "asks_next": _has_any(norm, NEXT_WORDS),
        "asks_now": _has_any(norm, NOW_WORDS),
        "asks_who": _has_any(norm, WHO_WORDS),
        "asks_help": _has_any(norm, HELP_WORDS) or norm in {"?", "/help", "ช่วย"},
    }
    if not topics or not any(flags.values()):
        # Only now pay for tokenising: typos ("ลงทะเบียญ", "ปิดวันไหร") and odd splits.
        windows = _fuzzy_windows(norm)
        # A question already clear about "next", "now" or a window needs no guessed topic.
        if not topics and not (flags["asks_next"] or flags["asks_now"] or window):
            topics = _fuzzy_topic(windows)
        if not flags["asks_when"]:
            flags["asks_when"] = _fuzzy_has(windows, WHEN_WORDS) or "ปิด" in norm
        if not flags["asks_who"]:
            flags["asks_who"] = _fuzzy_has(windows, WHO_WORDS, cutoff=0.85)
    return Parsed(
        topics=topics,
        indicator=_indicator_in(norm, topics),
        window=window,
        round_no=_round_in(norm),
        days_ahead=days_ahead,
        text=norm,
        **flags,
    )


# --- choosing phases -----------------------------------------------------------------------


def applicable_phases(ctx: Context, calendars: Calendars) -> list[Phase]:
    """National + the chat's province overlay + its agency's own plan."""
    province = resolve_province(ctx.province) if ctx.province else None
    agency = ctx.agency
    if agency and not province:
        owner = next(
            (
                c
                for c in calendars.agency_calendars()
                if agency_key(c.owner or "") == agency_key(agency)
            ),
            None,
        )
        province = owner.province if owner else None
    return [p for cal in calendars.applicable(province or ctx.province, agency) for p in cal.phases]


def _scope_rank(phase: Phase) -> int:
    return {"national": 0, "province": 1, "agency": 2}.get(phase.scope, 3)


def _matches_topic(phase: Phase, topic: str, round_no: int | None) -> bool:
    if topic == "OIT-links":
        return phase.tool == "OIT" and "link" in phase.id
    tool = TOOL_OF_TOPIC.get(topic, topic)
    if phase.tool == tool:
        return not (round_no and topic == "OIT-check") or phase.id.endswith(f"-{round_no}")
    wanted = TOOL_INDICATORS.get(tool)
    return phase.tool is None and wanted is not None and wanted <= set(phase.indicators)


def _is_anchor(phase: Phase) -> bool:
    """An ITAS closing: national, with the time the source states."""
    return phase.scope == "national" and phase.time_stated


def _soonest_first(phases: Iterable[Phase]) -> list[Phase]:
    return sorted(
        (p for p in phases if p.closing is not None),
        key=lambda p: (p.closing.date(), _scope_rank(p), p.closing),
    )


def _ahead(phases: Iterable[Phase], now: datetime) -> list[Phase]:
    return [p for p in _soonest_first(phases) if p.closing >= now]


def _focus_fiscal_year(phases: list[Phase], now: datetime) -> list[Phase]:
    """One fiscal year's phases: the current one if anything of it is ahead, else the next one
    with something ahead, else the latest. An FY2568 provincial deadline is not "earlier than"
    an FY2569 ITAS closing."""
    if not phases:
        return phases
    current = fiscal_year_of(now.astimezone(BANGKOK).date())
    years_ahead = sorted({p.fiscal_year for p in phases if p.closing and p.closing >= now})
    if current in years_ahead:
        year = current
    elif years_ahead:
        year = years_ahead[0]
    else:
        year = max(p.fiscal_year for p in phases)
    return [p for p in phases if p.fiscal_year == year]


def _title_search(parsed: Parsed, phases: list[Phase]) -> list[Phase]:
    """Phases whose title shares a meaningful word with the question ("ประชาสัมพันธ์ …")."""
    words = {
        w
        for w in tokenize(parsed.text)
        if len(w) >= 4 and w not in TITLE_STOP_WORDS
    }
    if not words:
        return []
    return [p for p in phases if any(w in _title_key(p.title) for w in words)]


@lru_cache(maxsize=1024)
def _title_key(title: str) -> str:
    """A phase title in `normalise`d form, computed once per title, not once per question."""
    return normalise(title)


# --- formatting ----------------------------------------------------------------------------


def owner_label(phase: Phase) -> str:
    """Whose deadline it is: NACC's system, the province's, or the agency's own plan."""
    if phase.scope == "national":
        return "สำนักงาน ป.ป.ช. (ระบบ ITAS)"
    if phase.scope == "province":
        return f"จังหวัด{phase.owner}" if phase.owner else "จังหวัด"
    return phase.owner or "หน่วยงาน"


def countdown(now: datetime, when: datetime) -> str:
    """ "อีก 10 วัน", "วันนี้", "อีก 1 วัน (พรุ่งนี้)", or how long ago it closed."""
    days = days_until(now, when)
    if when < now:
        return "ปิดไปแล้ว" if days == 0 else f"ปิดไปแล้วเมื่อ {-days} วันก่อน"
    if days == 0:
        return "วันนี้"
    if days == 1:
        return "อีก 1 วัน (พรุ่งนี้)"
    return f"อีก {days} วัน"


def period_text(start: date, end: date) -> str:
    """`1 - 31 ตุลาคม 2569`, or `22 สิงหาคม 2569 - 30 กันยายน 2569` across months."""
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day} - {end.day} {thai_month_name(end.month)} {end.year + 543}"
    return f"{_day_month_year(start)} - {_day_month_year(end)}"


def _day_month_year(d: date) -> str:
    return f"{d.day} {thai_month_name(d.month)} {d.year + 543}"


def closing_text(phase: Phase) -> str:
    """`วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น.`, or the day alone when no time is stated."""
    if phase.closes_at is not None:
        return format_closing(phase.closes_at)
    assert phase.ends_on is not None
    return format_date_long(phase.ends_on)


def units_text(phase: Phase) -> str:
    return ", ".join(phase.responsible_expanded())


def phase_line(phase: Phase, now: datetime, *, with_units: bool = True) -> str:
    closing = phase.closing
    verb = "ระบบ ITAS ปิด" if _is_anchor(phase) else "กำหนดภายใน"
    lines = [f"• {phase.title} — {owner_label(phase)}"]
    if phase.tool in WINDOW_TOOLS and phase.starts_on and phase.ends_on:
        lines.append(f"  ช่วงเวลา {period_text(phase.starts_on, phase.ends_on)}")
    if closing is not None:
        lines.append(f"  {verb} {closing_text(phase)} ({countdown(now, closing)})")
    if with_units and phase.responsible:
        lines.append(f"  ผู้รับผิดชอบ: {units_text(phase)}")
    return "\n".join(lines)


def _units_of(phases: Iterable[Phase]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for phase in phases:
        for unit in phase.responsible_expanded():
            seen.setdefault(unit, None)
    return tuple(seen)


def _context_hint(ctx: Context) -> str:
    if ctx.province or ctx.agency:
        return ""
    return (
        "\n(แสดงเฉพาะปฏิทินของ ป.ป.ช. — ให้ผู้ดูแลผูกกลุ่มนี้กับหน่วยงานด้วย /bind "
        "เพื่อดูกำหนดการของจังหวัดและหน่วยงาน)"
    )


def _answer(
    intent: str,
    heading: str,
    phases: Sequence[Phase],
    ctx: Context,
    *,
    body: str | None = None,
    quick: Sequence[str] = QUICK_REPLIES,
) -> Answer:
    shown = tuple(phases[:MAX_PHASES])
    parts = [heading]
    if body:
        parts.append(body)
    parts.extend(phase_line(p, ctx.now) for p in shown)
    if len(phases) > MAX_PHASES:
        parts.append(f"… และอีก {len(phases) - MAX_PHASES} รายการ")
    return Answer(
        intent=intent,
        text="\n".join(parts) + _context_hint(ctx),
        phases=shown,
        units=_units_of(shown),
        quick_replies=tuple(quick),
        heading=heading,
        now=ctx.now,
    )


def _plain(intent: str, text: str, ctx: Context) -> Answer:
    return Answer(intent=intent, text=text, quick_replies=QUICK_REPLIES, now=ctx.now)


def _nothing_ahead(ctx: Context) -> Answer:
    text = "ยังไม่มีกำหนดการที่จะถึงในปฏิทินตอนนี้ (ปฏิทินปีงบประมาณใหม่จะแจ้งเมื่อ สำนักงาน ป.ป.ช. ประกาศ)"
    return _plain("nothing_scheduled", text + _context_hint(ctx), ctx)


# --- intents -------------------------------------------------------------------------------


def help_answer(ctx: Context, *, understood: bool = True) -> Answer:
    head = (
        "สวัสดีครับ ผมช่วยเตือนกำหนดการประเมิน ITA ได้ ลองถาม เช่น"
        if understood
        else "ขออภัย ไม่เข้าใจคำถาม ลองถามแบบนี้ได้ครับ"
    )
    examples = "\n".join(f"• {q}" for q in EXAMPLE_QUESTIONS)
    return _plain("help" if understood else "unknown", f"{head}\n{examples}", ctx)


def _topic_label(parsed: Parsed) -> str:
    if parsed.topics:
        return " / ".join(TOOL_LABELS.get(t, t) for t in parsed.topics)
    if parsed.indicator:
        return f"ตัวชี้วัดที่ {parsed.indicator} {INDICATOR_NAMES[parsed.indicator]}"
    return "ITA"


def _select(phases: list[Phase], parsed: Parsed) -> list[Phase]:
    chosen = phases
    if parsed.topics:
        chosen = [
            p for p in chosen if any(_matches_topic(p, t, parsed.round_no) for t in parsed.topics)
        ]
    if parsed.indicator:
        chosen = [p for p in chosen if parsed.indicator in p.indicators]
    return chosen


def _latest_per_calendar(phases: Iterable[Phase]) -> list[Phase]:
    latest: dict[str, Phase] = {}
    for phase in phases:
        kept = latest.get(phase.calendar)
        if kept is None or phase.closing > kept.closing:
            latest[phase.calendar] = phase
    return list(latest.values())


def closing_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    """The ITAS closing of what was asked, with every earlier internal deadline beside it.

    Province and agency rows that end after the ITAS closing are activity periods, not
    deadlines for this step (Surin's "publish data" runs 1–15 July, after OIT closes on 30 June):
    they are left out so a closed step is not reported as open.
    """
    label = _topic_label(parsed)
    now = ctx.now
    matching = _focus_fiscal_year([p for p in _select(phases, parsed) if p.closing], now)
    if not matching:
        return _plain("closing", f"ไม่พบกำหนดการของ{label}ในปฏิทินที่ใช้กับแชทนี้" + _context_hint(ctx), ctx)
    anchors = [p for p in matching if _is_anchor(p)]
    if anchors:
        last_anchor = max(p.closing for p in anchors)
        matching = [p for p in matching if _is_anchor(p) or p.closing <= last_anchor]
    matching = drop_echoes(matching)
    ahead = _ahead(matching, now)
    if not ahead:
        closed = sorted(_latest_per_calendar(matching), key=lambda p: (_scope_rank(p), p.closing))
        return _answer("closing", f"{label} ปิดไปแล้ว", closed, ctx, body="ยังไม่มีกำหนดการรอบใหม่ในปฏิทิน")
    anchors_ahead = [p for p in ahead if _is_anchor(p)]
    internal = [p for p in matching if not _is_anchor(p)]
    internal_ahead = [p for p in internal if p.closing >= now]
    # "Give both": the province's own deadline even when it has just passed.
    internal_past = [p for p in _latest_per_calendar(p for p in internal if p.closing < now)]
    shown = anchors_ahead + _soonest_first(internal_ahead) + internal_past
    if not anchors_ahead:
        shown = _soonest_first(internal_ahead) + internal_past
    body = None
    if anchors_ahead and internal_ahead and internal_ahead[0].closing < anchors_ahead[0].closing:
        body = (
            f"{owner_label(internal_ahead[0])}กำหนดเส้นตายภายในก่อนระบบ ITAS ปิด "
            "กรุณาส่งตามกำหนดของจังหวัด/หน่วยงาน"
        )
    return _answer("closing", f"กำหนดการ{label}", shown, ctx, body=body)


def next_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    ahead = _ahead(drop_echoes(_select(phases, parsed)), ctx.now)
    if not ahead:
        return _nothing_ahead(ctx)
    return _answer("next", "กำหนดการถัดไป", ahead, ctx)


def _window_bounds(parsed: Parsed, now: datetime) -> tuple[datetime, datetime, str]:
    today = now.astimezone(BANGKOK).date()
    window = parsed.window or "today"

    def day_span(first: date, last: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(first, time(0), tzinfo=BANGKOK),
            datetime.combine(last, time(23, 59, 59), tzinfo=BANGKOK),
        )

    if window == "today":
        return (*day_span(today, today), "วันนี้")
    if window == "tomorrow":
        d = today + timedelta(days=1)
        return (*day_span(d, d), "พรุ่งนี้")
    if window == "day_after_tomorrow":
        d = today + timedelta(days=2)
        return (*day_span(d, d), "มะรืนนี้")
    if window == "days_ahead":
        days = parsed.days_ahead or 7
        return (*day_span(today, today + timedelta(days=days)), f"ใน {days} วันข้างหน้า")
    if window == "this_week":
        return (*day_span(today, today + timedelta(days=6 - today.weekday())), "สัปดาห์นี้")
    if window == "next_week":
        monday = today + timedelta(days=7 - today.weekday())
        return (*day_span(monday, monday + timedelta(days=6)), "สัปดาห์หน้า")
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    if window == "this_month":
        return (
            *day_span(today, first_next - timedelta(days=1)),
            f"เดือนนี้ ({thai_month_name(today.month)})",
        )
    after = (first_next + timedelta(days=32)).replace(day=1)
    return (
        *day_span(first_next, after - timedelta(days=1)),
        f"เดือนหน้า ({thai_month_name(first_next.month)})",
    )


def window_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    start, end, label = _window_bounds(parsed, ctx.now)
    chosen = [p for p in _soonest_first(drop_echoes(phases)) if start <= p.closing <= end]
    if not chosen:
        ahead = _ahead(drop_echoes(phases), ctx.now)
        if not ahead:
            return _nothing_ahead(ctx)
        return _answer("window", f"{label}ไม่มีกำหนดปิด", ahead[:1], ctx, body="กำหนดปิดถัดไปคือ")
    return _answer("window", f"กำหนดปิด{label}", chosen, ctx)


def open_now_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    current = [p for p in _select(phases, parsed) if p.is_open(ctx.now) and p.closing]
    current = sorted(drop_echoes(current), key=lambda p: (_scope_rank(p), p.closing))
    if not current:
        ahead = _ahead(drop_echoes(phases), ctx.now)
        if not ahead:
            return _nothing_ahead(ctx)
        return _answer("open_now", "ตอนนี้ไม่มีขั้นตอนที่เปิดอยู่", ahead[:1], ctx, body="ขั้นตอนถัดไปคือ")
    return _answer("open_now", "ขั้นตอนที่เปิดอยู่ตอนนี้", current, ctx)


def responsible_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    """The agency's own plan names its divisions, the province its units, NACC the least:
    most specific first, each with what it is responsible for and when."""
    label = _topic_label(parsed)
    if parsed.topics or parsed.indicator:
        chosen = _select([p for p in phases if p.responsible], parsed)
    else:
        found = _title_search(parsed, phases)
        if not found:
            return _plain(
                "responsible",
                "ต้องการทราบผู้รับผิดชอบเรื่องไหนครับ ระบุเครื่องมือหรือตัวชี้วัด เช่น "
                '"ใครรับผิดชอบ OIT" หรือ "ตัวชี้วัดที่ 9 ใครรับผิดชอบ"',
                ctx,
            )
        chosen = [p for p in found if p.responsible]
        label = "เรื่องนี้"
    if not chosen:
        return _plain(
            "responsible",
            f"ไม่พบผู้รับผิดชอบ{label}ในปฏิทินที่ใช้กับแชทนี้" + _context_hint(ctx),
            ctx,
        )
    now = ctx.now
    ordered = sorted(
        chosen,
        key=lambda p: (
            -_scope_rank(p),
            p.closing is None or p.closing < now,
            p.closing or now,
        ),
    )
    summary = "ผู้รับผิดชอบ: " + ", ".join(_units_of(ordered))
    return _answer("responsible", f"ผู้รับผิดชอบ{label}", ordered, ctx, body=summary)


def answer(text: str, ctx: Context, calendars: Calendars) -> Answer:
    """Answer one question from staff. Never raises on odd text: unknown → a hint."""
    if not text or not text.strip():
        return help_answer(ctx, understood=False)
    parsed = parse_question(text[:500])
    phases = applicable_phases(ctx, calendars)
    about_something = bool(parsed.topics or parsed.indicator)
    if parsed.asks_who:
        return responsible_answer(parsed, phases, ctx)
    if about_something:
        if parsed.asks_now and not parsed.asks_when:
            return open_now_answer(parsed, phases, ctx)
        return closing_answer(parsed, phases, ctx)
    if parsed.window:
        return window_answer(parsed, phases, ctx)
    if parsed.asks_now:
        return open_now_answer(parsed, phases, ctx)
    if parsed.asks_next or parsed.asks_when:
        found = _title_search(parsed, phases) if parsed.asks_when else []
        if found:
            return (
                next_answer(parsed, found, ctx)
                if _ahead(found, ctx.now)
                else _answer("closing", "ปิดไปแล้ว", _latest_per_calendar(found), ctx)
            )
        return next_answer(parsed, phases, ctx)
    if parsed.asks_help:
        return help_answer(ctx)
    return help_answer(ctx, understood=False)


def warm_up() -> None:
    """Load the tokeniser's word list now (≈20 ms) rather than on the first user's question."""
    words()
