"""Settings read from the environment, once, in one place.

Every variable is documented in `.env.example`. Nothing here has a secret default: without
LINE credentials the bot uses a local transport that logs instead of sending, so `make run`
works before a LINE channel exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_URL = f"sqlite:///{PROJECT_ROOT / 'itabot.db'}"
DEFAULT_REMIND_DAYS = (7, 3, 1, 0)
DEFAULT_REMIND_TIME = time(8, 30)


def _split_ids(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def parse_remind_days(raw: str) -> tuple[int, ...]:
    """`"7,3,1,0"` → (7, 3, 1, 0); sorted descending, unique, each 0..60."""
    days = sorted({int(part) for part in raw.replace(" ", "").split(",") if part}, reverse=True)
    if not days or any(d < 0 or d > 60 for d in days):
        raise ValueError("จำนวนวันต้องอยู่ระหว่าง 0 ถึง 60 วัน")
    return tuple(days)


def parse_remind_time(raw: str) -> time:
    """`"08:30"` or `"8.30"` → time(8, 30); the Thai habit writes a dot."""
    hour, _, minute = raw.strip().replace(".", ":").partition(":")
    try:
        return time(int(hour), int(minute or 0))
    except ValueError as exc:
        raise ValueError("เวลาต้องอยู่ในรูป ชม:นาที เช่น 08:30") from exc


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_SQLITE_URL
    event_retention_days: int = 30  # webhook_event rows older than this are purged by the clock
    line_channel_secret: str = ""
    line_channel_access_token: str = ""
    line_api_base_url: str = "https://api.line.me"
    scheduler: bool = True
    admin_ids: frozenset[str] = field(default_factory=frozenset)
    schedules_dir: Path = PROJECT_ROOT / "schedules"
    remind_days: tuple[int, ...] = DEFAULT_REMIND_DAYS
    remind_time: time = DEFAULT_REMIND_TIME
    log_level: str = "INFO"
    # Where people reach this app from outside: the base of /dashboard and /calendar links.
    public_url: str = ""
    bot_names: tuple[str, ...] = ()  # ITABOT_BOT_NAME; empty: conversation.addressing's defaults

    @property
    def line_configured(self) -> bool:
        """A real channel needs both; with neither we log messages instead of sending them."""
        return bool(self.line_channel_access_token)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_SQLITE_URL,
            event_retention_days=max(1, int(env.get("ITABOT_EVENT_RETENTION_DAYS") or 30)),
            line_channel_secret=env.get("LINE_CHANNEL_SECRET", ""),
            line_channel_access_token=env.get("LINE_CHANNEL_ACCESS_TOKEN", ""),
            line_api_base_url=(env.get("LINE_API_BASE_URL") or "https://api.line.me").rstrip("/"),
            scheduler=env.get("ITABOT_SCHEDULER", "on").strip().lower()
            not in {"off", "0", "false", "no"},
            admin_ids=_split_ids(env.get("ITABOT_ADMIN_IDS", "")),
            schedules_dir=Path(env.get("ITABOT_SCHEDULES_DIR") or PROJECT_ROOT / "schedules"),
            remind_days=parse_remind_days(env.get("ITABOT_REMIND_DAYS") or "7,3,1,0"),
            remind_time=parse_remind_time(env.get("ITABOT_REMIND_TIME") or "08:30"),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            public_url=(env.get("ITABOT_PUBLIC_URL") or "").strip().rstrip("/"),
            bot_names=tuple(
                n.strip() for n in env.get("ITABOT_BOT_NAME", "").split(",") if n.strip()
            ),
        )
