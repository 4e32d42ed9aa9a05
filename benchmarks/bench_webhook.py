"""POST /callback under `gunicorn -w 2`: throughput and p50/p99 latency at concurrency 1, 8, 32,
side by side with the minimal line-bot-sdk echo bot (benchmarks/echo_bot.py), both replying to
the same loopback fake LINE (tests/fakeline.py, in its own process).

Every request is a distinct, signed text-message event ("OIT ปิดวันไหน" from a user), so the
bot does all its work each time: signature, parse, the dedupe insert, the Thai answer, the Flex
reply. The load generator is Python threads with one `requests.Session` each; bodies are built
and signed before the clock starts; each level runs the two bots in quarters ordered
A B B A A B B A. Goal: ≥ 0.9× the echo bot's throughput, p99 ≤ 50 ms at 8.

    .venv/bin/python benchmarks/bench_webhook.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
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
from tests.fakeline import callback_body, sign, text_event
from tests.processes import free_port, stop_process_group

SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
LEVELS = (1, 8, 32)
WARM_UP = 100
# Each bot's requests in this many interleaved segments: a shared VM's neighbours come and go
# within a minute, and interleaving more finely lets both bots meet them alike.
SEGMENTS_PER_BOT = 4
GOAL_RATIO = 0.9
GOAL_P99_MS = 50.0


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


def start_fake_line(tmp: Path) -> tuple[Process, str]:
    fake = Process(
        [sys.executable, "-m", "tests.fakeline"],
        {},
        tmp / "fakeline.log",
        stdout=subprocess.PIPE,
        text=True,
    )
    url = fake.proc.stdout.readline().strip()
    if not url.startswith("http://"):
        raise RuntimeError("the fake LINE did not start")
    return fake, url


def start_gunicorn(name: str, app: str, env: dict[str, str], tmp: Path) -> tuple[Process, str]:
    port = free_port()
    args = [
        sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
        "--no-control-socket", "--pythonpath", str(ROOT / "benchmarks"), app,
    ]  # fmt: skip
    server = Process(args, env, tmp / f"{name}.log")
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, server)
    return server, url


def wait_until_serving(url: str, server: Process, timeout: float = 60.0) -> None:
    """Until both workers answer (a signed empty body is the console's Verify: 200)."""
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
    out = []
    for _ in range(n):
        body = callback_body(text_event("OIT ปิดวันไหน"))
        out.append(
            (body, {"X-Line-Signature": sign(body, SECRET), "Content-Type": "application/json"})
        )
    return out


def send(url: str, bodies: list, concurrency: int) -> tuple[list[float], int, float]:
    """Send `bodies` with `concurrency` threads: (latency of each, non-200 count, wall seconds)."""
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

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return latencies, errors, time.perf_counter() - started


def run_level(targets: dict[str, str], fake_url: str, n: int, concurrency: int) -> dict[str, dict]:
    """Both bots at one concurrency, in quarters ordered A B B A A B B A, so a machine that gets
    busier or quieter during the run (shared CI boxes do) weighs on both alike."""
    names = list(targets)
    order = (names + names[::-1]) * (SEGMENTS_PER_BOT // 2)
    samples: dict[str, list[float]] = {name: [] for name in names}
    totals = {name: {"errors": 0, "seconds": 0.0, "replies": 0} for name in names}
    for name in names:
        send(targets[name], make_bodies(WARM_UP), concurrency)
    for name in order:
        before = replies_accepted(fake_url)
        latencies, errors, seconds = send(
            targets[name], make_bodies(n // SEGMENTS_PER_BOT), concurrency
        )
        time.sleep(0.3)  # a background reply still in flight lands before counting
        samples[name] += latencies
        totals[name]["errors"] += errors
        totals[name]["seconds"] += seconds
        totals[name]["replies"] += replies_accepted(fake_url) - before
    rows = {}
    for name in names:
        t = totals[name]
        rows[name] = {
            "concurrency": concurrency,
            "requests": len(samples[name]),
            "errors": t["errors"],
            "seconds": round(t["seconds"], 3),
            "req_per_s": round(len(samples[name]) / t["seconds"], 1),
            **summary_ms(samples[name]),
            "replies_accepted": t["replies"],
        }
    return rows


def replies_accepted(fake_url: str) -> int:
    stats = requests.get(f"{fake_url}/_fake/stats", timeout=5).json()
    return int(stats.get("/v2/bot/message/reply 200", 0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
    parser.add_argument(
        "--db-dir",
        default="/dev/shm" if Path("/dev/shm").is_dir() else None,
        help="where the SQLite file lives (default: tmpfs, so the disk's fsync is not measured)",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="itabot-bench-"))
    db_dir = Path(tempfile.mkdtemp(prefix="itabot-bench-db-", dir=args.db_dir))
    database_url = f"sqlite:///{db_dir / 'itabot.db'}"
    db.upgrade(database_url)
    db.engine_for(database_url).dispose()

    processes: list[Process] = []
    try:
        fake, fake_url = start_fake_line(tmp)
        processes.append(fake)
        env = {
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": fake_url,
            "DATABASE_URL": database_url,
            "ITABOT_SCHEDULER": "off",
            "LOG_LEVEL": "WARNING",
        }
        echo, echo_url = start_gunicorn("echo_bot", "echo_bot:app", env, tmp)
        processes.append(echo)
        itabot, itabot_url = start_gunicorn("itabot", "bot:app", env, tmp)
        processes.append(itabot)

        results: dict[str, list[dict]] = {"echo_bot": [], "itabot": []}
        targets = {"echo_bot": echo_url, "itabot": itabot_url}
        for concurrency in LEVELS:
            for name, row in run_level(targets, fake_url, args.requests, concurrency).items():
                results[name].append(row)
                print(
                    f"{name:<9} c={concurrency:<3} {row['req_per_s']:>8} req/s  "
                    f"p50 {row['p50_ms']:>7} ms  p99 {row['p99_ms']:>7} ms  "
                    f"errors {row['errors']}  replies {row['replies_accepted']}",
                    flush=True,
                )
    finally:
        for process in reversed(processes):
            process.stop()

    rows = []
    verdict = {}
    for echo_row, bot_row in zip(results["echo_bot"], results["itabot"], strict=True):
        ratio = bot_row["req_per_s"] / echo_row["req_per_s"]
        c = bot_row["concurrency"]
        verdict[f"c{c}_throughput_ratio"] = round(ratio, 3)
        rows.append(
            (
                c,
                echo_row["req_per_s"], bot_row["req_per_s"], f"{ratio:.2f}x",
                echo_row["p50_ms"], bot_row["p50_ms"], echo_row["p99_ms"], bot_row["p99_ms"],
            )
        )  # fmt: skip
    p99_c8 = next(r["p99_ms"] for r in results["itabot"] if r["concurrency"] == 8)
    verdict["c8_p99_ms"] = p99_c8
    verdict["meets_throughput_goal"] = all(
        v >= GOAL_RATIO for k, v in verdict.items() if k.endswith("_ratio")
    )
    verdict["meets_p99_goal"] = p99_c8 <= GOAL_P99_MS
    print()
    print(
        table(
            rows,
            (
                "conc",
                "echo req/s",
                "itabot req/s",
                "ratio",
                "echo p50",
                "itabot p50",
                "echo p99",
                "itabot p99",
            ),
        )
    )
    print(
        f"\ngoal ≥ {GOAL_RATIO}x echo throughput: {'met' if verdict['meets_throughput_goal'] else 'NOT met'}; "
        f"p99 at c=8 ≤ {GOAL_P99_MS:.0f} ms: {p99_c8} ms ({'met' if verdict['meets_p99_goal'] else 'NOT met'})"
    )
    path = save(
        "webhook",
        {
            "benchmark": "POST /callback under gunicorn -w 2 (sync workers), loopback fake LINE",
            "requests_per_level": args.requests,
            "event": "signed text message 'OIT ปิดวันไหน' from a user, distinct webhookEventId",
            "database": "SQLite (WAL) in a temp dir",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "results": results,
            "verdict": verdict,
        },
    )
    print(f"results written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
