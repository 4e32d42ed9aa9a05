"""Admin commands and chat context on SQLite: an admin command end to end through the console
(`python -m itabot chat …`, a new process each time: Python start-up, imports, calendars, one
transaction), the same commands in-process (`router.handle_message`), and resolving a bound
chat's context for a question with 1,000 agencies and 5,000 chats. Goal: context ≤ 2 ms p99."""

from __future__ import annotations

import gc
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, save, summary_ms, table

from itabot.calendars.model import Calendars
from itabot.calendars.names import agency_key, agency_kind, province_names
from itabot.calendars.thai_dates import BANGKOK
from itabot.config import Settings
from itabot.router import Services, handle_message, resolve_context
from itabot.storage import db
from itabot.storage.models import Agency, Chat

ADMIN = "U" + "0123456789abcdef" * 2
NOW_ISO = "2026-06-20T09:00"
CONSOLE_RUNS = 30
INPROCESS_RUNS = 500
LOOKUPS = 5_000
AGENCIES = 1_000
CHATS = 5_000
GOAL_CONTEXT_P99_MS = 2.0


def _now():
    from datetime import datetime

    return datetime(2026, 6, 20, 9, 0, tzinfo=BANGKOK)


def seed(url: str) -> tuple[list[str], list[str]]:
    """1,000 agencies over the 77 provinces; 5,000 chats, four in five bound."""
    rng = random.Random(5)
    provinces = province_names()
    rows = []
    for i in range(AGENCIES):
        name = f"องค์การบริหารส่วนตำบลทดสอบ{i:04d}"
        rows.append(
            {
                "province": provinces[i % len(provinces)],
                "name": name,
                "name_key": agency_key(name),
                "kind": agency_kind(name),
                "created_at": _now(),
            }
        )
    with db.session_scope(url) as session:
        session.execute(Agency.__table__.insert(), rows)
        ids = list(session.scalars(Agency.__table__.select().with_only_columns(Agency.id)))
        chats = []
        for i in range(CHATS):
            chat_id = f"C{i:032x}"
            chats.append(
                {
                    "id": chat_id,
                    "type": "group",
                    "active": True,
                    "agency_id": rng.choice(ids) if i % 5 else None,
                    "remind_enabled": True,
                    "created_at": _now(),
                    "updated_at": _now(),
                }
            )
        session.execute(Chat.__table__.insert(), chats)
    bound = [c["id"] for c in chats if c["agency_id"] is not None]
    unbound = [c["id"] for c in chats if c["agency_id"] is None]
    return bound, unbound


def bench_console(url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "ITABOT_ADMIN_IDS": ADMIN}
    samples = []
    for i in range(CONSOLE_RUNS):
        text = f"/agency add สุรินทร์ อบต.คอนโซล{i:03d}"
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "itabot", "chat", "--at", NOW_ISO, "--user", ADMIN, text],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        samples.append(time.perf_counter() - started)
        if result.returncode != 0 or "เพิ่มหน่วยงาน" not in result.stdout:
            raise SystemExit(f"console run failed: {result.stdout}\n{result.stderr}")
    return summary_ms(samples)


def bench_inprocess(services: Services) -> dict:
    group = "C" + "f" * 32
    commands = [
        lambda i: f"/agency add สระบุรี อบต.ในโปรเซส{i:04d}",
        lambda i: f"/bind สระบุรี อบต.ในโปรเซส{i:04d}",
        lambda i: f"/remind days {i % 7 + 1},1,0",
        lambda i: "/remind time 08:00",
        lambda _i: "/whoami",
    ]
    samples = []
    for i in range(INPROCESS_RUNS):
        text = commands[i % len(commands)](i - i % len(commands))
        started = time.perf_counter()
        reply = handle_message(
            text, services=services, now=_now(), user_id=ADMIN, chat_id=group, chat_type="group"
        )
        samples.append(time.perf_counter() - started)
        if reply.extra.get("outcome") not in {"ok", None}:
            raise SystemExit(f"{text}: {reply.text}")
    return summary_ms(samples)


def bench_context(services: Services, bound: list[str], unbound: list[str]) -> dict:
    url = services.settings.database_url
    rng = random.Random(7)
    picks = [rng.choice(bound) if i % 5 else rng.choice(unbound) for i in range(LOOKUPS)]
    samples, cpu = [], []
    seen_province = 0
    for chat_id in picks[:50]:  # warm the pool and SQLAlchemy's statement cache
        with db.session_scope(url) as session:
            resolve_context(session, services.settings, now=_now(), chat_id=chat_id)
    gc.collect()
    for chat_id in picks:
        started, started_cpu = time.perf_counter(), time.process_time()
        with db.session_scope(url) as session:
            ctx = resolve_context(
                session,
                services.settings,
                now=_now(),
                user_id="U" + "1" * 32,
                chat_id=chat_id,
                chat_type="group",
            )
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        seen_province += ctx.province is not None
    assert seen_province >= LOOKUPS * 0.7, seen_province
    # Wall time is what a user waits; on a shared machine its p99 is other processes' noise,
    # so the CPU time of the same calls is kept beside it.
    cpu_summary = summary_ms(cpu)
    return {
        **summary_ms(samples),
        "cpu_p50_ms": cpu_summary["p50_ms"],
        "cpu_p99_ms": cpu_summary["p99_ms"],
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db.upgrade(url)
        started = time.perf_counter()
        bound, unbound = seed(url)
        seed_s = time.perf_counter() - started
        settings = Settings(database_url=url, admin_ids=frozenset({ADMIN}))
        services = Services(settings=settings, calendars=Calendars.load(settings.schedules_dir))

        context = bench_context(services, bound, unbound)
        inprocess = bench_inprocess(services)
        console = bench_console(url)
        db.engine_for(url).dispose()

    results = {
        "database": "sqlite",
        "agencies": AGENCIES,
        "chats": CHATS,
        "seed_s": round(seed_s, 2),
        "context_resolution": context,
        "admin_command_in_process": inprocess,
        "admin_command_console_process": console,
        "goal_context_p99_ms": GOAL_CONTEXT_P99_MS,
        "goal_met": context["p99_ms"] <= GOAL_CONTEXT_P99_MS,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    rows = [
        ("bound chat context (resolve_context)", *_cells(context)),
        ("admin command, handle_message", *_cells(inprocess)),
        ("admin command, python -m itabot chat", *_cells(console)),
    ]
    print(
        f"SQLite, {AGENCIES:,} agencies, {CHATS:,} chats (seeded in {seed_s:.1f} s)\n"
        + table(rows, ("what", "n", "p50 ms", "p99 ms", "mean ms", "max ms"))
    )
    verdict = "met" if results["goal_met"] else "NOT met"
    print(
        f"goal: context p99 ≤ {GOAL_CONTEXT_P99_MS} ms — {verdict} "
        f"(CPU time p99 {context['cpu_p99_ms']} ms; load average {results['load_average_1m']} "
        f"on {results['cpus']} CPUs)"
    )
    print(f"saved {save('admin', results)}")
    return 0 if results["goal_met"] else 1


def _cells(s: dict) -> tuple:
    return (s["n"], s["p50_ms"], s["p99_ms"], s["mean_ms"], s["max_ms"])


if __name__ == "__main__":
    sys.exit(main())
