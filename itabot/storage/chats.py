"""The chats the bot lives in (a LINE user, group or room) and what each is bound to.

A chat row appears the first time anyone writes in it (or the bot is added) and is never
deleted: when the bot leaves a group the row is only marked inactive, so its binding and
reminder settings come back if the bot is invited again. Reading a chat's binding is on the path
of every question, so it is one primary-key lookup with the agency joined in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from itabot.storage.models import Admin, Agency, Chat, utcnow

CHAT_TYPES = ("user", "group", "room")
# LINE ids are `U`/`C`/`R` + 32 hex digits; the console may pass shorter test ids, so only the
# shape the column can hold is enforced here (1–64 visible ASCII characters).
_CHAT_ID_RE = re.compile(r"^[\x21-\x7e]{1,64}$")
LINE_USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")

CHAT_WORDS = {"user": "แชทนี้", "group": "กลุ่มนี้", "room": "ห้องนี้"}


def is_valid_chat_id(chat_id: str | None) -> bool:
    return bool(chat_id) and bool(_CHAT_ID_RE.match(chat_id or ""))


def chat_type_of(chat_id: str, claimed: str | None = None) -> str:
    """`claimed` when it is a type LINE has (the event's source says so); else LINE's id
    prefix: U… a user (1:1), C… a group, R… a room."""
    if claimed in CHAT_TYPES:
        return claimed
    return {"C": "group", "R": "room"}.get(chat_id[:1], "user")


def touch_chat(session: Session, chat_id: str, chat_type: str) -> Chat:
    """The chat, created on first sight or reactivated; writes nothing when it is already known.

    Two webhook workers may see a new group at the same moment: the loser of the insert race
    reads the winner's row instead of failing.
    """
    if not is_valid_chat_id(chat_id):
        raise ValueError(f"invalid chat id: {chat_id!r}")
    if chat_type not in CHAT_TYPES:
        raise ValueError(f"chat_type must be one of {CHAT_TYPES}: {chat_type!r}")
    chat = session.get(Chat, chat_id, options=[joinedload(Chat.agency)])
    if chat is None:
        chat = Chat(id=chat_id, type=chat_type, active=True, remind_enabled=True)
        try:
            with session.begin_nested():
                session.add(chat)
        except IntegrityError:
            chat = session.get(
                Chat, chat_id, options=[joinedload(Chat.agency)], populate_existing=True
            )
            if chat is None:  # pragma: no cover - the row we collided with vanished
                raise
    if not chat.active or chat.type != chat_type:
        chat.active = True
        chat.type = chat_type
        session.flush()
    return chat


def deactivate_chat(session: Session, chat_id: str) -> None:
    """The bot left or was removed (leave/unfollow): keep the row, its binding and settings."""
    session.execute(
        update(Chat)
        .where(Chat.id == chat_id, Chat.active.is_(True))
        .values(active=False, updated_at=utcnow())
    )


@dataclass(frozen=True)
class Binding:
    """What a chat is bound to, as the conversation needs it."""

    chat_id: str
    chat_type: str
    active: bool
    agency_id: int | None
    agency: str | None
    province: str | None
    sender_is_admin: bool = False  # an `admin` row for the sender (ITABOT_ADMIN_IDS aside)


_CHAT, _AGENCY, _ADMIN = Chat.__table__, Agency.__table__, Admin.__table__
# Built once with bind parameters: this runs on every question, and building (and cache-keying)
# an ORM select each time cost more than the indexed read itself. `sender` NULL matches no row.
_BINDING_QUERY = (
    select(
        _CHAT.c.id,
        _CHAT.c.type,
        _CHAT.c.active,
        _AGENCY.c.id,
        _AGENCY.c.name,
        _AGENCY.c.province,
        select(_ADMIN.c.user_id).where(_ADMIN.c.user_id == bindparam("sender")).exists(),
    )
    .select_from(_CHAT.outerjoin(_AGENCY, _CHAT.c.agency_id == _AGENCY.c.id))
    .where(_CHAT.c.id == bindparam("chat_id"))
)


def binding_of(
    db: Session | Connection, chat_id: str, *, sender: str | None = None
) -> Binding | None:
    """The chat, its agency's name and province and — to save a round trip on every question —
    whether `sender` has an admin row: one indexed query, on a session or a connection (the
    webhook's, in the transaction that records the event). None if the chat is unknown."""
    row = db.execute(_BINDING_QUERY, {"chat_id": chat_id, "sender": sender}).first()
    if row is None:
        return None
    chat_id, chat_type, active, agency_id, agency, province, sender_is_admin = row
    return Binding(
        chat_id, chat_type, bool(active), agency_id, agency, province, bool(sender_is_admin)
    )


def bind_chat(session: Session, chat: Chat, agency: Agency, by: str | None) -> Agency | None:
    """Bind the chat to the agency; returns the agency it was bound to before (or None)."""
    previous = chat.agency
    chat.agency = agency
    chat.bound_by = by
    chat.bound_at = utcnow()
    session.flush()
    return previous


def count_members(session: Session, chat_id: str, change: int) -> None:
    """A group's stored member count moved by `change` (memberJoined/memberLeft); a count never
    asked stays unknown (LINE is asked at the next dispatch), and it never goes below 1."""
    chat = session.get(Chat, chat_id)
    if chat is not None and chat.member_count is not None:
        chat.member_count = max(1, chat.member_count + change)


def unbind_chat(session: Session, chat: Chat) -> Agency | None:
    """Unbind the chat; returns the agency it was bound to (None if it was not bound)."""
    previous = chat.agency
    chat.agency = None
    chat.bound_by = None
    chat.bound_at = None
    session.flush()
    return previous


@dataclass(frozen=True)
class ReminderSettings:
    """A chat's effective reminder settings: its own, or the deployment's defaults."""

    enabled: bool
    days: tuple[int, ...]
    time: time
    days_default: bool
    time_default: bool


def reminder_settings(
    chat: Chat, default_days: tuple[int, ...], default_time: time
) -> ReminderSettings:
    days = tuple(int(d) for d in chat.remind_days.split(",")) if chat.remind_days else None
    at = time.fromisoformat(chat.remind_time) if chat.remind_time else None
    return ReminderSettings(
        enabled=bool(chat.remind_enabled),
        days=days or default_days,
        time=at or default_time,
        days_default=days is None,
        time_default=at is None,
    )


def format_days(days: tuple[int, ...]) -> str:
    return ",".join(str(d) for d in days)


def format_time(at: time) -> str:
    return at.strftime("%H:%M")
