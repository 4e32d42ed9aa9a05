"""Staff questions in Thai, at fixed times, answered from the real calendars in schedules/."""

from __future__ import annotations

import pytest

from itabot.conversation.answer import Context
from itabot.conversation.replies import EXAMPLE_QUESTIONS, answer
from itabot.conversation.understanding import normalise, parse_question
from tests.conftest import bkk

SURIN = "สุรินทร์"
JUNE_20 = bkk(2026, 6, 20, 9, 0)


def ask(calendars, text, now=JUNE_20, province=None, agency=None):
    return answer(text, Context(now=now, province=province, agency=agency), calendars)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("OIT ปิดวันไหน", "30 มิถุนายน 2569 เวลา 17.00 น."),
        ("oit ปิดวันไหน", "30 มิถุนายน 2569 เวลา 17.00 น."),
        ("OITปิดวันไหนคะ", "30 มิถุนายน 2569 เวลา 17.00 น."),
        ("IIT หมดเขตเมื่อไร", "30 มิถุนายน 2569 เวลา 17.00 น."),
        ("EIT ปิดกี่โมง", "30 กันยายน 2569 เวลา 17.00 น."),
        ("ชี้แจง OIT ถึงวันไหน", "7 สิงหาคม 2569 เวลา 17.00 น."),
        ("ประกาศผลเมื่อไหร่", "31 ตุลาคม 2569"),
    ],
)
def test_closing_question_gives_date_time_and_countdown(calendars, question, expected):
    reply = ask(calendars, question)
    assert reply.intent == "closing"
    assert expected in reply.text
    assert "อีก " in reply.text


def test_oit_closing_has_ten_day_countdown(calendars):
    reply = ask(calendars, "OIT ปิดวันไหน")
    assert "วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น. (อีก 10 วัน)" in reply.text
    assert reply.phases[0].id == "oit-answer"


def test_registration_closed_says_so_with_the_date(calendars):
    reply = ask(calendars, "ลงทะเบียน ITAS ปิดวันไหน")
    assert "ปิดไปแล้ว" in reply.text
    assert "31 มีนาคม 2569 เวลา 17.00 น." in reply.text


def test_registration_before_closing_gives_province_deadline_too(calendars):
    reply = ask(calendars, "ลงทะเบียน ITAS ปิดวันไหน", now=bkk(2026, 3, 10, 10, 0), province=SURIN)
    assert "31 มีนาคม 2569 เวลา 17.00 น." in reply.text  # ITAS
    assert "20 มีนาคม 2569" in reply.text  # Surin's earlier internal deadline
    assert "จังหวัดสุรินทร์" in reply.text


def test_thai_digits_and_typos_are_understood(calendars):
    assert "31 มีนาคม 2569" in ask(calendars, "ลงทะเบียญปิดวันไหร").text
    reply = ask(calendars, "ตัวชี้วัดที่ ๒ ใครรับผิดชอบ", agency="เทศบาลตำบลคึกคัก")
    assert reply.intent == "responsible"
    assert "กองคลัง" in reply.text


def test_surin_oit_links_deadlines_are_their_own_phases(calendars):
    reply = ask(calendars, "ส่งลิงก์ OIT ให้จังหวัดภายในวันไหน", now=bkk(2026, 4, 1, 9, 0), province=SURIN)
    assert "5 พฤษภาคม 2569" in reply.text
    assert "5 มิถุนายน 2569" in reply.text


def test_who_is_responsible_for_oit_in_surin(calendars):
    reply = ask(calendars, "ใครรับผิดชอบ OIT", now=bkk(2026, 4, 1, 9, 0), province="จ.สุรินทร์")
    assert reply.intent == "responsible"
    assert any("อปท. ทุกแห่ง" in unit for unit in reply.units)
    assert "สนจ.สร. (สำนักงานจังหวัดสุรินทร์)" in reply.text


def test_next_deadlines_are_soonest_first(calendars):
    reply = ask(calendars, "กำหนดการถัดไป", province=SURIN)
    closings = [p.closing for p in reply.phases]
    assert closings == sorted(closings)
    assert closings[0] >= JUNE_20


def test_tomorrow_window(calendars):
    reply = ask(calendars, "พรุ่งนี้มีอะไรปิดบ้าง", now=bkk(2026, 6, 29, 8, 0))
    assert reply.intent == "window"
    assert "30 มิถุนายน 2569 เวลา 17.00 น." in reply.text
    assert {p.id for p in reply.phases} >= {"oit-answer", "iit"}


def test_today_window_on_the_day(calendars):
    reply = ask(calendars, "วันนี้มีอะไรปิด", now=bkk(2026, 8, 7, 8, 30))
    assert "วันนี้" in reply.text
    assert "7 สิงหาคม 2569 เวลา 17.00 น." in reply.text


def test_this_week_with_nothing_closing_points_to_the_next(calendars):
    reply = ask(calendars, "สัปดาห์นี้มีอะไรปิด", now=bkk(2026, 7, 6, 9, 0))
    assert "ไม่มีกำหนดปิด" in reply.text
    assert reply.phases  # the next closing is offered instead


def test_open_now(calendars):
    reply = ask(calendars, "ตอนนี้อยู่ช่วงไหน", now=bkk(2026, 8, 3, 9, 0))
    assert reply.intent == "open_now"
    assert any(p.id == "oit-appeal" for p in reply.phases)


def test_nothing_ahead_says_nothing_is_scheduled(calendars):
    reply = ask(calendars, "กำหนดการถัดไป", now=bkk(2027, 1, 15, 9, 0))
    assert reply.intent == "nothing_scheduled"
    assert "ยังไม่มีกำหนดการ" in reply.text


@pytest.mark.parametrize("text", ["", "   ", "asdfgh", "555", "🙂", "x" * 5000, "\x00\x01"])
def test_nonsense_gets_a_hint_not_an_error(calendars, text):
    reply = ask(calendars, text)
    assert reply.intent == "unknown"
    assert EXAMPLE_QUESTIONS[0] in reply.text


def test_help_lists_example_questions(calendars):
    reply = ask(calendars, "ช่วยเหลือ")
    assert reply.intent == "help"
    assert all(q in reply.text for q in EXAMPLE_QUESTIONS)


def test_unbound_chat_is_told_how_to_get_province_deadlines(calendars):
    assert "/bind" in ask(calendars, "OIT ปิดวันไหน").text
    assert "/bind" not in ask(calendars, "OIT ปิดวันไหน", province=SURIN).text


def test_normalise_folds_digits_spaces_and_case():
    assert normalise("ตัวชี้วัดที่ ๙  OIT") == "ตัวชี้วัดที่9oit"


def test_parse_question_reads_indicator_by_name():
    assert parse_question("ใครรับผิดชอบการใช้งบประมาณ").indicator == 2


def test_by_when_is_not_mistaken_for_iit(calendars):
    reply = ask(calendars, "OIT ต้องส่งภายในวันไหน")
    assert reply.phases[0].tool == "OIT"
