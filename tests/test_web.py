"""Issue 15 items 3-4: `/dashboard` and `/calendar` hand out private links; the page shows the
province's timeline, agencies, chats and confirmations and nothing of another province; the
.ics holds the agency's closings at their Bangkok times with alarms at the chat's offsets,
checked with icalendar and with `ics` (an independent parser); a wrong or revoked token is 404.
Commands go through the router, pages through the app's real routes (Flask test client).
SQLite, and PostgreSQL when TEST_DATABASE_URL is set; the clock injected."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import ics
import pytest
import requests
from icalendar import Calendar as ICalendar
from sqlalchemy import select

from itabot.app import create_app
from itabot.calendars.model import Calendars
from itabot.calendars.thai_dates import BANGKOK
from itabot.router import Services, handle_message
from itabot.storage import db
from itabot.storage.models import AuditLog, WebLink
from itabot.webhook.routes import EXTENSION
from tests import test_gunicorn
from tests.conftest import SCHEDULES, bkk
from tests.fakeline import SECRET, callback_body, sign, source, text_event, webhook_app
from tests.test_reminder_support import bind_chat

pytest_plugins = ["tests.fakeline"]

ADMIN = "Uad000000000000000000000000000001"  # ITABOT_ADMIN_IDS in the `settings` fixture
STAFF = "U" + "1" * 32
PUBLIC = "https://ita-bot.example.go.th"
NOW = bkk(2026, 6, 20, 9, 0)
SURIN = ["องค์การบริหารส่วนตำบลตาเมียง", "สำนักงานจังหวัดสุรินทร์"]
SARABURI = "องค์การบริหารส่วนตำบลหน้าพระลานทดสอบ"
GROUP = "C" + "a" * 32
OTHER_GROUP = "C" + "b" * 32
LINK_RE = re.compile(r"https?://\S+")


@pytest.fixture
def line_settings(line_settings):
    return replace(line_settings, public_url=PUBLIC)


@pytest.fixture
def app(line_settings):
    with webhook_app(line_settings, NOW) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


def say(app, text, *, user=ADMIN, group=None, now=NOW):
    services = app.extensions[EXTENSION].services
    return handle_message(
        text,
        services=services,
        now=now,
        user_id=user,
        chat_id=group or user,
        chat_type="group" if group else "user",
    )


def link_path(answer) -> str:
    [url] = LINK_RE.findall(answer.text)
    assert url.startswith(PUBLIC + "/")
    return url.removeprefix(PUBLIC)


def seed(app) -> None:
    """Two Surin agencies (one with a group whose reminders are its own), one of Saraburi."""
    url = app.extensions[EXTENSION].services.settings.database_url
    bind_chat(url, GROUP, agency=SURIN[0], remind_days="7,1", remind_time="09:00")
    bind_chat(url, "C" + "c" * 32, agency=SURIN[1], remind_enabled=False)
    bind_chat(url, OTHER_GROUP, province="สระบุรี", agency=SARABURI)


# --- /dashboard --------------------------------------------------------------------------------


def test_dashboard_shows_the_province_in_thai_and_nothing_of_another(app, client):
    seed(app)
    assert say(app, "/done OIT", user=STAFF, group=GROUP).extra["outcome"] == "ok"
    say(app, "/done OIT", user=STAFF, group=OTHER_GROUP)
    answer = say(app, "/dashboard สุรินทร์")
    response = client.get(link_path(answer))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'lang="th"' in page and "ITA จังหวัดสุรินทร์ · ปีงบประมาณ 2569" in page
    for name in SURIN:
        assert name in page
    # the timeline: NACC's closings with their time, the province's own, what is open now
    assert "ตอบและอนุมัติข้อมูลตามแบบวัด OIT" in page
    assert "วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น." in page
    assert "ส่ง LINK แบบตรวจ OIT ให้จังหวัด ครั้งที่ ๒" in page  # Surin's 5 June deadline
    open_now = page[page.index('id="open-now"') : page.index('id="closings-ahead"')]
    assert "อีก 10 วัน" in open_now and "IIT" in open_now
    # the agencies, their chats and reminder settings, and who confirmed the closing ahead
    assert "กลุ่ม …aaaa · เตือน 7, 1 วันก่อนปิด เวลา 09:00 น." in page
    assert "ปิดการเตือน" in page
    ahead = page[page.index('id="closings-ahead"') : page.index('id="agencies"')]
    assert "ยืนยันแล้ว 1/2 แห่ง" in ahead and f"✓ {SURIN[0]}" in ahead
    # nothing of Saraburi: its agency, its province, its calendar's steps
    for other in (SARABURI, "สระบุรี", "แจ้งปฏิทินการประเมิน ITA และแนวทาง/มาตรการ"):
        assert other not in page


def test_dashboard_headers_keep_the_page_private(app, client):
    path = link_path(say(app, "/dashboard สุรินทร์"))
    wrong = client.get("/dashboard/" + "x" * 43)
    assert wrong.status_code == 404 and "ไม่พบหน้านี้" in wrong.get_data(as_text=True)
    assert "สุรินทร์" not in wrong.get_data(as_text=True)
    for response in (client.get(path), wrong):
        headers = response.headers
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp


def test_revoked_wrong_and_replaced_dashboard_links_are_404(app, client, line_settings):
    first = link_path(say(app, "/dashboard สุรินทร์"))
    second = link_path(say(app, "/dashboard จ.สุรินทร์"))  # a new link replaces the old
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    token = second.rsplit("/", 1)[1]
    assert len(token) == 43  # token_urlsafe(32): 256 bits
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:-1], "x", token + "x"):
        assert client.get(f"/dashboard/{wrong}").status_code == 404
    assert client.get(f"/calendar/{token}.ics").status_code == 404  # not a calendar link
    revoked = say(app, "/dashboard revoke สุรินทร์")
    assert "ยกเลิกลิงก์หน้าสรุปของจังหวัดสุรินทร์แล้ว" in revoked.text
    assert client.get(second).status_code == 404
    assert "ไม่มีลิงก์" in say(app, "/dashboard revoke สุรินทร์").text


def test_only_the_token_hash_is_stored_and_no_token_is_audited(app, client, line_settings):
    token = link_path(say(app, "/dashboard สุรินทร์")).rsplit("/", 1)[1]
    with db.session_scope(line_settings.database_url) as session:
        [row] = session.scalars(select(WebLink))
        assert (row.kind, row.scope) == ("dashboard", "สุรินทร์")
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        audit = [(a.command, a.detail) for a in session.scalars(select(AuditLog))]
    assert audit and not any(token in str(entry) for entry in audit)


def test_dashboard_province_comes_from_the_chat_or_is_asked_for(app, client):
    seed(app)
    url = app.extensions[EXTENSION].services.settings.database_url
    bind_chat(url, ADMIN, agency=SURIN[0], chat_type="user")  # the admin's own 1:1 chat, bound
    assert "จังหวัดสุรินทร์" in say(app, "/dashboard").text
    other_admin = "Uad000000000000000000000000000002"
    with db.session_scope(url) as session:
        from itabot.storage.models import Admin

        session.add(Admin(user_id=other_admin))
    assert "จังหวัดสุรินทร์" not in say(app, "/dashboard", user=other_admin).text  # two provinces
    asked = say(app, "/dashboard", user=other_admin)
    assert "ระบุจังหวัด" in asked.text and not LINK_RE.search(asked.text)
    unknown = say(app, "/dashboard สุรินทร", user=other_admin)
    assert "ไม่พบจังหวัด" in unknown.text and "สุรินทร์" in unknown.text
    assert not LINK_RE.search(unknown.text)


def test_with_agencies_of_one_province_only_that_province_is_the_admins(app, client):
    url = app.extensions[EXTENSION].services.settings.database_url
    bind_chat(url, GROUP, agency=SURIN[0])
    page = client.get(link_path(say(app, "/dashboard")))
    assert page.status_code == 200 and SURIN[0] in page.get_data(as_text=True)


def test_dashboard_is_for_admins_and_a_group_is_told_every_member_can_open_it(app, client):
    seed(app)
    refused = say(app, "/dashboard สุรินทร์", user=STAFF)
    assert "ผู้ดูแลระบบ" in refused.text and not LINK_RE.search(refused.text)
    in_group = say(app, "/dashboard สุรินทร์", group=GROUP)
    assert "ทุกคนในกลุ่มนี้เปิดลิงก์นี้ได้" in in_group.text
    assert client.get(link_path(in_group)).status_code == 200
    private = say(app, "/dashboard สุรินทร์")
    assert "ทุกคนใน" not in private.text
    assert client.get(link_path(in_group)).status_code == 404  # replaced by the new link


def test_a_province_without_agencies_still_has_its_timeline(app, client):
    page = client.get(link_path(say(app, "/dashboard สุรินทร์"))).get_data(as_text=True)
    assert "ยังไม่มีหน่วยงานที่ลงทะเบียนไว้" in page and "ตอบและอนุมัติข้อมูลตามแบบวัด OIT" in page


def test_after_the_year_the_page_shows_the_latest_year_with_calendars(app, client):
    app.extensions[EXTENSION].clock = lambda: bkk(2026, 12, 6, 10, 0)  # FY2570: no calendar yet
    page = client.get(link_path(say(app, "/dashboard สุรินทร์"))).get_data(as_text=True)
    assert "ยังไม่มีปฏิทินของปีงบประมาณ 2570 จึงแสดงปีงบประมาณ 2569" in page
    assert "วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น." in page


# --- /calendar ---------------------------------------------------------------------------------


def feed(app, client, group=GROUP) -> bytes:
    response = client.get(link_path(say(app, "/calendar", user=STAFF, group=group)))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "no-store"
    return response.data


def events_by_uid(body: bytes) -> dict[str, object]:
    cal = ICalendar.from_ical(body)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_an_unbound_chat_is_told_to_bind_first(app):
    answer = say(app, "/calendar", user=STAFF, group="C" + "e" * 32)
    assert "ยังไม่ได้ผูกกับหน่วยงาน" in answer.text and "/bind" in answer.text
    assert not LINK_RE.search(answer.text)


def test_the_feed_has_the_agencys_closings_at_bangkok_times_with_the_chats_alarms(app, client):
    seed(app)
    body = feed(app, client)
    cal = ICalendar.from_ical(body)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Bangkok"]
    events = events_by_uid(body)
    # ITAS closes OIT answers on Tue 30 June 2569 at 17.00 (seed 001, row 9; national-2569)
    oit = events["national-2569/oit-answer/2569@itabot"]
    start = oit.decoded("DTSTART")
    assert start == datetime(2026, 6, 30, 17, 0, tzinfo=BANGKOK)
    assert start.utcoffset() == timedelta(hours=7)
    assert oit["DTSTART"].params["TZID"] == "Asia/Bangkok"
    assert "ตอบและอนุมัติ" in str(oit["SUMMARY"])
    # /remind days 7,1 at 09:00: 23 June and 29 June at 09:00 Bangkok
    rings = sorted(start + a.decoded("TRIGGER") for a in oit.walk("VALARM"))
    assert rings == [bkk(2026, 6, 23, 9, 0), bkk(2026, 6, 29, 9, 0)]
    # the province's own deadline (no time stated: an all-day event on its day)
    links2 = events["province-surin-2569/oit-links-2/2569@itabot"]
    assert str(links2.decoded("DTSTART")) == "2026-06-05"
    # NACC's own steps and other provinces' calendars are not the agency's to act on
    assert not any("/oit-check" in uid or "/results/" in uid for uid in events)
    assert not any("saraburi" in uid for uid in events)


def test_a_second_independent_parser_reads_the_same_closings_and_alarms(app, client):
    seed(app)
    parsed = ics.Calendar(feed(app, client).decode())
    by_uid = {e.uid: e for e in parsed.events}
    iit = by_uid["national-2569/iit/2569@itabot"]
    assert iit.begin.datetime == datetime(2026, 6, 30, 10, 0, tzinfo=UTC)  # 17.00 Bangkok
    assert iit.begin.datetime.utcoffset() == timedelta(hours=7)
    assert iit.begin.datetime.hour == 17
    triggers = sorted(a.trigger for a in iit.alarms)
    assert triggers == [-timedelta(days=7, hours=8), -timedelta(days=1, hours=8)]
    eit = by_uid["national-2569/eit/2569@itabot"]
    assert (eit.begin.datetime.month, eit.begin.datetime.day, eit.begin.datetime.hour) == (
        9,
        30,
        17,
    )
    links1 = by_uid["province-surin-2569/oit-links-1/2569@itabot"]
    assert links1.all_day and links1.begin.date().isoformat() == "2026-05-05"
    # an all-day closing: its alarms ring at 09:00 Bangkok, 7 and 1 days before
    assert sorted(a.trigger for a in links1.alarms) == [
        -timedelta(days=7) + timedelta(hours=9),
        -timedelta(days=1) + timedelta(hours=9),
    ]


def test_an_agency_with_its_own_plan_gets_its_own_deadlines_too(app, client):
    url = app.extensions[EXTENSION].services.settings.database_url
    bind_chat(url, GROUP, province="เพชรบุรี", agency="องค์การบริหารส่วนตำบลหนองพลับ")
    events = events_by_uid(feed(app, client))
    own = events["agency-nongphlap-2569/iit-1/2569@itabot"]  # seed 003: its FY2569 measures
    assert str(own.decoded("DTSTART")) == "2026-09-30"
    assert "national-2569/oit-answer/2569@itabot" in events
    assert not any(uid.startswith("province-") for uid in events)  # no Phetchaburi plan loaded


def test_uids_stay_the_same_across_reloads_and_restarts(app, client, line_settings):
    seed(app)
    first = feed(app, client)
    again = create_app(line_settings)  # a new process: calendars loaded afresh
    again.extensions[EXTENSION].clock = lambda: NOW + timedelta(days=1)
    services = again.extensions[EXTENSION].services
    assert services.calendars is not app.extensions[EXTENSION].services.calendars
    reloaded = Services(settings=services.settings, calendars=Calendars.load(SCHEDULES))
    answer = handle_message(
        "/calendar", services=reloaded, now=NOW, user_id=STAFF, chat_id=GROUP, chat_type="group"
    )
    second = again.test_client().get(link_path(answer)).data
    assert sorted(events_by_uid(first)) == sorted(events_by_uid(second))
    assert len(events_by_uid(first)) == len(ICalendar.from_ical(first).walk("VEVENT"))


def test_reminders_off_gives_the_closings_without_alarms(app, client):
    seed(app)
    body = feed(app, client, group="C" + "c" * 32)  # SURIN[1]'s group: reminders off
    events = events_by_uid(body)
    assert "national-2569/oit-answer/2569@itabot" in events
    assert all(not e.walk("VALARM") for e in events.values())


def test_revoked_wrong_and_unbound_calendar_links_are_404(app, client):
    seed(app)
    path = link_path(say(app, "/calendar", user=STAFF, group=GROUP))
    assert client.get(path).status_code == 200
    assert client.get(path.replace(".ics", "")).status_code == 404
    assert client.get("/calendar/" + "A" * 43 + ".ics").status_code == 404
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    assert client.get(f"/dashboard/{token}").status_code == 404  # not a dashboard link
    assert "ยกเลิกลิงก์ปฏิทิน" in say(app, "/calendar revoke", user=STAFF, group=GROUP).text
    assert client.get(path).status_code == 404
    path = link_path(say(app, "/calendar", user=STAFF, group=GROUP))
    say(app, "/unbind", group=GROUP)
    assert client.get(path).status_code == 404


# --- over gunicorn: the commands by signed webhook, the links from the workers -------------------

start_gunicorn = test_gunicorn.start_gunicorn


def test_links_over_gunicorn_from_commands_sent_through_the_webhook(start_gunicorn, fake_line):
    server = start_gunicorn(ITABOT_ADMIN_IDS=ADMIN, ITABOT_PUBLIC_URL=PUBLIC)

    def send(text: str, chat: str | None = None) -> str:
        src = source("group", user_id=ADMIN, chat_id=chat) if chat else source(user_id=ADMIN)
        before = len(fake_line.replies)
        body = callback_body(text_event(text, src=src))
        headers = {"X-Line-Signature": sign(body, test_gunicorn.SECRET)}
        assert requests.post(f"{server.url}/callback", data=body, headers=headers).ok
        assert fake_line.wait_for(lambda f: len(f.replies) > before, timeout=20)
        return fake_line.replies[-1].json["messages"][0]["text"]

    def get(answer: str) -> requests.Response:
        [url] = LINK_RE.findall(answer)
        return requests.get(server.url + url.removeprefix(PUBLIC), timeout=10)

    send(f"/agency add สุรินทร์ {SURIN[0]}")
    send(f"/agency add สระบุรี {SARABURI}")
    send(f"/bind {SURIN[0]}", GROUP)
    dashboard = send("/dashboard สุรินทร์")
    page = get(dashboard)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert SURIN[0] in page.text and "ตอบและอนุมัติข้อมูลตามแบบวัด OIT" in page.text
    assert SARABURI not in page.text and "สระบุรี" not in page.text
    calendar = send("/calendar", GROUP)
    feed = get(calendar)
    assert feed.status_code == 200
    events = events_by_uid(feed.content)
    oit = events["national-2569/oit-answer/2569@itabot"]
    assert oit.decoded("DTSTART") == datetime(2026, 6, 30, 17, 0, tzinfo=BANGKOK)
    send("/dashboard revoke สุรินทร์")
    send("/calendar revoke", GROUP)
    assert get(dashboard).status_code == 404
    assert get(calendar).status_code == 404


def test_without_a_public_url_links_use_the_address_line_reached(line_settings, fake_line):
    app = create_app(replace(line_settings, public_url=""))
    app.extensions[EXTENSION].clock = lambda: NOW
    client = app.test_client()

    def post(text: str, base: str, signature: str | None = None) -> int:
        body = callback_body(text_event(text, src=source(user_id=ADMIN)))
        headers = {"X-Line-Signature": signature or sign(body, SECRET)}
        return client.post("/callback", data=body, headers=headers, base_url=base).status_code

    before = len(fake_line.replies)
    assert post("/whoami", "https://bot.example.go.th") == 200
    assert post("/whoami", "https://evil.example", signature="forged") == 400  # not recorded
    assert fake_line.wait_for(lambda f: len(f.replies) > before, timeout=10)
    assert post("/dashboard สุรินทร์", "https://evil.example", signature="forged") == 400
    assert post("/dashboard สุรินทร์", "https://bot.example.go.th") == 200
    assert fake_line.wait_for(lambda f: len(f.replies) > before + 1, timeout=10)
    app.extensions[EXTENSION].wait_idle(10)
    [url] = LINK_RE.findall(fake_line.replies[-1].json["messages"][0]["text"])
    assert url.startswith("https://bot.example.go.th/dashboard/")
    assert client.get(url.removeprefix("https://bot.example.go.th")).status_code == 200
