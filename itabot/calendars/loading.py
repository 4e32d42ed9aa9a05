"""Loading and checking calendars: `schedules/*.yaml` → `Calendar`s, or every problem found.

A calendar is transcribed by hand from a messy PDF, so loading never stops at the first
mistake: it collects each problem with its file and phase (`python -m itabot schedules check`
prints them all), and a process refuses to start on a calendar with any.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from itabot.calendars.model import (
    SCOPES,
    TOOLS,
    Calendar,
    Correction,
    Phase,
    Problem,
)
from itabot.calendars.thai_dates import BANGKOK, fiscal_year_bounds, parse_period

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# --- loading -----------------------------------------------------------------------------

_REQUIRED_CAL = ("calendar", "title", "fiscal_year", "scope", "phases")
_REQUIRED_PHASE = ("id", "title", "period", "source")


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if dt.tzinfo is None:
        raise ValueError("closes_at ต้องระบุเขตเวลา เช่น 2026-06-30T17:00:00+07:00")
    return dt.astimezone(BANGKOK)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _corrected_text(raw: dict[str, Any], fieldname: str) -> str | None:
    for c in raw.get("corrections") or []:
        if isinstance(c, dict) and c.get("field") == fieldname and c.get("corrected"):
            return str(c["corrected"])
    return None


def _closing_clause(text: str | None) -> str | None:
    """The date-and-time part of a sentence such as `โดยระบบ ITAS จะปิด … ในวันอังคารที่ …`."""
    if not text:
        return None
    start = text.rfind("ในวัน")
    return text[start:] if start >= 0 else text


def _parse_phase(
    raw: dict[str, Any], cal: dict[str, Any], cal_id: str, problems: list[Problem], fname: str
) -> Phase | None:
    pid = str(raw.get("id", "?"))
    missing = [k for k in _REQUIRED_PHASE if k not in raw]
    if missing:
        problems.append(Problem(fname, pid, f"ขาดช่อง {', '.join(missing)}"))
        return None
    if not _ID_RE.match(pid):
        problems.append(Problem(fname, pid, "id ต้องเป็นตัวอักษรอังกฤษเล็ก ตัวเลข และ - เท่านั้น"))
    period_text = str(raw["period"]).strip()
    try:
        starts_on = _as_date(raw.get("starts_on"))
        ends_on = _as_date(raw.get("ends_on"))
        closes_at = _as_datetime(raw.get("closes_at"))
    except ValueError as exc:
        problems.append(Problem(fname, pid, f"วันที่ไม่ถูกต้อง: {exc}"))
        return None
    fy = int(cal["fiscal_year"])
    # Derive what is not given from the Thai text; cross-check what is given.
    effective_period = _corrected_text(raw, "period") or period_text
    if effective_period not in ("-", ""):
        try:
            parsed = parse_period(effective_period, default_year=fy)
        except ValueError as exc:
            problems.append(Problem(fname, pid, f"อ่านช่วงเวลา '{effective_period}' ไม่ได้: {exc}"))
            parsed = None
        if parsed is not None:
            if "starts_on" not in raw:
                starts_on = parsed.start
            elif starts_on != parsed.start:
                problems.append(
                    Problem(
                        fname,
                        pid,
                        f"starts_on {starts_on} ไม่ตรงกับช่วงเวลา '{effective_period}' ({parsed.start})",
                    )
                )
            if "ends_on" not in raw:
                ends_on = parsed.end
            elif ends_on != parsed.end:
                problems.append(
                    Problem(
                        fname,
                        pid,
                        f"ends_on {ends_on} ไม่ตรงกับช่วงเวลา '{effective_period}' ({parsed.end})",
                    )
                )
            if parsed.closes_at is not None and "closes_at" not in raw:
                closes_at = parsed.closes_at
    closes_text = _closing_clause(_corrected_text(raw, "closes") or _text(raw.get("closes")))
    if closes_text:
        try:
            parsed_close = parse_period(closes_text, default_year=fy).closes_at
        except ValueError as exc:
            problems.append(Problem(fname, pid, f"อ่านเวลาปิด '{closes_text}' ไม่ได้: {exc}"))
            parsed_close = None
        if parsed_close is not None:
            if closes_at is None and "closes_at" not in raw:
                closes_at = parsed_close
            elif closes_at != parsed_close:
                problems.append(
                    Problem(
                        fname,
                        pid,
                        f"closes_at {closes_at} ไม่ตรงกับข้อความ '{closes_text}' ({parsed_close})",
                    )
                )
    if starts_on and ends_on and starts_on > ends_on:
        problems.append(Problem(fname, pid, f"ช่วงเวลากลับด้าน: {starts_on} หลัง {ends_on}"))
    tool = raw.get("tool")
    if tool is not None and tool not in TOOLS:
        problems.append(Problem(fname, pid, f"tool '{tool}' ไม่รู้จัก (ใช้ได้: {', '.join(TOOLS)})"))
    indicators = tuple(int(i) for i in raw.get("indicators") or ())
    if any(i < 1 or i > 10 for i in indicators):
        problems.append(Problem(fname, pid, "ตัวชี้วัดต้องอยู่ระหว่าง 1 ถึง 10"))
    source = raw.get("source") or {}
    if not isinstance(source, dict) or not source.get("file") or not source.get("row"):
        problems.append(Problem(fname, pid, "ต้องอ้างอิงแหล่งที่มา source.file และ source.row"))
        source = source if isinstance(source, dict) else {}
    corrections = []
    for c in raw.get("corrections") or []:
        if not isinstance(c, dict) or not c.get("why"):
            problems.append(Problem(fname, pid, "การแก้ไขทุกรายการต้องมี field และ why"))
            continue
        corrections.append(
            Correction(
                str(c.get("field")),
                _text(c.get("source_text")),
                _text(c.get("corrected")),
                str(c["why"]),
            )
        )
    outside = bool(raw.get("outside_fiscal_year", False))
    fy_start, fy_end = fiscal_year_bounds(fy)
    first = starts_on or ends_on or (closes_at.date() if closes_at else None)
    last = (closes_at.date() if closes_at else None) or ends_on or starts_on
    inside = all(d is None or fy_start <= d <= fy_end for d in (first, last))
    if not inside and not outside:
        problems.append(
            Problem(
                fname,
                pid,
                f"อยู่นอกปีงบประมาณ {fy} ({fy_start} – {fy_end}): ใส่ outside_fiscal_year: true พร้อมเหตุผล",
            )
        )
    units = cal.get("units") or {}
    return Phase(
        calendar=cal_id,
        id=pid,
        title=str(raw["title"]).strip(),
        tool=tool,
        indicators=indicators,
        period=period_text,
        starts_on=starts_on,
        ends_on=ends_on,
        closes=_text(raw.get("closes")),
        closes_at=closes_at,
        responsible=tuple(str(u).strip() for u in raw.get("responsible") or ()),
        detail=_text(raw.get("detail")),
        notes=_text(raw.get("notes")),
        source=dict(source),
        corrections=tuple(corrections),
        outside_fiscal_year=outside,
        scope=str(cal["scope"]),
        owner=_text(cal.get("owner")),
        province=_text(cal.get("province")),
        fiscal_year=fy,
        units=tuple((str(k), str(v)) for k, v in units.items()),
    )


def load_calendar(path: Path, problems: list[Problem] | None = None) -> Calendar | None:
    """Read one YAML file; problems are appended (never raised) so `check` reports them all."""
    problems = [] if problems is None else problems
    fname = path.name
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        problems.append(Problem(fname, None, f"อ่านไฟล์ YAML ไม่ได้: {exc}"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(fname, None, "ไฟล์ต้องเป็น mapping ที่มี calendar, phases ฯลฯ"))
        return None
    missing = [k for k in _REQUIRED_CAL if k not in raw]
    if missing:
        problems.append(Problem(fname, None, f"ขาดช่อง {', '.join(missing)}"))
        return None
    cal_id = str(raw["calendar"])
    if cal_id != path.stem:
        problems.append(Problem(fname, None, f"calendar '{cal_id}' ต้องตรงกับชื่อไฟล์ '{path.stem}'"))
    if raw["scope"] not in SCOPES:
        problems.append(Problem(fname, None, f"scope ต้องเป็น {' / '.join(SCOPES)}"))
    try:
        fy = int(raw["fiscal_year"])
        if not 2500 <= fy <= 2700:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(Problem(fname, None, "fiscal_year ต้องเป็นปี พ.ศ. เช่น 2569"))
        return None
    if raw["scope"] != "national" and not raw.get("owner"):
        problems.append(Problem(fname, None, "ปฏิทินจังหวัด/หน่วยงานต้องระบุ owner"))
    phases: list[Phase] = []
    seen: set[str] = set()
    for item in raw.get("phases") or []:
        if not isinstance(item, dict):
            problems.append(Problem(fname, None, "ทุกขั้นตอนต้องเป็น mapping"))
            continue
        phase = _parse_phase(item, raw, cal_id, problems, fname)
        if phase is None:
            continue
        if phase.id in seen:
            problems.append(Problem(fname, phase.id, "id ซ้ำในไฟล์เดียวกัน"))
        seen.add(phase.id)
        phases.append(phase)
    if not phases:
        problems.append(Problem(fname, None, "ไม่มีขั้นตอน (phases) เลย"))
    known = {
        "calendar",
        "title",
        "fiscal_year",
        "scope",
        "owner",
        "province",
        "agency_kind",
        "source",
        "units",
        "phases",
    }
    return Calendar(
        id=cal_id,
        title=str(raw["title"]),
        fiscal_year=fy,
        scope=str(raw["scope"]),
        owner=_text(raw.get("owner")),
        province=_text(
            raw.get("province") or (raw.get("owner") if raw["scope"] == "province" else None)
        ),
        agency_kind=_text(raw.get("agency_kind")),
        source=dict(raw.get("source") or {}),
        units={str(k): str(v) for k, v in (raw.get("units") or {}).items()},
        phases=tuple(phases),
        path=path,
        extra={k: v for k, v in raw.items() if k not in known},
    )


def load_dir(directory: Path) -> tuple[list[Calendar], list[Problem]]:
    problems: list[Problem] = []
    calendars = []
    for path in sorted(directory.glob("*.yaml")):
        cal = load_calendar(path, problems)
        if cal is not None:
            calendars.append(cal)
    ids = [c.id for c in calendars]
    for dup in {i for i in ids if ids.count(i) > 1}:
        problems.append(Problem(dup, None, "ปฏิทินซ้ำ"))
    return calendars, problems
