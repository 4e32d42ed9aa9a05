"""The dispatcher with the real LINE client (`make_line_gateway`) against the fake LINE HTTP
server (tests/fakeline.py), and `python -m itabot reminders send|plan` as processes: what LINE
receives is what users receive."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import select

from itabot.cli import main as cli_main
from itabot.config import PROJECT_ROOT, Settings
from itabot.line.client import make_line_gateway
from itabot.reminders.dispatch import dispatch
from itabot.storage import db
from itabot.storage.models import PushPayload
from tests.conftest import SCHEDULES, bkk
from tests.test_reminder_support import CrashAfterDelivery, bind_chat, ledger, pushes

pytest_plugins = ["tests.fakeline"]

PUSH = "/v2/bot/message/push"
TOKEN = "test-access-token"
ADMIN = "Uad000000000000000000000000000001"
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
    # The month plan cannot pay for the group: dropped (never sent), the admins told once.
    assert (first.dropped, first.over_quota, second.dropped) == (2, 0, 0)
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


def test_a_limited_quota_asks_each_groups_member_count_once_and_posts_the_stored_payload(
    line_settings, gateway, calendars, fake_line
):
    url = line_settings.database_url
    groups = [bind_chat(url, f"Cgroup{i:03d}") for i in range(20)]
    bind_chat(url, "Uuser0001", chat_type="user")
    fake_line.quota = {"type": "limited", "value": 10_000}
    fake_line.member_counts = dict.fromkeys(groups, 8)
    report = send(line_settings, gateway, calendars)
    assert report.sent == 21
    asked = Counter(c.path for c in fake_line.calls() if c.path.endswith("/members/count"))
    assert asked == Counter(f"/v2/bot/group/{g}/members/count" for g in groups)
    with db.session_scope(url) as session:
        [stored] = session.scalars(select(PushPayload.body)).all()
    assert all(p.messages == json.loads(stored) for p in fake_line.pushes)  # as stored


def test_a_push_line_does_not_answer_in_time_is_resent_with_its_key_and_delivered_once(
    line_settings, calendars, fake_line, sleeps
):
    url = line_settings.database_url
    bind_chat(url, GROUP)
    slow = make_line_gateway(line_settings, sleep=sleeps.append, timeout=0.3)
    fake_line.hold(PUSH)
    first = send(line_settings, slow, calendars)
    assert (first.retry_later, pushes(url)[0].status) == (1, "pending")
    fake_line.release()
    [push] = pushes(url)
    assert fake_line.wait_for(lambda f: len(f.calls(PUSH)) == push.attempts * 4)
    later = send(line_settings, slow, calendars, bkk(2026, 6, 23, 8, 31))
    assert (later.duplicates, later.sent) == (1, 0)
    assert {c.retry_key for c in fake_line.calls(PUSH)} == {push.retry_key}
    assert len(fake_line.pushes) == 1  # one delivery


def test_cli_plan_shows_the_month_plan_the_last_dispatch_made(
    line_settings, fake_line, monkeypatch, capsys
):
    bind_chat(line_settings.database_url, GROUP)
    for key, value in env_for(line_settings).items():
        monkeypatch.setenv(key, value)
    fake_line.quota = {"type": "limited", "value": 1000}
    fake_line.member_counts[GROUP] = 8
    assert cli_main(["reminders", "send", "--at", "2026-06-23T08:31"]) == 0
    capsys.readouterr()
    assert cli_main(["reminders", "plan", "--at", "2026-06-23T09:00"]) == 0
    out = capsys.readouterr().out
    assert "the month plan" in out and "ส่งครบทุกการเตือนต้องใช้ 32" in out
