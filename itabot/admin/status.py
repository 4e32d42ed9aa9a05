"""`/status [tool or phase] [province] [page]` (admins): the coordinator's view of who has acted.

For each closing ahead in the fiscal year that the province's agencies must act on (or only the
one named), the count confirmed out of the agencies it applies to, and the names of those that
have not confirmed — exactly those, so the coordinator can chase them. An answer is a reply
(free); a page is one text message of at most 5,000 characters (LINE's limit), and the next
page is asked for by number (`/status OIT สุรินทร์ 2`), as `/agency list` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from itabot.admin.agency import split_province_last, unknown_province
from itabot.admin.core import Command, Reply, visible
from itabot.admin.done import (
    NACC_OWN,
    agency_closings,
    command_calendars,
    confirmation_key,
    phase_matches,
    phase_name,
)
from itabot.calendars.model import Calendars, Phase
from itabot.calendars.names import clean_text, resolve_province, suggest_province
from itabot.calendars.thai_dates import BANGKOK, fiscal_year_bounds, fiscal_year_of
from itabot.calendars.wording import closing_short, countdown
from itabot.storage.models import Agency, Confirmation

PAGE_CHARS = 4500  # the listing of one page; head and footer stay well under LINE's 5,000
MAX_HEADING = 300
HOW_TO_NAME = (
    "ระบุจังหวัดท้ายคำสั่ง เช่น /status สุรินทร์ หรือ /status OIT จ.สุรินทร์ "
    "(หรือใช้คำสั่งในกลุ่มที่ผูกกับหน่วยงานของจังหวัดนั้น)"
)
HOW_TO_NAME_PHASE = (
    "ระบุเครื่องมือ เช่น OIT, IIT, EIT, ลงทะเบียน หรือคำในชื่อขั้นตอน\n"
    "เช่น /status OIT สุรินทร์ หรือ /status สุรินทร์ (ทุกกำหนดปิด)"
)


@dataclass
class Closing:
    """One phase and the province's agencies that must act on it."""

    phase: Phase
    agencies: list[Agency] = field(default_factory=list)


def split_args(args: str) -> tuple[str, str | None, int]:
    """(words naming a phase, province named or None, page)."""
    tokens = args.split()
    page = 1
    if tokens and tokens[-1].isdigit():
        page = max(1, int(tokens.pop()))
    words = " ".join(tokens)
    whole = resolve_province(words) if words else None
    if whole:
        return "", whole, page
    province, rest = split_province_last(words)
    return rest, province, page


def closings_ahead(
    calendars: Calendars, agencies: list[Agency], now: datetime
) -> dict[tuple[str, str, int], Closing]:
    """Every open phase of the fiscal year an agency must act on, soonest first."""
    _first, last = fiscal_year_bounds(fiscal_year_of(now.astimezone(BANGKOK).date()))
    year_end = datetime.combine(last, time.max, BANGKOK)
    found: dict[tuple[str, str, int], Closing] = {}
    for agency in agencies:
        for phase, closing in agency_closings(calendars, agency):
            if closing <= now or closing > year_end or phase.tool in NACC_OWN:
                continue
            found.setdefault(confirmation_key(phase), Closing(phase)).agencies.append(agency)
    ordered = sorted(found.items(), key=lambda kv: kv[1].phase.closing)
    return dict(ordered)


def named_closings(closings: list[Closing], words: str) -> list[Closing]:
    """An exact tool first (`OIT` is not `OIT ชี้แจงเพิ่มเติม`), then a tool label or title."""
    needle = words.casefold().replace(" ", "")
    exact = [c for c in closings if (c.phase.tool or "").casefold() == needle]
    return exact or [c for c in closings if phase_matches(c.phase, words)]


def _not_found(words: str, closings: list[Closing]) -> Reply:
    """Words that name no closing: a misspelt province after a tool, a misspelt province alone,
    or an unknown tool."""
    tokens = words.split()
    for k in range(len(tokens) - 1, 0, -1):
        if named_closings(closings, " ".join(tokens[:k])):
            return _bad_province(
                " ".join(tokens[k:]), f"/status {' '.join(tokens[:k])} {{province}}"
            )
    if suggest_province(words):
        return _bad_province(words, "/status {province}")
    shown = visible(clean_text(words), 40) or ""
    return Reply(
        f'ไม่พบกำหนดปิดที่ตรงกับ "{shown}" (ไม่มีการเปลี่ยนแปลง)\n{HOW_TO_NAME_PHASE}',
        "invalid",
        "unknown phase",
    )


def _bad_province(written: str, example: str) -> Reply:
    reply = unknown_province(written, example)
    return Reply(f"{reply.text}\n{HOW_TO_NAME}", "invalid", reply.detail)


def _sections(
    closings: list[Closing], confirmed: set[tuple[int, tuple[str, str, int]]], now: datetime
) -> list[tuple[str, list[str]]]:
    sections = []
    for closing in closings:
        phase = closing.phase
        key = confirmation_key(phase)
        waiting = [a for a in closing.agencies if (a.id, key) not in confirmed]
        total = len(closing.agencies)
        head = f"📌 {phase_name(phase)} — {closing_short(phase)} ({countdown(now, phase.closing)})"
        head = head if len(head) <= MAX_HEADING else head[: MAX_HEADING - 1] + "…"
        tally = f"ยืนยันแล้ว {total - len(waiting)}/{total} แห่ง"
        if not waiting:
            sections.append((f"{head}\n{tally} ✓ ครบทุกแห่ง", []))
        else:
            sections.append(
                (
                    f"{head}\n{tally} — ยังไม่ยืนยัน {len(waiting)} แห่ง:",
                    [f"• {a.name}" for a in waiting],
                )
            )
    return sections


def _pages(sections: list[tuple[str, list[str]]]) -> list[str]:
    """Pack the sections into pages of at most PAGE_CHARS; a section cut by a page starts the
    next page with its heading again, marked (ต่อ)."""
    pages: list[list[str]] = [[]]
    size = 0

    def add(line: str) -> None:
        nonlocal size
        pages[-1].append(line)
        size += len(line) + 1

    def fits(*lines: str) -> bool:
        return not pages[-1] or size + sum(len(x) + 1 for x in lines) <= PAGE_CHARS

    for head, items in sections:
        if not fits(head, *items[:1]):
            pages.append([])
            size = 0
        add(head if not pages[-1] else f"\n{head}")
        for item in items:
            if not fits(item):
                pages.append([])
                size = 0
                add(f"{head.splitlines()[0]} (ต่อ)")
            add(item)
    return ["\n".join(p) for p in pages]


def province_agencies(session: Session, province: str) -> list[Agency]:
    """The province's agencies by name, as plain rows (id, name, province, kind): `/status`
    reads them 200 × closings times, and ORM instances cost 5× as much to read."""
    stmt = (
        select(Agency.id, Agency.name, Agency.province, Agency.kind)
        .where(Agency.province == province)
        .order_by(Agency.name)
    )
    return list(session.execute(stmt).all())  # type: ignore[arg-type]


def confirmed_in(session: Session, province: str) -> set[tuple[int, tuple[str, str, int]]]:
    """(agency id, confirmation key) of every confirmation in the province."""
    rows = session.execute(
        select(
            Confirmation.agency_id,
            Confirmation.calendar,
            Confirmation.phase_id,
            Confirmation.fiscal_year,
        )
        .join(Agency, Agency.id == Confirmation.agency_id)
        .where(Agency.province == province)
    )
    return {(a, (c, p, y)) for a, c, p, y in rows}


def status_pages(
    closings: list[Closing], confirmed: set[tuple[int, tuple[str, str, int]]], now: datetime
) -> list[str]:
    """The closings with their tallies and the agencies not confirmed, in pages of at most
    PAGE_CHARS (shared by `/status` and the coordinator's weekly digest)."""
    return _pages(_sections(closings, confirmed, now))


def cmd_status(cmd: Command, args: str) -> Reply:
    words, province, page = split_args(args)
    if province is None:
        agency = cmd.chat.agency if cmd.chat is not None and cmd.chat.active else None
        province = agency.province if agency is not None else None
    if province is None:
        if words and suggest_province(words.split()[-1]):
            return _bad_province(words.split()[-1], "/status {province}")
        return Reply(f"ไม่ทราบจังหวัด: แชทนี้ไม่ได้ผูกกับหน่วยงาน\n{HOW_TO_NAME}", "invalid", "no province")
    agencies = province_agencies(cmd.session, province)
    if not agencies:
        return Reply(
            f"ยังไม่มีหน่วยงานที่ลงทะเบียนไว้ในจังหวัด{province}\nเพิ่มด้วย /agency add {province} <ชื่อหน่วยงาน>",
            "ok",
            "status: no agencies",
        )
    closings = list(closings_ahead(command_calendars(cmd), agencies, cmd.now).values())
    if words:
        named = named_closings(closings, words)
        if not named:
            return _not_found(words, closings)
        closings = named
    if not closings:
        return Reply(
            f"จังหวัด{province}: ไม่มีกำหนดปิดที่หน่วยงานต้องดำเนินการเหลืออยู่ในปีงบประมาณนี้",
            "ok",
            "status: nothing ahead",
        )
    pages = status_pages(closings, confirmed_in(cmd.session, province), cmd.now)
    command = " ".join(x for x in ("/status", words, province) if x)
    head = f"สถานะการยืนยัน จังหวัด{province} ({len(agencies)} หน่วยงาน)"
    if page > len(pages):
        return Reply(
            f"{head}\nมีเพียง {len(pages)} หน้า พิมพ์ {command} เพื่อดูหน้าแรก", "invalid", "no such page"
        )
    text = f"{head}\n\n{pages[page - 1]}"
    quick: tuple[str, ...] = ()
    if page < len(pages):
        more = len(pages) - page
        text += f"\n\nหน้า {page}/{len(pages)} — ยังมีอีก {more} หน้า พิมพ์ {command} {page + 1}"
        quick = (f"{command} {page + 1}",)
    elif len(pages) > 1:
        text += f"\n\nหน้า {page}/{len(pages)} (หน้าสุดท้าย)"
    return Reply(text, "ok", f"status {province} page {page}/{len(pages)}", quick)
