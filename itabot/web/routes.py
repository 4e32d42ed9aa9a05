"""The blueprint of the private links: `/dashboard/<token>` (a province's page, HTML) and
`/calendar/<token>.ics` (a chat's feed). Read-only; a wrong, replaced or revoked token, or one
of the other kind, gets the same 404 with the same words, so a guess learns nothing.

Every answer carries headers that keep the page private: no caching (a shared computer's
browser or a proxy would keep a copy past a revoke), no framing, no referrer (the token is
in the URL), and a content security policy that allows nothing but the page's own inline
stylesheet, by its hash: no script, no image, no font, no form.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, request

from itabot.router import Services
from itabot.storage import db
from itabot.storage.models import Chat
from itabot.web.dashboard import province_page
from itabot.web.links import CALENDAR, DASHBOARD, remember_base, scope_of
from itabot.webhook.routes import runtime

CSS = (Path(__file__).parent / "dashboard.css").read_text(encoding="utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Cross-Origin-Resource-Policy": "same-origin",
}

web = Blueprint("web", __name__, template_folder="templates")


def _services() -> Services:
    return runtime().services


def _now() -> datetime:
    """The webhook's clock: the page counts down from the same `now` the bot answers with."""
    return runtime().clock()


@web.after_request
def _private(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@web.after_app_request
def _remember_where_line_reached_us(response: Response) -> Response:
    if request.path == "/callback" and request.method == "POST" and response.status_code == 200:
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        remember_base(forwarded or request.scheme, request.host)
    return response


@web.errorhandler(404)
def _not_found(_error: Exception) -> tuple[str, int, dict[str, str]]:
    """The same few words for every refused token: nothing tells which kind of wrong it was."""
    return (
        "ไม่พบหน้านี้ (404): ลิงก์ไม่ถูกต้องหรือถูกยกเลิกแล้ว\n",
        404,
        {"Content-Type": "text/plain; charset=utf-8"},
    )


@web.get("/dashboard/<token>")
def dashboard(token: str) -> str:
    services = _services()
    with db.session_scope(services.settings.database_url) as session:
        province = scope_of(session, DASHBOARD, token)
        if province is None:
            abort(404)
        page = province_page(session, services.calendars, services.settings, province, _now())
    return render_template("dashboard.html", page=page, css=CSS)


@web.get("/calendar/<token>.ics")
def calendar(token: str) -> Response:
    services = _services()
    with db.session_scope(services.settings.database_url) as session:
        chat_id = scope_of(session, CALENDAR, token)
        chat = session.get(Chat, chat_id) if chat_id else None
        if chat is None or chat.agency is None:
            abort(404)  # unbound since: nothing the chat's agency must act on
        from itabot.web.feed import chat_feed  # icalendar on the first feed, not in every worker

        body = chat_feed(services.calendars, services.settings, chat, _now())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="ita.ics"'},
    )
