"""The private links' tokens: issue, revoke, look up. Only a token's SHA-256 is stored.

A token is 32 random bytes (256 bits, `secrets.token_urlsafe(32)`): it cannot be guessed, so a
plain fast hash is enough to keep a database copy from holding working links (a slow, salted
hash protects low-entropy passwords, which these are not), and the lookup is one indexed
equality. One live link per (kind, scope): a new one replaces the old, revoking deletes it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from itabot.config import Settings
from itabot.storage.models import WebLink

DASHBOARD = "dashboard"
CALENDAR = "calendar"
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what token_urlsafe(32) gives


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, kind: str, scope: str, by: str | None) -> str:
    """A new token for (kind, scope), replacing the live one; the caller commits."""
    session.execute(delete(WebLink).where(WebLink.kind == kind, WebLink.scope == scope))
    session.flush()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(WebLink(kind=kind, scope=scope, token_hash=token_hash(token), created_by=by))
    session.flush()
    return token


def revoke(session: Session, kind: str, scope: str) -> bool:
    """End the live link of (kind, scope); False when there was none."""
    result = session.execute(delete(WebLink).where(WebLink.kind == kind, WebLink.scope == scope))
    return bool(result.rowcount)


def scope_of(session: Session, kind: str, token: str) -> str | None:
    """The province or chat a token opens, or None (unknown, revoked, malformed, other kind)."""
    if not _TOKEN_RE.match(token):
        return None
    return session.scalar(
        select(WebLink.scope).where(WebLink.kind == kind, WebLink.token_hash == token_hash(token))
    )


_HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")
_seen_base: list[str] = []  # the address LINE last reached this process at (a signed request)


def remember_base(scheme: str, host: str) -> None:
    """Record where a webhook request LINE signed arrived: without ITABOT_PUBLIC_URL, that is
    the best guess of the address people can reach (LINE reached it). Only called for a POST
    /callback answered 200, which needs the channel secret's signature, so a forged request
    cannot point the links at another host."""
    if scheme in {"http", "https"} and _HOST_RE.match(host):
        _seen_base[:] = [f"{scheme}://{host}"]


def base_url(settings: Settings) -> str:
    """ITABOT_PUBLIC_URL; else where LINE reached this process; else where `python bot.py`
    listens."""
    if settings.public_url:
        return settings.public_url
    if _seen_base:
        return _seen_base[0]
    return f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"


def dashboard_url(settings: Settings, token: str) -> str:
    return f"{base_url(settings)}/dashboard/{token}"


def calendar_url(settings: Settings, token: str) -> str:
    return f"{base_url(settings)}/calendar/{token}.ics"
