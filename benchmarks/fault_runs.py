"""Fault runs (issue 16): the Procfile's `web:` line (gunicorn, 2 workers) against a LINE stand-in
(the tests' fake LINE, in this process), with faults injected for real, and what became of every
event: answered (LINE accepted a reply for its token), expired (recorded so: its token was too
old), lost (neither), duplicated (a second reply call for one token).

    .venv/bin/python benchmarks/fault_runs.py [--events 2000] [--only kill,pg-stop,readonly,fuzz,slow]

- kill: workers SIGKILLed (one a second) under load; every event LINE did not get a 200 for is
  redelivered once (`isRedelivery`), as LINE does. SQLite, and PostgreSQL when it can be started.
- pg-stop: a throwaway PostgreSQL stopped for 10 s under load, then started: every answer must be
  200 or 503 (no 500), no traceback in the log, the 503s redelivered once.
- readonly: the SQLite file made read-only (immutable, as root ignores modes) for 10 s: /healthz
  503 during, and how soon /healthz and /callback answer 200 after.
- fuzz: signed bodies mixing well-formed and malformed events: no 5xx, every well-formed one answered.
- slow: LINE takes 3 s per reply: the oldest token a reply was attempted with.
PostgreSQL needs its server binaries (/usr/lib/postgresql/*/bin) and, as root, a `postgres` user.
Figures: benchmarks/results/faults.json.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from _common import ROOT, save  # also puts the project on sys.path
from sqlalchemy import select

from itabot.storage import db
from itabot.storage.models import WebhookEvent
from tests.fakeline import callback_body, sign, source, start_fake_line, text_event
from tests.processes import free_port, procfile_command, stop_process_group

SECRET = "fault-channel-secret"
REPLY = "/v2/bot/message/reply"


class Web:
    """The Procfile's web process on `database_url`, its log in a file, and a platform's health
    check every 2 s (which also keeps each worker's sweep going when no webhook arrives)."""

    def __init__(self, database_url: str, line_url: str, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"web-{self.port}.log"
        env = {
            **os.environ,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
            "DATABASE_URL": database_url,
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": "fault-token",
            "LINE_API_BASE_URL": line_url,
            "ITABOT_SCHEDULER": "off",
        }
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            procfile_command("web", env),
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(self.log_path.read_text())
        self._checking = threading.Event()
        threading.Thread(target=self._health_checks, daemon=True).start()

    def _health_checks(self) -> None:
        while not self._checking.wait(2.0):
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}/healthz", timeout=5)

    def workers(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> str:
        self._checking.set()
        stop_process_group(self.proc)
        self._log.close()
        return self.log_path.read_text()


def post(url: str, ev: dict, session: requests.Session | None = None) -> int:
    body = callback_body(ev)
    headers = {"X-Line-Signature": sign(body, SECRET), "Content-Type": "application/json"}
    try:
        return (
            (session or requests)
            .post(f"{url}/callback", data=body, headers=headers, timeout=10)
            .status_code
        )
    except requests.RequestException:
        return 0  # the worker died with the request: LINE saw no 200


def deliver(url: str, events: list[dict], *, concurrency: int = 8, pace: float = 0.0) -> dict:
    """Send every event once; {event id: HTTP status}."""
    local = threading.local()

    def one(ev: dict) -> tuple[str, int]:
        local.session = getattr(local, "session", None) or requests.Session()
        if pace:
            time.sleep(pace)
        return ev["webhookEventId"], post(url, ev, local.session)

    with ThreadPoolExecutor(concurrency) as pool:
        return dict(pool.map(one, events))


def redeliver(url: str, events: list[dict], statuses: dict) -> dict:
    """LINE's redelivery of every event it got no 200 for, once, with `isRedelivery`."""
    again = [
        {**ev, "deliveryContext": {"isRedelivery": True}}
        for ev in events
        if statuses[ev["webhookEventId"]] != 200
    ]
    return deliver(url, again) if again else {}


def questions(n: int) -> list[dict]:
    return [text_event("OIT ปิดวันไหน", src=source("user", user_id=f"U{i:032x}")) for i in range(n)]


def outcome(fake, database_url: str, events: list[dict]) -> dict:
    """answered / expired / lost / duplicated over `events`, from LINE's calls and the table."""
    calls: dict[str, int] = {}
    accepted: dict[str, int] = {}
    for r in fake.calls(REPLY):
        if not isinstance(r.json, dict):  # a call cut short by a killed worker
            continue
        token = r.json.get("replyToken")
        calls[token] = calls.get(token, 0) + 1
        if r.status == 200:
            accepted[token] = accepted.get(token, 0) + 1
    with db.session_scope(database_url) as session:
        rows = session.execute(
            select(WebhookEvent.id, WebhookEvent.status, WebhookEvent.error)
        ).all()
    status = {event_id: state for event_id, state, _ in rows}
    why = {event_id: f"{state}: {error}" if error else state for event_id, state, error in rows}
    db.close_engine(database_url)
    answered = sum(ev["replyToken"] in accepted for ev in events)
    expired = sum(
        ev["replyToken"] not in accepted and status.get(ev["webhookEventId"]) == "expired"
        for ev in events
    )
    lost: dict[str, int] = {}
    for ev in events:
        if ev["replyToken"] not in accepted and status.get(ev["webhookEventId"]) != "expired":
            key = why.get(ev["webhookEventId"], "not recorded")
            lost[key] = lost.get(key, 0) + 1
    return {
        "events": len(events),
        "answered": answered,
        "expired": expired,
        "lost": len(events) - answered - expired,
        "lost_by_status": lost,
        # A second reply accepted for one event (the stand-in, like LINE, refuses a used token,
        # so this counts what reached users twice) and second calls LINE refused: a retry after
        # a worker died during a call that had in fact reached LINE.
        "duplicated": sum(n > 1 for n in accepted.values()),
        "second_calls_refused": sum(n > 1 for n in calls.values()),
    }


def settle(fake, events: list[dict], seconds: float = 25.0) -> None:
    """Wait until every event is answered, or nothing new arrived for a while (the sweep runs
    every 5 s and takes over an event 10 s after its owner fell silent)."""
    deadline = time.monotonic() + seconds
    seen = -1
    quiet_since = time.monotonic()
    tokens = {ev["replyToken"] for ev in events}
    while time.monotonic() < deadline:
        n = len(fake.calls(REPLY))
        answered = {  # accepted ones: a refused second call answers nothing
            r.json.get("replyToken")
            for r in fake.calls(REPLY)
            if r.status == 200 and isinstance(r.json, dict)
        } & tokens
        if len(answered) >= len(events):
            return
        if n != seen:
            seen, quiet_since = n, time.monotonic()
        elif time.monotonic() - quiet_since > 30:
            return
        time.sleep(0.2)


def tracebacks(log: str) -> dict[str, int]:
    """Tracebacks in the log, by the line that announced each."""
    lines = log.splitlines()
    found: dict[str, int] = {}
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            key = lines[i - 1][-120:] if i else "?"
            found[key] = found.get(key, 0) + 1
    return found


# --- the runs -------------------------------------------------------------------------------


def run_kill(database_url: str, fake, tmp: Path, n: int) -> dict:
    web = Web(database_url, fake.base_url, tmp)
    events = questions(n)
    stop = threading.Event()
    kills = 0

    def killer() -> None:
        nonlocal kills
        while not stop.wait(1.0):
            workers = web.workers()
            if workers:
                os.kill(random.choice(workers), signal.SIGKILL)
                kills += 1

    thread = threading.Thread(target=killer)
    thread.start()
    statuses = deliver(web.url, events)
    stop.set()
    thread.join()
    time.sleep(2)  # gunicorn replaces the last killed worker
    again = redeliver(web.url, events, statuses)
    settle(fake, events, seconds=60)
    log = web.stop()
    result = outcome(fake, database_url, events)
    non_200 = sum(s != 200 for s in statuses.values())
    return {
        **result,
        "kills": kills,
        "non_200_redelivered": non_200,
        "redeliveries_non_200": sum(s != 200 for s in again.values()),
        "tracebacks": tracebacks(log),
    }


def run_pg_stop(pg: Postgres, fake, tmp: Path, n: int) -> dict:
    database_url = pg.new_database()
    web = Web(database_url, fake.base_url, tmp)
    events = questions(n)

    def outage() -> None:
        time.sleep(3)
        pg.stop()
        time.sleep(10)
        pg.start()

    thread = threading.Thread(target=outage)
    thread.start()
    statuses = deliver(web.url, events, pace=0.25)  # 8 senders: ~20 s of load, across the outage
    thread.join()
    started = time.monotonic()
    recovered = None
    while time.monotonic() - started < 30:
        if post(web.url, questions(1)[0]) == 200:
            recovered = round(time.monotonic() - started, 2)
            break
        time.sleep(0.2)
    again = redeliver(web.url, events, statuses)
    settle(fake, events)
    log = web.stop()
    histogram: dict[str, int] = {}
    for s in statuses.values():
        histogram[str(s)] = histogram.get(str(s), 0) + 1
    return {
        **outcome(fake, database_url, events),
        "answers": histogram,
        "redeliveries": {str(s): list(again.values()).count(s) for s in set(again.values())},
        "seconds_to_200_after_restart": recovered,
        "tracebacks": tracebacks(log),
        "log_lines_database_unavailable": log.count("database unavailable"),
    }


def run_readonly(database_url: str, fake, tmp: Path) -> dict:
    path = Path(database_url.removeprefix("sqlite:///"))
    web = Web(database_url, fake.base_url, tmp)
    deliver(web.url, questions(50))
    subprocess.run(["chattr", "+i", str(path)], check=True)
    during = [requests.get(f"{web.url}/healthz", timeout=5).status_code for _ in range(20)]
    # New workers open their connections during the fault, as after a crash or a deploy: those
    # connections are read-only, and must not stay so once the file is writable again.
    for pid in web.workers():
        os.kill(pid, signal.SIGKILL)
    time.sleep(3)
    callbacks_during = [post(web.url, ev) for ev in questions(20)]
    subprocess.run(["chattr", "-i", str(path)], check=True)
    restored = time.monotonic()
    health_after = callback_after = None
    while time.monotonic() - restored < 30 and (health_after is None or callback_after is None):
        if (
            health_after is None
            and requests.get(f"{web.url}/healthz", timeout=5).status_code == 200
        ):
            health_after = round(time.monotonic() - restored, 2)
        if callback_after is None and post(web.url, questions(1)[0]) == 200:
            callback_after = round(time.monotonic() - restored, 2)
        time.sleep(0.1)
    log = web.stop()
    return {
        "healthz_during": {str(s): during.count(s) for s in set(during)},
        "callback_during": {str(s): callbacks_during.count(s) for s in set(callbacks_during)},
        "seconds_to_healthz_200": health_after,
        "seconds_to_callback_200": callback_after,
        "tracebacks": tracebacks(log),
    }


def malformed(rng: random.Random) -> dict | str:
    ev = text_event("OIT ปิดวันไหน")
    kind = rng.randrange(7)
    if kind == 0:
        ev["mode"] = "sleeping"
    elif kind == 1:
        ev["timestamp"] = "yesterday"
    elif kind == 2:
        del ev["type"]
    elif kind == 3:
        ev["webhookEventId"] = ev["webhookEventId"][:20] + "\x00" + ev["webhookEventId"][21:]
    elif kind == 4:
        ev["source"] = {"type": "group", "groupId": "C3590\u202e/../etc/passwd", "userId": "U1"}
    elif kind == 5:
        return "not an event"
    else:
        ev["message"] = {"type": "text"}
    return ev


def run_fuzz(database_url: str, fake, tmp: Path, bodies: int) -> dict:
    web = Web(database_url, fake.base_url, tmp)
    rng = random.Random(16)
    good: list[dict] = []
    statuses = []
    session = requests.Session()
    for i in range(bodies):
        events = [
            text_event("OIT ปิดวันไหน", src=source("user", user_id=f"U{i * 8 + j:032x}"))
            for j in range(rng.randrange(0, 4))
        ]
        good += events
        mixed = events + [malformed(rng) for _ in range(rng.randrange(0, 3))]
        rng.shuffle(mixed)
        body = json.dumps({"destination": "U" + "f" * 32, "events": mixed}).encode()
        headers = {"X-Line-Signature": sign(body, SECRET), "Content-Type": "application/json"}
        statuses.append(session.post(f"{web.url}/callback", data=body, headers=headers).status_code)
    settle(fake, good)
    log = web.stop()
    result = outcome(fake, database_url, good)
    return {
        "bodies": bodies,
        "answers": {str(s): statuses.count(s) for s in set(statuses)},
        **{f"well_formed_{k}": v for k, v in result.items()},
        "tracebacks": tracebacks(log),
    }


def run_slow(database_url: str, fake, tmp: Path, n: int) -> dict:
    web = Web(database_url, fake.base_url, tmp)
    fake.hold(REPLY, latency=3.0)  # every reply takes 3 s
    events = questions(n)
    sent_at = {ev["replyToken"]: ev["timestamp"] / 1000 for ev in events}
    ages: list[float] = []
    original = fake._record

    def record(recorded) -> None:  # the moment LINE receives each reply call
        token = (recorded.json or {}).get("replyToken")
        if recorded.path == REPLY and token in sent_at:
            ages.append(time.time() - 3.0 - sent_at[token])  # the call began 3 s earlier
        original(recorded)

    fake._record = record
    deliver(web.url, events, concurrency=16)
    settle(fake, events, seconds=120)
    log = web.stop()
    fake.release()
    fake._record = original
    return {
        **outcome(fake, database_url, events),
        "oldest_token_at_reply_s": round(max(ages), 1) if ages else None,
        "tracebacks": tracebacks(log),
    }


# --- a throwaway PostgreSQL -------------------------------------------------------------------


class Postgres:
    def __init__(self, tmp: Path) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries")
        self.bin = Path(bins[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="itabot-faults-pg-"))
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self._run(
            "initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        self.start()
        self.count = 0

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=200"
        self._run(
            "pg_ctl", "-D", f"{self.dir}/data", "-w", "-l", f"{self.dir}/log", "-o", opts, "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "stop")

    def new_database(self) -> str:
        self.count += 1
        name = f"faults{self.count}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
        db.upgrade(url)
        return url

    def remove(self) -> None:
        try:
            self._run("pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def sqlite_database(tmp: Path, name: str) -> str:
    url = f"sqlite:///{tmp / name}"
    db.upgrade(url)
    db.close_engine(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--bodies", type=int, default=1000)
    parser.add_argument("--only", default="kill,pg-stop,readonly,fuzz,slow")
    args = parser.parse_args()
    only = set(args.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="itabot-faults-"))
    fake, stop_fake = start_fake_line()
    results: dict[str, dict] = {"load_average_at_start": os.getloadavg()[0]}
    pg = None
    try:
        if "kill" in only:
            results["kill_sqlite"] = run_kill(
                sqlite_database(tmp, "kill.db"), fake, tmp, args.events
            )
            print("kill (SQLite):", results["kill_sqlite"], flush=True)
        if only & {"kill", "pg-stop"}:
            try:
                pg = Postgres(tmp)
            except Exception as exc:  # no server binaries: the PostgreSQL runs are skipped
                print("PostgreSQL runs skipped:", exc)
        if pg is not None and "kill" in only:
            fake.reset()
            results["kill_postgres"] = run_kill(pg.new_database(), fake, tmp, args.events)
            print("kill (PostgreSQL):", results["kill_postgres"], flush=True)
        if pg is not None and "pg-stop" in only:
            fake.reset()
            results["pg_stop"] = run_pg_stop(pg, fake, tmp, 600)
            print("PostgreSQL stopped 10 s:", results["pg_stop"], flush=True)
        if "readonly" in only:
            fake.reset()
            results["readonly"] = run_readonly(sqlite_database(tmp, "ro.db"), fake, tmp)
            print("SQLite read-only 10 s:", results["readonly"], flush=True)
        if "fuzz" in only:
            fake.reset()
            results["fuzz"] = run_fuzz(sqlite_database(tmp, "fuzz.db"), fake, tmp, args.bodies)
            print("fuzz:", results["fuzz"], flush=True)
        if "slow" in only:
            fake.reset()
            results["slow_line"] = run_slow(sqlite_database(tmp, "slow.db"), fake, tmp, 1500)
            print("LINE at 3 s:", results["slow_line"], flush=True)
    finally:
        stop_fake()
        if pg is not None:
            pg.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    print("saved", save("faults", results))


if __name__ == "__main__":
    main()
