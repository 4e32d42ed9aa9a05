"""The real deployment shape: `gunicorn -w 2 bot:app` on loopback, against the fake LINE.

The same signed, redelivered event sent many times at once — so that both workers get copies —
is answered exactly once: the dedupe is the database's unique key, shared by the workers, not
anything in a worker's memory. And no worker ever starts the reminder scheduler, whatever
ITABOT_SCHEDULER says (two workers would each send every reminder)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from itabot.config import PROJECT_ROOT
from itabot.storage import db
from tests.fakeline import callback_body, sign, source, text_event
from tests.processes import free_port, stop_process_group

pytest_plugins = ["tests.fakeline"]


SECRET = "gunicorn-test-secret"
TOKEN = "gunicorn-test-token"
REPLY = "/v2/bot/message/reply"


class Gunicorn:
    """`gunicorn -w 2 bot:app` in its own process group, with an access log naming the worker."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = tmp / "access.log"
        self.error_log = tmp / "error.log"
        self._err = self.error_log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{self.port}",
                "--access-logfile",
                str(self.access_log),
                "--access-logformat",
                "%(p)s %(m)s %(U)s %(s)s",
                "--graceful-timeout",
                "5",
                "bot:app",
            ],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=self._err,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_up(self, timeout: float = 60.0) -> None:
        """Until both workers have built the app (each logs "webhook ready") and one answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.error_log.read_text()}")
            if self.error_log.read_text().count("webhook ready in process") >= 2:
                try:
                    if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                        return
                except (requests.ConnectionError, requests.Timeout):
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start in time:\n{self.error_log.read_text()}")

    def wait_for_health(self, timeout: float = 30.0) -> None:
        """Until a worker answers /healthz again (after workers were killed and respawned)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not recover:\n{self.error_log.read_text()}")

    def callback_pids(self) -> set[str]:
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return {line.split()[0] for line in lines if " POST /callback " in line}

    def stop(self) -> str:
        stop_process_group(self.proc)
        self._err.close()
        return self.error_log.read_text()


@pytest.fixture
def start_gunicorn(tmp_path, fake_line) -> Iterator:
    started: list[Gunicorn] = []
    database_url = f"sqlite:///{tmp_path / 'itabot.db'}"
    db.upgrade(database_url)
    db.engine_for(database_url).dispose()

    def start(**extra: str) -> Gunicorn:
        env = {
            "DATABASE_URL": database_url,
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": fake_line.base_url,
            "ITABOT_SCHEDULER": "off",
            "LOG_LEVEL": "INFO",
            **extra,
        }
        server = Gunicorn(tmp_path, env)
        server.database_path = tmp_path / "itabot.db"
        started.append(server)
        server.wait_until_up()
        return server

    yield start
    for server in started:
        server.stop()


def _post(url: str, body: bytes) -> int:
    headers = {"X-Line-Signature": sign(body, SECRET), "Content-Type": "application/json"}
    return requests.post(f"{url}/callback", data=body, headers=headers, timeout=10).status_code


def test_a_redelivered_event_reaching_both_workers_is_answered_once(start_gunicorn, fake_line):
    server = start_gunicorn()
    ev = text_event("OIT ปิดวันไหน", src=source("group", chat_id="C" + "9" * 32), redelivery=True)
    body = callback_body(ev)
    fake_line.hold(REPLY)  # the first worker's reply waits on LINE, so copies reach the other
    with ThreadPoolExecutor(16) as pool:
        for _ in range(5):
            statuses = list(pool.map(lambda _i: _post(server.url, body), range(16)))
            assert statuses == [200] * 16
            if len(server.callback_pids()) >= 2:
                break
    assert len(server.callback_pids()) == 2, "both workers should have received copies"
    fake_line.release()
    assert fake_line.wait_for(lambda f: len(f.calls(REPLY)) >= 1, timeout=10)
    server.stop()  # graceful: anything still queued in a worker would be sent now
    assert len(fake_line.calls(REPLY)) == 1
    [reply] = fake_line.replies
    assert reply.json["replyToken"] == ev["replyToken"]


def test_gunicorn_workers_never_start_the_scheduler(start_gunicorn):
    server = start_gunicorn(ITABOT_SCHEDULER="on")
    assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"status": "ok"}
    log = server.stop()
    assert "Booting worker" in log
    assert "Scheduler started" not in log  # APScheduler's own start-up line
    assert "reminder scheduler started" not in log


def test_events_of_killed_workers_are_answered_once_by_lines_redelivery(start_gunicorn, fake_line):
    """Both workers SIGKILLed with a chat's events recorded and not yet answered (LINE held the
    first reply; the others waited behind it). LINE redelivers every one: each is answered
    exactly once — the one whose reply was on its way is not answered again."""
    server = start_gunicorn()
    chat = source("group", chat_id="C" + "7" * 32)
    events = [text_event(f"OIT ปิดวันไหน {i}", src=chat) for i in range(12)]
    fake_line.hold(REPLY)
    for ev in events:
        assert _post(server.url, callback_body(ev)) == 200
    url = f"sqlite:///{server.database_path}"
    ids = [ev["webhookEventId"] for ev in events]
    while "replying" not in _statuses(url, ids).values():
        time.sleep(0.05)
    workers = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(server.proc.pid)], capture_output=True, text=True
    ).stdout.split()
    for pid in workers:
        os.kill(int(pid), signal.SIGKILL)
    fake_line.release()
    server.wait_for_health()
    for ev in events:
        redelivered = {**ev, "deliveryContext": {"isRedelivery": True}}
        assert _post(server.url, callback_body(redelivered)) == 200
    assert fake_line.wait_for(lambda f: len(f.calls(REPLY)) >= len(events), timeout=20)
    server.stop()
    tokens = [r.json["replyToken"] for r in fake_line.calls(REPLY) if r.status == 200]
    assert sorted(tokens) == sorted(ev["replyToken"] for ev in events)  # each once, none twice
    assert set(_statuses(url, ids).values()) <= {"done", "replying"}


def _statuses(url: str, ids: list[str]) -> dict[str, str]:
    from sqlalchemy import select

    from itabot.storage.models import WebhookEvent

    with db.session_scope(url) as session:
        rows = session.execute(select(WebhookEvent.id, WebhookEvent.status)).all()
    db.close_engine(url)
    return {event_id: status for event_id, status in rows if event_id in ids}
