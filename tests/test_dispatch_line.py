"""The dispatcher with the real LINE client (`make_line_gateway`) against the fake LINE HTTP
server (tests/fakeline.py), and `python -m itabot reminders send|plan` as processes: what LINE
receives is what users receive."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import Counter

import pytest

from itabot.cli import main as cli_main
from itabot.config import PROJECT_ROOT, Settings
from itabot.line.client import make_line_gateway
from itabot.reminders.dispatch import dispatch
from tests.conftest import SCHEDULES, bkk
from tests.test_reminder_support import CrashAfterDelivery, bind_chat, ledger, pushes

pytest_plugins = ["tests.fakeline"]

PUSH = "/v2/bot/message/push"
TOKEN = "test-access-token"
ADMIN = "Uadmin0000000000000000000000000001"
GROUP = "Cgroup000000000000000000000000001"
AT = bkk(2026, 6, 23, 8, 30)


@pytest.fixture
def line_settings(database_url, fake_line) -> Settings:
    return Settings(
        database_url=database_url,
        schedules_dir=SCHEDULES,
        admin_ids=frozenset({ADMIN}),
        line_channel_access_token=TOKEN,
        line_api_base_url=fake_line.base_url,
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def gateway(line_settings, sleeps):
    return make_line_gateway(line_settings, sleep=sleeps.append)  # backoff recorded, not slept


def send(line_settings, gateway, calendars, at=AT):
    return dispatch(line_settings.database_url, gateway, calendars, line_settings, at, "t")


def env_for(line_settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=line_settings.database_url,
        LINE_API_BASE_URL=line_settings.line_api_base_url,
        LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
        ITABOT_SCHEDULES_DIR=str(SCHEDULES),
        ITABOT_ADMIN_IDS=ADMIN,
        LOG_LEVEL="WARNING",
    )
    return env


def test_line_answering_500_twice_then_200_delivers_once_with_one_retry_key(
    line_settings, gateway, calendars, fake_line, sleeps
):
    bind_chat(line_settings.database_url, GROUP)
    fake_line.fail_next(2, 500, path=PUSH)
    report = send(line_settings, gateway, calendars)
    assert report.sent == 1
    calls = fake_line.calls(PUSH)
    assert [c.status for c in calls] == [500, 500, 200]
    assert len({c.retry_key for c in calls}) == 1
    assert calls[0].retry_key == pushes(line_settings.database_url)[0].retry_key
    assert len(fake_line.pushes) == 1
    assert sleeps == [1.0, 2.0]  # line.py's backoff, never slept in a test
    alt = fake_line.pushes[0].messages[0]["altText"]
    assert "OIT: ตอบและอนุมัติข้อมูลตามแบบวัด OIT — ปิด 30 มิ.ย. 2569 เวลา 17.00 น. (อีก 7 วัน)" in alt


def test_killed_after_line_accepted_the_next_dispatch_gets_409_and_records_one_delivery(
    line_settings, gateway, calendars, fake_line
):
    bind_chat(line_settings.database_url, GROUP)
    with pytest.raises(SystemExit):
        dispatch(
            line_settings.database_url,
            CrashAfterDelivery(gateway),
            calendars,
            line_settings,
            AT,
            "doomed",
            max_workers=1,
        )
    assert pushes(line_settings.database_url)[0].status == "pending"
    report = send(line_settings, gateway, calendars)
    assert (report.duplicates, report.sent) == (1, 0)
    assert [c.status for c in fake_line.calls(PUSH)] == [200, 409]
    assert len(fake_line.pushes) == 1  # one delivery
    assert {r.status for r in ledger(line_settings.database_url)} == {"sent"}


def test_a_400_is_not_retried_and_is_logged(line_settings, gateway, calendars, fake_line, caplog):
    bind_chat(line_settings.database_url, GROUP)
    fake_line.fail_next(1, 400, path=PUSH)
    with caplog.at_level(logging.ERROR):
        assert send(line_settings, gateway, calendars).failed == 1
    assert len(fake_line.calls(PUSH)) == 1
    assert any("rejected" in r.getMessage() and GROUP in r.getMessage() for r in caplog.records)
    assert send(line_settings, gateway, calendars, bkk(2026, 6, 23, 9, 0)).sent == 0
    assert len(fake_line.calls(PUSH)) == 1


def test_the_quota_line_reports_decides_and_admins_hear_once(
    line_settings, gateway, calendars, fake_line
):
    bind_chat(line_settings.database_url, GROUP)
    fake_line.quota = {"type": "limited", "value": 50}
    fake_line.consumption = 45  # 5 left; the group has 30 members
    fake_line.member_counts[GROUP] = 30
    first = send(line_settings, gateway, calendars)
    second = send(line_settings, gateway, calendars, bkk(2026, 6, 23, 9, 0))
    assert (first.over_quota, first.quota_notice, second.quota_notice) == (1, True, False)
    [notice] = fake_line.pushes
    assert notice.json["to"] == ADMIN
    assert "โควตาข้อความ LINE" in notice.messages[0]["text"]


def test_unlimited_quota_pushes_without_counting_members(
    line_settings, gateway, calendars, fake_line
):
    bind_chat(line_settings.database_url, GROUP)
    fake_line.quota = {"type": "none"}
    assert send(line_settings, gateway, calendars).sent == 1
    assert not any("members/count" in c.path for c in fake_line.calls())


# `python -m itabot reminders send …`, but both processes start dispatching at the same moment:
# each imports everything, then waits at a file barrier for the other (Python's start-up time
# would otherwise let the first finish before the second begins, and nothing would race).
RACE_START = """
import pathlib, sys, time
import itabot.reminders.commands, itabot.line.client, itabot.cli
barrier, me = pathlib.Path(sys.argv[1]), sys.argv[2]
(barrier / me).touch()
deadline = time.monotonic() + 60
while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
    time.sleep(0.001)
sys.exit(itabot.cli.main(sys.argv[3:]))
"""


def test_two_dispatcher_processes_at_once_deliver_each_reminder_once(
    line_settings, fake_line, tmp_path
):
    url = line_settings.database_url
    fake_line.quota = {"type": "none"}  # this test is about the race, not the quota
    chats = [bind_chat(url, f"Cgroup{i:03d}") for i in range(300)]
    bind_chat(url, "Uuser0001", chat_type="user", agency="สำนักงานจังหวัดสุรินทร์")
    chats.append("Uuser0001")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    args = ["reminders", "send", "--at", "2026-06-23T08:30"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_START, str(barrier), f"p{i}", *args],
            cwd=PROJECT_ROOT,
            env=env_for(line_settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    delivered = Counter(r.json["to"] for r in fake_line.pushes)
    assert delivered == Counter(chats)  # each chat exactly one accepted push
    rows = ledger(url)
    assert {r.status for r in rows} == {"sent"}
    assert len(rows) == len({(r.chat_id, r.phase, r.offset_days) for r in rows})
    assert all("sent=" in out for out, _err in outputs)


def test_cli_plan_prints_what_would_go_out_and_writes_nothing(
    line_settings, fake_line, monkeypatch, capsys
):
    bind_chat(line_settings.database_url, GROUP)
    for key, value in env_for(line_settings).items():
        monkeypatch.setenv(key, value)
    assert cli_main(["reminders", "plan", "--at", "2026-06-23T08:30"]) == 0
    out = capsys.readouterr().out
    assert "2 reminder(s) due for 1 chat(s)" in out
    assert GROUP in out and "national-2569/oit-answer fy2569 offset 7" in out
    assert "ปิด 30 มิ.ย. 2569 เวลา 17.00 น. (อีก 7 วัน)" in out
    assert ledger(line_settings.database_url) == [] and pushes(line_settings.database_url) == []
    assert fake_line.calls() == []


def test_cli_send_dispatches_once_and_says_what_it_did(
    line_settings, fake_line, monkeypatch, capsys
):
    bind_chat(line_settings.database_url, GROUP)
    for key, value in env_for(line_settings).items():
        monkeypatch.setenv(key, value)
    assert cli_main(["reminders", "send", "--at", "2026-06-23T10:00"]) == 0
    assert "sent=1" in capsys.readouterr().out
    assert cli_main(["reminders", "send", "--at", "2026-06-23T10:01"]) == 0
    out = capsys.readouterr().out
    assert "already=2" in out and "sent=0" in out
    assert len(fake_line.pushes) == 1


class GatedGateway:
    """The real LINE client, but this process's pushes wait until `open_when` holds at the fake
    LINE: the helper processes are then seen sending (or not) before this one sends anything."""

    def __init__(self, settings: Settings, fake_line, open_when) -> None:
        import threading

        self._inner = make_line_gateway(settings)
        self._gate = threading.Event()
        self.opened_by_helpers = False

        def watch() -> None:
            self.opened_by_helpers = fake_line.wait_for(open_when, timeout=60)
            self._gate.set()

        threading.Thread(target=watch, daemon=True).start()

    def push(self, to, messages, *, retry_key):
        self._gate.wait(60)
        return self._inner.push(to, messages, retry_key=retry_key)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def reminder_pushes(fake_line) -> Counter:
    return Counter(r.json["to"] for r in fake_line.pushes if r.json["to"] != ADMIN)


def forty_groups_with_helpers(line_settings, fake_line, monkeypatch) -> tuple[str, list[str]]:
    """40 bound groups, no quota limit, and helpers used for any plan (not only ≥ 1,000)."""
    monkeypatch.setattr("itabot.reminders.dispatch.HELPER_MIN_PUSHES", 1)
    url = line_settings.database_url
    fake_line.quota = {"type": "none"}
    return url, [bind_chat(url, f"Cgroup{i:03d}") for i in range(40)]


def test_helper_processes_share_a_large_dispatch_and_each_chat_gets_one_push(
    line_settings, calendars, fake_line, monkeypatch
):
    url, chats = forty_groups_with_helpers(line_settings, fake_line, monkeypatch)
    # This process leases at most 4 pushes (one sending thread); helpers must send the rest.
    main = GatedGateway(line_settings, fake_line, lambda f: len(f.pushes) >= 36)

    report = dispatch(url, main, calendars, line_settings, AT, "main", max_workers=1, processes=3)

    assert main.opened_by_helpers  # 36 pushes reached LINE while this process was held
    assert reminder_pushes(fake_line) == Counter(chats)  # each chat exactly one push
    assert report.sent == 40  # the helpers' counts are in the dispatcher's report
    assert {r.status for r in ledger(url)} == {"sent"}


def test_helper_processes_never_spend_more_than_the_months_quota(
    line_settings, calendars, fake_line, monkeypatch
):
    monkeypatch.setattr("itabot.reminders.dispatch.HELPER_MIN_PUSHES", 1)
    url = line_settings.database_url
    for i in range(40):
        fake_line.member_counts[bind_chat(url, f"Cgroup{i:03d}")] = 1
    fake_line.quota = {"type": "limited", "value": 300}
    fake_line.consumption = 279  # 21 left: 20 pushes, and one kept to tell the admin
    main = GatedGateway(line_settings, fake_line, lambda f: len(f.pushes) >= 19)

    report = dispatch(url, main, calendars, line_settings, AT, "main", max_workers=1, processes=3)

    assert sum(reminder_pushes(fake_line).values()) == 20  # not 20 per process
    assert (report.sent, report.over_quota, report.quota_notice) == (20, 20, True)
    [notice] = [r for r in fake_line.pushes if r.json["to"] == ADMIN]
    assert "โควตาข้อความ LINE" in notice.messages[0]["text"]


class SlowClaim:
    """The dispatcher's claim, held after its first batch of 10 chats has committed until the
    helpers have pushed those 10 (or 60 s): the later batches come after pushes went out."""

    def __init__(self, fake_line, monkeypatch, *, crash_after_first: bool = False) -> None:
        import itabot.reminders.ledger as claim

        real = claim._claim_batch
        self.batches = 0
        self.first_batch_sent_during_claim = False
        monkeypatch.setattr(claim, "CHATS_PER_TRANSACTION", 10)

        def held(*args, **kwargs):
            real(*args, **kwargs)
            self.batches += 1
            if self.batches == 1:
                self.first_batch_sent_during_claim = fake_line.wait_for(
                    lambda f: len(f.pushes) >= 10, timeout=60
                )
                if crash_after_first:
                    raise RuntimeError("the dispatcher died while claiming")

        monkeypatch.setattr(claim, "_claim_batch", held)


def test_helpers_send_each_claim_batch_while_the_dispatcher_is_still_claiming(
    line_settings, calendars, fake_line, monkeypatch
):
    url, chats = forty_groups_with_helpers(line_settings, fake_line, monkeypatch)
    claim = SlowClaim(fake_line, monkeypatch)

    report = dispatch(
        url,
        make_line_gateway(line_settings),
        calendars,
        line_settings,
        AT,
        "main",
        processes=2,
    )

    assert claim.first_batch_sent_during_claim  # batch 1 reached LINE before batch 2 existed
    assert claim.batches == 4
    assert reminder_pushes(fake_line) == Counter(chats)  # later batches too, each chat once
    assert report.sent == 40
    assert {r.status for r in ledger(url)} == {"sent"}


def test_a_dispatcher_dying_while_claiming_stops_its_helpers_and_loses_nothing(
    line_settings, calendars, fake_line, monkeypatch
):
    url, chats = forty_groups_with_helpers(line_settings, fake_line, monkeypatch)
    SlowClaim(fake_line, monkeypatch, crash_after_first=True)
    gateway = make_line_gateway(line_settings)

    with pytest.raises(RuntimeError, match="died while claiming"):
        dispatch(url, gateway, calendars, line_settings, AT, "main", processes=2)

    assert reminder_pushes(fake_line) == Counter(chats[:10])  # what was claimed went out
    assert {p.status for p in pushes(url)} == {"sent"}
    assert all(p.claimed_until is None for p in pushes(url))  # no lease left behind

    monkeypatch.undo()  # the next run (the clock, a minute later) claims the rest
    later = dispatch(url, gateway, calendars, line_settings, AT.replace(minute=31), "next")
    assert later.sent == 30
    assert reminder_pushes(fake_line) == Counter(chats)


def test_the_minute_after_a_large_dispatch_starts_no_helpers_and_asks_line_nothing(
    line_settings, calendars, fake_line, monkeypatch
):
    """After 08:30 the plan still lists the morning's reminders every minute (late is better
    than never); all are in the ledger, so the clock must not start helper processes — nor
    ask LINE for the quota — each minute for the rest of the day."""
    import itabot.reminders.dispatch as rd

    monkeypatch.setattr(rd, "HELPER_MIN_PUSHES", 1)
    url = line_settings.database_url
    fake_line.quota = {"type": "none"}
    for i in range(5):
        bind_chat(url, f"Cgroup{i:03d}")
    started = []

    class CountedHelpers(rd.SendingHelpers):
        def __init__(self, *args, **kwargs) -> None:
            started.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(rd, "SendingHelpers", CountedHelpers)
    gateway = make_line_gateway(line_settings)

    first = dispatch(url, gateway, calendars, line_settings, AT, "clock", processes=2)
    calls = len(fake_line.calls())
    later = dispatch(
        url, gateway, calendars, line_settings, AT.replace(minute=31), "clock", processes=2
    )

    assert (first.sent, len(started)) == (5, 1)
    assert (later.due, later.sent) == (first.due, 0)
    assert len(started) == 1  # no helpers for a plan the ledger already holds
    assert len(fake_line.calls()) == calls  # and no call to LINE at all


def test_cli_send_of_a_large_plan_runs_helpers_once_and_each_chat_gets_one_push(
    line_settings, fake_line
):
    """`python -m itabot reminders send` with helper processes, forked (the CLI runs no other
    thread): each helper opens its own database connections and LINE client, none runs the CLI
    again, and nothing is sent twice."""
    from itabot.reminders.helpers import HELPER_MIN_PUSHES

    url = line_settings.database_url
    fake_line.quota = {"type": "none"}
    chats = [bind_chat(url, f"Cgroup{i:04d}") for i in range(HELPER_MIN_PUSHES // 2)]
    env = env_for(line_settings) | {"ITABOT_REMINDER_PROCESSES": "2", "LOG_LEVEL": "INFO"}
    done = subprocess.run(
        [sys.executable, "-m", "itabot", "reminders", "send", "--at", "2026-06-23T08:30"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "starting 1 reminder sending helper(s) (fork)" in done.stderr
    assert f"due={HELPER_MIN_PUSHES}" in done.stdout and f"sent={len(chats)}" in done.stdout
    assert reminder_pushes(fake_line) == Counter(chats)
    assert {r.status for r in ledger(url)} == {"sent"}
