"""POST /callback throughput and latency, the bot side by side with the minimal line-bot-sdk echo
bot (benchmarks/echo_bot.py), both served as the Procfile's `web:` line serves the bot (gunicorn
with its workers and threads; only the bind address and the app differ), both replying to the
same LINE stand-in that answers each reply after `--latency` ms (LINE is in Japan: 50–150 ms
from a Thai server).

Every request is a distinct, signed text-message event ("OIT ปิดวันไหน" from a user), so the
bot does all its work each time: signature, parse, the dedupe insert, the Thai answer, the Flex
reply, the status. The load generator is Python threads with one `requests.Session` each; bodies
are built and signed before the clock starts; each level runs the two bots in segments ordered
A B B A A B B A. Two rates per bot: requests answered per second (what LINE's webhook sees), and
events *replied to* per second — a segment's clock stops only when the stand-in has accepted
every one of its replies (the bot answers LINE before replying; the echo bot after).
Goal: ≥ 0.9× the echo bot at concurrency 8.

    .venv/bin/python benchmarks/bench_webhook.py [--requests 2000] [--latency 100] [--levels 1,8,32]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from _common import ROOT, save, summary_ms, table  # also puts the project on sys.path

from itabot.storage import db
from tests.fakeline import callback_body, sign, source, text_event
from tests.processes import free_port, stop_process_group

SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
REPLY = "/v2/bot/message/reply"
WARM_UP = 100
PER_CONNECTION = 250  # requests per bot and level at most this many times the concurrency
# Each bot's requests in this many interleaved segments: a shared VM's neighbours come and go
# within a minute, and interleaving more finely lets both bots meet them alike.
SEGMENTS_PER_BOT = 4
GOAL_RATIO = 0.9
SETTLE = 1.0  # seconds (+ 5 LINE latencies) without a new reply: the rest were shed


class Process:
    """A child process in its own process group, stopped (group-wide) on exit."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, **kwargs) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=kwargs.pop("stdout", self.log),
            stderr=self.log,
            start_new_session=True,
            **kwargs,
        )

    def stop(self) -> None:
        stop_process_group(self.proc)
        self.log.close()


def serve_line(latency: float) -> None:
    """The LINE stand-in (run in its own process, so it shares no GIL with the load): the
    tests' fake LINE, every reply held `latency` seconds before it is answered."""
    from tests.fakeline import start_fake_line

    fake, _stop = start_fake_line()
    fake.keep_requests = False
    if latency > 0:
        fake.hold(REPLY, latency=latency)  # never released: each reply waits `latency`
    print(fake.base_url, flush=True)
    threading.Event().wait()


def start_line(tmp: Path, latency: float) -> tuple[Process, str]:
    args = [sys.executable, str(Path(__file__).resolve()), "--serve-line", str(latency)]
    line = Process(args, {}, tmp / "line.log", stdout=subprocess.PIPE, text=True)
    url = line.proc.stdout.readline().strip()
    if not url.startswith("http://"):
        raise RuntimeError(f"the LINE stand-in did not start: see {line.log.name}")
    return line, url


def procfile_web_command(procfile: Path = ROOT / "Procfile") -> list[str]:
    """The Procfile's `web:` command as arguments, `${VAR:-default}` taken at its default (the
    deployment's settings, not whatever this shell exports)."""
    for line in procfile.read_text(encoding="utf-8").splitlines():
        if line.startswith("web:"):
            command = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", line[len("web:") :])
            return shlex.split(command)
    raise RuntimeError(f"no web: line in {procfile}")


def server_args(app: str, port: int) -> list[str]:
    """The Procfile's web command for `app` on 127.0.0.1:`port`: only the app (the echo bot's
    module is found through --pythonpath) and the bind address are changed."""
    args = procfile_web_command()
    if args[0] != "gunicorn" or "bot:app" not in args:
        raise RuntimeError(f"the Procfile's web command is not `gunicorn … bot:app`: {args}")
    args = [sys.executable, "-m", "gunicorn", *args[1:]]
    args[args.index("bot:app")] = app
    for flag in ("--bind", "-b"):
        if flag in args:
            args[args.index(flag) + 1] = f"127.0.0.1:{port}"
            break
    else:
        args += ["--bind", f"127.0.0.1:{port}"]
    # Two servers side by side: neither may take the other's control socket (gunicorn ≥ 24).
    return [*args, "--no-control-socket", "--pythonpath", str(ROOT / "benchmarks")]


def start_server(name: str, app: str, env: dict[str, str], tmp: Path) -> tuple[Process, str]:
    port = free_port()
    server = Process(server_args(app, port), env, tmp / f"{name}.log")
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, server)
    return server, url


def wait_until_serving(url: str, server: Process, timeout: float = 60.0) -> None:
    """Until the workers answer (a signed empty body is the console's Verify: 200)."""
    body = callback_body()
    headers = {"X-Line-Signature": sign(body, SECRET)}
    deadline = time.monotonic() + timeout
    ok = 0
    while time.monotonic() < deadline and ok < 20:
        if server.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: see {server.log.name}")
        try:
            ok += requests.post(f"{url}/callback", data=body, headers=headers, timeout=5).ok
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    if ok < 20:
        raise RuntimeError(f"{url} did not come up")


def make_bodies(n: int) -> list[tuple[bytes, dict[str, str]]]:
    """A province's traffic: the question from staff in 200 agencies' groups, not one chat (a
    chat's events are answered one after another, as a group reads them)."""
    out = []
    for i in range(n):
        src = source("group", user_id=f"U{i % 997:032x}", chat_id=f"C{i % 200:032x}")
        body = callback_body(text_event("OIT ปิดวันไหน", src=src))
        out.append(
            (body, {"X-Line-Signature": sign(body, SECRET), "Content-Type": "application/json"})
        )
    return out


def send(url: str, bodies: list, concurrency: int) -> tuple[list[float], int]:
    """Send `bodies` with `concurrency` threads: (latency of each, non-200 count)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    index = iter(range(len(bodies)))

    def worker() -> None:
        nonlocal errors
        session, mine, bad = requests.Session(), [], 0
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            body, headers = bodies[i]
            started = time.perf_counter()
            response = session.post(f"{url}/callback", data=body, headers=headers, timeout=30)
            mine.append(time.perf_counter() - started)
            bad += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return latencies, errors


def replies_accepted(line_url: str) -> int:
    stats = requests.get(f"{line_url}/_fake/stats", timeout=5).json()
    return int(stats.get(f"{REPLY} 200", 0))


def wait_for_replies(line_url: str, count: int, settle: float) -> tuple[int, float]:
    """Poll the stand-in until it has accepted `count` replies in all, or until `settle`
    seconds pass without a new one (an event shed by a full backlog is never replied to):
    the replies accepted and when the last of them was seen (perf_counter)."""
    accepted, last_seen = replies_accepted(line_url), time.perf_counter()
    while accepted < count and time.perf_counter() - last_seen < settle:
        time.sleep(0.01)
        now = replies_accepted(line_url)
        if now > accepted:
            accepted, last_seen = now, time.perf_counter()
    return accepted, last_seen


def run_segment(url: str, line_url: str, n: int, concurrency: int, settle: float) -> dict:
    bodies = make_bodies(n)
    before = replies_accepted(line_url)
    started = time.perf_counter()
    latencies, errors = send(url, bodies, concurrency)
    answered = time.perf_counter() - started
    accepted, last_reply = wait_for_replies(line_url, before + n, settle)
    return {
        "latencies": latencies,
        "errors": errors,
        "answered_s": answered,
        "replied_s": max(last_reply - started, answered),
        "replies": accepted - before,
    }


def run_level(
    targets: dict[str, str], line_url: str, n: int, concurrency: int, settle: float
) -> dict[str, dict]:
    """Both bots at one concurrency, in segments ordered A B B A A B B A, so a machine that gets
    busier or quieter during the run (shared boxes do) weighs on both alike."""
    names = list(targets)
    order = (names + names[::-1]) * (SEGMENTS_PER_BOT // 2)
    segments: dict[str, list[dict]] = {name: [] for name in names}
    for name in names:
        run_segment(
            targets[name], line_url, min(WARM_UP, n // SEGMENTS_PER_BOT), concurrency, settle
        )
    for name in order:
        segments[name].append(
            run_segment(targets[name], line_url, n // SEGMENTS_PER_BOT, concurrency, settle)
        )
    rows = {}
    for name, runs in segments.items():
        latencies = [s for run in runs for s in run["latencies"]]
        answered_s = sum(run["answered_s"] for run in runs)
        replied_s = sum(run["replied_s"] for run in runs)
        rows[name] = {
            "concurrency": concurrency,
            "requests": len(latencies),
            "errors": sum(run["errors"] for run in runs),
            "replies_accepted": sum(run["replies"] for run in runs),
            "req_per_s": round(len(latencies) / answered_s, 1),
            "replied_per_s": round(len(latencies) / replied_s, 1),
            **summary_ms(latencies),
        }
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests per bot and level (c=1: 250)"
    )
    parser.add_argument(
        "--latency", type=float, default=100.0, help="ms the LINE stand-in takes per reply"
    )
    parser.add_argument("--levels", default="1,8,32", help="concurrency levels, comma-separated")
    parser.add_argument(
        "--db-dir",
        default="/dev/shm" if Path("/dev/shm").is_dir() else None,
        help="where the SQLite file lives (default: tmpfs, so the disk's fsync is not measured)",
    )
    parser.add_argument("--serve-line", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_line is not None:
        serve_line(args.serve_line)
        return 0
    levels = [int(c) for c in args.levels.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="itabot-bench-"))
    db_dir = Path(tempfile.mkdtemp(prefix="itabot-bench-db-", dir=args.db_dir))
    database_url = f"sqlite:///{db_dir / 'itabot.db'}"
    db.upgrade(database_url)
    db.engine_for(database_url).dispose()
    web = " ".join(procfile_web_command())
    print(f"Procfile web: {web}\nLINE stand-in: {args.latency:g} ms per reply", flush=True)

    processes: list[Process] = []
    results: dict[str, list[dict]] = {"echo_bot": [], "itabot": []}
    try:
        line, line_url = start_line(tmp, args.latency / 1000)
        processes.append(line)
        env = {
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": line_url,
            "DATABASE_URL": database_url,
            "ITABOT_SCHEDULER": "off",
            "LOG_LEVEL": "WARNING",
        }
        targets = {}
        for name, app in (("echo_bot", "echo_bot:app"), ("itabot", "bot:app")):
            server, targets[name] = start_server(name, app, env, tmp)
            processes.append(server)
        for concurrency in levels:
            # One request at a time, the echo bot waits on LINE for each: fewer keep it short.
            n = min(args.requests, PER_CONNECTION * concurrency)
            settle = SETTLE + 5 * args.latency / 1000
            for name, row in run_level(targets, line_url, n, concurrency, settle).items():
                results[name].append(row)
                print(
                    f"{name:<9} c={concurrency:<3} {row['req_per_s']:>7} req/s "
                    f"{row['replied_per_s']:>7} replied/s  p50 {row['p50_ms']:>7} ms  "
                    f"p99 {row['p99_ms']:>7} ms  errors {row['errors']}  "
                    f"replies {row['replies_accepted']}/{row['requests']}",
                    flush=True,
                )
    finally:
        for process in reversed(processes):
            process.stop()

    rows, verdict = [], {}
    for echo, bot in zip(results["echo_bot"], results["itabot"], strict=True):
        c = bot["concurrency"]
        ratio = bot["req_per_s"] / echo["req_per_s"]
        replied_ratio = bot["replied_per_s"] / echo["replied_per_s"]
        verdict[f"c{c}_throughput_ratio"] = round(ratio, 3)
        verdict[f"c{c}_replied_ratio"] = round(replied_ratio, 3)
        verdict[f"c{c}_every_event_replied"] = bot["replies_accepted"] == bot["requests"]
        rows.append(
            (
                c, echo["req_per_s"], bot["req_per_s"], f"{ratio:.2f}x",
                echo["replied_per_s"], bot["replied_per_s"], f"{replied_ratio:.2f}x",
                echo["p50_ms"], bot["p50_ms"], echo["p99_ms"], bot["p99_ms"],
            )
        )  # fmt: skip
    headers = (
        "conc", "echo req/s", "itabot req/s", "ratio", "echo replied/s", "itabot replied/s",
        "ratio", "echo p50", "itabot p50", "echo p99", "itabot p99",
    )  # fmt: skip
    print("\n" + table(rows, headers))
    if 8 in levels:
        met = min(verdict["c8_throughput_ratio"], verdict["c8_replied_ratio"]) >= GOAL_RATIO
        verdict["meets_c8_goal"] = met and verdict["c8_every_event_replied"]
        print(f"\ngoal ≥ {GOAL_RATIO}x the echo bot at c=8, every event replied: "
              f"{'met' if verdict['meets_c8_goal'] else 'NOT met'}")  # fmt: skip
    path = save(
        "webhook",
        {
            "benchmark": "POST /callback, the bot and the echo bot under the Procfile's web command",
            "procfile_web": web,
            "line_latency_ms": args.latency,
            "requests_per_level": args.requests,
            "event": "signed text message 'OIT ปิดวันไหน' from a user, distinct webhookEventId",
            "database": "SQLite (WAL) in a temp dir",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "load_average": os.getloadavg(),
            },
            "results": results,
            "verdict": verdict,
        },
    )
    print(f"results written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
