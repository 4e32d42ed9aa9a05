"""itabot.line.client against Stoplight Prism serving LINE's own OpenAPI spec: every call line.py makes
(reply, push with a retry key, quota, member counts) is one the spec accepts — Prism answers 2xx,
not 4xx/422 — and Prism does refuse bad requests (no `to`, no token, a retry key that is not a
UUID), so a pass means something.

Prism checks paths, auth, headers and top-level fields, not the inside of message objects:
the message limits are tested in test_messages.py."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests
from linebot.v3.messaging import TextMessage

from itabot.app import create_app
from itabot.config import PROJECT_ROOT, Settings
from itabot.conversation.answer import Answer
from itabot.line.answer_messages import answer_to_messages
from itabot.line.client import PushOutcome, SdkLineGateway, make_line_gateway
from itabot.webhook.routes import EXTENSION
from tests.conftest import LINE_OPENAPI, bkk
from tests.fakeline import callback_body, post_signed, text_event
from tests.processes import free_port, stop_process_group

PRISM = PROJECT_ROOT / "node_modules" / ".bin" / "prism"
SPEC = LINE_OPENAPI / "messaging-api.yml"
TOKEN = "prism-test-token"


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Prism exited with {proc.returncode}")
        try:
            requests.get(
                f"{url}/v2/bot/message/quota", headers={"Authorization": "Bearer x"}, timeout=1
            )
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("Prism did not start in time")


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory) -> Iterator[str]:
    # Failing, not skipping: a skip here would pass a suite that never asked LINE's spec.
    if not PRISM.exists():
        pytest.fail("Stoplight Prism is not installed (node_modules/.bin/prism): run `make prism`")
    port = free_port()
    log = (tmp_path_factory.mktemp("prism") / "prism.log").open("w")
    proc = subprocess.Popen(
        [str(PRISM), "mock", "-p", str(port), "-h", "127.0.0.1", str(SPEC)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with everything it spawned
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc)
        yield url
    finally:
        stop_process_group(proc, grace=10)
        log.close()


@pytest.fixture
def gateway(prism_url) -> Iterator[SdkLineGateway]:
    settings = Settings(line_channel_access_token=TOKEN, line_api_base_url=prism_url)
    gw = make_line_gateway(settings, sleep=lambda _s: None, timeout=10.0)
    assert isinstance(gw, SdkLineGateway)
    yield gw
    gw.close()


def flex_answer(calendars) -> list:
    phases = tuple(calendars.get("national-2569").phases[:3])
    answer = Answer(
        intent="next",
        text="กำหนดการถัดไป",
        phases=phases,
        quick_replies=("OIT ปิดวันไหน",),
        heading="กำหนดการถัดไป",
        now=bkk(2026, 6, 20, 9, 0),
    )
    return answer_to_messages(answer)


def test_reply_is_accepted_by_lines_spec(gateway, calendars):
    assert gateway.reply(uuid.uuid4().hex, flex_answer(calendars)) is True


def test_a_confirmation_card_and_a_greeting_are_accepted_by_lines_spec(gateway):
    from itabot.line.answer_messages import confirm_messages, greeting_messages

    card = confirm_messages(
        'ลบหน่วยงาน "อบต.ตัวอย่าง" หรือไม่', [("ยืนยันลบ", "yes:x"), ("ยกเลิก", "no:v1")]
    )
    greeting = greeting_messages("group", ("OIT ปิดวันไหน",), ("กำหนดการถัดไป",))
    assert gateway.reply(uuid.uuid4().hex, card + greeting) is True


def test_push_with_a_retry_key_is_accepted_by_lines_spec(gateway, calendars):
    result = gateway.push("C" + "a" * 32, flex_answer(calendars), retry_key=str(uuid.uuid4()))
    assert (result.outcome, result.status, result.attempts) == (PushOutcome.SENT, 200, 1)


def test_quota_and_member_counts_are_read_per_lines_spec(gateway):
    remaining = gateway.quota_remaining()
    assert remaining is None or remaining >= 0
    assert isinstance(gateway.member_count("C" + "a" * 32, "group"), int)
    assert isinstance(gateway.member_count("R" + "b" * 32, "room"), int)


def test_prism_refuses_a_push_without_to(prism_url):
    response = requests.post(
        f"{prism_url}/v2/bot/message/push",
        json={"messages": [{"type": "text", "text": "สวัสดี"}]},
        headers={"Authorization": f"Bearer {TOKEN}", "X-Line-Retry-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert response.status_code in (400, 422)


def test_prism_refuses_a_push_without_a_token(prism_url):
    gw = SdkLineGateway(access_token="", base_url=prism_url, sleep=lambda _s: None)
    result = gw.push("U" + "1" * 32, [TextMessage(text="สวัสดี")], retry_key=str(uuid.uuid4()))
    assert (result.outcome, result.status) == (PushOutcome.REJECTED, 401)


def test_prism_refuses_a_retry_key_that_is_not_a_uuid(gateway):
    result = gateway.push("U" + "1" * 32, [TextMessage(text="สวัสดี")], retry_key="not-a-uuid")
    assert result.outcome is PushOutcome.REJECTED
    assert result.status in (400, 422)


def test_a_question_to_the_webhook_is_replied_to_through_lines_spec(prism_url, sqlite_url):
    settings = Settings(
        database_url=sqlite_url,
        line_channel_secret="prism-secret",
        line_channel_access_token=TOKEN,
        line_api_base_url=prism_url,
    )
    app = create_app(replace(settings, scheduler=False))
    rt = app.extensions[EXTENSION]
    rt.clock = lambda: bkk(2026, 6, 20, 9, 0)
    body = callback_body(text_event("OIT ปิดวันไหน"))
    response = post_signed(app.test_client(), body, "prism-secret")
    assert response.status_code == 200
    assert rt.wait_idle(20)
    from sqlalchemy import select

    from itabot.storage import db
    from itabot.storage.models import WebhookEvent

    with db.session_scope(sqlite_url) as session:
        [row] = session.scalars(select(WebhookEvent)).all()
    assert (row.status, row.error) == ("done", None)  # Prism accepted the reply


def test_a_reminder_dispatch_sends_through_lines_spec(prism_url, sqlite_url, calendars):
    """What the clock runs at 08:30 — plan, claim, and the asyncio sender (`SdkLineGateway.
    sending()`: quota, member count, push with its retry key) — against Prism: every call
    is one LINE's spec accepts, and the push is recorded as sent."""
    from itabot.reminders.dispatch import dispatch
    from tests.test_reminder_support import bind_chat, pushes

    group = "C" + "a" * 32
    bind_chat(sqlite_url, group)
    settings = Settings(
        database_url=sqlite_url, line_channel_access_token=TOKEN, line_api_base_url=prism_url
    )
    gw = make_line_gateway(settings, sleep=lambda _s: None, timeout=10.0)
    try:
        report = dispatch(sqlite_url, gw, calendars, settings, bkk(2026, 6, 23, 8, 30))
    finally:
        gw.close()
    assert (report.sent, report.failed, report.retry_later) == (1, 0, 0)
    assert [p.status for p in pushes(sqlite_url)] == ["sent"]


def test_richmenu_deploy_makes_only_requests_lines_spec_accepts(prism_url):
    """`python -m itabot richmenu deploy`'s calls — list, default, create, the picture's upload
    (to the data host, here Prism too), set default — each answered 2xx by LINE's spec: a 4xx
    or 422 from Prism would raise out of `deploy`."""
    from itabot.richmenu.deploy import deploy

    done = deploy(Settings(line_channel_access_token=TOKEN, line_api_base_url=prism_url))
    assert done.created and done.rich_menu_id


def test_prism_checks_a_rich_menus_body_and_token(prism_url):
    from itabot.richmenu.menu import menu_request

    body = menu_request("itabot x").to_dict()
    url = f"{prism_url}/v2/bot/richmenu"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.post(url, json=body, headers=auth, timeout=10).status_code == 200
    too_long = {**body, "chatBarText": "ข้อความแถบแชทที่ยาวเกินสิบสี่ตัว"}
    assert requests.post(url, json=too_long, headers=auth, timeout=10).status_code in (400, 422)
    assert requests.post(url, json=body, timeout=10).status_code == 401
