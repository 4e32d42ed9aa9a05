"""A loopback LINE stand-in for bench_reminders.py: LINE as a Thai server sees it — every answer
after a set delay (its API is in Japan: 50–150 ms) — with a monthly quota and group member
counts, over HTTP/1.1 keep-alive, on asyncio.

Why asyncio and its own process: the delay must be LINE's, not the stand-in's. A thread per
connection (`http.server`) costs ~0.3 ms of CPU per request, taken from the two cores the
dispatcher runs on; here a request costs a few tens of µs and a waiting one costs nothing but
a timer, so hundreds can be in flight. Its CPU seconds are in `/__stats`, so a run shows the
stand-in was not the bottleneck.

What it answers, as LINE would:
- POST /v2/bot/message/push: 200; 409 for a retry key already accepted; 429 "You have reached
  your monthly limit." when the quota cannot pay (a push costs one message per member); 400
  without `to`/`messages`; 401 without a bearer token.
- GET /v2/bot/message/quota, …/quota/consumption, /v2/bot/{group|room}/{id}/members/count.
It measures what LINE would enforce: requests in flight, and the most pushes (and member-count
calls) that arrived within any one second — LINE allows 2,000 a second.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import time

import _common  # noqa: F401  (puts the project on sys.path)

from tests.test_reminder_support import most_within_one_second

_OK = b'{"sentMessages":[{"id":"1","quoteToken":"q"}]}'
_REASONS = {200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 409: b"Conflict"}
_REASONS |= {404: b"Not Found", 429: b"Too Many Requests"}


def _response(status: int, body: bytes) -> bytes:
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
        status,
        _REASONS.get(status, b"OK"),
        len(body),
    )
    return head + body


class StandIn:
    def __init__(self, latency_s: float, quota: int | None, members: int) -> None:
        self.latency_s, self.quota, self.members = latency_s, quota, members
        self.keys: set[str] = set()
        self.pushes = self.duplicates = self.over_quota = self.used = 0
        self.in_flight = self.peak_in_flight = 0
        self.push_times: list[float] = []
        self.count_times: list[float] = []
        self.counted: dict[str, int] = {}  # member counts asked, per chat

    def stats(self) -> dict:
        return {
            "pushes": self.pushes,
            "duplicates": self.duplicates,
            "over_quota_429": self.over_quota,
            "quota_used": self.used,
            "member_count_calls": len(self.count_times),
            "member_count_calls_max_per_chat": max(self.counted.values(), default=0),
            "peak_in_flight": self.peak_in_flight,
            "max_pushes_in_one_second": most_within_one_second(self.push_times),
            "max_member_counts_in_one_second": most_within_one_second(self.count_times),
            "cpu_s": round(time.process_time(), 3),
        }

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if not headers.get("authorization", "").startswith("Bearer "):
            return _response(401, b'{"message":"Authentication failed"}')
        if method == "GET":
            return self._get(path)
        self.push_times.append(time.monotonic())
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not payload.get("to") or not payload.get("messages"):
            return _response(400, b'{"message":"bad request"}')
        key = headers.get("x-line-retry-key") or ""
        if key in self.keys:
            self.duplicates += 1
            return _response(409, b'{"message":"The retry key is already accepted"}')
        cost = 1 if payload["to"].startswith("U") else self.members
        if self.quota is not None and self.used + cost > self.quota:
            self.over_quota += 1
            return _response(429, b'{"message":"You have reached your monthly limit."}')
        self.keys.add(key)
        self.pushes += 1
        self.used += cost
        return _response(200, _OK)

    def _get(self, path: str) -> bytes:
        if path == "/v2/bot/message/quota":
            limited = {"type": "limited", "value": self.quota}
            return _response(200, json.dumps(limited if self.quota else {"type": "none"}).encode())
        if path == "/v2/bot/message/quota/consumption":
            return _response(200, b'{"totalUsage":%d}' % self.used)
        if path.endswith("/members/count"):
            self.count_times.append(time.monotonic())
            chat = path.split("/")[-3]
            self.counted[chat] = self.counted.get(chat, 0) + 1
            return _response(200, b'{"count":%d}' % self.members)
        return _response(404, b'{"message":"Not found"}')

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                if path == "/__stats":
                    writer.write(_response(200, json.dumps(self.stats()).encode()))
                    continue
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                try:
                    answer = self.answer(method, path, headers, body)
                    if self.latency_s:
                        await asyncio.sleep(self.latency_s)
                    writer.write(answer)
                finally:
                    self.in_flight -= 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _run(port_queue: mp.Queue, latency_s: float, quota: int | None, members: int) -> None:
    async def main() -> None:
        stand_in = StandIn(latency_s, quota, members)
        server = await asyncio.start_server(stand_in.serve, "127.0.0.1", 0, backlog=4096)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start(
    latency_ms: float = 0, *, quota: int | None = None, members: int = 3
) -> tuple[str, mp.Process]:
    """The stand-in in its own process (its own GIL); its base URL and the process."""
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=_run, args=(queue, latency_ms / 1000, quota, members), daemon=True)
    proc.start()
    return f"http://127.0.0.1:{queue.get(timeout=30)}", proc
