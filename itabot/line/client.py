"""The only module that talks to LINE: reply, push (with a retry key), quota, member counts.

Everything else codes against `LineGateway`, so tests swap the network for a fake LINE server
(tests/fakeline.py) or Stoplight Prism by changing `LINE_API_BASE_URL`, and `make run` works
before a channel exists (`LoggingGateway` logs the text instead of sending). The reminder
sender also uses `SdkLineGateway.sending()`: the same calls on asyncio, for hundreds of pushes
in flight from one thread (LINE answers a Thai server in 50–150 ms; docs/decisions.md).

Why the retry loop lives here: line-bot-sdk v3 leaves `Configuration.retries` unset, so urllib3's
default applies — it re-tries connection errors and idempotent reads, never a 5xx or a 429 and
never with a `Retry-After`. We set urllib3 to retry only failed *connects* (the request never
left, so repeating it cannot deliver twice) and retry 5xx/429/timeouts ourselves: a push with
the same `X-Line-Retry-Key` on every attempt (LINE answers 409 to a repeat of an accepted
request), a reply with the same single-use reply token (a repeat of an accepted reply gets 400).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, Protocol

import aiohttp
import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    FlexMessage,
    Message,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)

from itabot.config import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # one call plus three retries: ~1 + 2 + 4 s of backoff before giving up
BACKOFF_BASE = 1.0
MAX_BACKOFF = 30.0  # a longer Retry-After is left to the next dispatcher run, not slept on
REPLY_ATTEMPTS = 2  # a reply token is valid about a minute: one quick retry is all it is worth
REPLY_BACKOFF = 0.5
REPLY_PATH = "/v2/bot/message/reply"
PUSH_PATH = "/v2/bot/message/push"
QUOTA_PATH = "/v2/bot/message/quota"
_WIRE_CACHE_SIZE = 512
_ERROR_TEXT_LIMIT = 300
# Connections the blocking client keeps: as many as the threads that may share it (a pool
# smaller than that drops connections: "pool is full"). Opened only when needed.
POOL_SIZE = 256


class PushOutcome(str, Enum):  # noqa: UP042 - the interface the reminders code was written against
    SENT = "sent"
    ALREADY_ACCEPTED = "already_accepted"  # 409: an earlier try with this retry key was accepted
    REJECTED = "rejected"  # 4xx other than 409/429: never retried
    RETRY_LATER = "retry_later"  # 5xx / 429 / timeout after the in-call retries


@dataclass(frozen=True)
class PushResult:
    outcome: PushOutcome
    status: int | None
    attempts: int
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """SENT and ALREADY_ACCEPTED both mean LINE has the message: record it as sent."""
        return self.outcome in (PushOutcome.SENT, PushOutcome.ALREADY_ACCEPTED)


class LineGateway(Protocol):
    def reply(self, reply_token: str, messages: list) -> bool: ...

    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult: ...

    def quota_remaining(self) -> int | None: ...

    def member_count(self, chat_id: str, chat_type: str) -> int: ...

    def display_name(self, user_id: str, chat_id: str | None, chat_type: str | None) -> str | None:
        ...


# --- serialising messages (the push outbox stores them) ------------------------------------


def messages_to_json(messages: Sequence[Message]) -> str:
    """SDK message models → JSON text, exactly what LINE receives (aliases, no nulls)."""
    return json.dumps([m.to_dict() for m in messages], ensure_ascii=False)


def messages_from_json(text: str) -> list[Message]:
    """JSON text → SDK message models, so a stored push is re-sent byte-for-byte the same."""
    return [Message.from_dict(item) for item in json.loads(text)]


def message_summary(messages: Sequence[Any]) -> str:
    """The readable part of messages (text, or a Flex message's altText) for logs."""
    parts = []
    for m in messages:
        if isinstance(m, TextMessage):
            parts.append(m.text)
        elif isinstance(m, FlexMessage):
            parts.append(f"[flex] {m.alt_text}")
        else:
            parts.append(f"[{getattr(m, 'type', type(m).__name__)}]")
    return "\n---\n".join(parts)


# --- errors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    status: int | None  # None: no HTTP answer (timeout, connection refused)
    message: str
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


def _retry_after(headers: Any) -> float | None:
    """`Retry-After` as seconds (a number or an HTTP date); None when absent or unreadable."""
    if not headers:
        return None
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _error_message(body: Any) -> str:
    """LINE's `message` field from an error body, short. Never the request (it holds no token,
    but the response body is all we need to explain a failure)."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
        text = parsed.get("message") if isinstance(parsed, dict) else None
    except (TypeError, ValueError):
        text = None
    return str(text or body or "")[:_ERROR_TEXT_LIMIT]


def _failure(exc: Exception) -> _Failure:
    """Any error of a call — LINE's answer (ApiException), no answer (urllib3/OS errors), an
    answer the SDK cannot read — as data: gateway callers never see an exception."""
    if isinstance(exc, ApiException):
        status = exc.status or None  # the SDK reports an SSL error as status 0
        return _Failure(status, _error_message(exc.body), _retry_after(exc.headers))
    return _Failure(None, f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT_LIMIT])


# --- the SDK-backed gateway ---------------------------------------------------------------


class SdkLineGateway:
    """LINE through line-bot-sdk v3 (`MessagingApi`), one `ApiClient` (connection pool) per
    process. Build it after gunicorn forks (`create_app` runs in each worker): a urllib3 pool
    must not be shared across processes."""

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 10.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        configuration = Configuration(host=base_url, access_token=access_token)
        configuration.connection_pool_maxsize = POOL_SIZE
        configuration.retries = urllib3.Retry(
            total=None, connect=2, read=0, redirect=0, status=0, other=0
        )
        self._client = ApiClient(configuration)
        self._wire_cache: OrderedDict[int, tuple[Message, dict]] = OrderedDict()
        self._wire_lock = threading.Lock()
        self._api = MessagingApi(self._client)
        self._host = configuration.host
        self._headers = {
            **self._client.default_headers,  # Authorization: Bearer …, User-Agent
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        # The backoff's pause; tests pass a recorder (never a real sleep), which the asyncio
        # push then calls instead of awaiting asyncio.sleep.
        self._sleep = sleep or time.sleep
        self._pause = asyncio.sleep if sleep is None else _awaitable(sleep)
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)

    def close(self) -> None:
        self._client.close()

    def sending(self, connections: int) -> AsyncLine:
        """An asyncio client for one reminder dispatch, opened and closed inside its event
        loop (`async with`): aiohttp's connections belong to the loop that made them."""
        return AsyncLine(self, connections)

    def _wire(self, messages: Sequence[Message]) -> list[dict]:
        """Messages as JSON-ready dicts, each serialised by the SDK's own `to_dict()` once.

        answer_messages.py hands out the same (cached, read-only) objects for the same answer, and
        pydantic's serialisation of a Flex card is the costliest step of a reply, so the dicts
        are remembered per object (the cache holds the object, so its id stays unique)."""
        out = []
        with self._wire_lock:
            for m in messages:
                hit = self._wire_cache.get(id(m))
                if hit is None or hit[0] is not m:
                    hit = (m, m.to_dict())
                    self._wire_cache[id(m)] = hit
                    if len(self._wire_cache) > _WIRE_CACHE_SIZE:
                        self._wire_cache.popitem(last=False)
                else:
                    self._wire_cache.move_to_end(id(m))
                out.append(hit[1])
        return out

    def _post(self, path: str, body: dict, headers: dict[str, str] | None = None) -> None:
        """POST a JSON body through the SDK's REST client — its urllib3 pool and the host,
        bearer token and user agent of the `ApiClient`'s configuration; a non-2xx answer raises
        the SDK's `ApiException`. This is `ApiClient.call_api` without re-sanitising a body that
        is already plain JSON-ready dicts (serialised once per message by the SDK's own
        `to_dict()`): a recursive walk of every Flex node, ~0.2 ms of CPU per call, a quarter
        of a push's cost (benchmarks/bench_reminders.py)."""
        self._client.rest_client.request(
            "POST",
            self._host + path,
            headers={**self._headers, **headers} if headers else dict(self._headers),
            body=body,
            _request_timeout=self._timeout,
        )

    # reply ------------------------------------------------------------------------------
    def reply(self, reply_token: str, messages: list) -> bool:
        """Send a reply; False (logged) on any failure — the caller has nothing to undo."""
        try:
            request = ReplyMessageRequest(reply_token=reply_token, messages=list(messages))
            body = {"replyToken": request.reply_token, "messages": self._wire(messages)}
        except ValueError as exc:
            log.error("reply not sent: messages refused by the SDK: %s", exc)
            return False
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            try:
                self._post(REPLY_PATH, body)
                return True
            except Exception as exc:  # LINE said no, did not answer, or answered oddly
                failure = _failure(exc)
            if not failure.retryable or attempt == REPLY_ATTEMPTS:
                break
            self._sleep(min(failure.retry_after or REPLY_BACKOFF, REPLY_BACKOFF * 4))
        log.warning(
            "reply failed: status=%s attempts=%d: %s", failure.status, attempt, failure.message
        )
        return False

    # push -------------------------------------------------------------------------------
    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult:
        """Push with `X-Line-Retry-Key` on every attempt; 5xx/429/timeouts retried with backoff.

        A 409 means an earlier attempt (this call's or a previous run's) was accepted: the
        message is delivered, so the caller records it as sent, never sends it again.
        """
        try:
            request = PushMessageRequest(to=to, messages=list(messages))
            body = {"to": request.to, "messages": self._wire(messages)}
        except ValueError as exc:
            return PushResult(PushOutcome.REJECTED, None, 0, f"invalid messages: {exc}"[:300])
        failure = _Failure(None, "not attempted")
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._post(PUSH_PATH, body, {"X-Line-Retry-Key": retry_key})
                return PushResult(PushOutcome.SENT, 200, attempt)
            except Exception as exc:  # LINE said no, did not answer, or answered oddly
                failure = _failure(exc)
            verdict = self._after_failure(to, retry_key, attempt, failure)
            if isinstance(verdict, PushResult):
                return verdict
            self._sleep(verdict)
        raise AssertionError("unreachable: the last attempt always gives a verdict")

    def _after_failure(
        self, to: str, retry_key: str, attempt: int, failure: _Failure
    ) -> PushResult | float:
        """What a failed push try means: the result to return, or seconds to wait before
        trying again with the same key (the blocking and the asyncio push share this)."""
        if failure.status == 409:
            return PushResult(PushOutcome.ALREADY_ACCEPTED, 409, attempt)
        if not failure.retryable:
            log.warning("push to %s rejected: status=%s: %s", to, failure.status, failure.message)
            return PushResult(PushOutcome.REJECTED, failure.status, attempt, failure.message)
        delay = self._backoff(attempt, failure)
        if attempt < self._max_attempts and delay is not None:
            return delay
        log.warning(
            "push to %s not accepted yet (retry key %s): status=%s attempts=%d: %s",
            to,
            retry_key,
            failure.status,
            attempt,
            failure.message,
        )
        return PushResult(PushOutcome.RETRY_LATER, failure.status, attempt, failure.message)

    @staticmethod
    def _backoff(attempt: int, failure: _Failure) -> float | None:
        """Seconds before the next try: LINE's Retry-After when given, else 1, 2, 4 … s.
        None: LINE asks for a longer pause than we hold a caller for — try on the next run."""
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= MAX_BACKOFF else None
        return min(BACKOFF_BASE * 2 ** (attempt - 1), MAX_BACKOFF)

    # reads ------------------------------------------------------------------------------
    def quota_remaining(self) -> int | None:
        """Messages left this month: the target limit minus what was sent; None if unlimited
        or unknown (an error is logged, never raised: the quota is a warning, not a gate)."""
        try:
            quota = self._api.get_message_quota(_request_timeout=self._timeout)
            if quota.type.value != "limited" or quota.value is None:
                return None
            used = self._api.get_message_quota_consumption(_request_timeout=self._timeout)
        except Exception as exc:  # LINE said no, did not answer, or answered oddly
            failure = _failure(exc)
            log.warning("quota unknown: status=%s: %s", failure.status, failure.message)
            return None
        return max(0, quota.value - used.total_usage)

    def member_count(self, chat_id: str, chat_type: str) -> int:
        """How many people a push to this chat reaches (what it costs); the count LINE gives
        already excludes the bot. 1 for a user, and 1 when LINE cannot say."""
        try:
            if chat_type == "group":
                return self._api.get_group_member_count(
                    chat_id, _request_timeout=self._timeout
                ).count
            if chat_type == "room":
                return self._api.get_room_member_count(
                    chat_id, _request_timeout=self._timeout
                ).count
        except Exception as exc:  # LINE said no, did not answer, or answered oddly
            _count_unknown(chat_id, _failure(exc))
        return 1

    def display_name(self, user_id: str, chat_id: str | None, chat_type: str | None) -> str | None:
        """The LINE name a group sees for a member (who pressed "✓ ทำแล้ว"), or None when LINE
        cannot say (the user left, is not a friend in a 1:1, LINE is down): then the bot
        shows a shortened user id rather than wait or fail."""
        try:
            if chat_type == "group" and chat_id:
                profile = self._api.get_group_member_profile(
                    chat_id, user_id, _request_timeout=self._timeout
                )
            elif chat_type == "room" and chat_id:
                profile = self._api.get_room_member_profile(
                    chat_id, user_id, _request_timeout=self._timeout
                )
            else:
                profile = self._api.get_profile(user_id, _request_timeout=self._timeout)
        except Exception as exc:  # LINE said no, did not answer, or answered oddly
            failure = _failure(exc)
            log.info("display name of %s unknown: status=%s", user_id, failure.status)
            return None
        return profile.display_name or None


def _count_unknown(chat_id: str, failure: _Failure) -> None:
    log.warning(
        "member count of %s unknown: status=%s: %s", chat_id, failure.status, failure.message
    )


class AsyncLine:
    """The reminder sender's LINE: push, member count and quota on asyncio, for one dispatch.

    aiohttp (which line-bot-sdk itself requires) with the SDK client's host, bearer token and
    user agent, and the retry rules of the blocking client (`_after_failure`: the same key on
    every try, 409 = sent, other 4xx = rejected). Not the SDK's own `AsyncApiClient`: its
    session trusts the environment, so every request first reads ~/.netrc and the proxy
    variables in a worker thread — two thread hops per push, which cost more CPU than the
    push itself. A push posts the stored JSON as it is: the messages were built and checked
    with the SDK's models when the push was claimed, and re-serialising a Flex carousel for
    each of 10,000 chats is CPU a dispatch cannot spare.
    """

    def __init__(self, gateway: SdkLineGateway, connections: int) -> None:
        self._gateway = gateway
        self._connections = connections

    async def __aenter__(self) -> AsyncLine:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections),
            headers=self._gateway._headers,
            timeout=aiohttp.ClientTimeout(total=self._gateway._timeout),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def _call(
        self, method: str, path: str, body: bytes | None = None, key: str | None = None
    ) -> tuple[Any, _Failure | None]:
        """One request: (JSON answer, None) on 2xx, else (None, what went wrong)."""
        headers = {"X-Line-Retry-Key": key} if key else None
        try:
            async with self._session.request(
                method, self._gateway._host + path, data=body, headers=headers
            ) as response:
                data = await response.read()
                if response.status < 300:
                    return (json.loads(data) if data else {}), None
                failure = _Failure(
                    response.status, _error_message(data), _retry_after(response.headers)
                )
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            failure = _Failure(None, f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT_LIMIT])
        return None, failure

    async def push(self, to: str, payload: str, retry_key: str) -> PushResult:
        """`payload`: the messages' JSON, as stored (`messages_to_json`)."""
        body = b'{"to":%s,"messages":%s}' % (json.dumps(to).encode(), payload.encode())
        gw = self._gateway
        for attempt in range(1, gw._max_attempts + 1):
            _answer, failure = await self._call("POST", PUSH_PATH, body, retry_key)
            if failure is None:
                return PushResult(PushOutcome.SENT, 200, attempt)
            verdict = gw._after_failure(to, retry_key, attempt, failure)
            if isinstance(verdict, PushResult):
                return verdict
            await gw._pause(verdict)
        raise AssertionError("unreachable: the last attempt always gives a verdict")

    async def member_count(self, chat_id: str, chat_type: str) -> int | None:
        """As `SdkLineGateway.member_count`, but None when LINE cannot say (not to be kept)."""
        if chat_type not in ("group", "room"):
            return 1
        answer, failure = await self._call("GET", f"/v2/bot/{chat_type}/{chat_id}/members/count")
        if failure is not None:
            _count_unknown(chat_id, failure)
            return None
        return int(answer["count"])

    async def quota_remaining(self) -> int | None:
        """As `SdkLineGateway.quota_remaining`, both of LINE's figures asked at once."""
        (quota, failure), (used, used_failure) = await asyncio.gather(
            self._call("GET", QUOTA_PATH), self._call("GET", QUOTA_PATH + "/consumption")
        )
        if quota is not None and (quota.get("type") != "limited" or quota.get("value") is None):
            return None
        failure = failure or used_failure
        if failure is not None:
            log.warning("quota unknown: status=%s: %s", failure.status, failure.message)
            return None
        return max(0, int(quota["value"]) - int(used["totalUsage"]))


def _awaitable(sleep: Callable[[float], None]) -> Callable[[float], Awaitable[None]]:
    async def pause(seconds: float) -> None:
        sleep(seconds)

    return pause


# --- the stand-in when no channel is configured -------------------------------------------


class LoggingGateway:
    """No LINE channel yet: log what would be sent and report success, so the whole bot runs
    locally (`make run`, `python -m itabot reminders send`) without credentials."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, list]] = []  # (kind, to/reply token, messages)

    def reply(self, reply_token: str, messages: list) -> bool:
        self.sent.append(("reply", reply_token, list(messages)))
        log.info("LINE not configured — reply not sent:\n%s", message_summary(messages))
        return True

    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult:
        self.sent.append(("push", to, list(messages)))
        log.info("LINE not configured — push to %s not sent:\n%s", to, message_summary(messages))
        return PushResult(PushOutcome.SENT, None, 1)

    def quota_remaining(self) -> int | None:
        return None

    def member_count(self, chat_id: str, chat_type: str) -> int:
        return 1

    def display_name(self, user_id: str, chat_id: str | None, chat_type: str | None) -> str | None:
        return None


def make_line_gateway(
    settings: Settings, *, sleep: Callable[[float], None] | None = None, timeout: float = 10.0
) -> LineGateway:
    """The SDK client when an access token is set, else the logging stand-in."""
    if not settings.line_channel_access_token:
        log.warning("LINE_CHANNEL_ACCESS_TOKEN is not set: messages are logged, not sent")
        return LoggingGateway()
    return SdkLineGateway(
        access_token=settings.line_channel_access_token,
        base_url=settings.line_api_base_url,
        sleep=sleep,
        timeout=timeout,
    )
