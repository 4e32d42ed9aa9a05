"""`/agency add|list|remove`, and finding an agency or a province by what an admin typed.

Agency names are cleaned (`names.clean_text`) and checked against a small alphabet (Thai,
Latin, digits, `. , - ( ) / &`): quotes, `;`, `<…>` and control or bidi characters are refused,
never stored as a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from itabot.admin import confirm
from itabot.admin.core import (
    _FORBIDDEN_RE,
    _ZERO_WIDTH_RE,
    USAGE,
    Command,
    Reply,
    _agency_label,
    _group_usage,
    _quoted,
    _usage,
    visible,
)
from itabot.calendars.names import (
    AGENCY_PREFIXES,
    agency_key,
    agency_kind,
    clean_text,
    expand_agency_name,
    province_key,
    province_names,
    resolve_province,
    suggest_names,
    suggest_province,
)
from itabot.storage.chats import unbind_chat
from itabot.storage.models import Agency, Chat

MAX_NAME_CHARS = 120
LIST_PAGE = 60
_NAME_ALLOWED_RE = re.compile(r"[\u0e01-\u0e5b A-Za-z0-9.,()/&\-–]")
_HAS_LETTER_RE = re.compile(r"[\u0e01-\u0e2eA-Za-z]")


def check_name(raw: str) -> tuple[str | None, str | None]:
    """(display name, None) or (None, the Thai reason it is refused)."""
    if _FORBIDDEN_RE.search(raw):
        return None, "ชื่อหน่วยงานมีอักขระควบคุมที่มองไม่เห็น (เช่น \\x00 หรืออักขระกลับทิศ) กรุณาพิมพ์ชื่อใหม่"
    text = clean_text(_ZERO_WIDTH_RE.sub("", raw))
    if not text:
        return None, None
    if len(text) > MAX_NAME_CHARS:
        return None, f"ชื่อหน่วยงานยาวเกิน {MAX_NAME_CHARS} ตัวอักษร ({len(text)} ตัวอักษร)"
    bad = sorted({ch for ch in text if not _NAME_ALLOWED_RE.match(ch)})
    if bad:
        shown = " ".join(bad[:10])
        return None, (
            f"ชื่อหน่วยงานมีอักขระที่ใช้ไม่ได้: {shown}\n"
            "ใช้ได้เฉพาะตัวอักษรไทยหรืออังกฤษ ตัวเลข ช่องว่าง และ . , - ( ) / &"
        )
    if not _HAS_LETTER_RE.search(text):
        return None, "ชื่อหน่วยงานต้องมีตัวอักษร ไม่ใช่ตัวเลขหรือเครื่องหมายอย่างเดียว"
    name = expand_agency_name(text)
    if not agency_key(name):
        return None, "ชื่อหน่วยงานว่าง"
    return name, None


def name_key(text: str) -> str:
    """The duplicate key of a name as typed (abbreviations expanded first: อบจ.สร ≡ อบจ.สุรินทร์)."""
    return agency_key(expand_agency_name(clean_text(_ZERO_WIDTH_RE.sub("", text))))


def _after_tokens(text: str, k: int) -> str:
    """The text after its first `k` words, line breaks kept (one agency per line)."""
    return re.sub(rf"^\s*(?:\S+\s+){{{k}}}", "", text + " ", count=1).strip()


def split_province_first(args: str, *, glued: bool = False) -> tuple[str | None, str]:
    """`จ. สุรินทร์ อบต.คลองพา` → ("สุรินทร์", "อบต.คลองพา"); (None, args) if no province leads.

    `glued` also reads `สุรินทร์อบต.คลองพา` — only where a province must come first (`/agency
    add`): elsewhere a name such as `ตากฟ้า` would be read as the province ตาก."""
    tokens = args.split()
    for k in (1, 2, 3):
        if len(tokens) >= k:
            province = resolve_province(" ".join(tokens[:k]))
            if province:
                return province, _after_tokens(args, k)
    if tokens and glued:
        first = province_key(tokens[0])
        for name in sorted(province_names(), key=len, reverse=True):
            at = tokens[0].find(name)
            if first.startswith(name) and len(first) > len(name) and at >= 0:
                return name, (tokens[0][at + len(name) :] + " " + _after_tokens(args, 1)).strip()
    return None, args


def split_province_last(args: str) -> tuple[str | None, str]:
    """`อบต.คลองพา จ.สุรินทร์` → ("สุรินทร์", "อบต.คลองพา")."""
    tokens = args.split()
    for k in (1, 2, 3):
        if len(tokens) > k:
            province = resolve_province(" ".join(tokens[-k:]))
            if province:
                return province, " ".join(tokens[:-k])
    return None, args


def _province_token(args: str) -> str:
    tokens = args.split()
    if len(tokens) >= 2 and province_key(tokens[0]) == "":  # `จังหวัด สุรินทท์`
        return f"{tokens[0]}{tokens[1]}"
    return tokens[0] if tokens else ""


def unknown_province(written: str, example: str) -> Reply:
    shown = visible(clean_text(written), 40)
    close = suggest_province(written)
    if close:
        best = close[0]
        text = f"ไม่พบจังหวัด {_quoted(shown or '')} หมายถึงจังหวัด{best} หรือไม่\nเช่น {example.format(province=best)}"
        return Reply(text, "invalid", f"unknown province; suggested {best}")
    return Reply(
        f"ไม่พบจังหวัด {_quoted(shown or '')} กรุณาพิมพ์ชื่อจังหวัดให้ถูกต้อง (เช่น สุรินทร์ หรือ จ.สุรินทร์)\n"
        f"เช่น {example.format(province='สุรินทร์')}",
        "invalid",
        "unknown province",
    )


@dataclass(frozen=True)
class Lookup:
    """The result of finding an agency by what an admin typed."""

    agency: Agency | None = None
    ambiguous: tuple[Agency, ...] = ()
    suggestions: tuple[Agency, ...] = ()
    name: str = ""


def find_agency(session: Session, args: str) -> Lookup:
    """By name in any province; `<province> <name>` and `<name> <province>` narrow it down."""

    def by_key(key: str, province: str | None = None) -> list[Agency]:
        query = select(Agency).where(Agency.name_key == key)
        if province:
            query = query.where(Agency.province == province)
        return list(session.scalars(query.order_by(Agency.province)))

    whole = by_key(name_key(args)) if name_key(args) else []
    if len(whole) == 1:
        return Lookup(agency=whole[0])
    narrowed_province: str | None = None
    name_part = args
    for split in (split_province_first, split_province_last):
        province, rest = split(args)
        if province and rest and name_key(rest):
            hits = by_key(name_key(rest), province)
            if len(hits) == 1:
                return Lookup(agency=hits[0])
            narrowed_province, name_part = province, rest
            break
    if whole:
        return Lookup(ambiguous=tuple(whole), name=whole[0].name)
    pool_query = select(Agency)
    if narrowed_province:
        pool_query = pool_query.where(Agency.province == narrowed_province)
    pool = list(session.scalars(pool_query))
    names = suggest_names(name_part, [a.name for a in pool])
    by_name: dict[str, list[Agency]] = {}
    for agency in pool:
        by_name.setdefault(agency.name, []).append(agency)
    suggestions = tuple(a for n in names for a in by_name.get(n, []))[:5]
    return Lookup(suggestions=suggestions, name=clean_text(name_part))


Asker = Callable[[Agency], "str | None"]  # an agency → the postback data that asks to confirm


def short_name(name: str) -> str:
    """`องค์การบริหารส่วนตำบลคลองพา` → `อบต.คลองพา`: a button label has 20 characters."""
    for full, short in AGENCY_PREFIXES:
        if name.startswith(full) and len(name) > len(full):
            return f"{short}.{name[len(full) :]}"
    return name


def _not_found(lookup: Lookup, verb: str, ask: Asker | None = None) -> Reply:
    """Close names as buttons: a command to send for `/bind`, or, with `ask` (a destructive
    command), a postback that only asks for confirmation (admin.confirm)."""
    shown = visible(lookup.name, 60) or ""
    if lookup.suggestions:
        lines = "\n".join(f"• {a.name} (จังหวัด{a.province})" for a in lookup.suggestions)
        asks = "\nกดชื่อด้านล่าง แล้วบอตจะถามยืนยันก่อนลบ" if ask is not None else ""
        return Reply(
            f"ไม่พบหน่วยงาน {_quoted(shown)} หมายถึงหน่วยงานเหล่านี้หรือไม่\n{lines}{asks}",
            "invalid",
            "agency not found; suggested " + ", ".join(a.name for a in lookup.suggestions),
            *_buttons(lookup.suggestions, verb, ask, with_province=False),
        )
    return Reply(
        f"ไม่พบหน่วยงาน {_quoted(shown)} ในรายชื่อ ดูรายชื่อด้วย /agency list "
        "หรือเพิ่มด้วย /agency add <จังหวัด> <ชื่อ>",
        "invalid",
        "agency not found",
        ("/agency list",),
    )


def _ambiguous(lookup: Lookup, verb: str, ask: Asker | None = None) -> Reply:
    provinces = ", ".join(a.province for a in lookup.ambiguous)
    first = lookup.ambiguous[0]
    return Reply(
        f"มีหน่วยงานชื่อ {_quoted(lookup.name)} ในหลายจังหวัด: {provinces}\n"
        f"กรุณาระบุจังหวัดด้วย เช่น /{verb} {first.province} {first.name}",
        "invalid",
        f"ambiguous: {provinces}",
        *_buttons(lookup.ambiguous, verb, ask, with_province=True),
    )


def _buttons(
    agencies: Sequence[Agency], verb: str, ask: Asker | None, *, with_province: bool
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(quick-reply commands, postback buttons) for agencies offered to `verb`."""
    if ask is None:
        return tuple(f"/{verb} {a.province} {a.name}" for a in agencies), ()
    buttons = []
    for a in agencies:
        data = ask(a)
        if data is not None:
            name = short_name(a.name)
            label = f"ลบ {name} (จ.{a.province})" if with_province else f"ลบ {name}"
            buttons.append((label, data))
    return (), tuple(buttons)


# --- /agency ---------------------------------------------------------------------------------


def cmd_agency_usage(cmd: Command, args: str) -> Reply:
    return _group_usage(args, ("agency add", "agency list", "agency remove", "agency code"))


MAX_BULK_AGENCIES = 50


def cmd_agency_add(cmd: Command, args: str) -> Reply:
    if not args:
        return _usage("agency add", "ต้องระบุจังหวัดและชื่อหน่วยงาน")
    province, rest = split_province_first(args, glued=True)
    if province is None:
        return unknown_province(_province_token(args), "/agency add {province} อบต.ตัวอย่าง")
    if not rest:
        return _usage("agency add", f"ต้องระบุชื่อหน่วยงานต่อจากจังหวัด{province}")
    lines = [line for line in re.split(r"[\r\n]+", rest) if line.strip()]
    if len(lines) > 1:
        return _add_many(cmd, province, lines)
    name, problem = check_name(rest)
    if name is None:
        return (
            _usage("agency add", problem) if problem is None else Reply(problem, "invalid", problem)
        )
    key = agency_key(name)
    existing = _existing(cmd.session, province, key)
    if existing is not None:
        return Reply(
            f"มีหน่วยงาน {_agency_label(existing)} อยู่แล้ว ไม่ได้เพิ่มซ้ำ",
            "invalid",
            f"duplicate of agency {existing.id}",
            (f"/bind {existing.province} {existing.name}",),
        )
    agency = Agency(
        province=province, name=name, name_key=key, kind=agency_kind(name), created_by=cmd.user_id
    )
    cmd.session.add(agency)
    try:
        cmd.session.flush()
    except IntegrityError:
        # Another admin added the same agency a moment ago: the unique key kept one row.
        cmd.session.rollback()
        existing = _existing(cmd.session, province, key)
        label = _agency_label(existing) if existing else _quoted(name)
        return Reply(f"มีหน่วยงาน {label} อยู่แล้ว ไม่ได้เพิ่มซ้ำ", "invalid", "duplicate (race)")
    return Reply(
        f"เพิ่มหน่วยงาน {_agency_label(agency)} แล้ว\nผูกกลุ่มกับหน่วยงานนี้ด้วย /bind {agency.name}",
        "ok",
        f"agency {agency.id} added: {province} / {name}",
        (f"/bind {agency.name}", "/agency list"),
    )


def _existing(session: Session, province: str, key: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.province == province, Agency.name_key == key))


def _add_many(cmd: Command, province: str, lines: list[str]) -> Reply:
    """A list pasted one agency per line (a province has ~170 อปท.): each line is checked like
    a single add; the valid new ones are added together, the rest are named with the reason."""
    if len(lines) > MAX_BULK_AGENCIES:
        return _usage(
            "agency add", f"เพิ่มได้ครั้งละไม่เกิน {MAX_BULK_AGENCIES} หน่วยงาน (บรรทัดละหนึ่งหน่วยงาน)"
        )
    added: list[Agency] = []
    duplicates: list[str] = []
    refused: list[str] = []
    seen: set[str] = set()
    for line in lines:
        name, problem = check_name(line)
        if name is None:
            shown = visible(clean_text(line), 40) or ""
            refused.append(f"{_quoted(shown)}: {(problem or 'ชื่อว่าง').splitlines()[0]}")
            continue
        key = agency_key(name)
        existing = _existing(cmd.session, province, key)
        if existing is not None or key in seen:
            duplicates.append(existing.name if existing else name)
            continue
        seen.add(key)
        added.append(
            Agency(
                province=province,
                name=name,
                name_key=key,
                kind=agency_kind(name),
                created_by=cmd.user_id,
            )
        )
    cmd.session.add_all(added)
    try:
        cmd.session.flush()
    except IntegrityError:
        cmd.session.rollback()
        return Reply(
            "มีผู้ดูแลอีกคนเพิ่มหน่วยงานชุดเดียวกันพร้อมกัน จึงยังไม่ได้เพิ่ม "
            "กรุณาส่งรายชื่อนี้อีกครั้ง (รายการที่มีอยู่แล้วจะถูกข้าม)",
            "invalid",
            "bulk add lost a race: nothing added",
        )
    parts = []
    if added:
        parts.append(f"เพิ่มหน่วยงานจังหวัด{province} {len(added)} แห่งแล้ว:")
        parts += [f"• {a.name}" for a in added]
    else:
        parts.append(f"ไม่ได้เพิ่มหน่วยงานใดในจังหวัด{province}")
    if duplicates:
        parts.append(f"มีอยู่แล้ว {len(duplicates)} แห่ง (ไม่ได้เพิ่มซ้ำ): " + ", ".join(duplicates))
    if refused:
        parts.append(f"ไม่ได้เพิ่ม {len(refused)} รายการ:")
        parts += [f"• {r}" for r in refused]
    detail = (
        f"bulk {province}: added {[a.id for a in added]}, "
        f"{len(duplicates)} duplicate(s), {len(refused)} refused"
    )
    return Reply("\n".join(parts), "ok" if added else "invalid", detail, ("/agency list",))


def cmd_agency_list(cmd: Command, args: str) -> Reply:
    tokens = args.split()
    page = 1
    if tokens and tokens[-1].isdigit():
        page = max(1, int(tokens.pop()))
    province = None
    if tokens:
        province = resolve_province(" ".join(tokens))
        if province is None:
            return unknown_province(_province_token(" ".join(tokens)), "/agency list {province}")
    bound = (
        select(Chat.agency_id, func.count().label("n"))
        .where(Chat.agency_id.is_not(None))
        .group_by(Chat.agency_id)
        .subquery()
    )
    query = select(Agency, func.coalesce(bound.c.n, 0)).outerjoin(
        bound, bound.c.agency_id == Agency.id
    )
    count_query = select(func.count()).select_from(Agency)
    if province:
        query = query.where(Agency.province == province)
        count_query = count_query.where(Agency.province == province)
    total = cmd.session.scalar(count_query) or 0
    where = f"จังหวัด{province}" if province else "ทุกจังหวัด"
    if total == 0:
        return Reply(
            f"ยังไม่มีหน่วยงานที่ลงทะเบียนไว้ ({where})\nเพิ่มด้วย {USAGE['agency add']}",
            "ok",
            "list: empty",
        )
    rows = cmd.session.execute(
        query.order_by(Agency.province, Agency.name).offset((page - 1) * LIST_PAGE).limit(LIST_PAGE)
    ).all()
    lines = [f"หน่วยงานที่ลงทะเบียนไว้ {total} แห่ง ({where})"]
    current = None
    for agency, n in rows:
        if agency.province != current and not province:
            current = agency.province
            lines.append(f"จังหวัด{current}")
        lines.append(f"• {agency.name}" + (f" — ผูก {n} แชท" if n else ""))
    shown_to = (page - 1) * LIST_PAGE + len(rows)
    if shown_to < total:
        more = f"/agency list {province + ' ' if province else ''}{page + 1}"
        lines.append(f"… แสดง {shown_to} จาก {total} แห่ง หน้าถัดไป: {more}")
    elif not rows:
        lines.append(f"(หน้า {page} ไม่มีรายการ)")
    return Reply("\n".join(lines), "ok", f"list: {province or 'all'} page {page}")


def cmd_agency_remove(cmd: Command, args: str) -> Reply:
    if not args:
        return _usage("agency remove", "ต้องระบุชื่อหน่วยงานที่จะลบ")
    lookup = find_agency(cmd.session, args)
    secret = cmd.settings.line_channel_secret
    asker = lambda agency: confirm.ask_data(secret, agency)  # noqa: E731
    if lookup.ambiguous:
        return _ambiguous(lookup, "agency remove", asker)
    if lookup.agency is None:
        return _not_found(lookup, "agency remove", asker)
    agency = lookup.agency
    chats = list(cmd.session.scalars(select(Chat).where(Chat.agency_id == agency.id)))
    for chat in chats:
        unbind_chat(cmd.session, chat)
    label = _agency_label(agency)
    detail = f"agency {agency.id} removed: {agency.province} / {agency.name}"
    if chats:
        detail += "; unbound chats " + ", ".join(c.id for c in chats)
    cmd.session.delete(agency)
    cmd.session.flush()
    extra = f"\nยกเลิกการผูก {len(chats)} แชทที่เคยผูกกับหน่วยงานนี้" if chats else ""
    return Reply(f"ลบหน่วยงาน {label} แล้ว{extra}", "ok", detail)
