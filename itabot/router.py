"""One path for every incoming text, from LINE or from the console: command or question.

Texts starting with `/` are commands (itabot.admin); everything else is a question for the
conversation engine, answered in the context of the chat (its bound agency and province).
Every message from a known user, group or room records the chat (`chats.touch_chat`) first,
in its own short transaction, so a command that has to roll back never loses the chat row.

A question is still answered when the database is down or not migrated (without the chat's
binding, and logged): telling staff the national deadline beats telling them nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from itabot.admin import commands, confirm, core, done, nudge
from itabot.calendars.model import Calendars
from itabot.config import Settings
from itabot.conversation import addressing
from itabot.conversation.answer import Answer, Context
from itabot.conversation.replies import answer as answer_question
from itabot.conversation.search import index_for
from itabot.richmenu import menu as richmenu
from itabot.storage.chats import Binding, binding_of, chat_type_of, is_valid_chat_id, touch_chat
from itabot.storage.db import ErrorLog, session_scope
from itabot.storage.models import Agency, Chat

if TYPE_CHECKING:  # the SDK's messaging models take 0.6 s to import: not for the console
    from itabot.line.client import LineGateway

log = logging.getLogger(__name__)
_database_errors = ErrorLog(log)


@dataclass(frozen=True)
class Services:
    """What a process needs to answer: settings and the calendars, loaded once per process."""

    settings: Settings
    calendars: Calendars
    line: LineGateway | None = None  # the webhook's, for what a command pushes (`/nudge`)

    @classmethod
    def from_settings(cls, settings: Settings, line: LineGateway | None = None) -> Services:
        """The calendars, and their search index built now rather than on the first question."""
        calendars = Calendars.load(settings.schedules_dir)
        index_for(calendars)
        return cls(settings, calendars, line)


def _touch(session: Session, chat_id: str | None, chat_type: str | None) -> Chat | None:
    if not is_valid_chat_id(chat_id):
        return None
    assert chat_id is not None
    kind = chat_type_of(chat_id, chat_type)
    chat = touch_chat(session, chat_id, kind)
    session.commit()
    return chat


def context_from_binding(
    binding: Binding | None,
    settings: Settings,
    *,
    now: datetime,
    user_id: str | None,
    chat_id: str | None,
    chat_type: str | None,
    province: str | None = None,
    agency: str | None = None,
) -> Context | None:
    """The context straight from a binding already read (`chats.binding_of` with the sender);
    None when the chat needs a write first: unknown, inactive, or its type changed."""
    if binding is None or not is_valid_chat_id(chat_id):
        return None
    assert chat_id is not None
    kind = chat_type_of(chat_id, chat_type)
    if binding.chat_id != chat_id or not binding.active or binding.chat_type != kind:
        return None
    if province is None and agency is None:
        province, agency = binding.province, binding.agency
    return Context(
        now=now,
        province=province,
        agency=agency,
        user_id=user_id,
        chat_id=chat_id,
        chat_type=kind,
        is_admin=bool(user_id) and (user_id in settings.admin_ids or binding.sender_is_admin),
    )


def resolve_context(
    session: Session,
    settings: Settings,
    *,
    now: datetime,
    user_id: str | None = None,
    chat_id: str | None = None,
    chat_type: str | None = None,
    province: str | None = None,
    agency: str | None = None,
) -> Context:
    """The question's context: the chat's bound agency and its province, unless the console
    named a province or an agency (then exactly those: a bound agency in another province
    would mix two provinces' calendars).

    On every question, so it is one indexed read for a known chat (binding and the sender's
    admin row together); only a new or returning chat pays for `touch_chat`'s write.
    """
    where = {"user_id": user_id, "chat_id": chat_id, "chat_type": chat_type}
    bound_province = bound_agency = None
    sender_is_admin = bool(user_id) and user_id in settings.admin_ids
    if is_valid_chat_id(chat_id):
        assert chat_id is not None
        kind = chat_type_of(chat_id, chat_type)
        binding = binding_of(session, chat_id, sender=None if sender_is_admin else user_id)
        known = context_from_binding(
            binding, settings, now=now, **where, province=province, agency=agency
        )
        if known is not None:
            return known
        chat = _touch(session, chat_id, kind)
        assert chat is not None
        if chat.agency is not None:
            bound_province, bound_agency = chat.agency.province, chat.agency.name
        sender_is_admin = sender_is_admin or core.is_admin(session, settings, user_id)
        where["chat_type"] = kind
    elif user_id and not sender_is_admin:
        sender_is_admin = core.is_admin(session, settings, user_id)
    if province is None and agency is None:
        province, agency = bound_province, bound_agency
    return Context(now=now, province=province, agency=agency, is_admin=sender_is_admin, **where)


def handle_message(
    text: str,
    *,
    services: Services,
    now: datetime,
    user_id: str | None = None,
    chat_id: str | None = None,
    chat_type: str | None = None,
    province: str | None = None,
    agency: str | None = None,
    mentioned: bool = False,
) -> Answer:
    """Answer one text. `province`/`agency` override the chat's binding (console context).

    In a group or room a question not @mentioning or naming the bot is answered only if it
    asks about ITA (`addressing`); anything else gets `addressing.SILENT`, which sends nothing."""
    text = text or ""
    settings = services.settings
    spoken_to = mentioned or chat_type not in ("group", "room")
    names = addressing.bot_names(settings.bot_names)
    if mentioned and not commands.is_command(text):
        text = addressing.without_mention(text, names) or "help"
    elif not spoken_to:
        named = addressing.without_name(text, names)
        if named is not None:
            spoken_to, text = True, named or "help"
    answer = _handle_text(
        text,
        services=services,
        now=now,
        user_id=user_id,
        chat_id=chat_id,
        chat_type=chat_type,
        province=province,
        agency=agency,
    )
    if spoken_to or answer.intent == "command" or addressing.asks_about_ita(text, answer):
        return answer
    return addressing.SILENT


def _handle_text(
    text: str,
    *,
    services: Services,
    now: datetime,
    user_id: str | None,
    chat_id: str | None,
    chat_type: str | None,
    province: str | None,
    agency: str | None,
) -> Answer:
    settings = services.settings
    said_done = done.done_text(text, services.calendars) if chat_id else None
    if said_done is not None:  # "ส่ง OIT แล้ว" is `/done OIT`
        text = f"/done {said_done}"
    if commands.is_command(text):
        return _run_command(
            text,
            settings,
            now=now,
            user_id=user_id,
            chat_id=chat_id,
            chat_type=chat_type,
            calendars=services.calendars,
            line=services.line,
        )
    asked = {
        "now": now,
        "user_id": user_id,
        "chat_id": chat_id,
        "chat_type": chat_type,
        "province": province,
        "agency": agency,
    }
    if not (chat_id or user_id):
        ctx = Context(now=now, province=province, agency=agency)
        return answer_question(text, ctx, services.calendars)
    try:
        with session_scope(settings.database_url) as session:
            ctx = resolve_context(session, settings, **asked)
            answer = answer_question(text, ctx, services.calendars)
            if ctx.agency and ctx.chat_id and answer.phases:
                answer = _with_done(session, answer, ctx, services)
            return answer
    except SQLAlchemyError as exc:  # no traceback: an outage is one line per kind (issue 16)
        _database_errors.failed("answering without the chat's binding", exc)
    return answer_question(text, Context(**asked), services.calendars)


def _with_done(session: Session, answer: Answer, ctx: Context, services: Services) -> Answer:
    """In a bound chat, the cards of phases its agency must act on get "✓ ทำแล้ว", or
    "✓ ยืนยันแล้ว" with who and when; the text says the latter too. Read in the session that
    read the chat's binding (one transaction per question). If the confirmations cannot be read
    the answer goes out as it was (the button is a convenience; the dates are the answer)."""
    secret = services.settings.line_channel_secret
    try:
        agency = session.scalars(
            select(Agency).where(Agency.province == ctx.province, Agency.name == ctx.agency)
        ).first()
        if agency is None:
            return answer
        mine = {p.key for p in done.open_phases(services.calendars, agency, ctx.now)}
        if not mine.intersection(p.key for p in answer.phases):
            return answer
        confirmed = done.confirmations_of(session, agency.id)
    except SQLAlchemyError:
        session.rollback()  # the binding's reads are done; nothing written is lost
        log.warning("chat %s: confirmations unreadable, answering without", ctx.chat_id)
        return answer
    marks, notes = [], []
    for phase in answer.phases:
        if phase.key not in mine:
            continue
        row = confirmed.get(done.confirmation_key(phase))
        if row is not None:
            note = done.confirmed_note(row)
            marks.append((phase.key, None, note))
            notes.append(f"{phase.title}: {note}")
        else:
            marks.append((phase.key, done.postback_data(secret, "done", phase), None))
    text = "\n".join([answer.text, *notes])
    return replace(answer, text=text, done=tuple(marks))


def handle_postback(
    data: str | None,
    *,
    services: Services,
    now: datetime,
    user_id: str | None = None,
    chat_id: str | None = None,
    chat_type: str | None = None,
) -> Answer:
    """A postback button pressed: a rich menu tile (answered as the text it stands for),
    "✓ ทำแล้ว" / "ยกเลิก", an admin's "ยืนยันส่ง" of a `/nudge`, or a destructive command's
    "ask" / "ยืนยัน" / "ยกเลิก" (admin.confirm)."""
    menu_text = richmenu.text_of(data)
    if menu_text is not None:
        return handle_message(
            menu_text,
            services=services,
            now=now,
            user_id=user_id,
            chat_id=chat_id,
            chat_type=chat_type,
        )
    settings = services.settings
    if confirm.is_confirm_postback(data):
        with session_scope(settings.database_url) as session:
            chat = _touch(session, chat_id, chat_type)
            cmd = commands.command_in(
                session,
                settings,
                "",
                now=now,
                user_id=user_id,
                chat=chat,
                chat_id=chat_id,
                calendars=services.calendars,
                line=services.line,
            )
            return confirm.press(cmd, data or "")
    prepared = None
    with session_scope(settings.database_url) as session:
        chat = _touch(session, chat_id, chat_type)
        sender_is_admin = core.is_admin(session, settings, user_id)
        if nudge.is_nudge_postback(data):
            out = nudge.prepare(
                session,
                services.calendars,
                settings.line_channel_secret,
                data=data,
                sender_is_admin=sender_is_admin,
                now=now,
            )
        else:
            out = done.press(
                session,
                services.calendars,
                settings.line_channel_secret,
                data=data,
                chat=chat,
                user_id=user_id,
                sender_is_admin=sender_is_admin,
                now=now,
                name_of=done.name_in_chat(services.line, user_id, chat_id, chat_type),
            )
        if isinstance(out, nudge.Prepared):
            prepared, out = out, None
    if prepared is not None:  # the pushes claimed and sent outside the press's transaction
        out = nudge.send(prepared, settings, now, services.line)
    with session_scope(settings.database_url) as session:
        core.audit(
            session,
            user_id=user_id,
            chat_id=chat_id,
            command=f"postback {(data or '')[:60]}",
            outcome=out.outcome,
            detail=out.text.split("\n", 1)[0],
        )
    return Answer(
        intent="done", text=out.text, postbacks=out.buttons, extra={"outcome": out.outcome}
    )


def _run_command(
    text: str,
    settings: Settings,
    *,
    now: datetime,
    user_id: str | None,
    chat_id: str | None,
    chat_type: str | None,
    calendars: Calendars | None = None,
    line: LineGateway | None = None,
) -> Answer:
    try:
        with session_scope(settings.database_url) as session:
            chat = _touch(session, chat_id, chat_type)
            return commands.execute(
                session,
                settings,
                text,
                now=now,
                user_id=user_id,
                chat=chat,
                chat_id=chat_id,
                calendars=calendars,
                line=line,
            )
    except SQLAlchemyError as exc:
        if _not_migrated(exc):
            log.error("command from %s in %s: tables missing (run `db upgrade`)", user_id, chat_id)
            return Answer(
                intent="command", text=core.DATABASE_NOT_MIGRATED, extra={"outcome": "error"}
            )
        log.exception("command from %s in %s: database error", user_id, chat_id)
        return Answer(intent="command", text=core.DATABASE_DOWN, extra={"outcome": "error"})
    except Exception as exc:  # a bug must not cost the user an answer; the audit keeps a trace
        log.exception("command from %s in %s failed", user_id, chat_id)
        try:
            with session_scope(settings.database_url) as session:
                core.audit(
                    session,
                    user_id=user_id,
                    chat_id=chat_id,
                    command=text,
                    outcome="error",
                    detail=f"{type(exc).__name__}: {exc}",
                )
        except SQLAlchemyError:
            log.exception("could not audit the failed command")
        return Answer(intent="command", text=core.FAILED, extra={"outcome": "error"})


def _not_migrated(exc: SQLAlchemyError) -> bool:
    """A missing table (SQLite "no such table", PostgreSQL 42P01): `db upgrade` was not run."""
    message = str(exc).lower()
    return "no such table" in message or "undefinedtable" in message or "does not exist" in message


def respond_console(
    text: str,
    *,
    now: datetime,
    province: str | None = None,
    agency: str | None = None,
    user_id: str | None = None,
    group_id: str | None = None,
    room_id: str | None = None,
) -> str:
    """`python -m itabot chat`: the reply exactly as the bot would send it as text, against the
    real database (`DATABASE_URL`), so state persists between runs like it does on LINE."""
    services = Services.from_settings(Settings.from_env())
    chat_id = group_id or room_id or user_id
    chat_type = "group" if group_id else "room" if room_id else "user" if user_id else None
    return handle_message(
        text,
        services=services,
        now=now,
        user_id=user_id,
        chat_id=chat_id,
        chat_type=chat_type,
        province=province,
        agency=agency,
    ).text
