"""LINE webhook events reduced to jobs: the plain values the webhook records and answers.

No SDK model leaves this module: a `Job` is frozen plain data, safe to hand to the reply pool
and to store (as JSON, until the event is finished). Each raw event of a body is read on its
own: the SDK's model for it, or — for a type we handle whose fields the SDK's models refused (a
field LINE left out that the SDK requires) — its raw JSON, so staff still get their answer. An
event that is neither, or whose ids are not LINE's, is logged and skipped: its siblings in the
same body are answered all the same.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from linebot.v3.webhooks import Event, MessageEvent, TextMessageContent

log = logging.getLogger(__name__)

# The console's Verify button (and old-style test deliveries) carry these; replying is pointless.
DUMMY_REPLY_TOKENS = frozenset({"0" * 32, "f" * 32})
HANDLED_TYPES = frozenset(
    {"message", "postback", "follow", "unfollow", "join", "leave", "memberJoined", "memberLeft"}
)

# LINE's formats. A webhookEventId is a ULID (26 of Crockford's base 32, upper case); a chat or
# user id is its kind's letter and 32 lower-case hex digits. Anything else did not come from
# LINE, and must not reach a primary key, a log line or a chat row (a NUL makes PostgreSQL
# raise; bidi and control characters, or "../", would be stored as given).
EVENT_ID_RE = re.compile(r"[0-9A-Z]{26}")
SOURCE_ID_RE = {
    "userId": re.compile(r"U[0-9a-f]{32}"),
    "groupId": re.compile(r"C[0-9a-f]{32}"),
    "roomId": re.compile(r"R[0-9a-f]{32}"),
}


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
    sent_at: float | None = None  # LINE's `timestamp` in seconds: the reply token's age
    members_changed: int = 0  # memberJoined: +joined, memberLeft: −left (what a push costs)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Job:
        return cls(**json.loads(text))


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
    """The job for a parsed event; None for events without an id we can store."""
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
        sent_at=_seconds(getattr(event, "timestamp", None)),
        members_changed=_members_changed(event),
    )


def _members_changed(event: Event) -> int:
    """How many joined (memberJoined) or left (memberLeft) a group or room."""
    joined = getattr(getattr(event, "joined", None), "members", None)
    left = getattr(getattr(event, "left", None), "members", None)
    return len(joined or ()) - len(left or ())


def _seconds(timestamp: Any) -> float | None:
    """LINE's millisecond timestamp in seconds; None for anything that is not one."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return None
    seconds = timestamp / 1000
    return seconds if math.isfinite(seconds) and 0 < seconds < 2**40 else None


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
        sent_at=_seconds(raw.get("timestamp")),
    )


def refusal(raw: Any) -> str | None:
    """Why an event cannot be stored, or None: its id and its source's ids must be LINE's."""
    if not isinstance(raw, dict):
        return "not an object"
    event_id = raw.get("webhookEventId")
    if not isinstance(event_id, str) or not EVENT_ID_RE.fullmatch(event_id):
        return "webhookEventId is not a LINE event id"
    source = raw.get("source")
    if source is None:
        return None
    if not isinstance(source, dict):
        return "source is not an object"
    for key, pattern in SOURCE_ID_RE.items():
        value = source.get(key)
        if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
            return f"source.{key} is not a LINE id"
    return None


def jobs_from(raw_events: list) -> list[Job]:
    """The jobs of a body's events, each read on its own: a malformed or foreign event is
    logged (its position and why, never its content) and skipped, and the others go on."""
    from linebot.v3.webhooks import Event

    jobs = []
    for index, raw in enumerate(raw_events):
        why = refusal(raw)
        if why is not None:
            log.warning("event %d of the body refused: %s", index, why)
            continue
        try:
            job = to_job(Event.from_dict(raw))
        except Exception as exc:  # the SDK refused it: unknown type, or fields it requires
            kind = raw.get("type")
            if kind not in HANDLED_TYPES:
                log.info(
                    "event %d of the body ignored: type %r (%s)",
                    index,
                    str(kind)[:40],
                    type(exc).__name__,
                )
                continue
            job = job_from_raw(raw)
            log.warning("a %r event did not match the SDK's model: read from its JSON", kind)
        if job is not None:
            jobs.append(job)
    return jobs
