"""Reminders at scale: plan and dispatch for 10,000 bound chats on SQLite, against a loopback
LINE stand-in (an asyncio HTTP server in its own process, benchmarks/line_stand_in.py).

The moment is 23 June 2569 08:30 Bangkok: every chat is due its 7-day reminders of the national
OIT/IIT closing (30 June), so every chat gets one push (3 bubbles). Agencies are spread over
five provinces, Surin (with its overlay) and Phetchaburi (one agency with its own plan) among
them. Figures: the planner alone (pure, on chats already loaded), the whole dispatch (load
chats, plan, claim in the ledger, lease, push, mark), pushes/s, peak memory.

Three runs of the same dispatcher:

* `instant` — an in-process gateway that answers 200 at once: the dispatcher's own cost (ledger,
  leases, marks, the rate cap), with no HTTP at all;
* `sdk-1-process` — `itabot.line.client.make_line_gateway` (line-bot-sdk), the dispatcher sending
  alone: one process tops out near 1,000 pushes/s (~0.8 ms of CPU per push in the SDK,
  urllib3 and http.client, under one GIL);
* `sdk` — what ships: the same client, with `ITABOT_REMINDER_PROCESSES=auto` (one per CPU, at
  most 4) — helper processes lease and send beside the dispatcher (itabot.reminders.helpers).
  They are forked here, as under `reminders send` (the bench runs no other thread), start
  sending as the first claim batch commits, and their start-up is inside the measured time.

CPU seconds of the dispatcher process and its helpers and the load average are recorded beside
the wall times: on a small shared machine the stand-in, the client threads and other jobs
compete for cores.

The dispatcher caps itself at 1,950 pushes/s (LINE allows 2,000), so 10,000 pushes cannot take
less than ~5.1 s. Goals: end to end ≤ 10 s, planner alone ≤ 1 s.

    .venv/bin/python benchmarks/bench_reminders.py [--chats 10000] [--workers 16]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import platform
import resource
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import line_stand_in
import urllib3
from _common import save, table  # also puts the project on sys.path
from sqlalchemy import func, insert, select

from itabot.calendars.model import Calendars
from itabot.calendars.names import agency_key
from itabot.calendars.thai_dates import BANGKOK
from itabot.config import PROJECT_ROOT, Settings, parse_processes
from itabot.line.client import PushOutcome, PushResult, make_line_gateway
from itabot.reminders import dispatch as rd
from itabot.reminders.dispatch import dispatch
from itabot.reminders.helpers import start_method
from itabot.reminders.ledger import load_chats
from itabot.reminders.planner import ReminderDefaults, plan
from itabot.storage import db
from itabot.storage.models import Agency, Chat, Push, Reminder

AT_ISO = "2026-06-23T08:30:00+07:00"
TOKEN = "bench-access-token"
GOAL_E2E_S = 10.0
GOAL_PLANNER_S = 1.0
RUNS = (("instant", 1), ("sdk-1-process", 1), ("sdk", parse_processes("auto")))
PROVINCES = ("สุรินทร์", "เพชรบุรี", "บุรีรัมย์", "ศรีสะเกษ", "สระบุรี")
KINDS = (
    "องค์การบริหารส่วนตำบล{}",
    "เทศบาลตำบล{}",
    "สำนักงานสาธารณสุขอำเภอ{}",
    "โรงเรียนบ้าน{}",
)


# --- the LINE stand-in (its own process: benchmarks/line_stand_in.py) ---------------------


def start_stand_in() -> tuple[str, mp.Process]:
    return line_stand_in.start()


def stand_in_stats(base_url: str) -> dict[str, int]:
    return json.loads(urllib3.request("GET", f"{base_url}/__stats").data)


# --- LINE answering at once -------------------------------------------------------------


class InstantGateway:
    """LINE answering 200 at once, in process: what the dispatcher itself costs."""

    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult:
        return PushResult(PushOutcome.SENT, 200, 1)

    def quota_remaining(self) -> int | None:
        return None

    def member_count(self, chat_id: str, chat_type: str) -> int:
        return 1


# --- data --------------------------------------------------------------------------------


def seed(url: str, chats: int) -> dict[str, int]:
    """`chats` bound chats, four per agency (groups, one in ten a 1:1 user chat)."""
    agencies = []
    n_agencies = max(1, chats // 4)
    for i in range(n_agencies):
        province = PROVINCES[i % len(PROVINCES)]
        name = KINDS[i % len(KINDS)].format(f"ที่{i}")
        if i == 1:
            name = "องค์การบริหารส่วนตำบลหนองพลับ"  # has its own plan (agency-nongphlap-2569)
        agencies.append(
            {"id": i + 1, "province": province, "name": name, "name_key": agency_key(name)}
        )
    rows = []
    for c in range(chats):
        kind = "user" if c % 10 == 9 else "group"
        prefix = "U" if kind == "user" else "C"
        rows.append(
            {
                "id": f"{prefix}{c:032x}",
                "type": kind,
                "active": True,
                "agency_id": (c % n_agencies) + 1,
                "remind_enabled": True,
            }
        )
    engine = db.engine_for(url)
    with engine.begin() as conn:
        conn.execute(insert(Agency), agencies)
        conn.execute(insert(Chat), rows)
    engine.dispose()
    return {"agencies": n_agencies, "chats": chats}


def fresh_copy(template: Path, directory: Path, name: str) -> str:
    target = directory / f"{name}.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


# --- measuring ---------------------------------------------------------------------------


def measure_planner(url: str, calendars: Calendars, now, defaults) -> dict[str, Any]:
    sessions = db.session_factory(url)
    t0 = time.perf_counter()
    chats = load_chats(sessions)
    t1 = time.perf_counter()
    due = plan(calendars, chats, now, defaults)
    t2 = time.perf_counter()
    tracemalloc.start()
    plan(calendars, chats, now, defaults)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "chats_loaded": len(chats),
        "reminders_due": len(due),
        "load_chats_s": round(t1 - t0, 3),
        "planner_s": round(t2 - t1, 3),
        "planner_peak_mib_tracemalloc": round(peak / 2**20, 1),
    }


class StepTimer:
    """Times the dispatcher's steps by wrapping the module functions dispatch() calls."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> StepTimer:
        for name in ("plan_from_db", "claim_due", "send_and_settle"):
            original = getattr(rd, name)
            self._saved[name] = original

            def timed(*args, _name=name, _original=original, **kwargs):
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.times[_name] = round(time.perf_counter() - start, 3)

            setattr(rd, name, timed)
        return self

    def __exit__(self, *exc: Any) -> None:
        for name, original in self._saved.items():
            setattr(rd, name, original)


def _cpu_seconds() -> float:
    """This process and its finished children (the sending helpers, joined by dispatch)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def run_dispatch(
    name: str,
    url: str,
    gateway,
    calendars,
    settings,
    now,
    workers: int,
    base_url: str,
    processes: int = 1,
) -> dict[str, Any]:
    before = stand_in_stats(base_url)
    load_before = os.getloadavg()[0]
    start = start_method() if processes > 1 else None
    with StepTimer() as steps:
        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        report = dispatch(
            url,
            gateway,
            calendars,
            settings,
            now,
            f"bench-{name}",
            max_workers=workers,
            processes=processes,
        )
        elapsed, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    after = stand_in_stats(base_url)
    over_http = name != "instant"
    with db.session_scope(url) as session:
        statuses = dict(
            session.execute(select(Push.status, func.count()).group_by(Push.status)).all()
        )
        ledger_rows = session.scalar(select(func.count()).select_from(Reminder))
    return {
        "client": name,
        "sending_processes": processes,
        "helper_start_method": start,
        "end_to_end_s": round(elapsed, 3),
        "steps_s": steps.times,
        "pushes_sent": report.sent,
        "pushes_per_s": round(report.sent / elapsed, 1),
        "dispatcher_cpu_s": round(cpu, 3),
        "dispatcher_cpu_ms_per_push": round(cpu * 1000 / max(report.sent, 1), 3),
        "load_average_1min_before": round(load_before, 2),
        "line_accepted": (after["pushes"] - before["pushes"]) if over_http else report.sent,
        "line_duplicates_409": (after["duplicates"] - before["duplicates"])
        if over_http
        else report.duplicates,
        "push_status": statuses,
        "ledger_rows": ledger_rows,
        "report": report.to_dict(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=rd.MAX_WORKERS)
    parser.add_argument(
        "--tmpfs",
        action="store_true",
        help="SQLite on /dev/shm: every commit is an fsync (~5 ms on this VM's disk) otherwise",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # "pool is full" at 16 > SDK's 10

    from datetime import datetime

    now = datetime.fromisoformat(AT_ISO).astimezone(BANGKOK)
    calendars = Calendars.load(PROJECT_ROOT / "schedules")
    base_url, server = start_stand_in()
    settings_kw = {"line_channel_access_token": TOKEN, "line_api_base_url": base_url}
    results: dict[str, Any] = {
        "machine": f"{platform.python_implementation()} {platform.python_version()}, "
        f"{mp.cpu_count()} CPU, {platform.system()}",
        "moment": AT_ISO,
        "workers": args.workers,
        "rate_cap_per_s": rd.RATE_PER_SECOND,
        "sqlite_on": "tmpfs (/dev/shm)" if args.tmpfs else "disk",
    }
    where = "/dev/shm" if args.tmpfs else None
    with tempfile.TemporaryDirectory(prefix="bench-reminders-", dir=where) as tmp:
        template = Path(tmp) / "template.db"
        template_url = f"sqlite:///{template}"
        db.upgrade(template_url)
        results["data"] = seed(template_url, args.chats)
        db.engine_for(template_url).dispose()

        url = fresh_copy(template, Path(tmp), "planner")
        defaults = ReminderDefaults.from_settings(Settings(database_url=url))
        results["planner"] = measure_planner(url, calendars, now, defaults)

        runs = []
        for name, processes in RUNS:
            url = fresh_copy(template, Path(tmp), name)
            settings = Settings(database_url=url, reminder_processes=processes, **settings_kw)
            gateway = InstantGateway() if name == "instant" else make_line_gateway(settings)
            runs.append(
                run_dispatch(
                    name, url, gateway, calendars, settings, now, args.workers, base_url, processes
                )
            )
            db.engine_for(url).dispose()
        results["dispatch"] = runs
    server.terminate()
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    e2e = {r["client"]: r["end_to_end_s"] for r in runs}
    results["goals"] = {
        "planner_le_1s": results["planner"]["planner_s"] <= GOAL_PLANNER_S,
        "end_to_end_le_10s_instant_line": e2e["instant"] <= GOAL_E2E_S,
        "end_to_end_le_10s_shipped": e2e["sdk"] <= GOAL_E2E_S,
        "each_chat_exactly_one_delivery": all(
            r["line_accepted"] == args.chats and r["line_duplicates_409"] == 0 for r in runs
        ),
    }
    path = save("reminders", results)
    print_table(results)
    print(f"\nsaved {path.relative_to(PROJECT_ROOT)}")
    return 0 if results["goals"]["each_chat_exactly_one_delivery"] else 1


def print_table(results: dict[str, Any]) -> None:
    p = results["planner"]
    print(
        f"{results['data']['chats']:,} chats ({results['data']['agencies']:,} agencies), "
        f"{p['reminders_due']:,} reminders due at {results['moment']}; {results['machine']}; "
        f"SQLite on {results['sqlite_on']}"
    )
    rows = [
        ("load chats (DB)", f"{p['load_chats_s']:.3f} s", ""),
        ("planner alone", f"{p['planner_s']:.3f} s", f"goal ≤ {GOAL_PLANNER_S:.0f} s"),
        ("planner peak (tracemalloc)", f"{p['planner_peak_mib_tracemalloc']} MiB", ""),
    ]
    for r in results["dispatch"]:
        s = r["steps_s"]
        rows += [
            (
                f"dispatch [{r['client']}] end to end",
                f"{r['end_to_end_s']:.3f} s",
                f"goal ≤ {GOAL_E2E_S:.0f} s",
            ),
            (
                "  plan+load / claim / send",
                f"{s.get('plan_from_db')} / {s.get('claim_due')} / {s.get('send_and_settle')} s",
                "",
            ),
            ("  pushes/s", f"{r['pushes_per_s']:,}", f"cap {results['rate_cap_per_s']:,.0f}/s"),
            (
                "  dispatcher CPU",
                f"{r['dispatcher_cpu_s']} s ({r['dispatcher_cpu_ms_per_push']} ms/push)",
                f"load {r['load_average_1min_before']}",
            ),
            ("  LINE accepted / 409", f"{r['line_accepted']:,} / {r['line_duplicates_409']}", ""),
        ]
    rows.append(("peak RSS (whole run)", f"{results['peak_rss_mib']} MiB", ""))
    print(table(rows, ("measure", "value", "note")))
    print("goals:", ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in results["goals"].items()))


if __name__ == "__main__":
    raise SystemExit(main())
