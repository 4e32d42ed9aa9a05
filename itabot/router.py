"""One path for every incoming text, from LINE or from the console: command or question.

Texts starting with `/` are commands (itabot.admin); everything else is a question for the
conversation engine, answered in the context of the chat (its bound agency and province).
"""

from __future__ import annotations

from datetime import datetime

from itabot.answers import Answer, Context
from itabot.config import Settings
from itabot.conversation import answer as answer_question
from itabot.services import Services


def handle_message(text: str, *, services: Services, now: datetime, user_id: str | None = None,
                   chat_id: str | None = None, chat_type: str | None = None,
                   province: str | None = None, agency: str | None = None) -> Answer:
    """Answer one text. `province`/`agency` override the chat's binding (console context)."""
    ctx = Context(now=now, province=province, agency=agency, user_id=user_id, chat_id=chat_id,
                  chat_type=chat_type)
    return answer_question(text, ctx, services.calendars)


def respond_console(text: str, *, now: datetime, province: str | None = None,
                    agency: str | None = None, user_id: str | None = None,
                    group_id: str | None = None, room_id: str | None = None) -> str:
    """`python -m itabot chat`: the reply exactly as the bot would send it as text."""
    services = Services.from_settings(Settings.from_env())
    chat_id = group_id or room_id or user_id
    chat_type = "group" if group_id else "room" if room_id else "user" if user_id else None
    return handle_message(text, services=services, now=now, user_id=user_id, chat_id=chat_id,
                          chat_type=chat_type, province=province, agency=agency).text
