"""Nothing is lost: what the coordinator sets up survives a restart (a new process sees it),
and two admins adding the same agency at the same moment leave one row. Runs the real
console (`python -m itabot chat …`) against the test database, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session

from itabot.config import PROJECT_ROOT
from itabot.router import handle_message
from itabot.storage import db
from itabot.storage.models import Agency, AuditLog, Base, Chat
from tests.conftest import bkk

ADMIN = "U" + "0123456789abcdef" * 2
STAFF = "U" + "1" * 32
GROUP = "C" + "a" * 32
NOW = bkk(2026, 6, 20, 9, 0)


def console(url: str, *args: str, admins: str = ADMIN) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "ITABOT_ADMIN_IDS": admins}
    return subprocess.run(
        [sys.executable, "-m", "itabot", "chat", "--at", "2026-06-20T09:00", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def count(url: str, model) -> int:
    with db.session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_everything_survives_a_restart(database_url):
    """Each line is a new process, like a redeploy between two messages."""
    added = console(
        database_url, "--user", ADMIN, "--group", GROUP, "/agency add จ.สุรินทร์ อบต.คลองพา"
    )
    assert added.returncode == 0, added.stderr
    assert 'เพิ่มหน่วยงาน "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ แล้ว' in added.stdout

    bound = console(database_url, "--user", ADMIN, "--group", GROUP, "/bind อบต.คลองพา")
    assert "ผูกกลุ่มนี้กับ" in bound.stdout
    granted = console(database_url, "--user", ADMIN, "/admin add " + STAFF)
    assert "เป็นผู้ดูแลแล้ว" in granted.stdout
    timed = console(database_url, "--user", STAFF, "--group", GROUP, "/remind time 07:45")
    assert "07:45" in timed.stdout

    whoami = console(database_url, "--user", STAFF, "--group", GROUP, "/whoami")
    assert whoami.returncode == 0
    assert "สิทธิ์: ผู้ดูแล" in whoami.stdout
    assert 'ผูกกับ: "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์' in whoami.stdout
    asked = console(database_url, "--user", STAFF, "--group", GROUP, "ใครรับผิดชอบ OIT")
    assert asked.returncode == 0 and "สุรินทร์" in asked.stdout

    with db.session_scope(database_url) as session:
        group = session.get(Chat, GROUP)
        assert group.agency.name == "องค์การบริหารส่วนตำบลคลองพา" and group.remind_time == "07:45"
        assert [r.outcome for r in session.scalars(select(AuditLog).order_by(AuditLog.id))] == [
            "ok",
            "ok",
            "ok",
            "ok",
        ]


def test_console_usage_errors_and_refusals_exit_zero(database_url):
    for args in (
        ("--user", ADMIN, "/agency add"),
        ("--user", STAFF, "/agency add สุรินทร์ อบต.คลองพา"),
        ("--user", ADMIN, "/nonsense"),
        ("--user", ADMIN, "/agency add สุรินทร์ x'); DROP TABLE agency;--"),
    ):
        result = console(database_url, *args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip()
    assert count(database_url, Agency) == 0
    assert {"agency", "chat", "admin", "audit_log"} <= set(
        inspect(db.engine_for(database_url)).get_table_names()
    )
    assert count(database_url, AuditLog) == 3  # the unknown command is a hint, not an admin action


def test_two_admins_adding_the_same_agency_at_once_leave_one_row(database_url):
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "itabot",
                "chat",
                "--user",
                admin,
                "/agency add สุรินทร์ อบต.พร้อมกัน",
            ],
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url,
                "ITABOT_ADMIN_IDS": f"{ADMIN},{STAFF}",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for admin in (ADMIN, STAFF)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outputs]
    texts = [o[0] for o in outputs]
    assert sum("เพิ่มหน่วยงาน" in t for t in texts) == 1
    assert sum("อยู่แล้ว" in t for t in texts) == 1
    assert count(database_url, Agency) == 1


def test_many_threads_adding_the_same_agency_leave_one_row(services):
    url = services.settings.database_url
    start = threading.Barrier(8)
    replies: list[str] = []
    errors: list[BaseException] = []

    def admin_types(i: int) -> None:
        try:
            start.wait()
            reply = handle_message(
                "/agency add สุรินทร์ อบต.แข่งกัน",
                services=services,
                now=NOW,
                user_id="Uad000000000000000000000000000001",
                chat_id=f"C{i:032x}",
                chat_type="group",
            )
            replies.append(reply.text)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=admin_types, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum("เพิ่มหน่วยงาน" in r for r in replies) == 1
    assert sum("อยู่แล้ว" in r for r in replies) == 7
    assert count(url, Agency) == 1
    assert count(url, AuditLog) == 8


def test_losing_the_insert_race_answers_already_exists(services, monkeypatch):
    """Deterministic race: the other admin's row lands between our check and our insert,
    so only the unique constraint can stop the duplicate."""
    url = services.settings.database_url
    fired = []

    def other_admin_commits_first(session, _flush_context, _instances):
        if fired or not any(isinstance(o, Agency) for o in session.new):
            return
        fired.append(True)
        with db.engine_for(url).begin() as conn:
            conn.execute(
                insert(Agency).values(
                    province="สุรินทร์",
                    name="องค์การบริหารส่วนตำบลคลองพา",
                    name_key="อบตคลองพา",
                    kind="อบต",
                    created_at=NOW,
                )
            )

    event.listen(Session, "before_flush", other_admin_commits_first)
    try:
        reply = handle_message(
            "/agency add สุรินทร์ อบต.คลองพา",
            services=services,
            now=NOW,
            user_id="Uad000000000000000000000000000001",
            chat_id=GROUP,
            chat_type="group",
        )
    finally:
        event.remove(Session, "before_flush", other_admin_commits_first)
    assert fired
    assert 'มีหน่วยงาน "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ อยู่แล้ว' in reply.text
    assert count(url, Agency) == 1
    with db.session_scope(url) as session:
        row = session.scalars(select(AuditLog)).one()
        assert row.outcome == "invalid" and "race" in row.detail
        assert session.get(Chat, GROUP) is not None  # the chat row was not rolled back with it


@pytest.mark.parametrize("name", ["x'); DROP TABLE agency;--", "Robert'); DELETE FROM chat;--"])
def test_sql_looking_names_leave_every_table_intact(services, name):
    url = services.settings.database_url
    handle_message(
        "/agency add สุรินทร์ อบต.คลองพา",
        services=services,
        now=NOW,
        user_id="Uad000000000000000000000000000001",
        chat_id=GROUP,
        chat_type="group",
    )
    handle_message(
        f"/agency add สุรินทร์ {name}",
        services=services,
        now=NOW,
        user_id="Uad000000000000000000000000000001",
        chat_id=GROUP,
        chat_type="group",
    )
    handle_message(
        f"/bind {name}",
        services=services,
        now=NOW,
        user_id="Uad000000000000000000000000000001",
        chat_id=GROUP,
        chat_type="group",
    )
    names = set(inspect(db.engine_for(url)).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= names
    assert count(url, Agency) == 1 and count(url, Chat) == 1
