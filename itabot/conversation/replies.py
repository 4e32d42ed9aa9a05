"""Thai question in, answer out: what staff ask about ITA closings, answered from the calendars.

Pure: text + context (now, province, agency) + calendars → `Answer`. No LINE types, no database.
`understanding` reads the question, `phases` and `search` pick what it is about (in the chat's
fiscal year); this module words the answer. A courtesy gets a courtesy; anything not understood
gets a short hint with example questions, never an error. Whether a group hears the answer at all
is `addressing`'s call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from itabot.calendars.model import Calendars, Phase, drop_echoes
from itabot.calendars.thai_dates import (
    BANGKOK,
    format_date_long,
    thai_month_name,
)
from itabot.calendars.wording import closing_text, countdown, owner_label, period_text
from itabot.conversation.answer import Answer, Context
from itabot.conversation.phases import (
    applicable_phases,
    calendar_search,
    context_year,
    described,
    focus_fiscal_year,
    is_anchor,
    matches_topic,
    phases_ahead,
    scope_rank,
    soonest_first,
)
from itabot.conversation.search import index_for
from itabot.conversation.understanding import INDICATOR_NAMES, WINDOW_TOOLS, Parsed, parse_question

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

# --- formatting ----------------------------------------------------------------------------


def units_text(phase: Phase) -> str:
    return ", ".join(phase.responsible_expanded())


def year_note(phase: Phase, year: int | None) -> str:
    """ " (ปีงบประมาณ พ.ศ. 2569)" on a phase of another year than the chat's: an FY2569 NACC
    closing shown to an agency planning FY2568 must say whose year it is."""
    if year is None or phase.fiscal_year == year:
        return ""
    return f" (ปีงบประมาณ พ.ศ. {phase.fiscal_year})"


def phase_line(
    phase: Phase,
    now: datetime,
    *,
    with_units: bool = True,
    year: int | None = None,
    opening: bool = False,
    period: bool = False,
) -> str:
    closing = phase.closing
    verb = "ระบบ ITAS ปิด" if is_anchor(phase) else "กำหนดภายใน"
    lines = [f"• {phase.title} — {owner_label(phase)}{year_note(phase, year)}"]
    if opening and phase.starts_on:
        started = "เริ่มแล้วเมื่อ" if phase.starts_on <= now.astimezone(BANGKOK).date() else "เริ่ม"
        lines.append(f"  {started} {format_date_long(phase.starts_on)}")
    elif (period or phase.tool in WINDOW_TOOLS) and phase.starts_on and phase.ends_on:
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
        "\n(แสดงเฉพาะปฏิทินของ ป.ป.ช. — ผูกกลุ่มนี้กับหน่วยงานด้วย /bind <รหัสจากผู้ดูแล> "
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
    opening: bool = False,
    period: bool = False,
    units: Sequence[str] = (),
) -> Answer:
    shown = tuple(phases[:MAX_PHASES])
    parts = [heading]
    year = ctx.fiscal_year
    years = {p.fiscal_year for p in shown}
    year_note = None
    if year is not None and len(years) == 1 and year not in years:
        year = years.pop()  # all of one other year: said once, not on every line
        year_note = f"(กำหนดการปีงบประมาณ พ.ศ. {year})"
        parts.append(year_note)
    if body:
        parts.append(body)
    parts.extend(phase_line(p, ctx.now, year=year, opening=opening, period=period) for p in shown)
    if len(phases) > MAX_PHASES:
        parts.append(f"… และอีก {len(phases) - MAX_PHASES} รายการ")
    other_years = sorted({p.fiscal_year for p in shown} - {ctx.fiscal_year})
    return Answer(
        intent=intent,
        text="\n".join(parts) + _context_hint(ctx),
        phases=shown,
        units=tuple(dict.fromkeys([*units, *_units_of(shown)])),
        quick_replies=tuple(quick),
        heading=heading,
        body=body,
        more=max(0, len(phases) - MAX_PHASES),
        hint=_context_hint(ctx).strip() or None,
        now=ctx.now,
        extra={
            "fiscal_year": ctx.fiscal_year,
            "other_years": other_years,
            "more": max(0, len(phases) - MAX_PHASES),
            "unit_asked": units[0] if units else None,
            # For the card: the lines the text carries above the phases.
            "year_note": year_note,
            "body": body,
        },
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
            p for p in chosen if any(matches_topic(p, t, parsed.round_no) for t in parsed.topics)
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
    matching = focus_fiscal_year(
        [p for p in _select(phases, parsed) if p.closing], now, ctx.fiscal_year
    )
    if not matching:
        return _plain("closing", f"ไม่พบกำหนดการของ{label}ในปฏิทินที่ใช้กับแชทนี้" + _context_hint(ctx), ctx)
    anchors = [p for p in matching if is_anchor(p)]
    if anchors:
        last_anchor = max(p.closing for p in anchors)
        matching = [p for p in matching if is_anchor(p) or p.closing <= last_anchor]
    matching = drop_echoes(matching)
    ahead = phases_ahead(matching, now)
    if not ahead and parsed.topics == ("OIT",):
        later = _oit_steps_ahead(phases, ctx)
        if later:
            return _oit_later_answer(matching, later, ctx)
    if not ahead:
        closed = sorted(_latest_per_calendar(matching), key=lambda p: (scope_rank(p), p.closing))
        return _answer("closing", f"{label} ปิดไปแล้ว", closed, ctx, body="ยังไม่มีกำหนดการรอบใหม่ในปฏิทิน")
    anchors_ahead = [p for p in ahead if is_anchor(p)]
    internal = [p for p in matching if not is_anchor(p)]
    internal_ahead = [p for p in internal if p.closing >= now]
    # "Give both": the province's own deadline even when it has just passed.
    internal_past = [p for p in _latest_per_calendar(p for p in internal if p.closing < now)]
    shown = anchors_ahead + soonest_first(internal_ahead) + internal_past
    if not anchors_ahead:
        shown = soonest_first(internal_ahead) + internal_past
    body = None
    if anchors_ahead and internal_ahead and internal_ahead[0].closing < anchors_ahead[0].closing:
        body = (
            f"{owner_label(internal_ahead[0])}กำหนดเส้นตายภายในก่อนระบบ ITAS ปิด "
            "กรุณาส่งตามกำหนดของจังหวัด/หน่วยงาน"
        )
    return _answer("closing", f"กำหนดการ{label}", shown, ctx, body=body)


def _oit_steps_ahead(phases: list[Phase], ctx: Context) -> list[Phase]:
    """OIT's later steps (NACC's check rounds, viewing the scores and the appeal) still ahead."""
    steps = [p for p in phases if p.tool in ("OIT", "OIT-check", "OIT-appeal") and p.closing]
    return phases_ahead(drop_echoes(focus_fiscal_year(steps, ctx.now, ctx.fiscal_year)), ctx.now)


def _oit_later_answer(closed: list[Phase], later: list[Phase], ctx: Context) -> Answer:
    """After the answer step closes (30 June), an OIT question is about what lies ahead: the
    check rounds and — what the agency must act on — the appeal window."""
    anchors = [p for p in closed if is_anchor(p)]
    body = "ขั้นตอนต่อไปของแบบวัด OIT:"
    if anchors:
        last = max(anchors, key=lambda p: p.closing)
        body = f"การตอบและอนุมัติแบบวัด OIT ปิดไปแล้ว (ระบบ ITAS ปิด {closing_text(last)})\n" + body
    appeal = next((p for p in later if p.tool == "OIT-appeal" and p.starts_on and p.ends_on), None)
    if appeal is not None:
        body += (
            f"\nหน่วยงานดูผลคะแนนและชี้แจงเพิ่มเติมได้ {period_text(appeal.starts_on, appeal.ends_on)}"
            f" (ปิด {closing_text(appeal)})"
        )
    return _answer("closing", "แบบวัด OIT: ขั้นตอนที่ยังอยู่ข้างหน้า", later, ctx, body=body)


def _ahead_in_year(phases: list[Phase], ctx: Context) -> list[Phase]:
    """What lies ahead in the chat's year; if nothing does, in the next year that has any."""
    ahead = phases_ahead(drop_echoes(phases), ctx.now)
    return focus_fiscal_year(ahead, ctx.now, ctx.fiscal_year)


def next_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    ahead = _ahead_in_year(_select(phases, parsed), ctx)
    if not ahead:
        return _nothing_ahead(ctx)
    return _answer("next", "กำหนดการถัดไป", ahead, ctx)


# Units that act for NACC, not for the agency: their steps are not the agency's to-do.
NOT_THE_AGENCYS = frozenset({"สำนักงาน ป.ป.ช.", "หน่วยงานภายนอก (Third Party)"})


def left_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    """ "ยังเหลืออะไรต้องทำ": the steps of the year still open or ahead that the agency acts on,
    soonest closing first."""
    every = _ahead_in_year(_select(phases, parsed), ctx)
    ahead = [p for p in every if not set(p.responsible) <= NOT_THE_AGENCYS] or every
    if not ahead:
        return _nothing_ahead(ctx)
    return _answer("left", "สิ่งที่ยังต้องทำ", ahead, ctx)


def opening_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    """ "เปิดวันไหน / เริ่มเมื่อไหร่": the opening day first, the closing beside it."""
    label = _topic_label(parsed)
    chosen = [p for p in drop_echoes(_select(phases, parsed)) if p.starts_on and p.closing]
    chosen = focus_fiscal_year(chosen, ctx.now, ctx.fiscal_year)
    ahead = [p for p in chosen if p.closing >= ctx.now] or chosen
    if not ahead:
        return _plain("opening", f"ไม่พบวันเริ่มของ{label}ในปฏิทินที่ใช้กับแชทนี้" + _context_hint(ctx), ctx)
    ordered = sorted(ahead, key=lambda p: (p.starts_on, scope_rank(p)))
    return _answer("opening", f"วันเริ่ม{label}", ordered, ctx, opening=True)


def found_answer(parsed: Parsed, found: list[Phase], ctx: Context) -> Answer:
    """A question about an activity the calendars describe (not a tool): its period, closing
    and units; "who" puts the units first, "when does it start" the opening."""
    found = [p for p in found if p.fiscal_year == ctx.fiscal_year] or found
    title = found[0].title
    if parsed.asks_who:
        units = _units_of(found)
        summary = "ผู้รับผิดชอบ: " + ", ".join(units)
        heading = f"ผู้รับผิดชอบ: {title}"
        return _answer(
            "responsible", heading, found, ctx, body=summary, period=True, units=units[:1]
        )
    if parsed.asks_open:
        return _answer("opening", f"วันเริ่ม: {title}", found, ctx, opening=True)
    ahead = [p for p in found if p.closing and p.closing >= ctx.now]
    if ahead or not all(p.closing for p in found):
        return _answer("closing", f"กำหนดการ: {title}", ahead or found, ctx, period=True)
    return _answer("closing", f"{title} ปิดไปแล้ว", found, ctx, period=True)


def courtesy_answer(parsed: Parsed, ctx: Context) -> Answer:
    """Thanks, a greeting or an "ok": one short line back, not the "not understood" hint."""
    if any(w in parsed.text for w in ("ขอบคุณ", "ขอบใจ", "thank", "thx")):
        text = "ยินดีครับ 🙏"
    elif any(w in parsed.text for w in ("สวัสดี", "หวัดดี", "hello", "hi")):
        text = f"สวัสดีครับ 🙏 ถามกำหนดการ ITA ได้เลย เช่น “{EXAMPLE_QUESTIONS[0]}”"
    else:
        text = "รับทราบครับ 🙏"
    return _plain("courtesy", text, ctx)


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
    chosen = [p for p in soonest_first(drop_echoes(phases)) if start <= p.closing <= end]
    if not chosen:
        ahead = phases_ahead(drop_echoes(phases), ctx.now)
        if not ahead:
            return _nothing_ahead(ctx)
        return _answer("window", f"{label}ไม่มีกำหนดปิด", ahead[:1], ctx, body="กำหนดปิดถัดไปคือ")
    return _answer("window", f"กำหนดปิด{label}", chosen, ctx)


def open_now_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    current = [p for p in _select(phases, parsed) if p.is_open(ctx.now) and p.closing]
    if not current and parsed.topics == ("OIT",):  # "OIT ถึงไหนแล้ว" in July: its check round
        steps = [p for p in phases if p.tool in ("OIT-check", "OIT-appeal") and p.closing]
        current = [p for p in steps if p.is_open(ctx.now)]
    current = sorted(drop_echoes(current), key=lambda p: (scope_rank(p), p.closing))
    if not current:
        ahead = phases_ahead(drop_echoes(phases), ctx.now)
        if not ahead:
            return _nothing_ahead(ctx)
        return _answer("open_now", "ตอนนี้ไม่มีขั้นตอนที่เปิดอยู่", ahead[:1], ctx, body="ขั้นตอนถัดไปคือ")
    return _answer("open_now", "ขั้นตอนที่เปิดอยู่ตอนนี้", current, ctx)


def responsible_answer(parsed: Parsed, phases: list[Phase], ctx: Context) -> Answer:
    """The agency's own plan names its divisions, the province its units, NACC the least:
    most specific first, each with what it is responsible for and when."""
    label = _topic_label(parsed)
    chosen = _select([p for p in phases if p.responsible], parsed)
    mine = [p for p in chosen if p.fiscal_year == ctx.fiscal_year]
    if any(p.scope != "national" for p in mine):  # the year's own units; else every year's
        chosen = mine
    if not chosen:
        return _plain(
            "responsible",
            f"ไม่พบผู้รับผิดชอบ{label}ในปฏิทินที่ใช้กับแชทนี้" + _context_hint(ctx),
            ctx,
        )
    now = ctx.now
    year = ctx.fiscal_year
    ordered = sorted(
        chosen,
        key=lambda p: (
            -scope_rank(p),  # the agency's own division first, even from its last plan
            p.fiscal_year != year,
            p.closing is None or p.closing < now,
            p.closing or now,
        ),
    )
    units = _units_of(ordered)
    summary = "ผู้รับผิดชอบ: " + ", ".join(units)
    return _answer("responsible", f"ผู้รับผิดชอบ{label}", ordered, ctx, body=summary, units=units[:1])


def _who_of_what(ctx: Context) -> Answer:
    return _plain(
        "responsible",
        "ต้องการทราบผู้รับผิดชอบเรื่องไหนครับ ระบุเครื่องมือหรือตัวชี้วัด เช่น "
        '"ใครรับผิดชอบ OIT" หรือ "ตัวชี้วัดที่ 9 ใครรับผิดชอบ"',
        ctx,
    )


def answer(text: str, ctx: Context, calendars: Calendars) -> Answer:
    """Answer one question from staff. Never raises on odd text: unknown → a hint.

    What a question is about: an activity the calendars describe in the question's own words
    (beyond the tool names) wins over the lexicon's tool, which wins over the whole calendar."""
    if not text or not text.strip():
        return help_answer(ctx, understood=False)
    parsed = parse_question(text[:500])
    if ctx.fiscal_year is None:
        ctx = replace(ctx, fiscal_year=context_year(ctx, calendars))
    phases = applicable_phases(ctx, calendars)
    found, words = described(calendar_search(parsed, phases, calendars))
    about_something = bool(parsed.topics or parsed.indicator)
    asks = parsed.asks_when or parsed.asks_who or parsed.asks_open or parsed.asks_now
    broad = parsed.asks_now or parsed.asks_left or parsed.asks_next or parsed.window
    if len(words) < 2 and (about_something or broad):  # one word beside a tool or a broad
        found = []  # question ("ช่วงนี้ต้องเตรียมอะไร") does not make it about that activity
    if found and (asks or parsed.asks_next or not about_something):
        said = found_answer(parsed, found, ctx)
        rarest = max(index_for(calendars).idf(w) for w in words)
        return replace(said, extra={**said.extra, "described": words, "rarest": rarest})
    if parsed.courtesy and not about_something:
        return courtesy_answer(parsed, ctx)
    if parsed.asks_who:
        return responsible_answer(parsed, phases, ctx) if about_something else _who_of_what(ctx)
    if about_something:
        if parsed.asks_open:
            return opening_answer(parsed, phases, ctx)
        if parsed.asks_left:
            return left_answer(parsed, phases, ctx)
        if parsed.asks_now and not parsed.asks_when:
            return open_now_answer(parsed, phases, ctx)
        return closing_answer(parsed, phases, ctx)
    if parsed.window:
        return window_answer(parsed, phases, ctx)
    if parsed.asks_left:
        return left_answer(parsed, phases, ctx)
    if parsed.asks_open:
        return opening_answer(parsed, phases, ctx)
    if parsed.asks_now:
        return open_now_answer(parsed, phases, ctx)
    if parsed.asks_next or parsed.asks_when:
        return next_answer(parsed, phases, ctx)
    if parsed.asks_help:
        return help_answer(ctx)
    return help_answer(ctx, understood=False)
