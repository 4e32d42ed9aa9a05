"""What a process needs to answer: settings and the loaded calendars, built once."""

from __future__ import annotations

from dataclasses import dataclass

from itabot.calendar import Calendars
from itabot.config import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    calendars: Calendars

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(settings=settings, calendars=Calendars.load(settings.schedules_dir))
