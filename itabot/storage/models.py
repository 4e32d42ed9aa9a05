"""The database tables: what the bot must remember across restarts, crashes and redeploys.

Timestamps are stored in UTC. Unique keys carry the correctness rules: one agency name per
province, one row per webhook event (dedupe across workers), one ledger row per reminder
(chat, calendar, phase, offset, fiscal year) so a reminder goes out once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Agency(Base):
    """A public agency of a province (ส่วนราชการ or อปท.) that chats can be bound to."""

    __tablename__ = "agency"
    __table_args__ = (UniqueConstraint("province", "name_key", name="uq_agency_province_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # Normalised name (อบต. ≡ องค์การบริหารส่วนตำบล, no spaces, Arabic digits): the duplicate check.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    chats: Mapped[list[Chat]] = relationship(back_populates="agency")


class Chat(Base):
    """A LINE user (1:1), group or room the bot talks in, with its reminder settings."""

    __tablename__ = "chat"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # U…, C… or R…
    type: Mapped[str] = mapped_column(String(8))  # user | group | room
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", ondelete="SET NULL"), index=True
    )
    bound_by: Mapped[str | None] = mapped_column(String(64))
    bound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remind_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # NULL means "the deployment's default" (ITABOT_REMIND_DAYS / ITABOT_REMIND_TIME).
    remind_days: Mapped[str | None] = mapped_column(String(64))
    remind_time: Mapped[str | None] = mapped_column(String(5))
    # A province's coordinator chat (`/bind coordinator สุรินทร์`): its weekly digest.
    coordinator_of: Mapped[str | None] = mapped_column(String(64))
    # The member count LINE last gave (a push costs one message per member) and when: the month
    # plan sizes itself with it (reminders.sender.MemberCounts).
    member_count: Mapped[int | None] = mapped_column(Integer)
    member_count_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    agency: Mapped[Agency | None] = relationship(back_populates="chats")


class Admin(Base):
    """A LINE user allowed to run admin commands. ITABOT_ADMIN_IDS are admins without a row."""

    __tablename__ = "admin"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    granted_by: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditLog(Base):
    """Every admin action and every refused attempt: who, what, when, where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(16))  # ok | refused | invalid | error
    detail: Mapped[str | None] = mapped_column(Text)


class WebhookEvent(Base):
    """One row per LINE webhookEventId: the dedupe key across gunicorn workers and redeliveries."""

    __tablename__ = "webhook_event"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # webhookEventId
    event_type: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    # received → replying → done | failed | expired (see itabot/webhook/events.py)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(64))  # the process handling it now
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # LINE's timestamp
    job: Mapped[str | None] = mapped_column(Text)  # the job as JSON until it is finished


class HealthProbe(Base):
    """One row `/healthz` rewrites: a read cannot tell a read-only database from a healthy one."""

    __tablename__ = "health_probe"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    probed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PushPayload(Base):
    """The messages of pushes, stored once per distinct content (keyed by its SHA-256).

    A dispatch sends the same few merged reminders to thousands of chats: a copy per push row
    (2.3 KB for one closing's reminder) would cost hundreds of MB a year for 10,000 chats, and
    SQLite rewrites a row on every status change of its push. Rows are content-addressed, so
    they are never updated.
    """

    __tablename__ = "push_payload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of `body`
    body: Mapped[str] = mapped_column(Text)  # JSON list of LINE message objects
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Push(Base):
    """An outgoing push (the outbox): its retry key and payload are stored before it is sent.

    A retry after a 5xx, a timeout or a crash re-sends the same payload with the same
    `X-Line-Retry-Key`, so LINE answers 409 instead of delivering twice.
    """

    __tablename__ = "push"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"), index=True)
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="reminder")  # reminder | digest
    payload_id: Mapped[int] = mapped_column(
        ForeignKey("push_payload.id", name="fk_push_payload_id")
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # pending → sent | failed (4xx other than 409/429: not retried) | expired (stale: its day
    # or its closings passed before LINE accepted it)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # A reminder push not delivered by then is stale (the countdown in it is wrong): expired.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Reminder(Base):
    """The reminder ledger: one row per (chat, phase, offset, fiscal year), ever."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint(
            "chat_id", "calendar", "phase_id", "offset_days", "fiscal_year", name="uq_reminder_once"
        ),
        Index("ix_reminder_phase", "calendar", "phase_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"), index=True)
    calendar: Mapped[str] = mapped_column(String(100))
    phase_id: Mapped[str] = mapped_column(String(100))
    offset_days: Mapped[int] = mapped_column(Integer)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    push_id: Mapped[int | None] = mapped_column(
        ForeignKey("push.id", ondelete="SET NULL"), index=True
    )
    # pending (in a pending push) | sent | failed | expired | skipped (its day went by unsent
    # and a later offset was due: never sent) | suppressed (its agency confirmed the phase done)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QuotaNotice(Base):
    """Admins are told once per month that the LINE quota would run out."""

    __tablename__ = "quota_notice"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, Bangkok
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)


class Confirmation(Base):
    """An agency's "✓ ทำแล้ว" for one phase of one fiscal year: once per agency, whoever pressed
    it and in whichever of its chats; its reminders stop (`suppressed` in the ledger)."""

    __tablename__ = "confirmation"
    __table_args__ = (
        UniqueConstraint(
            "agency_id", "calendar", "phase_id", "fiscal_year", name="uq_confirmation_once"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE", name="fk_confirmation_agency_id")
    )
    calendar: Mapped[str] = mapped_column(String(100))
    phase_id: Mapped[str] = mapped_column(String(100))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_by_name: Mapped[str | None] = mapped_column(String(100))  # LINE name, if known
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BindCode(Base):
    """An agency's one live bind code (`/agency code`): only its HMAC is kept, so a copy of
    the database binds nothing. One row per agency — a new code replaces the old one; a used
    code keeps its row (so a second use is told "already used") until the next code."""

    __tablename__ = "bind_code"

    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE", name="fk_bind_code_agency_id"),
        primary_key=True,
        autoincrement=False,
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA256 hex
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[str | None] = mapped_column(String(64))
    used_in: Mapped[str | None] = mapped_column(String(64))  # the chat it bound


class BindGuess(Base):
    """A wrong, used or expired code typed in a chat: the rows of the last hour are the chat's
    guesses against the limit, shared by every worker and kept across restarts."""

    __tablename__ = "bind_guess"
    __table_args__ = (Index("ix_bind_guess_chat_at", "chat_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebLink(Base):
    """A private link of `/dashboard` (scope: a province) or `/calendar` (scope: a chat id).

    Only the token's SHA-256 is kept; one live link per (kind, scope), revoked by deleting it.
    """

    __tablename__ = "web_link"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_web_link_token_hash"),
        UniqueConstraint("kind", "scope", name="uq_web_link_kind_scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # dashboard | calendar
    scope: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
