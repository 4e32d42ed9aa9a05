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

from pythainlp.tokenize import word_tokenize
from pythainlp.util import normalize as thai_normalize
from pythainlp.util import thai_digit_to_arabic_digit

from itabot.answers import Answer, Context
from itabot.calendar import Calendars, Phase, days_until
from itabot.names import agency_key, resolve_province
from itabot.thaidate import BANGKOK, format_closing, format_date_long, thai_month_name

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
    ("OIT-appeal", ("ชี้แจง", "อุทธรณ์", "โต้แย้ง", "appeal", "ทักท้วง")),
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
    ("IIT", ("iit", "ส่วนเสียภายใน", "บุคลากรภายใน", "แบบวัดภายใน")),
    ("EIT", ("eit", "ส่วนเสียภายนอก", "ผู้รับบริการ", "แบบวัดภายนอก")),
    ("OIT", ("oit", "เปิดเผยข้อมูลสาธารณะ", "แบบวัดการเปิดเผย")),
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
    "วันที่เท่าไร", "เท่าไหร่",
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
INDICATOR_RE = re.compile(r"(?:ตัวชี้วัด(?:ที่)?|indicator|ข้อ)\s*(\d{1,2})")
_SPACE_RE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_FUZZY_MIN_LEN = 4


@dataclass(frozen=True)
class Parsed:
    """What the question asks, before it is answered."""

    topic: str | None
    indicator: int | None
    window: str | None
    asks_when: bool
    asks_next: bool
    asks_now: bool
    asks_who: bool
    asks_help: bool


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
    tokens = [t for t in word_tokenize(text, engine="newmm", keep_whitespace=False) if t.strip()]
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


def parse_question(text: str) -> Parsed:
    norm = normalise(text)
    topic = next((t for t, words in TOPIC_WORDS if _has_any(norm, words)), None)
    window = next((w for w, words in WINDOW_WORDS if _has_any(norm, words)), None)
    match = INDICATOR_RE.search(norm)
    indicator = int(match.group(1)) if match and 1 <= int(match.group(1)) <= 10 else None
    if indicator is None:
        indicator = next(
            (n for n, name in INDICATOR_NAMES.items() if name.replace(" ", "") in norm and n != 9),
            None,
        )
        if indicator is None and "เปิดเผยข้อมูล" in norm and topic != "OIT":
            indicator = 9
    flags = {
        "asks_when": _has_any(norm, WHEN_WORDS),
        "asks_next": _has_any(norm, NEXT_WORDS),
        "asks_now": _has_any(norm, NOW_WORDS),
        "asks_who": _has_any(norm, WHO_WORDS),
        "asks_help": _has_any(norm, HELP_WORDS) or norm in {"?", "/help", "ช่วย"},
    }
    if topic is None or not any(flags.values()):
        # Only now pay for tokenising: typos ("ลงทะเบียญ", "ปิดวันไหร") and odd splits.
        windows = _fuzzy_windows(norm)
        if topic is None:
            topic = next((t for t, words in TOPIC_WORDS if _fuzzy_has(windows, words)), None)
        if not flags["asks_when"]:
            flags["asks_when"] = _fuzzy_has(windows, WHEN_WORDS) or "ปิด" in norm
        if not flags["asks_who"]:
            flags["asks_who"] = _fuzzy_has(windows, WHO_WORDS, cutoff=0.85)
    return Parsed(topic=topic, indicator=indicator, window=window, **flags)


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


def _matches_topic(phase: Phase, topic: str) -> bool:
    if topic == "OIT-links":
        return phase.tool == "OIT" and "link" in phase.id
    return phase.tool == TOOL_OF_TOPIC.get(topic, topic)


def _dedupe_same_day(phases: list[Phase]) -> list[Phase]:
    """Drop an untimed phase when a timed one of the same calendar and tool closes that day.

    NACC's row "prepare OIT data" ends on 30 June like "answer OIT", whose text gives the ITAS
    closing time; showing both says the same thing twice.
    """
    timed = {
        (p.calendar, p.tool, p.closing.date())
        for p in phases
        if p.time_stated and p.closing is not None
    }
    return [
        p
        for p in phases
        if p.time_stated or p.closing is None or (p.calendar, p.tool, p.closing.date()) not in timed
    ]


def _by_relevance(phases: Iterable[Phase], now: datetime) -> list[Phase]:
    """Still ahead first (soonest, national first), then those already closed (latest first)."""
    with_closing = [p for p in phases if p.closing is not None]
    ahead = sorted(
        (p for p in with_closing if p.closing >= now),
        key=lambda p: (p.closing.date(), _scope_rank(p), p.closing),
    )
    past = sorted(
        (p for p in with_closing if p.closing < now), key=lambda p: p.closing, reverse=True
    )
    return _dedupe_same_day(ahead) + _dedupe_same_day(past)


# --- formatting ----------------------------------------------------------------------------


def owner_label(phase: Phase) -> str:
    if phase.scope == "national":
        return "สำนักงาน ป.ป.ช. (ระบบ ITAS)"
    if phase.scope == "province":
        return f"จังหวัด{phase.owner}"
    return phase.owner or "หน่วยงาน"


def countdown(now: datetime, when: datetime) -> str:
    days = days_until(now, when)
    if when < now:
        return "ปิดไปแล้ว" if days == 0 else f"ปิดไปแล้วเมื่อ {-days} วันก่อน"
    if days == 0:
        return "วันนี้"
    if days == 1:
        return "อีก 1 วัน (พรุ่งนี้)"
    return f"อีก {days} วัน"


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
    verb = "ระบบ ITAS ปิด" if phase.scope == "national" and phase.time_stated else "กำหนดภายใน"
    lines = [f"• {phase.title} — {owner_label(phase)}"]
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


def _nothing_ahead(ctx: Context, what: str) -> Answer:
    text = f"ยังไม่มีกำหนดการ{what}ที่จะถึงในปฏิทินตอนนี้ (ปฏิทินปีงบประมาณใหม่จะแจ้งเมื่อ สำนักงาน ป.ป.ช. ประกาศ)"
    return Answer(
        intent="nothing_scheduled",
        text=text + _context_hint(ctx),
        quick_replies=QUICK_REPLIES,
        now=ctx.now,
    )


# --- intents -------------------------------------------------------------------------------


def help_answer(ctx: Context, *, understood: bool = True) -> Answer:
    head = (
        "สวัสดีครับ ผมช่วยเตือนกำหนดการประเมิน ITA ได้ ลองถาม เช่น"
        if understood
        else "ขออภัย ไม่เข้าใจคำถาม ลองถามแบบนี้ได้ครับ"
    )
    examples = "\n".join(f"• {q}" for q in EXAMPLE_QUESTIONS)
    return Answer(
        intent="help" if understood else "unknown",
        text=f"{head}\n{examples}",
        quick_replies=QUICK_REPLIES,
        now=ctx.now,
    )


def _topic_label(parsed: Parsed) -> str:
    if parsed.topic:
        return TOOL_LABELS.get(parsed.topic, parsed.topic)
    if parsed.indicator:
        return f"ตัวชี้วัดที่ {parsed.indicator} {INDICATOR_NAMES[parsed.indicator]}"
    return "ITA"


def _select(phases: list[Phase], parsed: Parsed) -> list[Phase]:
    chosen = phases
    if parsed.topic:
        chosen = [p for p in chosen if _matches_topic(p, parsed.topic)]
    if parsed.indicator:
        chosen = [p for p in chosen if parsed.indicator in p.indicators]
    return chosen


def closing_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    label = _topic_label(parsed)
    relevant = _by_relevance(_select(phases, parsed), ctx.now)
    if not relevant:
        return Answer(
            intent="closing",
            text=f"ไม่พบกำหนดการของ{label}ในปฏิทินที่ใช้กับแชทนี้" + _context_hint(ctx),
            quick_replies=QUICK_REPLIES,
            now=ctx.now,
        )
    ahead = [p for p in relevant if p.closing >= ctx.now]
    if ahead:
        earliest_internal = [p for p in ahead if p.scope != "national"]
        body = None
        national = [p for p in ahead if p.scope == "national" and p.time_stated]
        if national and earliest_internal and earliest_internal[0].closing < national[0].closing:
            body = (
                f"{owner_label(earliest_internal[0])}กำหนดเส้นตายภายในก่อนระบบ ITAS ปิด "
                "กรุณาส่งตามกำหนดของจังหวัด/หน่วยงาน"
            )
        return _answer("closing", f"กำหนดการ{label}", ahead, ctx, body=body)
    last = relevant[:1]
    return _answer("closing", f"{label} ปิดไปแล้ว", last, ctx, body="ยังไม่มีกำหนดการรอบใหม่ในปฏิทิน")


def next_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    ahead = [p for p in _by_relevance(_select(phases, parsed), ctx.now) if p.closing >= ctx.now]
    if not ahead:
        return _nothing_ahead(ctx, "")
    return _answer("next", "กำหนดการถัดไป", ahead, ctx)


def _window_bounds(window: str, now: datetime) -> tuple[datetime, datetime, str]:
    today = now.astimezone(BANGKOK).date()

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
    start, end, label = _window_bounds(parsed.window or "today", ctx.now)
    chosen = [p for p in _select(phases, parsed) if p.closing and start <= p.closing <= end]
    chosen = sorted(chosen, key=lambda p: (p.closing, _scope_rank(p)))
    if not chosen:
        ahead = [p for p in _by_relevance(phases, ctx.now) if p.closing >= ctx.now]
        if not ahead:
            return _nothing_ahead(ctx, "")
        return _answer("window", f"{label}ไม่มีกำหนดปิด", ahead[:1], ctx, body="กำหนดปิดถัดไปคือ")
    return _answer("window", f"กำหนดปิด{label}", chosen, ctx)


def open_now_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    current = [p for p in _select(phases, parsed) if p.is_open(ctx.now) and p.closing]
    current = _dedupe_same_day(sorted(current, key=lambda p: (_scope_rank(p), p.closing)))
    if not current:
        ahead = [p for p in _by_relevance(phases, ctx.now) if p.closing >= ctx.now]
        if not ahead:
            return _nothing_ahead(ctx, "")
        return _answer("open_now", "ตอนนี้ไม่มีขั้นตอนที่เปิดอยู่", ahead[:1], ctx, body="ขั้นตอนถัดไปคือ")
    return _answer("open_now", "ขั้นตอนที่เปิดอยู่ตอนนี้", current, ctx)


def responsible_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    label = _topic_label(parsed)
    chosen = [p for p in _select(phases, parsed) if p.responsible]
    if not chosen:
        return Answer(
            intent="responsible",
            text=f"ไม่พบผู้รับผิดชอบ{label}ในปฏิทินที่ใช้กับแชทนี้" + _context_hint(ctx),
            quick_replies=QUICK_REPLIES,
            now=ctx.now,
        )
    # The agency's own plan names its divisions; the province names units; NACC least specific.
    ordered = sorted(_by_relevance(chosen, ctx.now), key=lambda p: -_scope_rank(p))
    summary = "ผู้รับผิดชอบ: " + ", ".join(_units_of(ordered))
    return _answer("responsible", f"ผู้รับผิดชอบ{label}", ordered, ctx, body=summary)


def answer(text: str, ctx: Context, calendars: Calendars) -> Answer:
    """Answer one question from staff. Never raises on odd text: unknown → a hint."""
    if not text or not text.strip():
        return help_answer(ctx, understood=False)
    parsed = parse_question(text[:500])
    phases = applicable_phases(ctx, calendars)
    if parsed.asks_who and (parsed.topic or parsed.indicator):
        return responsible_answer(parsed, phases, ctx)
    if parsed.window:
        return window_answer(parsed, phases, ctx)
    if parsed.asks_now and not parsed.topic:
        return open_now_answer(parsed, phases, ctx)
    if parsed.topic or parsed.indicator:
        if parsed.asks_now:
            return open_now_answer(parsed, phases, ctx)
        return closing_answer(parsed, phases, ctx)
    if parsed.asks_next or parsed.asks_when:
        return next_answer(parsed, phases, ctx)
    if parsed.asks_who:
        return Answer(
            intent="responsible",
            text="ต้องการทราบผู้รับผิดชอบเรื่องไหนครับ "
            'ระบุเครื่องมือหรือตัวชี้วัด เช่น "ใครรับผิดชอบ OIT" หรือ '
            '"ตัวชี้วัดที่ 9 ใครรับผิดชอบ"',
            quick_replies=QUICK_REPLIES,
            now=ctx.now,
        )
    if parsed.asks_help:
        return help_answer(ctx)
    return help_answer(ctx, understood=False)


def warm_up() -> None:
    """Load PyThaiNLP's dictionary now (≈0.7 s) rather than on the first user's question."""
    word_tokenize("ลงทะเบียนปิดวันไหน", engine="newmm")
