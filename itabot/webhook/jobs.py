"""LINE webhook events reduced to jobs: the plain values the webhook records and answers.

No SDK model leaves this module: a `Job` is frozen plain data, safe to hand to the reply pool
and to store. Events the SDK parsed become jobs through their models; an event whose type we
handle but whose fields the SDK's models refused (a field LINE left out that the SDK requires)
is read from its raw JSON instead, so staff still get their answer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from linebot.v3.webhooks import Event, MessageEvent, TextMessageContent

log = logging.getLogger(__name__)

# The console's Verify button (and old-style test deliveries) carry these; replying is pointless.
DUMMY_REPLY_TOKENS = frozenset({"0" * 32, "f" * 32})
HANDLED_TYPES = frozenset({"message", "postback", "follow", "unfollow", "join", "leave"})


@dataclass(frozen=True)
class Job:
    """An accepted event reduced to plain values: no SDK model crosses into the pool."""

    event_id: str
    event_type: str
    chat_id: str | None = None
    chat_type: str | None = None  # user | group | room
    user_id: str | None = None
    reply_token: str | None = None
    can_reply: bool = False
    text: str | None = None
    mentions_bot: bool = False
    redelivery: bool = False
    postback_data: str | None = None  # a postback event's data ("✓ ทำแล้ว", "ยกเลิก")


def _source(event: Event) -> tuple[str | None, str | None, str | None]:
    """(chat_id, chat_type, user_id): a group's or room's id when there is one, else the user's."""
    source = getattr(event, "source", None)
    if source is None:
        return None, None, None
    user_id = getattr(source, "user_id", None)
    chat_id = getattr(source, "group_id", None) or getattr(source, "room_id", None) or user_id
    return chat_id, source.type, user_id


def _mentions_bot(message: Any) -> bool:
    mention = getattr(message, "mention", None)
    return any(getattr(m, "is_self", False) for m in (getattr(mention, "mentionees", None) or ()))


def to_job(event: Event) -> Job | None:
    """The job for a parsed event; None for events without an id we can store (unknown types,
    which the SDK hands back as `UnknownEvent`, are skipped by the caller)."""
    event_id = getattr(event, "webhook_event_id", None)
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
        return None
    chat_id, chat_type, user_id = _source(event)
    if chat_id is not None and len(chat_id) > 64:
        chat_id = None
    token = getattr(event, "reply_token", None)
    mode = getattr(getattr(event, "mode", None), "value", None)
    message = getattr(event, "message", None) if isinstance(event, MessageEvent) else None
    return Job(
        event_id=event_id,
        event_type=str(event.type)[:32],
        chat_id=chat_id,
        chat_type=chat_type,
        user_id=user_id,
        reply_token=token,
        can_reply=bool(token) and mode == "active" and token not in DUMMY_REPLY_TOKENS,
        text=message.text if isinstance(message, TextMessageContent) else None,
        mentions_bot=_mentions_bot(message),
        redelivery=bool(getattr(getattr(event, "delivery_context", None), "is_redelivery", False)),
        postback_data=_postback_data(getattr(getattr(event, "postback", None), "data", None)),
    )


def _postback_data(data: Any) -> str | None:
    """LINE allows 300 characters; anything else is not one of our buttons (kept short for
    the refusal, which needs no more)."""
    return data[:400] if isinstance(data, str) else None


def needs_handling(job: Job) -> bool:
    """Text messages, postbacks and the chat's life-cycle events; everything else is recorded
    and left."""
    if job.event_type == "message":
        return job.text is not None
    return job.event_type in HANDLED_TYPES


def _str(obj: Any, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def job_from_raw(raw: Any) -> Job | None:
    """A job from the raw JSON of an event whose type we handle but whose fields the SDK's
    models refused — a field LINE left out that the SDK requires (as `quoteToken` once was new).
    Staff still get their answer; the event must carry an id, or it cannot be deduped."""
    event_type, event_id = _str(raw, "type"), _str(raw, "webhookEventId")
    if event_type not in HANDLED_TYPES or not event_id or len(event_id) > 64:
        return None
    source = raw.get("source")
    chat_type = _str(source, "type")
    user_id = _str(source, "userId")
    chat_id = _str(source, "groupId") or _str(source, "roomId") or user_id
    message = raw.get("message") if event_type == "message" else None
    text = _str(message, "text") if _str(message, "type") == "text" else None
    mention = message.get("mention") if isinstance(message, dict) else None
    mentionees = mention.get("mentionees") if isinstance(mention, dict) else None
    token = _str(raw, "replyToken")
    context = raw.get("deliveryContext")
    return Job(
        event_id=event_id,
        event_type=event_type,
        chat_id=chat_id if chat_id and len(chat_id) <= 64 else None,
        chat_type=chat_type if chat_type in ("user", "group", "room") else None,
        user_id=user_id,
        reply_token=token,
        can_reply=bool(token)
        and (_str(raw, "mode") or "active") == "active"
        and token not in DUMMY_REPLY_TOKENS,
        text=text,
        mentions_bot=isinstance(mentionees, list)
        and any(isinstance(m, dict) and m.get("isSelf") is True for m in mentionees),
        redelivery=isinstance(context, dict) and context.get("isRedelivery") is True,
        postback_data=_postback_data(
            raw.get("postback", {}).get("data") if isinstance(raw.get("postback"), dict) else None
        ),
    )


def jobs_from(events: list[Event], text: str) -> list[Job]:
    """Jobs for the events worth recording; the SDK returns one event per raw event, in order,
    an `UnknownEvent` for a type it does not know or fields it refused."""
    from linebot.v3.models.events import UnknownEvent

    raw_events: list | None = None
    jobs = []
    for index, event in enumerate(events):
        try:
            if isinstance(event, UnknownEvent):
                kind = str(getattr(event, "type", ""))[:40]
                if kind not in HANDLED_TYPES:
                    log.info("ignored event of unknown type %r", kind)
                    continue
                raw_events = raw_events if raw_events is not None else json.loads(text)["events"]
                job = job_from_raw(raw_events[index])
                log.warning("a %r event did not match the SDK's model: read from its JSON", kind)
            else:
                job = to_job(event)
        except Exception as exc:  # an odd but signed event must not cost the others their answer
            log.warning("event skipped: %s", type(exc).__name__)
            continue
        if job is not None:
            jobs.append(job)
    return jobs
