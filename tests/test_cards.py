"""The card carries the whole answer: what the text alternative says that matters is on the Flex
card too, the date and the countdown are its largest text, the heading is said once, labels are
whole, and an answer's countdown has the reminder card's colour. Contrast: every text colour on
its background, as the JSON has them, is at least 4.5:1 (WCAG 2 AA)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from itabot.calendars.model import Phase
from itabot.conversation.answer import Answer, Context
from itabot.conversation.replies import answer as answer_question
from itabot.line.answer_messages import (
    BLUE,
    GREY,
    ORANGE,
    RED,
    answer_to_messages,
    countdown_colour,
)
from itabot.reminders.messages import reminder_bubble, reminder_messages
from tests.conftest import bkk

SIZES = ["xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl"]


def texts(node) -> list[dict]:
    """Every text component of a Flex JSON tree, in reading order."""
    if isinstance(node, dict):
        own = [node] if node.get("type") == "text" else []
        return own + [t for v in node.values() for t in texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in texts(v)]
    return []


def bubbles(message) -> list[dict]:
    contents = message.contents.to_dict()
    return contents["contents"] if contents["type"] == "carousel" else [contents]


def card_texts(message) -> list[str]:
    return [t["text"] for b in bubbles(message) for t in texts(b)]


def ask(calendars, question: str, now, **where) -> tuple[Answer, object]:
    answer = answer_question(question, Context(now=now, **where), calendars)
    [message] = answer_to_messages(answer)
    return answer, message


# --- every fact the text carries -------------------------------------------------------------


def test_the_provinces_earlier_deadline_is_on_the_card(calendars):
    answer, message = ask(calendars, "OIT ปิดวันไหน", bkk(2026, 4, 20, 9, 0), province="สุรินทร์")
    assert answer.body and "ก่อนระบบ ITAS ปิด" in answer.body
    assert answer.body in answer.text
    shown = card_texts(message)
    assert answer.body in shown
    assert "5 พฤษภาคม 2569" in shown  # the province's first OIT deadline, on a card of its own
    assert "30 มิถุนายน 2569" in shown  # and NACC's


def test_an_unbound_chat_sees_on_the_card_that_it_gets_the_national_calendar_only(calendars):
    answer, message = ask(calendars, "OIT ปิดวันไหน", bkk(2026, 6, 20, 9, 0))
    assert answer.hint and "แสดงเฉพาะปฏิทินของ ป.ป.ช." in answer.hint
    assert answer.hint in answer.text
    assert answer.hint in card_texts(message)


def test_n_more_is_on_the_last_card(calendars):
    answer, message = ask(calendars, "กำหนดการถัดไป", bkk(2026, 4, 20, 9, 0), province="สุรินทร์")
    assert answer.more == 11
    assert "… และอีก 11 รายการ" in answer.text
    *first, last = bubbles(message)
    assert "… และอีก 11 รายการ" in [t["text"] for t in texts(last)]
    assert all("และอีก" not in t["text"] for b in first for t in texts(b))


def test_the_units_asked_for_in_a_who_question_are_on_the_card(calendars):
    answer, message = ask(calendars, "ใครรับผิดชอบ OIT", bkk(2026, 4, 20, 9, 0), province="สุรินทร์")
    assert answer.body and answer.body.startswith("ผู้รับผิดชอบ: ")
    shown = card_texts(message)
    assert any(answer.body[:60] in t for t in shown)
    for phase in answer.phases:  # and each card names its own units, bold
        units = ", ".join(phase.responsible_expanded())
        assert any(
            t["text"] == units and t.get("weight") == "bold"
            for t in texts(message.contents.to_dict())
        )


# --- how it reads -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "where"),
    [
        ("OIT ปิดวันไหน", {"province": "สุรินทร์"}),
        ("กำหนดการถัดไป", {"province": "สุรินทร์"}),
        ("พรุ่งนี้มีอะไรปิดบ้าง", {"province": "สุรินทร์"}),
        ("OIT ปิดวันไหน", {}),
    ],
)
def test_the_heading_is_said_once_and_the_date_and_countdown_are_the_largest_text(
    calendars, question, where
):
    answer, message = ask(calendars, question, bkk(2026, 5, 4, 9, 0), **where)
    shown = card_texts(message)
    assert shown.count(answer.heading) == 1
    for bubble in bubbles(message):
        found = texts(bubble)
        largest = max(SIZES.index(t.get("size", "md")) for t in found)
        big = [t["text"] for t in found if SIZES.index(t.get("size", "md")) == largest]
        assert big and all(
            ("25" in t and "2569" in t) or t.startswith(("อีก", "วันนี้", "ปิดไปแล้ว")) for t in big
        ), big


def test_labels_stand_on_their_own_line_and_nothing_is_cut_by_the_layout(calendars):
    _, message = ask(calendars, "กำหนดการถัดไป", bkk(2026, 4, 20, 9, 0), province="สุรินทร์")
    for bubble in bubbles(message):
        found = texts(bubble)
        assert "ผู้รับผิดชอบ" in [t["text"] for t in found]
        assert all(t.get("wrap") for t in found), [t["text"] for t in found if not t.get("wrap")]
        assert all(t.get("maxLines") is None for t in found)


@dataclass(frozen=True)
class Due:
    phase: Phase
    offset_days: int


@pytest.mark.parametrize(("days", "colour"), [(0, RED), (1, ORANGE), (3, BLUE), (7, BLUE)])
def test_an_answer_has_the_reminder_cards_colour_for_the_same_countdown(calendars, days, colour):
    oit = calendars.get("national-2569").phase("oit-answer")
    now = bkk(2026, 6, 30 - days, 8, 30)
    [message] = answer_to_messages(Answer(intent="closing", text="t", phases=(oit,), now=now))
    answer_header = message.contents.to_dict()["header"]["contents"][0]
    reminder_header = reminder_bubble(oit, days).to_dict()["header"]
    assert answer_header["backgroundColor"] == reminder_header["backgroundColor"] == colour
    assert countdown_colour(-1) == GREY


# --- contrast ------------------------------------------------------------------------------------


def luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour_pairs(node, background: str = "#FFFFFF") -> list[tuple[str, str, str]]:
    """(text, foreground, background) for every text and button, with LINE's defaults: text
    #111111, a primary button's white label on #17C950, a secondary's #111111 on #DCDFE5."""
    if isinstance(node, list):
        return [p for v in node for p in colour_pairs(v, background)]
    if not isinstance(node, dict):
        return []
    kind = node.get("type")
    if kind == "bubble":
        styles = node.get("styles") or {}
        return [
            p
            for block in ("header", "hero", "body", "footer")
            if node.get(block)
            for p in colour_pairs(
                node[block], (styles.get(block) or {}).get("backgroundColor", "#FFFFFF")
            )
        ]
    if kind == "text":
        return [(node["text"], node.get("color", "#111111"), background)]
    if kind == "button":
        label = node["action"].get("label", "")
        style = node.get("style", "link")
        if style == "primary":
            return [(label, "#FFFFFF", node.get("color", "#17C950"))]
        if style == "secondary":
            return [(label, "#111111", node.get("color", "#DCDFE5"))]
        return [(label, node.get("color", "#42659A"), background)]
    inner = node.get("backgroundColor", background)
    return [p for v in node.values() for p in colour_pairs(v, inner)]


def all_cards(calendars) -> list:
    """Answers at every countdown colour, bound and unbound, with "✓ ทำแล้ว" and "✓ ยืนยันแล้ว",
    and reminders at every offset."""
    messages = []
    for question, where in [
        ("OIT ปิดวันไหน", {"province": "สุรินทร์"}),
        ("OIT ปิดวันไหน", {}),
        ("ใครรับผิดชอบ OIT", {"province": "สุรินทร์"}),
        ("กำหนดการถัดไป", {"agency": "เทศบาลตำบลคึกคัก"}),
    ]:
        for now in (bkk(2026, 4, 20, 9), bkk(2026, 6, 29, 9), bkk(2026, 6, 30, 9), bkk(2026, 7, 2)):
            answer = answer_question(question, Context(now=now, **where), calendars)
            marks = tuple(
                (p.key, "done:x" if n % 2 else None, None if n % 2 else "✓ ยืนยันแล้ว โดย …")
                for n, p in enumerate(answer.phases)
            )
            answer = replace(answer, done=marks)
            messages += answer_to_messages(answer)
    oit = calendars.get("national-2569").phase("oit-answer")
    messages += reminder_messages([Due(oit, d) for d in (0, 1, 3, 7)], "secret")
    return messages


def test_every_text_has_a_contrast_of_at_least_4_5_to_1(calendars):
    pairs = {
        (fg, bg): text
        for m in all_cards(calendars)
        if hasattr(m, "contents")
        for text, fg, bg in colour_pairs(m.contents.to_dict())
    }
    assert len(pairs) >= 8  # the walk found the palette, not just black on white
    low = {
        pair: (text, round(contrast(*pair), 2))
        for pair, text in pairs.items()
        if contrast(*pair) < 4.5
    }
    assert not low


def test_the_contrast_formula_is_wcags():
    assert contrast("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(
        4.48, abs=0.01
    )  # the old grey: too light
    assert contrast("#EF6C00", "#FFFFFF") < 4.5  # the old reminder orange under white text


# --- greetings and /help on one screen ---------------------------------------------------------


def phone_lines(text: str, cells_per_line: int = 30) -> int:
    """Lines a text bubble takes on a 390-px phone: about 30 Thai cells a line at LINE's 15 px
    (vowel and tone marks above or below take no cell). 26 lines of 22 px is the chat area left
    between the top bar, the quick replies and the input box of a 390×844 screen."""
    import math
    import unicodedata

    def cells(line: str) -> int:
        return sum(1 for ch in line if unicodedata.category(ch) != "Mn")

    return sum(max(1, math.ceil(cells(line) / cells_per_line)) for line in text.split("\n"))


ONE_SCREEN = 26


def test_help_fits_one_screen_and_names_the_thai_aliases():
    from itabot.admin.commands import ALIASES, SUB_ALIASES
    from itabot.admin.info import ADMINS, EVERYONE, admin_help_text, help_text

    staff, admin = help_text(False), help_text(True) + "\n" + admin_help_text()
    assert phone_lines(help_text(True)) <= ONE_SCREEN and phone_lines(staff) <= ONE_SCREEN
    assert phone_lines(admin_help_text()) <= ONE_SCREEN and "/help admin" in help_text(True)
    assert "/agency" not in staff
    for command, subs, _args, _what in (*EVERYONE, *ADMINS):
        thai = [a for a, target in ALIASES.items() if target == command and not a.isascii()]
        assert thai, command
        assert all(f"/{alias}" in admin for alias in thai), (command, thai)
        for sub in subs:
            assert any(a in admin for a, t in SUB_ALIASES.items() if t == sub and not a.isascii())
    assert "/ผูก" in admin and "/หน่วยงาน เพิ่ม" in admin and "/ทำแล้ว" in staff


def test_greetings_fit_well_within_one_screen():
    from itabot.line.answer_messages import greeting_text

    examples = ("OIT ปิดวันไหน",)
    for text in (
        greeting_text("user", examples),
        greeting_text("group", examples),
        greeting_text("room", examples),
        greeting_text("group", examples, ("องค์การบริหารส่วนตำบลคลองพา", "สุรินทร์")),
    ):
        assert phone_lines(text) <= ONE_SCREEN // 2, text
