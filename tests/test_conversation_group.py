"""A good member of a LINE group: silent on office chatter, answering ITA questions, @mentions
and its name; in a 1:1 chat it answers everything, courtesies with a courteous line.

The chatter is the kind an agency's group carries every day (lunch, the aircon, leave, the
monthly report, meetings); the ITA questions are written from the seeds (schedules/sources/).
"""

from __future__ import annotations

import json

import pytest

from itabot.app import create_app
from itabot.conversation.addressing import (
    asks_about_ita,
    bot_names,
    without_mention,
    without_name,
)
from itabot.conversation.answer import Context
from itabot.conversation.replies import answer
from itabot.router import handle_message
from itabot.webhook.routes import EXTENSION
from tests.conftest import bkk
from tests.fakeline import SECRET, callback_body, sign, source, text_event

pytest_plugins = ["tests.fakeline"]

JUN20 = bkk(2026, 6, 20, 9, 0)
STAFF = "U" + "1" * 32
GROUP = "C" + "b" * 32
ROOM = "R" + "c" * 32

CHATTER = [
    "ปิดไฟด้วยนะ",
    "วันนี้กินข้าวที่ไหนดีครับ",
    "เย็นนี้กินข้าวที่ไหนดีครับ",
    "ใครว่างบ้าง ช่วยยกของหน่อย",
    "ส่งรายงานประจำเดือนภายในวันที่ 5 นะคะ",
    "ส่งรายงานประจำเดือนภายในวันที่ ๕ นะคะ",
    "วันนี้ผมลาป่วยนะครับ",
    "พรุ่งนี้ขอลากิจครึ่งวันนะคะ",
    "แอร์ห้องประชุมเสีย ใครโทรเรียกช่างให้หน่อย",
    "แอร์ห้องประชุมไม่เย็นเลย",
    "ประชุมกี่โมงครับ",
    "ประชุมบ่ายนี้ห้องไหน",
    "พรุ่งนี้ประชุมประจำเดือนนะครับ 9 โมง",
    "ใครเอารถหลวงไปบ้างคะ",
    "ฝากซื้อกาแฟด้วยค่ะ",
    "555 ขำมาก",
    "ไปกินส้มตำกันไหม",
    "วันศุกร์นี้เลี้ยงวันเกิดพี่แดงนะคะ",
    "ใครเห็นกุญแจห้องเก็บของบ้าง",
    "ปิดแอร์ก่อนกลับด้วยนะครับ",
    "เครื่องถ่ายเอกสารกระดาษติดอีกแล้ว",
    "ส่งใบลาที่ไหนครับ",
    "เงินเดือนออกวันไหนคะ",
    "สัปดาห์หน้าใครเข้าเวรบ้าง",
    "เดือนนี้ใครเป็นเวรทำความสะอาด",
    "ฝนตกหนักมาก ระวังกันด้วยนะ",
    "รับทราบครับ",
    "ขอบคุณครับ",
    "โอเคค่ะ",
    "อรุณสวัสดิ์วันจันทร์ค่ะ",
    "ใครรับโทรศัพท์ให้หน่อย",
    "ร้านข้าวมันไก่ปิดวันไหนนะ",
    "ส่งรายงานการประชุมให้ผมด้วยนะครับ",
    "น้ำดื่มหมดแล้ว ใครสั่งให้หน่อย",
    "พรุ่งนี้หยุดไหมครับ",
    "ตอนนี้อยู่ไหนกันคะ",
    "ปิดงบเดือนนี้เมื่อไหร่ครับ",
    "แจ้งทุกท่าน ส่ง OIT ให้ทันภายใน 30 มิ.ย. นะคะ",
    "ผอ. ฝากเร่งรัด IIT ให้ครบภายในวันที่ ๒๐ ครับ",
]

ITA_QUESTIONS = [
    ("OIT ปิดวันไหน", "30 มิถุนายน 2569"),
    ("oit ปิดวันไหนคะ", "30 มิถุนายน 2569"),
    ("OIT ต้องส่งภายในวันไหนครับ", "30 มิถุนายน 2569"),
    ("IIT หมดเขตเมื่อไร", "30 มิถุนายน 2569"),
    ("EIT ปิดกี่โมง", "17.00 น."),
    ("ลงทะเบียน ITAS ปิดวันไหน", "31 มีนาคม 2569"),
    ("ชี้แจง OIT ถึงวันไหน", "7 สิงหาคม 2569"),
    ("ประกาศผล ITA เมื่อไหร่", "ตุลาคม 2569"),
    ("กำหนดการถัดไป", "30 มิถุนายน 2569"),
    ("พรุ่งนี้มีอะไรปิดบ้าง", "ไม่มีกำหนดปิด"),
    ("สัปดาห์หน้ามีอะไรต้องส่งบ้าง", "30 มิถุนายน 2569"),
    ("อาทิตหน้ามีอะไรปิดมั้ย", "30 มิถุนายน 2569"),
    ("ตอนนี้อยู่ช่วงไหนของการประเมิน", "OIT"),
    ("ตัวชี้วัดที่ 9 ใครรับผิดชอบ", "ผู้รับผิดชอบ"),
    ("ตัวชี้วัดที่ ๙ ต้องเสร็จเมื่อไหร่", "30 มิถุนายน 2569"),
    ("ส่งลิงก์ OIT ให้จังหวัดวันไหน", "5 มิถุนายน 2569"),
    ("ตรวจ OIT รอบ 2 เสร็จเมื่อไหร่", "21 สิงหาคม 2569"),
    ("แบบวัด IIT ยังทันไหมครับ", "30 มิถุนายน 2569"),
    ("ITA ปีนี้ยังเหลืออะไรต้องทำบ้าง", "30 มิถุนายน 2569"),
    ("ดูผลคะแนน OIT ได้เมื่อไหร่", "7 สิงหาคม 2569"),
]


def in_group(services, text, *, mentioned=False, chat=GROUP, kind="group", **kw):
    return handle_message(
        text,
        services=services,
        now=JUN20,
        user_id=STAFF,
        chat_id=chat,
        chat_type=kind,
        mentioned=mentioned,
        **kw,
    )


def group_would_answer(calendars, text: str, **ctx) -> bool:
    reply = answer(text, Context(now=JUN20, chat_type="group", **ctx), calendars)
    return asks_about_ita(text, reply)


def test_the_body_of_chatter_is_long_enough():
    assert len(CHATTER) >= 30 and len(set(CHATTER)) == len(CHATTER)


@pytest.mark.parametrize("text", CHATTER)
@pytest.mark.parametrize("province", [None, "สุรินทร์"])
def test_office_chatter_in_a_group_gets_no_answer(calendars, text, province):
    assert not group_would_answer(calendars, text, province=province)


# An unbound group sees only NACC's calendar: the province's own deadline is asked in Surin.
ASKED = [
    (text, fact, province)
    for text, fact in ITA_QUESTIONS
    for province in ("สุรินทร์",) + (() if "จังหวัด" in text else (None,))
]


@pytest.mark.parametrize(("text", "fact", "province"), ASKED)
def test_an_ita_question_in_a_group_is_answered(calendars, text, fact, province):
    reply = answer(text, Context(now=JUN20, chat_type="group", province=province), calendars)
    assert asks_about_ita(text, reply), reply.text
    assert fact in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "ประชุมทบทวนผลการประเมิน ITA ปีที่แล้วจัดเมื่อไหร่",
        "โครงการยกระดับคะแนนของจังหวัดเริ่มเมื่อไหร่",
        "ฐานข้อมูลผู้มีส่วนได้ส่วนเสียต้องส่งเมื่อไหร่คะ",
        "ประชาสัมพันธ์ให้ประชาชนถึงวันไหน",
    ],
)
def test_an_activity_of_the_province_asked_in_its_words_is_answered(calendars, text):
    assert group_would_answer(calendars, text, province="สุรินทร์")


def test_the_bot_is_called_by_name_and_the_rest_is_the_question():
    names = bot_names()
    assert without_name("น้อง ITA OIT ปิดวันไหน", names) == "OIT ปิดวันไหน"
    assert without_name("บอท ช่วยด้วย", names) == "ช่วยด้วย"
    assert without_name("ไปกินข้าวกัน", names) is None
    assert without_name("สวัสดีน้องไอต้า", bot_names(("น้องไอต้า",))) == "สวัสดี"


def test_the_mention_is_not_part_of_the_question():
    names = bot_names()
    assert without_mention("@ITA Bot สวัสดีครับ", names) == "สวัสดีครับ"
    assert without_mention("@บอทเตือนITA OIT ปิดวันไหน", names) == "OIT ปิดวันไหน"


def test_configured_names_replace_the_defaults():
    assert without_name("น้องITA ครับ", bot_names(("ผู้ช่วย ITA สุรินทร์",))) is None
    assert without_name("ผู้ช่วย ita สุรินทร์ OIT", bot_names(("ผู้ช่วย ITA สุรินทร์",))) == "OIT"


# --- through the router (the decision the webhook obeys), SQLite and PostgreSQL ---------------


def test_group_chatter_is_silent_and_an_ita_question_answered(services):
    assert in_group(services, "ปิดไฟด้วยนะ").text == ""
    assert in_group(services, "วันนี้ผมลาป่วยนะครับ").intent == "silent"
    reply = in_group(services, "OIT ปิดวันไหน")
    assert "30 มิถุนายน 2569" in reply.text


def test_a_mention_is_answered_even_when_it_is_chatter(services):
    assert in_group(services, "@ITA เย็นนี้กินอะไรดี", mentioned=True).text
    assert in_group(services, "@ITA Bot ขอบคุณครับ", mentioned=True).intent == "courtesy"
    assert "30 มิถุนายน 2569" in in_group(services, "@บอท OIT ปิดวันไหน", mentioned=True).text


def test_the_bot_answers_its_name_in_a_room(services):
    reply = in_group(services, "น้องITA ขอบคุณครับ", chat=ROOM, kind="room")
    assert reply.intent == "courtesy"
    assert "OIT ปิดวันไหน" in in_group(services, "น้องITA", chat=ROOM, kind="room").text


def test_commands_in_a_group_are_always_handled(services):
    assert "U" in in_group(services, "/whoami").text


@pytest.mark.parametrize("text", ["ขอบคุณครับ", "ขอบคุณมากค่ะ 🙏", "สวัสดีครับ", "ok ครับ", "โอเคค่ะ"])
def test_a_courtesy_in_a_1to1_chat_gets_a_short_courteous_reply(calendars, text):
    reply = answer(text, Context(now=JUN20, chat_type="user"), calendars)
    assert reply.intent == "courtesy"
    assert "ไม่เข้าใจ" not in reply.text and len(reply.text) < 80


def test_everything_is_answered_in_a_1to1_chat(services):
    reply = handle_message(
        "ปิดไฟด้วยนะ", services=services, now=JUN20, user_id=STAFF, chat_id=STAFF, chat_type="user"
    )
    assert reply.text


# --- over the webhook, LINE faked: what a group actually receives ------------------------------


def test_a_group_over_the_webhook_hears_only_its_questions(line_settings, fake_line):
    app = create_app(line_settings)
    app.extensions[EXTENSION].clock = lambda: JUN20
    mention = {"mentionees": [{"index": 0, "length": 4, "type": "user", "isSelf": True}]}
    in_the_group = source("group", STAFF, GROUP)
    chatter = [text_event(t, src=in_the_group) for t in CHATTER]
    questions = [text_event(t, src=in_the_group) for t, _ in ITA_QUESTIONS[:8]]
    mentions = [text_event(t, src=in_the_group) for t in ("@ITA สวัสดี", "@ITA ข้าวกล่องมาแล้ว")]
    for ev in mentions:
        ev["message"]["mention"] = mention
    client = app.test_client()
    for ev in chatter + questions + mentions:
        raw = callback_body(ev)
        headers = {"Content-Type": "application/json", "X-Line-Signature": sign(raw, SECRET)}
        assert client.post("/callback", data=raw, headers=headers).status_code == 200
    assert app.extensions[EXTENSION].wait_idle(30)
    answered = {r.json["replyToken"] for r in fake_line.replies}
    assert not answered & {ev["replyToken"] for ev in chatter}, json.dumps(
        [ev["message"]["text"] for ev in chatter if ev["replyToken"] in answered],
        ensure_ascii=False,
    )
    assert {ev["replyToken"] for ev in questions + mentions} <= answered
