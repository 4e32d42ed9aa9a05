"""itabot.line.client against a fake LINE server: what goes over the wire, retries, retry keys, 409s,
quota and member counts — and that no secret reaches the logs."""

from __future__ import annotations

import logging
import socket
import uuid
from functools import partial

import pytest
from linebot.v3.messaging import TextMessage

from itabot.app import create_app
from itabot.config import Settings
from itabot.line.answer_messages import text_messages
from itabot.line.client import (
    LoggingGateway,
    PushOutcome,
    SdkLineGateway,
    make_line_gateway,
    messages_from_json,
    messages_to_json,
)
from itabot.webhook.routes import EXTENSION
from tests.fakeline import callback_body, post_signed, sign, text_event

pytest_plugins = ["tests.fakeline"]

TOKEN = "test-access-token-SECRET-0123456789"
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


class Sleeps:
    """A no-op `sleep` that remembers what it was asked: tests never sleep."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def gateway(fake_line, sleeps) -> SdkLineGateway:
    settings = Settings(line_channel_access_token=TOKEN, line_api_base_url=fake_line.base_url)
    gw = make_line_gateway(settings, sleep=sleeps, timeout=2.0)
    assert isinstance(gw, SdkLineGateway)
    yield gw
    gw.close()


def hello() -> list:
    return [TextMessage(text="สวัสดีครับ")]


def key() -> str:
    return str(uuid.uuid4())


# --- reply ----------------------------------------------------------------------------------


def test_reply_sends_the_messages_with_the_token_and_no_retry_key(gateway, fake_line):
    assert gateway.reply("reply-token-1", hello()) is True
    [call] = fake_line.calls(REPLY)
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.json == {
        "replyToken": "reply-token-1",
        "messages": [{"type": "text", "text": "สวัสดีครับ"}],
    }
    assert call.retry_key is None  # LINE answers 400 to a retry key on reply


def test_a_cached_flex_answer_goes_out_exactly_as_the_sdk_serialises_it(
    gateway, fake_line, calendars
):
    from itabot.conversation.answer import Answer
    from itabot.line.answer_messages import answer_to_messages
    from tests.conftest import bkk

    phase = calendars.get("national-2569").phase("oit-answer")
    answer = Answer(intent="closing", text="OIT", phases=(phase,), quick_replies=("กำหนดการถัดไป",))
    first = answer_to_messages(answer, now=bkk(2026, 6, 20, 9, 0))
    again = answer_to_messages(answer, now=bkk(2026, 6, 20, 9, 0, 30))
    assert again[0] is first[0]  # the same minute renders once
    assert gateway.reply("token-a", first) and gateway.reply("token-b", again)
    sent = [c.json["messages"] for c in fake_line.replies]
    assert sent == [[first[0].to_dict()]] * 2
    other = answer_to_messages(answer, now=bkk(2026, 6, 21, 9, 0))
    assert gateway.reply("token-c", other)
    assert fake_line.replies[-1].json["messages"] == [other[0].to_dict()] != sent[0]


def test_reply_to_an_invalid_token_returns_false_and_does_not_raise(gateway, fake_line):
    assert gateway.reply("0" * 32, hello()) is False
    assert len(fake_line.calls(REPLY)) == 1  # a 400 is not retried


def test_reply_after_a_5xx_is_retried_once_with_the_same_token(gateway, fake_line, sleeps):
    fake_line.fail_next(1, 500)
    assert gateway.reply("reply-token-2", hello()) is True
    assert [c.json["replyToken"] for c in fake_line.calls(REPLY)] == ["reply-token-2"] * 2
    assert len(sleeps.calls) == 1


# --- push -----------------------------------------------------------------------------------


def test_push_sends_the_retry_key_and_reports_sent(gateway, fake_line):
    retry_key = key()
    result = gateway.push("Ugroupuser", hello(), retry_key=retry_key)
    assert (result.outcome, result.status, result.attempts) == (PushOutcome.SENT, 200, 1)
    assert result.delivered
    [call] = fake_line.pushes
    assert call.retry_key == retry_key
    assert call.json["to"] == "Ugroupuser"


def test_push_retries_5xx_with_the_same_retry_key_and_backs_off(gateway, fake_line, sleeps):
    fake_line.fail_next(2, 500, path=PUSH)
    retry_key = key()
    result = gateway.push("C123", hello(), retry_key=retry_key)
    assert (result.outcome, result.attempts) == (PushOutcome.SENT, 3)
    assert {c.retry_key for c in fake_line.calls(PUSH)} == {retry_key}
    assert sleeps.calls == [1.0, 2.0]


def test_push_honours_retry_after_on_429(gateway, fake_line, sleeps):
    fake_line.fail_next(1, 429, retry_after=7, path=PUSH)
    result = gateway.push("C123", hello(), retry_key=key())
    assert result.outcome is PushOutcome.SENT
    assert sleeps.calls == [7.0]


def test_push_does_not_hold_the_caller_for_a_long_retry_after(gateway, fake_line, sleeps):
    fake_line.fail_next(1, 429, retry_after=3600, path=PUSH)
    result = gateway.push("C123", hello(), retry_key=key())
    assert (result.outcome, result.status, result.attempts) == (PushOutcome.RETRY_LATER, 429, 1)
    assert sleeps.calls == []


def test_push_gives_up_after_a_few_5xx_and_says_retry_later(gateway, fake_line, sleeps):
    fake_line.fail_next(10, 503, path=PUSH)
    result = gateway.push("C123", hello(), retry_key=key())
    assert (result.outcome, result.status, result.attempts) == (PushOutcome.RETRY_LATER, 503, 4)
    assert sleeps.calls == [1.0, 2.0, 4.0]
    assert fake_line.pushes == []


def test_push_rejected_by_a_4xx_is_not_retried(gateway, fake_line, sleeps):
    fake_line.fail_next(1, 400, path=PUSH)
    result = gateway.push("C123", hello(), retry_key=key())
    assert (result.outcome, result.status, result.attempts) == (PushOutcome.REJECTED, 400, 1)
    assert result.error == "fake failure 400"
    assert sleeps.calls == []


def test_a_repeated_retry_key_is_already_accepted_not_sent_twice(gateway, fake_line):
    retry_key = key()
    assert gateway.push("C123", hello(), retry_key=retry_key).outcome is PushOutcome.SENT
    again = gateway.push("C123", hello(), retry_key=retry_key)
    assert (again.outcome, again.status) == (PushOutcome.ALREADY_ACCEPTED, 409)
    assert again.delivered
    assert len(fake_line.pushes) == 1


def test_a_timed_out_push_that_was_delivered_is_not_delivered_twice(fake_line, sleeps):
    """LINE got the push but the answer came too late: the retries carry the same key, so
    however many reach LINE, one is delivered and the rest are 409."""
    settings = Settings(line_channel_access_token=TOKEN, line_api_base_url=fake_line.base_url)
    gw = make_line_gateway(settings, sleep=sleeps, timeout=0.3)
    fake_line.hold(PUSH)
    retry_key = key()
    result = gw.push("C123", hello(), retry_key=retry_key)
    assert (result.outcome, result.status) == (PushOutcome.RETRY_LATER, None)
    fake_line.release()
    assert fake_line.wait_for(lambda f: len(f.calls(PUSH)) == result.attempts)
    assert len(fake_line.pushes) == 1
    assert gw.push("C123", hello(), retry_key=retry_key).outcome is PushOutcome.ALREADY_ACCEPTED


def test_push_when_line_is_unreachable_says_retry_later(sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens here
    settings = Settings(
        line_channel_access_token=TOKEN, line_api_base_url=f"http://127.0.0.1:{port}"
    )
    result = make_line_gateway(settings, sleep=sleeps, timeout=1.0).push(
        "C123", hello(), retry_key=key()
    )
    assert (result.outcome, result.status, result.attempts) == (PushOutcome.RETRY_LATER, None, 4)
    assert "Connection" in (result.error or "") or "refused" in (result.error or "")


def test_push_of_more_than_five_messages_is_rejected_before_sending(gateway, fake_line):
    result = gateway.push("C123", hello() * 6, retry_key=key())
    assert result.outcome is PushOutcome.REJECTED
    assert fake_line.calls(PUSH) == []


# --- quota and member counts ----------------------------------------------------------------


def test_quota_remaining_is_the_limit_minus_this_months_use(gateway, fake_line):
    fake_line.quota = {"type": "limited", "value": 300}
    fake_line.consumption = 42
    assert gateway.quota_remaining() == 258
    assert all(c.retry_key is None for c in fake_line.requests)


def test_quota_unlimited_or_unknown_is_none(gateway, fake_line):
    fake_line.quota = {"type": "none"}
    assert gateway.quota_remaining() is None
    fake_line.quota = {"type": "limited", "value": 300}
    fake_line.fail_next(1, 500)
    assert gateway.quota_remaining() is None


def test_member_count_of_a_user_group_and_room(gateway, fake_line):
    fake_line.member_counts = {"Cgroup1": 30, "Rroom1": 4}
    assert gateway.member_count("Uuser1", "user") == 1
    assert gateway.member_count("Cgroup1", "group") == 30
    assert gateway.member_count("Rroom1", "room") == 4
    paths = [c.path for c in fake_line.requests]
    assert paths == ["/v2/bot/group/Cgroup1/members/count", "/v2/bot/room/Rroom1/members/count"]
    fake_line.fail_next(1, 404)
    assert gateway.member_count("Cgone", "group") == 1


# --- no channel yet; serialising; secrets -----------------------------------------------------


def test_without_an_access_token_messages_are_logged_not_sent(caplog):
    gw = make_line_gateway(Settings(line_channel_access_token=""))
    assert isinstance(gw, LoggingGateway)
    with caplog.at_level(logging.INFO, logger="itabot.line.client"):
        assert gw.reply("t", text_messages("OIT ปิด 30 มิ.ย.")) is True
        result = gw.push("C1", hello(), retry_key=key())
    assert result.outcome is PushOutcome.SENT
    assert "OIT ปิด 30 มิ.ย." in caplog.text
    assert "สวัสดีครับ" in caplog.text
    assert gw.quota_remaining() is None
    assert gw.member_count("C1", "group") == 1


def test_messages_round_trip_through_json_unchanged():
    from itabot.conversation.answer import Answer

    messages = text_messages("ข้อความ", ("กำหนดการถัดไป", "OIT ปิดวันไหน"))
    stored = messages_to_json(messages)
    assert "ข้อความ" in stored  # stored readable, not \\u-escaped
    assert messages_from_json(stored) == messages
    answer = Answer(intent="help", text="x" * 10, quick_replies=("a",))
    from itabot.line.answer_messages import answer_to_messages

    flex_like = answer_to_messages(answer)
    assert messages_from_json(messages_to_json(flex_like)) == flex_like


def test_no_secret_reaches_the_logs_or_the_output(
    fake_line, sleeps, caplog, capfd, monkeypatch, request, sqlite_url
):
    """The secrets go in the way production gives them (the environment, read by
    `Settings.from_env`) to the code that uses them: the webhook checks signatures with the
    channel secret, the client sends the token on every call. Every path that logs is taken —
    forged and broken requests, a handler that fails, LINE failing replies and pushes, a push
    timing out, quota and member counts — and neither secret (nor a valid signature) is in any
    log record, message, argument or traceback, nor on stdout/stderr (where the SDK's debug
    output would go)."""
    secret = "channel-secret-SECRET-abcdef"
    for name, value in {
        "LINE_CHANNEL_SECRET": secret,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": fake_line.base_url,
        "DATABASE_URL": sqlite_url,
        "ITABOT_SCHEDULER": "off",
        "LOG_LEVEL": "DEBUG",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert (settings.line_channel_secret, settings.line_channel_access_token) == (secret, TOKEN)
    itabot_log = logging.getLogger("itabot")
    request.addfinalizer(partial(itabot_log.setLevel, itabot_log.level))  # create_app sets it
    with caplog.at_level(logging.DEBUG):
        app = create_app(settings)
        client = app.test_client()
        body = callback_body(text_event("OIT ปิดวันไหน"))
        assert post_signed(client, body, "not-the-secret").status_code == 400
        assert post_signed(client, b"{broken", secret).status_code == 400
        fake_line.fail_next(5, 500)
        assert post_signed(client, body, secret).status_code == 200
        fake_line.fail_next(5, 401)
        assert post_signed(client, callback_body(text_event("ช่วยเหลือ")), secret).status_code == 200
        monkeypatch.setattr("itabot.router.handle_message", lambda *a, **k: 1 / 0)
        assert post_signed(client, callback_body(text_event("x")), secret).status_code == 200
        assert app.extensions[EXTENSION].wait_idle(10)
        gw = make_line_gateway(settings, sleep=sleeps, timeout=0.3)
        fake_line.fail_next(10, 401)
        gw.push("C1", hello(), retry_key=key())
        fake_line.fail_next(2, 500)
        gw.quota_remaining()
        gw.member_count("C1", "group")
        fake_line.hold()
        gw.push("C1", hello(), retry_key=key())
        fake_line.release()
    assert len(fake_line.calls(REPLY)) >= 2  # the webhook did reach LINE with the token
    assert any(r.levelno >= logging.WARNING for r in caplog.records)  # the failures were logged
    written = capfd.readouterr()
    for leak in (secret, TOKEN, sign(body, secret)):
        assert leak not in caplog.text
        assert not [r for r in caplog.records if leak in r.getMessage()]
        assert leak not in written.out and leak not in written.err
