"""Many phrasings per intent — particles, typos one edit away, Thai or Arabic digits — and the
activities staff describe in their own words, found in the calendars themselves.

Every expected date and unit is read off the seeds (schedules/sources/), not the engine:
seed 001 (Surin FY2569, NACC column): OIT answer/approval closes Tue 30 Jun 2569 17.00; IIT input
closes 30 Jun 2569 17.00; registration 2–31 Mar 2569 (ITAS closes 31 Mar 17.00); NACC checks OIT
round 1 on 1–31 Jul, agencies view scores and appeal 1–7 Aug (ITAS closes 7 Aug 17.00), round 2
8–21 Aug. Surin's own rows: ๑ review meeting of the FY2568 results, March 2569 (สนจ.สร., สถ.จ.สร.,
อปท. ทุกแห่ง); ๓ score-raising project, March 2569 (สนจ.สร.); ๕ publicity to 10 Sep 2569
(สำนักงานประชาสัมพันธ์จังหวัดสุรินทร์); ๗ stakeholder database to 15 Jun 2569.
seed 004 (Saraburi FY2568): appointment order of the committee and working group, December 2567;
advisory site visits to every อปท., Dec 2567 – Feb 2568.
seed 002 (คึกคัก FY2568): indicator 5's measures include the conflict-of-interest handbook,
Oct 2567 – Jan 2568, สำนักปลัดฯ; indicator 2 กองคลัง, to Sep 2568.
"""

from __future__ import annotations

import pytest

from itabot.conversation.answer import Context
from itabot.conversation.replies import answer
from itabot.conversation.understanding import parse_question
from tests.conftest import bkk

SURIN, SARABURI = "สุรินทร์", "สระบุรี"
KHUEKKHAK, KHLONGPHA = "เทศบาลตำบลคึกคัก", "องค์การบริหารส่วนตำบลคลองพา"
JUN20 = bkk(2026, 6, 20, 9, 0)
MAR10 = bkk(2026, 3, 10, 9, 0)
JUL02 = bkk(2026, 7, 2, 9, 0)
JAN15_2568 = bkk(2025, 1, 15, 9, 0)


def ask(calendars, text, now=JUN20, **ctx):
    return answer(text, Context(now=now, **ctx), calendars)


OIT_CLOSING = [
    "OIT ปิดวันไหน",
    "oit ปิดวันไหนคะ",
    "OIT ปิดวันใหนครับ",
    "OIT ปิดวันไหร",
    "โอไอที ปิดเมื่อไหร่คะ",
    "OIT หมดเขตวันที่เท่าไหร่",
    "OIT ต้องส่งภายในวันไหนนะ",
    "OIT ส่งได้ถึงวันไหนจ๊ะ",
    "OIT เหลือกี่วันครับ",
    "OIT อีกกี่วันปิด",
    "ตัวชี้วัดที่ 9 ต้องเสร็จเมื่อไหร่",
    "ตัวชี้วัดที่ ๙ ปิดวันไหน",
    "ข้อ 9 หมดเขตเมื่อไร",
    "แบบวัดการเปิดเผยข้อมูลสาธารณะปิดกี่โมง",
    "OIT ยังทันไหมคับ",
]


@pytest.mark.parametrize("text", OIT_CLOSING)
def test_oit_closing_in_many_words(calendars, text):
    reply = ask(calendars, text)
    assert "30 มิถุนายน 2569 เวลา 17.00 น." in reply.text and "อีก 10 วัน" in reply.text


@pytest.mark.parametrize(
    "text",
    ["OIT ปิดวันไหน", "oit ยังทันไหม", "OIT หมดเขตยัง", "ส่ง OIT ได้ถึงเมื่อไหร่ครับ"],
)
def test_after_the_oit_answer_step_closes_oit_points_at_the_appeal_ahead(calendars, text):
    reply = ask(calendars, text, now=JUL02, province=SURIN)
    assert "1 - 7 สิงหาคม 2569" in reply.text
    assert "7 สิงหาคม 2569 เวลา 17.00 น." in reply.text
    assert "31 กรกฎาคม 2569" in reply.text  # the check round 1 under way
    assert "ยังไม่มีกำหนดการรอบใหม่" not in reply.text


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("ตรวจ OIT รอบ 1 เสร็จเมื่อไหร่", "31 กรกฎาคม 2569"),
        ("ตรวจให้คะแนน OIT รอบที่ ๑ ถึงวันไหน", "31 กรกฎาคม 2569"),
        ("ดูผลคะแนน OIT ได้เมื่อไหร่", "7 สิงหาคม 2569"),
        ("ชี้แจงเพิ่มเติม OIT ถึงวันไหน", "7 สิงหาคม 2569"),
        ("อุทธรณ์คะแนน OIT ได้ถึงกี่โมง", "17.00 น."),
        ("ตรวจ OIT รอบสองเสร็จวันไหน", "21 สิงหาคม 2569"),
    ],
)
def test_oit_steps_are_found_on_their_own(calendars, text, fact):
    reply = ask(calendars, text, now=JUN20)
    assert fact in reply.text
    assert "ประกาศผลการประเมิน ITA" not in reply.text


@pytest.mark.parametrize(
    "text",
    ["IIT เปิดวันไหน", "IIT เริ่มเมื่อไหร่", "iit เริ่มวันที่เท่าไหร่คะ", "ไอไอที เปิดระบบเมื่อไร"],
)
def test_when_does_it_open_answers_the_opening(calendars, text):
    reply = ask(calendars, text, now=bkk(2026, 2, 20, 9, 0))
    assert reply.intent == "opening"
    assert "2 มีนาคม 2569" in reply.text
    assert "30 มิถุนายน 2569 เวลา 17.00 น." in reply.text  # the closing beside it


def test_registration_opening(calendars):
    reply = ask(calendars, "ลงทะเบียนเปิดวันไหน", now=bkk(2026, 2, 20, 9, 0))
    assert "2 มีนาคม 2569" in reply.text and "31 มีนาคม 2569 เวลา 17.00 น." in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "ยังเหลืออะไรต้องทำ",
        "ยังเหลืออะไรต้องส่งไหม",
        "ทำไรต่อ",
        "ทำอะไรต่อคะ",
        "ต้องทำอะไรบ้างครับ",
        "ยังไม่ได้ส่งอะไรบ้าง",
    ],
)
def test_what_is_left_to_do(calendars, text):
    reply = ask(calendars, text, now=JUL02, province=SURIN)
    assert reply.intent in {"left", "next"}
    assert "7 สิงหาคม 2569" in reply.text  # the appeal the agency files
    assert "15 กรกฎาคม 2569" in reply.text  # Surin: publish the data on the website


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("พรุงนี้มีอะไรปิดบ้าง", "tomorrow"),
        ("พรุ่งนี้มีอะไรปิดบ้าง", "tomorrow"),
        ("อาทิตหน้ามีอะไรปิด", "next_week"),
        ("อาทิตย์หน้ามีอะไรต้องส่ง", "next_week"),
        ("สัปดาหน้ามีอะไรบ้าง", "next_week"),
        ("อาทิตนี้มีอะไรปิดไหม", "this_week"),
        ("เดือนหน้ามีอะไรครบกำหนด", "next_month"),
        ("อีก ๑๐ วันมีอะไรปิดบ้าง", "days_ahead"),
    ],
)
def test_windows_with_typos_and_thai_digits(calendars, text, window):
    assert parse_question(text).window == window


def test_next_week_with_a_typo_finds_the_june_closings(calendars):
    reply = ask(calendars, "อาทิตหน้ามีอะไรปิด", now=bkk(2026, 6, 24, 9, 0))
    assert "30 มิถุนายน 2569 เวลา 17.00 น." in reply.text


@pytest.mark.parametrize(
    ("text", "ctx", "fact", "unit"),
    [
        (
            "ประชุมทบทวนผลการประเมิน ITA ปีที่แล้วจัดเมื่อไหร่",
            {"province": SURIN},
            "ประชุมทบทวนและวิเคราะห์ผลการประเมิน ITA ปี ๒๕๖๘",
            "สนจ.สร.",
        ),
        (
            "วิเคราะห์ผลปี 68 ประชุมเดือนไหน",
            {"province": SURIN},
            "ประชุมทบทวนและวิเคราะห์ผลการประเมิน ITA ปี ๒๕๖๘",
            "สนจ.สร.",
        ),
        (
            "โครงการยกระดับคะแนน ITA ของจังหวัดเริ่มเมื่อไหร่",
            {"province": SURIN},
            "1 มีนาคม 2569",
            "สนจ.สร.",
        ),
        (
            "ฐานข้อมูลผู้มีส่วนได้ส่วนเสียต้องเสร็จวันไหน",
            {"province": SURIN},
            "15 มิถุนายน 2569",
            "อปท. ทุกแห่ง",
        ),
        (
            "ประชาสัมพันธ์ให้ประชาชนถึงวันไหน",
            {"province": SURIN},
            "10 กันยายน 2569",
            "ประชาสัมพันธ์",
        ),
        (
            "คำสั่งแต่งตั้งคณะทำงาน ITA ออกเมื่อไหร่",
            {"province": SARABURI},
            "31 ธันวาคม 2567",
            "สำนักงานจังหวัดสระบุรี",
        ),
        (
            "ลงพื้นที่ให้คำปรึกษา อปท. ช่วงไหน",
            {"province": SARABURI},
            "28 กุมภาพันธ์ 2568",
            "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดสระบุรี",
        ),
        (
            "คู่มือผลประโยชน์ทับซ้อนต้องเสร็จเมื่อไหร่",
            {"agency": KHUEKKHAK},
            "31 มกราคม 2568",
            "สำนักปลัดฯ",
        ),
        (
            "คู่มือป้องกันผลประโยชน์ทับซ้อน ใครทำคะ",
            {"agency": KHUEKKHAK},
            "31 มกราคม 2568",
            "สำนักปลัดฯ",
        ),
    ],
)
def test_an_activity_described_in_words_is_found_in_the_calendars(calendars, text, ctx, fact, unit):
    now = JAN15_2568 if ctx.get("agency") or ctx.get("province") == SARABURI else MAR10
    reply = ask(calendars, text, now=now, **ctx)
    assert fact in reply.text, reply.text
    assert unit in reply.text
    assert "ประกาศผลการประเมิน ITA" not in reply.text  # "ผล" is not the results announcement


def test_who_puts_the_unit_that_answers_first(calendars):
    reply = ask(calendars, "ตัวชี้วัดที่ 2 ใครรับผิดชอบ", now=JAN15_2568, agency=KHUEKKHAK)
    assert reply.units[0].startswith("กองคลัง")
    assert reply.text.split("\n")[1].startswith("ผู้รับผิดชอบ: กองคลัง")
    assert "2569" not in reply.text  # one year at a time


# --- one year at a time -------------------------------------------------------------------


def test_an_fy2568_agency_hears_its_own_year_only(calendars):
    for text in ("OIT ปิดวันไหน", "กำหนดการถัดไป", "ยังเหลืออะไรต้องทำ"):
        reply = ask(calendars, text, now=JAN15_2568, agency=KHUEKKHAK)
        assert "2569" not in reply.text, (text, reply.text)
        assert reply.extra["fiscal_year"] == 2568


def test_another_years_dates_say_their_year(calendars):
    """คึกคัก's FY2568 OIT measures ended 31 Mar 2568: in June 2568 the next OIT closing is
    NACC's FY2569 one, said to be of that year."""
    reply = ask(calendars, "OIT ปิดวันไหน", now=bkk(2025, 6, 1, 9, 0), agency=KHUEKKHAK)
    assert "ปีงบประมาณ พ.ศ. 2569" in reply.text
    assert "30 มิถุนายน 2569 เวลา 17.00 น." in reply.text
    assert reply.extra["fiscal_year"] == 2568 and reply.extra["other_years"] == [2569]


def test_a_plan_of_a_past_year_leaves_the_chat_in_the_current_year(calendars):
    reply = ask(calendars, "OIT ปิดวันไหน", now=JUN20, agency=KHLONGPHA)
    assert reply.extra["fiscal_year"] == 2569
    assert "30 มิถุนายน 2569 เวลา 17.00 น." in reply.text and "2564" not in reply.text


def test_an_unbound_chat_before_the_national_year_says_the_year(calendars):
    reply = ask(calendars, "OIT ปิดวันไหน", now=bkk(2025, 6, 1, 9, 0))
    assert "ปีงบประมาณ พ.ศ. 2569" in reply.text


def test_the_current_year_needs_no_year_note(calendars):
    assert "ปีงบประมาณ พ.ศ." not in ask(calendars, "OIT ปิดวันไหน", province=SURIN).text
