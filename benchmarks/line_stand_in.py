"""A loopback LINE stand-in for bench_reminders.py: push (200, or 409 for a retry key already
accepted), quota, member counts and `/__stats`, over HTTP/1.1 keep-alive, on asyncio.

Why not `http.server`: on a 2-core machine the stand-in's CPU is taken from the dispatcher
it measures, and a thread per connection plus `http.server`'s parsing cost ~0.3 ms per
request — 3 s of the two cores for 10,000 pushes, time LINE's own servers spend, not ours.
This one costs about a third of that. It checks what LINE would refuse (a body without `to`
or `messages`, no bearer token) so a broken client still fails the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp

_OK = b'{"sentMessages":[{"id":"1","quoteToken":"q"}]}'
_REASONS = {200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 409: b"Conflict"}


def _response(status: int, body: bytes) -> bytes:
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
        status,
        _REASONS.get(status, b"OK"),
        len(body),
    )
    return head + body


class StandIn:
    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.pushes = 0
        self.duplicates = 0

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if path == "/__stats":
            stats = {"pushes": self.pushes, "duplicates": self.duplicates}
            return _response(200, json.dumps(stats).encode())
        if not headers.get("authorization", "").startswith("Bearer "):
            return _response(401, b'{"message":"Authentication failed"}')
        if method == "GET":
            quota = path == "/v2/bot/message/quota"
            return _response(200, b'{"type":"none"}' if quota else b'{"count":3}')
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not payload.get("to") or not payload.get("messages"):
            return _response(400, b'{"message":"bad request"}')
        key = headers.get("x-line-retry-key")
        if key in self.keys:
            self.duplicates += 1
            return _response(409, b'{"message":"The retry key is already accepted"}')
        self.keys.add(key or "")
        self.pushes += 1
        return _response(200, _OK)

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
                writer.write(self.answer(method, path, headers, body))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _run(port_queue: mp.Queue) -> None:
    async def main() -> None:
        server = await asyncio.start_server(StandIn().serve, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start() -> tuple[str, mp.Process]:
    """The stand-in in its own process (its own GIL); its base URL and the process."""
    queue: mp.Queue = mp.Queue()
    proc = mp.Process(target=_run, args=(queue,), daemon=True)
    proc.start()
    return f"http://127.0.0.1:{queue.get(timeout=30)}", proc
