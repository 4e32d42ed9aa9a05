"""A fake LINE Messaging API on 127.0.0.1, for tests and benchmarks: it records every request
and answers the endpoints the bot uses the way LINE does. (PYTEST_DONT_REWRITE: test modules
import helpers from here before `pytest_plugins` loads it; it has no asserts to rewrite.)

Use it in a test module with

    pytest_plugins = ["tests.fakeline"]  # provides the `fake_line` fixture

(or `from tests.fakeline import fake_line  # noqa: F401`), and point the bot at it:
`Settings(line_api_base_url=fake_line.base_url, line_channel_access_token="test-token", …)`.
Read what LINE received from `fake_line.requests`, `.replies`, `.pushes`, `.calls(path)`, and
wait for background sends with `fake_line.wait_for(lambda f: len(f.pushes) == 1)`.
Helpers for webhook bodies: `sign`, `event`, `text_event`, `source`, `callback_body`.

What it does, per LINE's documentation:
- POST /v2/bot/message/reply: 200 `{"sentMessages": […]}`; 400 "Invalid reply token" for a
  token already used (tokens are single-use) or a dummy token (`0`×32, the console's Verify),
  and 400 for any request carrying an `X-Line-Retry-Key` (only push/multicast/narrowcast/
  broadcast accept one).
- POST /v2/bot/message/push: 200; 409 for an `X-Line-Retry-Key` already accepted.
- POST /v2/bot/message/multicast: 200 (retry keys as push).
- GET /v2/bot/message/quota, /v2/bot/message/quota/consumption, /v2/bot/group/{id}/members/count,
  /v2/bot/room/{id}/members/count.
- 401 without `Authorization: Bearer …`; 400 for a body that is not JSON or lacks a required field.

Per test: `fail_next(n, status, retry_after=None, path=None)`, `hold(path=None, latency=None)`
(every matching request waits on a threading.Event until the test calls `release()`, or at most
`latency` seconds — a slow LINE without sleeping in the test), `quota`, `consumption`,
`member_counts`, `accepted_retry_keys`, `used_reply_tokens`, `reset()`.
`python -m tests.fakeline` serves one until killed (the benchmark runs it in its own process).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

DUMMY_REPLY_TOKEN = "0" * 32
RETRY_KEY_ENDPOINTS = (
    "/v2/bot/message/push",
    "/v2/bot/message/multicast",
    "/v2/bot/message/narrowcast",
    "/v2/bot/message/broadcast",
)
_MEMBER_COUNT_RE = re.compile(r"^/v2/bot/(group|room)/([^/]+)/members/count$")
_PROFILE_RE = re.compile(r"^/v2/bot/(?:(?:group|room)/[^/]+/member|profile)/([^/]+)$")
_RICH_MENU_RE = re.compile(r"^/v2/bot/richmenu/([^/]+)(/content)?$")
_DEFAULT_MENU_RE = re.compile(r"^/v2/bot/user/all/richmenu/([^/]+)$")
MAX_MENU_IMAGE = 1024 * 1024
HOLD_LIMIT = 30.0  # a held request never waits longer than this (a forgotten release)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    status: int  # what the fake answered

    @property
    def retry_key(self) -> str | None:
        return self.headers.get("x-line-retry-key")

    @property
    def messages(self) -> list[dict]:
        return list((self.json or {}).get("messages") or []) if isinstance(self.json, dict) else []


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: str | None
    path: str | None


@dataclass
class FakeLine:
    """The server's state; the fixture starts it and gives it to the test."""

    base_url: str = ""
    quota: dict[str, Any] = field(default_factory=lambda: {"type": "limited", "value": 300})
    consumption: int = 42
    member_counts: dict[str, int] = field(default_factory=dict)
    display_names: dict[str, str] = field(default_factory=dict)  # user id → LINE name (else 404)
    requests: list[Recorded] = field(default_factory=list)
    accepted_retry_keys: set[str] = field(default_factory=set)
    used_reply_tokens: set[str] = field(default_factory=set)
    _failures: list[_Failure] = field(default_factory=list)
    _gate: threading.Event | None = None
    _hold_path: str | None = None
    _latency: float = HOLD_LIMIT
    _cond: threading.Condition = field(default_factory=threading.Condition)
    keep_requests: bool = True  # the benchmark's long runs keep counts only
    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    # Rich menus as LINE keeps them: id → the create request (+ "image": bytes once uploaded).
    rich_menus: dict[str, dict] = field(default_factory=dict)
    default_rich_menu: str | None = None

    # --- configuring -------------------------------------------------------------------
    def fail_next(
        self, n: int, status: int, *, retry_after: str | int | None = None, path: str | None = None
    ) -> None:
        """The next `n` requests (to `path` when given) get `status` instead of an answer."""
        with self._cond:
            self._failures.append(
                _Failure(n, status, None if retry_after is None else str(retry_after), path)
            )

    def hold(self, path: str | None = None, *, latency: float | None = None) -> threading.Event:
        """Make requests (to `path` when given) wait until `release()` — or, with `latency`,
        at most that many seconds (a LINE that takes 3 s per call); returns the gate."""
        with self._cond:
            self._gate = threading.Event()
            self._hold_path = path
            self._latency = HOLD_LIMIT if latency is None else latency
            return self._gate

    def release(self) -> None:
        with self._cond:
            gate, self._gate = self._gate, None
        if gate is not None:
            gate.set()

    def reset(self) -> None:
        self.release()
        with self._cond:
            self.requests.clear()
            self._failures.clear()
            self.accepted_retry_keys.clear()
            self.used_reply_tokens.clear()

    # --- reading what LINE received ----------------------------------------------------
    def calls(self, path: str | None = None, method: str | None = None) -> list[Recorded]:
        with self._cond:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (method is None or r.method == method)
            ]

    @property
    def replies(self) -> list[Recorded]:
        """Reply calls LINE accepted (200)."""
        return [r for r in self.calls("/v2/bot/message/reply") if r.status == 200]

    @property
    def pushes(self) -> list[Recorded]:
        """Push calls LINE accepted (200) — what users actually received."""
        return [r for r in self.calls("/v2/bot/message/push") if r.status == 200]

    def wait_for(self, predicate: Callable[[FakeLine], bool], timeout: float = 10.0) -> bool:
        """Wait until `predicate(self)` holds (re-checked after every request)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout=timeout)

    # --- serving (called by the handler) -----------------------------------------------
    def _take_failure(self, path: str) -> _Failure | None:
        with self._cond:
            for failure in self._failures:
                if failure.remaining > 0 and (failure.path is None or failure.path == path):
                    failure.remaining -= 1
                    return failure
        return None

    def _gate_for(self, path: str) -> tuple[threading.Event, float] | None:
        with self._cond:
            if self._gate is not None and (self._hold_path is None or self._hold_path == path):
                return self._gate, self._latency
        return None

    def _record(self, recorded: Recorded) -> None:
        with self._cond:
            key = (recorded.path, recorded.status)
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.keep_requests:
                self.requests.append(recorded)
            self._cond.notify_all()

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple:
        """(status, json body, extra headers) for one request, as LINE would answer it."""
        held = self._gate_for(path)
        if held is not None:
            gate, latency = held
            gate.wait(latency)
        if path == "/_fake/stats":  # for the benchmark: what LINE accepted, per path/status
            with self._cond:
                return 200, {f"{p} {st}": n for (p, st), n in self.counts.items()}, {}
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, {"message": "Authentication failed"}, {}
        failure = self._take_failure(path)
        if failure is not None:
            extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return failure.status, {"message": f"fake failure {failure.status}"}, extra
        retry_key = headers.get("x-line-retry-key")
        if retry_key and path not in RETRY_KEY_ENDPOINTS:
            return 400, {"message": "X-Line-Retry-Key is not supported by this endpoint"}, {}
        if "/richmenu" in path:
            return self._rich_menu(method, path, headers, body)
        if method == "POST":
            return self._post(path, body, retry_key)
        return self._get(path)

    def _rich_menu(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple:
        """Create, upload its picture (PNG/JPEG, ≤ 1 MB, once), list, set/get default, delete."""
        with self._cond:
            if (method, path) == ("POST", "/v2/bot/richmenu"):
                if not isinstance(body, dict) or not body.get("size") or not body.get("areas"):
                    return 400, {"message": "The request body has 1 error(s)"}, {}
                menu_id = f"richmenu-{uuid.uuid4().hex}"
                self.rich_menus[menu_id] = {**body, "richMenuId": menu_id}
                return 200, {"richMenuId": menu_id}, {}
            if (method, path) == ("GET", "/v2/bot/richmenu/list"):
                menus = [
                    {k: v for k, v in m.items() if k != "image"} for m in self.rich_menus.values()
                ]
                return 200, {"richmenus": menus}, {}
            if (method, path) == ("GET", "/v2/bot/user/all/richmenu"):
                if self.default_rich_menu is None:
                    return 404, {"message": "no default richmenu"}, {}
                return 200, {"richMenuId": self.default_rich_menu}, {}
            default = _DEFAULT_MENU_RE.match(path)
            if method == "POST" and default:
                menu = self.rich_menus.get(default.group(1))
                if menu is None:
                    return 404, {"message": "Not found"}, {}
                if "image" not in menu:
                    return 400, {"message": "must upload richmenu image before applying it"}, {}
                self.default_rich_menu = default.group(1)
                return 200, {}, {}
            match = _RICH_MENU_RE.match(path)
            menu = self.rich_menus.get(match.group(1)) if match else None
            if menu is None:
                return 404, {"message": "Not found"}, {}
            if method == "POST" and match.group(2):
                if headers.get("content-type") not in ("image/png", "image/jpeg"):
                    return 415, {"message": "Unsupported Media Type"}, {}
                if not isinstance(body, bytes) or not 0 < len(body) <= MAX_MENU_IMAGE:
                    return 400, {"message": "image size must be 1 MB or less"}, {}
                if "image" in menu:
                    return 400, {"message": "An image has already been uploaded"}, {}
                menu["image"] = body
                return 200, {}, {}
            if method == "DELETE" and not match.group(2):
                del self.rich_menus[match.group(1)]
                if self.default_rich_menu == match.group(1):
                    self.default_rich_menu = None
                return 200, {}, {}
        return 404, {"message": "Not found"}, {}

    def _post(self, path: str, body: Any, retry_key: str | None) -> tuple:
        if not isinstance(body, dict):
            return 400, {"message": "The request body has 1 error(s)"}, {}
        messages = body.get("messages")
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return 400, {"message": "Size must be between 1 and 5"}, {}
        sent = {
            "sentMessages": [
                {"id": str(100000 + i), "quoteToken": "q"} for i in range(len(messages))
            ]
        }
        if path == "/v2/bot/message/reply":
            token = body.get("replyToken")
            with self._cond:
                if not token or token == DUMMY_REPLY_TOKEN or token in self.used_reply_tokens:
                    return 400, {"message": "Invalid reply token"}, {}
                self.used_reply_tokens.add(token)
            return 200, sent, {}
        if path in ("/v2/bot/message/push", "/v2/bot/message/multicast"):
            if path.endswith("push") and not body.get("to"):
                return 400, {"message": "The property, 'to', in the request body is invalid"}, {}
            with self._cond:
                if retry_key and retry_key in self.accepted_retry_keys:
                    return 409, {"message": "The retry key is already accepted", **sent}, {}
                if retry_key:
                    self.accepted_retry_keys.add(retry_key)
            return 200, sent if path.endswith("push") else {}, {}
        return 404, {"message": "Not found"}, {}

    def _get(self, path: str) -> tuple:
        if path == "/v2/bot/message/quota":
            return 200, dict(self.quota), {}
        if path == "/v2/bot/message/quota/consumption":
            return 200, {"totalUsage": self.consumption}, {}
        match = _MEMBER_COUNT_RE.match(path)
        if match:
            return 200, {"count": self.member_counts.get(match.group(2), 3)}, {}
        match = _PROFILE_RE.match(path)
        if match and match.group(1) in self.display_names:
            user = match.group(1)
            return 200, {"displayName": self.display_names[user], "userId": user}, {}
        return 404, {"message": "Not found"}, {}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like LINE: the SDK's connection pool reuses sockets
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (40 ms on Linux) — a stall real LINE does not have.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = (
                raw if self.headers.get("Content-Type", "").startswith("image/") else "<not json>"
            )
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        status, payload, extra = fake.answer(self.command, path, headers, body)
        # Recorded before answering: once the bot has LINE's answer, the test can see the call.
        fake._record(Recorded(self.command, path, headers, body, status))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Line-Request-Id", "fake-request-id")
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `requests`
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLine

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timed-out call) is expected here, not a test failure."""
        return


def start_fake_line() -> tuple[FakeLine, Callable[[], None]]:
    """Start a fake LINE on a free loopback port; returns it and a stop function."""
    fake = FakeLine()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    host, port = server.server_address[:2]
    fake.base_url = f"http://{host}:{port}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-line", daemon=True
    )
    thread.start()

    def stop() -> None:
        fake.release()
        server.shutdown()
        server.server_close()
        thread.join(5)

    return fake, stop


@pytest.fixture
def fake_line() -> Iterator[FakeLine]:
    """A fresh fake LINE server for one test, stopped afterwards."""
    fake, stop = start_fake_line()
    try:
        yield fake
    finally:
        stop()


SECRET = "test-channel-secret-SECRET"  # the channel secret the webhook tests sign with
TOKEN = "test-channel-access-token-SECRET"


@pytest.fixture
def line_settings(settings, fake_line):
    """A configured LINE channel pointed at the fake LINE, on the test's database (`settings`
    from conftest). A module that needs other settings defines its own `line_settings`."""
    return replace(
        settings,
        line_channel_secret=SECRET,
        line_channel_access_token=TOKEN,
        line_api_base_url=fake_line.base_url,
        scheduler=False,
    )


@contextmanager
def webhook_app(settings: Any, now: datetime | None = None) -> Iterator[Any]:
    """The webhook app on `settings`, its clock fixed at `now` if given; on leaving, the
    replies still in its pool are waited for (a test must not end with a thread writing)."""
    from itabot.app import create_app
    from itabot.webhook.routes import EXTENSION

    app = create_app(settings)
    if now is not None:
        app.extensions[EXTENSION].clock = lambda: now
    try:
        yield app
    finally:
        app.extensions[EXTENSION].wait_idle(10)


# --- what LINE sends to the bot: signed webhook bodies ---------------------------------------


def sign(body: bytes, secret: str) -> str:
    """`X-Line-Signature`: base64 of HMAC-SHA256 of the raw body with the channel secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_signed(client: Any, body: bytes, secret: str) -> Any:
    """POST `body` to a Flask test client's /callback, signed as LINE would sign it."""
    return client.post("/callback", data=body, headers={"X-Line-Signature": sign(body, secret)})


def new_event_id() -> str:
    """A fresh `webhookEventId` (LINE's are 26-character ULIDs)."""
    return "01" + uuid.uuid4().hex[:24].upper()


def source(kind: str = "user", user_id: str = "U" + "1" * 32, chat_id: str | None = None) -> dict:
    """A webhook `source`: a user, or a group/room (with the sender's user id)."""
    if kind == "user":
        return {"type": "user", "userId": user_id}
    key = "groupId" if kind == "group" else "roomId"
    return {
        "type": kind,
        key: chat_id or ("C" if kind == "group" else "R") + "2" * 32,
        "userId": user_id,
    }


def event(
    type_: str,
    *,
    src: dict | None = None,
    event_id: str | None = None,
    redelivery: bool = False,
    reply_token: str | None = None,
    mode: str = "active",
    **fields: Any,
) -> dict:
    """One webhook event with the common fields LINE always sends."""
    out: dict[str, Any] = {
        "type": type_,
        "mode": mode,
        "timestamp": int(time.time() * 1000),
        "source": src or source(),
        "webhookEventId": event_id or new_event_id(),
        "deliveryContext": {"isRedelivery": redelivery},
    }
    if reply_token is not None:
        out["replyToken"] = reply_token
    out.update(fields)
    return out


def text_event(text: str, **kwargs: Any) -> dict:
    kwargs.setdefault("reply_token", uuid.uuid4().hex)
    message = {"id": str(uuid.uuid4().int)[:18], "type": "text", "text": text, "quoteToken": "q"}
    return event("message", message=message, **kwargs)


def callback_body(*events: dict, destination: str = "U" + "f" * 32) -> bytes:
    return json.dumps(
        {"destination": destination, "events": list(events)}, ensure_ascii=False
    ).encode()


def main() -> None:
    """`python -m tests.fakeline`: serve a fake LINE until killed (the benchmarks run it in its
    own process so it does not share a GIL with the load generator); prints its URL."""
    fake, stop = start_fake_line()
    fake.keep_requests = False
    print(fake.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        stop()


if __name__ == "__main__":
    main()
