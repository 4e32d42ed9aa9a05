"""The Procfile's web line preloads the app in gunicorn's master and forks the workers from it.

Nothing a fork would copy half-alive may exist by then: a thread (only the forking one goes
on), a socket (two processes on one connection), a database engine (pooled connections that
two processes would share). And the forked workers answer, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from itabot.config import PROJECT_ROOT
from tests.fakeline import callback_body, sign, text_event
from tests.processes import free_port, procfile_command, stop_process_group

pytest_plugins = ["tests.fakeline"]

SECRET = "preload-test-secret"
# What a `--preload` master holds after importing bot.py, read in a fresh interpreter.
PROBE = """
import json, os, threading
import bot
from itabot.storage import db
fds = []
for fd in os.listdir("/proc/self/fd"):
    try:
        fds.append(os.readlink(f"/proc/self/fd/{fd}"))
    except FileNotFoundError:  # the listing's own descriptor, closed by now
        pass
print(json.dumps({
    "threads": [t.name for t in threading.enumerate()],
    "sockets": [fd for fd in fds if fd.startswith("socket:")],
    "engines": len(db._engines),
}))
"""


def _env(database_url: str, line_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": "preload-test-token",
        "LINE_API_BASE_URL": line_url,
        "LOG_LEVEL": "WARNING",
    }


def test_procfile_web_preloads():
    assert "--preload" in procfile_command("web", {})


def test_the_preloaded_app_leaves_no_thread_socket_or_engine(database_url, fake_line):
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=_env(database_url, fake_line.base_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    held = json.loads(out.stdout.strip().splitlines()[-1])
    assert held == {"threads": ["MainThread"], "sockets": [], "engines": 0}


def test_the_procfile_web_line_answers_from_forked_workers(database_url, fake_line, tmp_path):
    port = free_port()
    env = {
        **_env(database_url, fake_line.base_url),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "XDG_RUNTIME_DIR": str(tmp_path),  # gunicorn's control socket: this server's own
    }
    with (tmp_path / "web.log").open("w") as log:
        server = subprocess.Popen(
            procfile_command("web", env),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/callback"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "web.log").read_text()
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        bodies = [callback_body(text_event("OIT ปิดวันไหน")) for _ in range(16)]

        def post(body: bytes) -> int:
            headers = {"X-Line-Signature": sign(body, SECRET), "Content-Type": "application/json"}
            return requests.post(url, data=body, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(post, bodies)) == [200] * 16
        assert fake_line.wait_for(lambda f: len(f.replies) == 16, timeout=30)
    finally:
        stop_process_group(server)
    assert "Traceback" not in (tmp_path / "web.log").read_text()
