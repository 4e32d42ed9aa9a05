"""Memory and start-up of the Procfile's deployment, beside the echo bot under the same server.

The commands are the Procfile's own lines (`release`, `web`, `clock`), with PORT and
WEB_CONCURRENCY substituted, against SQLite in a temp dir and a fake LINE (tests/fakeline.py, in
this process) that accepts replies. For each deployment:

* start → first answer: from starting `gunicorn` to the fake LINE receiving the reply to a
  signed text message (posted again and again from the start, as LINE would be waiting), and the
  CPU the server's processes used by then (the wall clock of a shared machine moves with its
  neighbours' load; CPU time hardly does). Median of `--starts`, alternating the two bots;
* PSS of every process (gunicorn master, each worker, the clock) after 500 signed messages —
  realistic Thai questions, typos included — read from /proc/<pid>/smaps_rollup, once the clock
  has run a dispatch (the next whole minute);
* each answer's latency: POST → its reply at the fake LINE (the first ones are a cold worker's).

The clock starts once the web answers: on a PaaS it is its own dyno, not a rival for the web's
CPU during its start.

The echo bot (benchmarks/echo_bot.py) runs under the Procfile's `web` line with `bot:app`
replaced; it has no clock. Each gunicorn gets its own XDG_RUNTIME_DIR, so its control socket
does not meet another's. Goals: ≤ 250 MiB PSS in all, ≤ 1.2 s to the first answer.
Results are printed and saved in benchmarks/results/memory.json.

    .venv/bin/python benchmarks/bench_memory.py [--messages 500] [--starts 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from _common import ROOT, save, summary_ms, table  # also puts the project on sys.path

from tests.fakeline import FakeLine, callback_body, sign, source, start_fake_line, text_event
from tests.processes import free_port, procfile_command, stop_process_group

SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
WORKERS = 2
CONCURRENCY = 4
GOAL_PSS_MIB = 250.0
GOAL_START_S = 1.2
FIRST_QUESTION = "OIT ปิดวันไหน"
# What staff type: quick replies, plain questions, typos (the fuzzy fallback), who/when.
QUESTIONS = (
    "ลงทะเบียญปิดวันไหร",
    "กำหนดการถัดไป",
    "OIT ปิดวันไหน",
    "ตอนนี้อยู่ช่วงไหน",
    "พรุ่งนี้มีอะไรปิดบ้าง",
    "ตัวชี้วัดที่ 9 ใครรับผิดชอบ",
    "ลงทะเบียน ITAS ปิดวันไหน",
    "ชี้แจง OIT ถึงวันไหน",
    "ประกาศผลเมื่อไหร่",
    "IIT ปิดวันไหน",
    "EIT ปิดวันไหน",
    "สัปดาห์นี้มีอะไรปิด",
    "oitปิดวันไหนคะ",
    "OIT ปิดวันใหนครับ",
    "ขอถามหน่อยครับ OIT ต้องส่งภายในวันไหน",
    "อีไอทีเหลือกี่วันคะ",
    "ใครรับผิดชอบประชาสัมพันธ์",
    "ส่งลิงก์ OIT ให้จังหวัดภายในวันไหน",
    "ตรวจให้คะแนน OIT รอบ 2 เมื่อไหร่",
    "เดือนหน้ามีอะไรต้องทำบ้าง",
    "ลงทะเบีนยปิดวันไหน",
    "สวัสดีครับ",
    "help",
    "ขอบคุณครับ",
    "อีก ๗ วันมีอะไรปิดบ้าง",
)


# --- processes and their memory ----------------------------------------------------------


class Process:
    """A child in its own process group (gunicorn's master and workers), stopped group-wide."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        stop_process_group(self.proc)
        self._log.close()


def children(pid: int) -> list[int]:
    """Direct children of `pid` (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid …: comm may hold spaces or parentheses; split after the last ")"
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes have used so far: unlike the wall clock, hardly moved by
    what else the machine runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def memory_mib(pid: int) -> dict[str, float]:
    """PSS (shared pages split among the processes sharing them), RSS and the private part."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
            values[key] = int(rest.split()[0]) / 1024
    return {
        "pss": round(values["Pss"], 1),
        "rss": round(values["Rss"], 1),
        "private": round(values["Private_Clean"] + values["Private_Dirty"], 1),
    }


# --- talking to the webhook --------------------------------------------------------------


def post_question(url: str, text: str, user: int, fake: FakeLine, timeout: float = 30.0) -> float:
    """POST one signed question; seconds until its reply reached the fake LINE."""
    event = text_event(text, src=source("user", user_id="U" + f"{user:032x}"))
    token = event["replyToken"]
    body = callback_body(event)
    headers = {"X-Line-Signature": sign(body, SECRET), "Content-Type": "application/json"}
    started = time.perf_counter()
    response = requests.post(f"{url}/callback", data=body, headers=headers, timeout=timeout)
    if response.status_code != 200:
        raise RuntimeError(f"/callback answered {response.status_code}: {response.text[:200]}")
    if not fake.wait_for(lambda f: token in f.used_reply_tokens, timeout=timeout):
        raise RuntimeError(f"no reply reached LINE for {text!r}")
    return time.perf_counter() - started


def first_answer(url: str, fake: FakeLine, started: float, server: Process) -> tuple[float, float]:
    """Post the first question until the server takes it: (seconds from `started` to the reply
    at LINE, that request's own latency)."""
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"the server exited: see {server.log_path}")
        try:
            latency = post_question(url, FIRST_QUESTION, 0, fake)
            return time.perf_counter() - started, latency
        except requests.ConnectionError:
            time.sleep(0.005)


def ask_many(url: str, fake: FakeLine, n: int) -> list[float]:
    """`n` questions from a few staff, CONCURRENCY at a time, in order (typos early, so a cold
    worker's first fuzzy match is among the first answers)."""
    texts = [QUESTIONS[i % len(QUESTIONS)] for i in range(n)]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(
            pool.map(lambda it: post_question(url, it[1], 1 + it[0] % 7, fake), enumerate(texts))
        )


# --- one deployment ------------------------------------------------------------------------


def wait_for_dispatch(clock: Process, timeout: float = 150.0) -> None:
    """Until the clock has run its first dispatch: the first whole minute after it logged that
    it started, plus a few seconds for the dispatch itself."""
    deadline = time.monotonic() + timeout
    while "clock started" not in clock.log_path.read_text(errors="replace"):
        if clock.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the clock did not start: see {clock.log_path}")
        time.sleep(0.1)
    time.sleep(60 - time.time() % 60 + 5)


def echo_web(argv: list[str]) -> list[str]:
    """The Procfile's web command serving the echo bot instead of `bot:app`."""
    i = argv.index("bot:app")
    return [*argv[:i], "--pythonpath", str(ROOT / "benchmarks"), "echo_bot:app", *argv[i + 1 :]]


def run(name: str, env: dict[str, str], fake: FakeLine, tmp: Path, messages: int) -> dict:
    """Start the `web` line (the echo bot's, or the bot's and then its `clock`), time the first
    answer; with `messages`, ask them, let the clock dispatch once and read every process's
    memory. Stops everything."""
    port = free_port()
    runtime_dir = Path(tempfile.mkdtemp(dir=tmp))  # gunicorn's control socket, one per server
    web_env = {**env, "PORT": str(port), "WEB_CONCURRENCY": str(WORKERS),
               "XDG_RUNTIME_DIR": str(runtime_dir)}  # fmt: skip
    web_argv = procfile_command("web", web_env)
    if name == "echo bot":
        web_argv = echo_web(web_argv)
    processes: list[Process] = []
    try:
        started = time.perf_counter()
        web = Process(web_argv, web_env, runtime_dir / "web.log")
        processes.append(web)
        url = f"http://127.0.0.1:{port}"
        start_s, first_latency = first_answer(url, fake, started, web)
        result: dict = {
            "start_to_first_answer_s": round(start_s, 3),
            "start_cpu_s": round(cpu_seconds([web.proc.pid, *children(web.proc.pid)]), 3),
            "first_answer_latency_s": round(first_latency, 3),
        }
        if not messages:
            return result
        # Started after the web is up: on a PaaS it is its own dyno, not a rival for these CPUs.
        clock = None
        if name == "itabot":
            clock = Process(procfile_command("clock", env), env, runtime_dir / "clock.log")
            processes.append(clock)
        latencies = ask_many(url, fake, messages)
        result["answers"] = summary_ms(latencies)
        result["slowest_of_first_10_ms"] = round(max(latencies[:10]) * 1000, 1)
        if clock is not None:
            wait_for_dispatch(clock)
        pids = {"master": web.proc.pid}
        pids.update({f"worker {i}": pid for i, pid in enumerate(children(web.proc.pid), 1)})
        if clock is not None:
            pids["clock"] = clock.proc.pid
        result["processes"] = {label: memory_mib(pid) for label, pid in pids.items()}
        result["total_pss_mib"] = round(sum(p["pss"] for p in result["processes"].values()), 1)
        return result
    finally:
        for process in reversed(processes):
            process.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500, help="questions before measuring")
    parser.add_argument("--starts", type=int, default=3, help="starts timed per deployment")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="itabot-bench-memory-"))
    fake, stop_fake = start_fake_line()
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'itabot.db'}",
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": fake.base_url,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    names = ("itabot", "echo bot")
    try:
        subprocess.run(procfile_command("release", env), cwd=ROOT, env={**os.environ, **env},
                       check=True, capture_output=True)  # fmt: skip
        results: dict[str, dict] = {name: {"starts_s": [], "start_cpus_s": []} for name in names}
        # Starts alternate between the two, so a busier moment of the machine weighs on both.
        for i in range(args.starts):
            for name in names:
                last = i == args.starts - 1
                run_result = run(name, env, fake, tmp, args.messages if last else 0)
                results[name]["starts_s"].append(run_result["start_to_first_answer_s"])
                results[name]["start_cpus_s"].append(run_result["start_cpu_s"])
                if last:
                    results[name].update(run_result)
                print(
                    f"{name:<9} start → first answer {run_result['start_to_first_answer_s']:.2f} s"
                    f" ({run_result['start_cpu_s']:.2f} s of CPU; load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    finally:
        stop_fake()
    for result in results.values():
        result["start_median_s"] = round(statistics.median(result["starts_s"]), 3)
        result["start_cpu_median_s"] = round(statistics.median(result["start_cpus_s"]), 3)
    report(results)
    path = save(
        "memory",
        {
            "benchmark": "Procfile deployment: PSS after N signed questions, start → first answer",
            "messages": args.messages,
            "workers": WORKERS,
            "procfile": (ROOT / "Procfile").read_text(encoding="utf-8"),
            "database": "SQLite (WAL) in a temp dir",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "results": results,
        },
    )
    print(f"results written to {path.relative_to(ROOT)}")
    return 0


def report(results: dict[str, dict]) -> None:
    bot, echo = results["itabot"], results["echo bot"]
    labels = list(dict.fromkeys([*bot["processes"], *echo["processes"]]))
    rows = []
    for label in labels:
        b, e = bot["processes"].get(label), echo["processes"].get(label)
        rows.append(
            (
                label,
                b["pss"] if b else "-",
                b["rss"] if b else "-",
                e["pss"] if e else "-",
                e["rss"] if e else "-",
            )
        )
    rows.append(("total PSS", bot["total_pss_mib"], "", echo["total_pss_mib"], ""))
    print()
    print(table(rows, ("MiB", "itabot PSS", "itabot RSS", "echo PSS", "echo RSS")))
    print()
    rows = [
        (
            "start → first answer (median)",
            f"{bot['start_median_s']:.2f} s",
            f"{echo['start_median_s']:.2f} s",
        ),
        (
            "  CPU it took (median)",
            f"{bot['start_cpu_median_s']:.2f} s",
            f"{echo['start_cpu_median_s']:.2f} s",
        ),
        (
            "  each start",
            " ".join(f"{s:.2f}" for s in bot["starts_s"]),
            " ".join(f"{s:.2f}" for s in echo["starts_s"]),
        ),
        (
            "first answer's own latency",
            f"{bot['first_answer_latency_s'] * 1000:.0f} ms",
            f"{echo['first_answer_latency_s'] * 1000:.0f} ms",
        ),
        (
            "slowest of the first 10 answers",
            f"{bot['slowest_of_first_10_ms']:.0f} ms",
            f"{echo['slowest_of_first_10_ms']:.0f} ms",
        ),
        (
            "answer p50 / p99",
            f"{bot['answers']['p50_ms']:.0f} / {bot['answers']['p99_ms']:.0f} ms",
            f"{echo['answers']['p50_ms']:.0f} / {echo['answers']['p99_ms']:.0f} ms",
        ),
    ]
    print(table(rows, ("", "itabot", "echo bot")))
    print(
        f"\ngoals: ≤ {GOAL_PSS_MIB:.0f} MiB PSS in all: {bot['total_pss_mib']} MiB "
        f"({'met' if bot['total_pss_mib'] <= GOAL_PSS_MIB else 'NOT met'}); "
        f"≤ {GOAL_START_S} s to the first answer: {bot['start_median_s']} s "
        f"({'met' if bot['start_median_s'] <= GOAL_START_S else 'NOT met'})"
    )


if __name__ == "__main__":
    sys.exit(main())
