"""The Flask app factory (`gunicorn bot:app`) and the local runner (`python bot.py`).

`create_app` builds the webhook only: it never starts the reminder scheduler, because gunicorn
serves the app from several workers and each would start its own scheduler (the classic
duplicate reminder). Under `gunicorn --preload` (the Procfile) it runs once, in the master,
before the workers fork: see bot.py. The scheduler runs in its own process
(`python -m itabot clock`), or — for local use only — inside `python bot.py` (`run_local`).
"""

from __future__ import annotations

import logging
import os

from flask import Flask

from itabot.config import Settings
from itabot.conversation.understanding import warm_up
from itabot.line.client import LineGateway, make_line_gateway
from itabot.router import Services
from itabot.storage import db
from itabot.web.routes import web
from itabot.webhook.events import sweep_stale_events
from itabot.webhook.routes import (
    EXTENSION,
    MAX_BODY,
    WebhookRuntime,
    bp,
    database_unavailable,
)

log = logging.getLogger(__name__)


def _configure_logging(level: str) -> None:
    """Log to stderr at LOG_LEVEL unless the host (gunicorn, pytest) has set logging up."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=getattr(logging, level, logging.INFO),
            format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s",
        )
    logging.getLogger("itabot").setLevel(getattr(logging, level, logging.INFO))


def _sweep_on_start(database_url: str) -> None:
    """Events a previous process left unanswered whose reply token has expired are marked now
    (best effort: on a database not yet migrated this just logs); those still answerable are
    left to the workers' own sweep at their first request — this may be a `--preload` master,
    which answers nothing. The engine is closed and dropped afterwards, so the master forks its
    workers with no engine at all: each creates its own."""
    try:
        sweep_stale_events(database_url)
    except Exception as exc:
        log.warning("start-up sweep of webhook events skipped: %s", type(exc).__name__)
    finally:
        db.close_engine(database_url)


def create_app(settings: Settings | None = None, *, line: LineGateway | None = None) -> Flask:
    """The webhook app: settings from the environment unless given; calendars loaded once;
    `line` replaces the LINE client (tests pass a fake). Runs no scheduler."""
    settings = settings or Settings.from_env()
    _configure_logging(settings.log_level)
    line = line if line is not None else make_line_gateway(settings)
    services = Services.from_settings(settings, line)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions[EXTENSION] = WebhookRuntime(services=services, line=line)
    app.register_blueprint(bp)
    app.register_blueprint(web)
    for error in db.driver_errors(settings.database_url):
        app.register_error_handler(error, database_unavailable)
    if not settings.line_channel_secret:
        app.extensions[EXTENSION].warn_no_secret_once()  # at start-up, where the operator looks
    warm_up()  # the tokeniser's word list: in a `--preload` master, once for every worker
    _sweep_on_start(settings.database_url)
    log.info("webhook ready in process %d", os.getpid())
    return app


def _start_scheduler(settings: Settings) -> None:
    try:
        from itabot.reminders.clock import start_background_scheduler
    except ImportError as exc:
        log.warning("reminder scheduler not available yet (%s): running the webhook only", exc)
        return
    start_background_scheduler(settings)
    log.info("reminder scheduler started in this process (ITABOT_SCHEDULER=off to disable)")


def run_local(app: Flask) -> None:
    """`python bot.py`: serve on 127.0.0.1:$PORT (8000) and, unless ITABOT_SCHEDULER=off, run
    the reminder scheduler in this one process. Never used under gunicorn."""
    settings = app.extensions[EXTENSION].services.settings
    if not db.is_reachable(settings.database_url):
        log.warning("database not reachable at start: run `python -m itabot db upgrade`")
    if settings.scheduler:
        _start_scheduler(settings)
    port = int(os.environ.get("PORT") or 8000)
    log.info("webhook on http://127.0.0.1:%d/callback", port)
    app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
