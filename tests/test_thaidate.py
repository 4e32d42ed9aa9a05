"""Thai dates and periods: every form the seed calendars use, the mistakes users make, and
round trips between what we print and what we read."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pythainlp.util import arabic_digit_to_thai_digit

from itabot.calendars.thai_dates import (
    BANGKOK,
    Period,
    ThaiDateError,
    be_year,
    fiscal_year_bounds,
    fiscal_year_of,
    format_closing,
    format_date_long,
    format_date_short,
    format_period,
    parse_date,
    parse_period,
    thai_month_name,
    thai_weekday_name,
    to_arabic_digits,
)
from tests.conftest import SOURCES


def be(year_be: int, month: int, day: int) -> date:
    """A date written with its Buddhist Era year, as the documents write it."""
    return date(year_be - 543, month, day)


def at(year_be: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year_be - 543, month, day, hour, minute, tzinfo=BANGKOK)


def days(first: date, last: date) -> Period:
    return Period(first, last)


def day(year_be: int, month: int, d: int) -> Period:
    return Period(be(year_be, month, d), be(year_be, month, d))


def closing(year_be: int, month: int, d: int, hour: int = 17, minute: int = 0) -> Period:
    """A single day that closes at a stated time ("ในวันอังคารที่ ๓๐ มิ.ย. ๖๙ เวลา ๑๗.๐๐ น.")."""
    return Period(be(year_be, month, d), be(year_be, month, d), at(year_be, month, d, hour, minute))


def deadline(year_be: int, month: int, d: int, hour: int | None = None, minute: int = 0) -> Period:
    closes = None if hour is None else at(year_be, month, d, hour, minute)
    return Period(None, be(year_be, month, d), closes)


def fiscal(first_be: int, last_be: int | None = None) -> Period:
    return Period(be(first_be - 1, 10, 1), be(last_be or first_be, 9, 30))


def calendar_years(first_be: int, last_be: int | None = None) -> Period:
    return Period(be(first_be, 1, 1), be(last_be or first_be, 12, 31))


# --------------------------------------------------------------------------------------------
# Every distinct date or period expression in the five seed documents, copied verbatim
# --------------------------------------------------------------------------------------------

SEED_EXPRESSIONS: list[tuple[str, str, Period]] = [
    # 000: อบต.คลองพา, action plan for fiscal year ๒๕๖๔
    ("000", "ประจำปีงบประมาณ พ.ศ. ๒๕๖๔", fiscal(2564)),
    ("000", "ปีงบประมาณ พ.ศ. ๒๕๖๔", fiscal(2564)),
    ("000", "ในปีงบประมาณ พ.ศ. ๒๕๖๔", fiscal(2564)),
    ("000", "ปีงบประมาณ พ.ศ. ๒๕๖๓", fiscal(2563)),
    ("000", "๑ กุมภาพันธ์ - ๓๑ มีนาคม ๒๕๖๔", days(be(2564, 2, 1), be(2564, 3, 31))),
    ("000", "๑ เมษายน - ๓๑ พฤษภาคม ๒๕๖๔", days(be(2564, 4, 1), be(2564, 5, 31))),
    ("000", "๑ - ๓๑ พฤษภาคม ๒๕๖๔", days(be(2564, 5, 1), be(2564, 5, 31))),
    ("000", "๑ - ๓๐ มิถุนายน ๒๕๖๔", days(be(2564, 6, 1), be(2564, 6, 30))),
    ("000", "๑ - ๓๑ กรกฎาคม ๒๕๖๔", days(be(2564, 7, 1), be(2564, 7, 31))),
    ("000", "๑ - ๓๑ สิงหาคม ๒๕๖๔", days(be(2564, 8, 1), be(2564, 8, 31))),
    # 001: จังหวัดสุรินทร์, plan for fiscal year ๒๕๖๙
    ("001", "ประจำปีงบประมาณ พ.ศ. ๒๕๖๙", fiscal(2569)),
    ("001", "ปีงบประมาณ พ.ศ. ๒๕๖๘", fiscal(2568)),
    ("001", "ประจำปี พ.ศ. ๒๕๖๙", calendar_years(2569)),
    ("001", "วันที่ ๑ - ๓๑ มีนาคม ๒๕๖๙", days(be(2569, 3, 1), be(2569, 3, 31))),
    ("001", "วันที่ ๒ - ๓๑ มีนาคม ๒๕๖๙", days(be(2569, 3, 2), be(2569, 3, 31))),
    ("001", "วันที่ ๒ - ๒๐ มีนาคม ๒๕๖๙", days(be(2569, 3, 2), be(2569, 3, 20))),
    ("001", "ในวันอังคารที่ ๓๑ มีนาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.", closing(2569, 3, 31)),
    (
        "001",
        "วันที่ ๒ มีนาคม ๒๕๖๙ ถึงวันที่ ๑๐ กันยายน ๒๕๖๙",
        days(be(2569, 3, 2), be(2569, 9, 10)),
    ),
    (
        "001",
        "วันที่ ๒ มีนาคม ๒๕๖๙ ถึงวันที่ ๓๐ กันยายน ๒๕๖๙",
        days(be(2569, 3, 2), be(2569, 9, 30)),
    ),
    (
        "001",
        "วันที่ ๒ มีนาคม ๒๕๖๙ ถึงวันที่ ๑๕ มิถุนายน ๒๕๖๙",
        days(be(2569, 3, 2), be(2569, 6, 15)),
    ),
    (
        "001",
        "วันที่ ๒ มีนาคม ๒๕๖๙ ถึงวันที่ ๓๐ มิถุนายน ๒๕๖๙",
        days(be(2569, 3, 2), be(2569, 6, 30)),
    ),
    (
        "001",
        "วันที่ ๒ มีนาคม ๒๕๖๙ ถึงวันที่ ๑๐ มิถุนายน ๒๕๖๙",
        days(be(2569, 3, 2), be(2569, 6, 10)),
    ),
    ("001", "ในวันอังคารที่ ๓๐ มิถุนายน ๒๕๖๙ เวลา ๑๗.๐๐ น.", closing(2569, 6, 30)),
    # the seed's typo "วันที่พุธที่"; 30 Sep 2026 is a Wednesday
    ("001", "ในวันที่พุธที่ ๓๐ กันยายน ๒๕๖๙ เวลา ๑๗.๐๐ น.</p>", closing(2569, 9, 30)),
    ("001", "<p>ครั้งที่ ๑ ภายในวันที่ ๕ พฤษภาคม ๒๕๖๙</p>", deadline(2569, 5, 5)),
    ("001", "<p>ครั้งที่ ๒ ภายในวันที่ ๕ มิถุนายน ๒๕๖๙</p>", deadline(2569, 6, 5)),
    ("001", "วันที่ ๑ - ๑๕ กรกฎาคม ๒๕๖๙", days(be(2569, 7, 1), be(2569, 7, 15))),
    ("001", "วันที่ ๑ - ๓๑ กรกฎาคม ๒๕๖๙", days(be(2569, 7, 1), be(2569, 7, 31))),
    (
        "001",
        "รอบที่ ๑ ในวัน ศุกร์ที่ ๓๑ กรกฎาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.</u>",
        closing(2569, 7, 31),
    ),
    ("001", "ในวัน ศุกร์ที่ ๓๑ กรกฎาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.</u>", closing(2569, 7, 31)),
    ("001", "วันที่ ๑ - ๗ สิงหาคม ๒๕๖๙", days(be(2569, 8, 1), be(2569, 8, 7))),
    ("001", "ในวันศุกร์ที่ ๗ สิงหาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.</u>", closing(2569, 8, 7)),
    ("001", "ภายในวันที่ ๗ สิงหาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.", deadline(2569, 8, 7, 17)),
    (
        "001",
        "ภายในวันที่ ๗ สิงหาคม ๒๕๖๙ เวลา ๑๗.๐๐ น. (ระบบปิดอัตโนมัติ)",
        deadline(2569, 8, 7, 17),
    ),
    ("001", "วันที่ ๘ - ๒๑ สิงหาคม ๒๕๖๙", days(be(2569, 8, 8), be(2569, 8, 21))),
    ("001", "รอบ ๒ ในวันศุกร์ที่ ๒๑ สิงหาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.", closing(2569, 8, 21)),
    ("001", "ในวันศุกร์ที่ ๒๑ สิงหาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.", closing(2569, 8, 21)),
    (
        "001",
        "วันที่ ๒๒ สิงหาคม ๒๕๖๙ ถึงวันที่ ๓๐ กันยายน ๒๕๖๙",
        days(be(2569, 8, 22), be(2569, 9, 30)),
    ),
    ("001", "วันที่ ๑ - ๓๐ กันยายน ๒๕๖๙", days(be(2569, 9, 1), be(2569, 9, 30))),
    ("001", "วันที่ ๑ - ๓๑ ตุลาคม ๒๕๖๙", days(be(2569, 10, 1), be(2569, 10, 31))),
    ("001", "วันที่ ๑ พฤศจิกายน ๒๕๖๘ เป็นต้นไป", Period(be(2568, 11, 1), None)),
    # 002: เทศบาลตำบลคึกคัก, measures for fiscal year ๒๕๖๘
    ("002", "ประจำปีงบประมาณ พ.ศ. ๒๕๖๘", fiscal(2568)),
    ("002", "พ.ศ. ๒๕๖๑ – ๒๕๘๐", calendar_years(2561, 2580)),
    ("002", "ภายใน\nปีงบประมาณ พ.ศ. ๒๕๗๐", Period(None, be(2570, 9, 30))),
    ("002", "ลงวันที่ ๑๐ สิงหาคม ๒๕๖๖", day(2566, 8, 10)),
    ("002", "ประจำปี\nงบประมาณ พ.ศ. ๒๕๖๗", fiscal(2567)),
    ("002", "เมื่อวันที่ ๓๐ กรกฎาคม ๒๕๖๗", day(2567, 7, 30)),
    ("002", "ประจำปีงบประมาณ พ.ศ.\n๒๕๖๗", fiscal(2567)),
    ("002", "ประจำปีงบประมาณ พ.ศ. ๒๕๖๗", fiscal(2567)),
    ("002", "ต.ค.๖๗ – เม.ย.๖๘", days(be(2567, 10, 1), be(2568, 4, 30))),
    ("002", "ตลอดปี ๖๘", fiscal(2568)),
    ("002", "ต.ค.๖๗ – ม.ค.๖๘", days(be(2567, 10, 1), be(2568, 1, 31))),
    ("002", "ก.พ. – เม.ย.๖๘", days(be(2568, 2, 1), be(2568, 4, 30))),
    ("002", "ต.ค.๖๗ - มี.ค.๖๘", days(be(2567, 10, 1), be(2568, 3, 31))),
    # 003: อบต.หนองพลับ, analysis of ๒๕๖๘ for fiscal year ๒๕๖๙
    ("003", "ประจำปีงบประมาณ พ.ศ.๒๕๖๘", fiscal(2568)),
    ("003", "ในช่วงปีงบประมาณ พ.ศ. ๒๕๖๗", fiscal(2567)),
    ("003", "ใน ปีงบประมาณ พ.ศ.๒๕๖๘", fiscal(2568)),
    ("003", "ในปี พ.ศ. ๒๕๖๘", calendar_years(2568)),
    ("003", "ในปีงบประมาณ พ.ศ. ๒๕๖๘", fiscal(2568)),
    ("003", "ในปีงบประมาณ พ.ศ. ๒๕๖๙", fiscal(2569)),
    # one table cell holding the same period twice (two lines of the PDF cell)
    (
        "003",
        "๑ ต.ค. ๖๘ – ๓๐ ก.ย. ๖๙ ๑ ต.ค. ๖๘ – ๓๐ ก.ย. ๖๙",
        days(be(2568, 10, 1), be(2569, 9, 30)),
    ),
    ("003", "<p>๑ ต.ค.๖๘ – ๓๐ ก.ย. ๖๙</p>", days(be(2568, 10, 1), be(2569, 9, 30))),
    ("003", "๑ ต.ค. ๖๘ – ๓๐ ก.ย. ๖๙", days(be(2568, 10, 1), be(2569, 9, 30))),
    # 004: จังหวัดสระบุรี, plan for fiscal year ๒๕๖๘
    ("004", "(พ.ศ. ๒๕๖๑ - ๒๕๘๐)", calendar_years(2561, 2580)),
    ("004", "เมื่อวันที่ ๑๗ มกราคม ๒๕๖๖", day(2566, 1, 17)),
    ("004", "(พ.ศ. ๒๕๖๖ - ๒๕๘๐)", calendar_years(2566, 2580)),
    ("004", "(พ.ศ. ๒๕๖๖ - ๒๕๗๐)", calendar_years(2566, 2570)),
    ("004", "เมื่อวันที่ ๔ มกราคม ๒๕๖๕", day(2565, 1, 4)),
    ("004", "ในปีงบประมาณ พ.ศ. ๒๕๖๕ - ๒๕๗๐", fiscal(2565, 2570)),
    ("004", "ประจำปี ๒๕๖๘", calendar_years(2568)),
    ("004", "ของปีงบประมาณ พ.ศ. ๒๕๖๘", fiscal(2568)),
    ("004", "กันยายน ๒๕๖๗ - ตุลาคม ๒๕๖๗", days(be(2567, 9, 1), be(2567, 10, 31))),
    # the seed's month range with its separator lost
    ("004", "ตุลาคม ๒๕๖๗ พฤศจิกายน ๒๕๖๗", days(be(2567, 10, 1), be(2567, 11, 30))),
    ("004", "พฤศจิกายน ๒๕๖๗", days(be(2567, 11, 1), be(2567, 11, 30))),
    ("004", "ธันวาคม ๒๕๖๗", days(be(2567, 12, 1), be(2567, 12, 31))),
    ("004", "ธันวาคม ๒๕๖๗-กุมภาพันธ์ ๒๕๖๘", days(be(2567, 12, 1), be(2568, 2, 28))),
    ("004", "ธันวาคม ๒๕๖๗ - กุมภาพันธ์ ๒๕๖๘", days(be(2567, 12, 1), be(2568, 2, 28))),
    ("004", "วันที่ ๑ - ๓๑ มกราคม ๒๕๖๘", days(be(2568, 1, 1), be(2568, 1, 31))),
    ("004", "มกราคม ๒๕๖๘", days(be(2568, 1, 1), be(2568, 1, 31))),
    ("004", "กุมภาพันธ์ ๒๕๖๘", days(be(2568, 2, 1), be(2568, 2, 28))),
    ("004", "มีนาคม ๒๕๖๘", days(be(2568, 3, 1), be(2568, 3, 31))),
    ("004", "วันที่ ๑ มกราคม - ๓๐ เมษายน ๒๕๖๘", days(be(2568, 1, 1), be(2568, 4, 30))),
    ("004", "๑๕ - ๓๐ เมษายน ๒๕๖๘", days(be(2568, 4, 15), be(2568, 4, 30))),
    ("004", "วันที่ ๑ มกราคม - ๓๐ มิถุนายน ๒๕๖๘", days(be(2568, 1, 1), be(2568, 6, 30))),
    ("004", "พฤษภาคม ๒๕๖๘", days(be(2568, 5, 1), be(2568, 5, 31))),
    ("004", "๑๕ - ๓๐ มิถุนายน ๒๕๖๘", days(be(2568, 6, 15), be(2568, 6, 30))),
    ("004", "เดือนกันยายน ๒๕๖๘", days(be(2568, 9, 1), be(2568, 9, 30))),
]

# Seed text that looks like a date but is deliberately refused, with what the message says.
REFUSED_SEED_EXPRESSIONS: list[tuple[str, str, str]] = [
    # 31 April does not exist (the calendar file carries a correction to 30 April)
    ("000", "๑ มีนาคม - ๓๑ เมษายน ๒๕๖๔", "เมษายนมี 30 วัน"),
    # relative: which year depends on when it was written
    ("003", "ปีงบประมาณต่อไป", "ต่อไป"),
    # a bare year: fiscal (the ITA round) or calendar? the text does not say
    ("003", "๒๕๖๘", "ปีงบประมาณหรือปีปฏิทิน"),
    # a CE year inside a disease name, not a date
    ("000", "โคโรนา ๒๐๑๙", "โคโรนา"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, period, id=f"{seed}:{text}") for seed, text, period in SEED_EXPRESSIONS],
)
def test_every_seed_expression_is_read(text: str, expected: Period) -> None:
    assert parse_period(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [pytest.param(text, msg, id=f"{seed}:{text}") for seed, text, msg in REFUSED_SEED_EXPRESSIONS],
)
def test_seed_expressions_we_refuse_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_period(text)


def _seed_texts() -> dict[str, str]:
    texts = {path.name[:3]: path.read_text(encoding="utf-8") for path in SOURCES.glob("*.txt")}
    assert len(texts) == 5, f"the five source documents belong in {SOURCES}"
    return texts


def test_seed_table_is_copied_verbatim_from_the_documents() -> None:
    texts = _seed_texts()
    for seed, text, *_ in SEED_EXPRESSIONS + REFUSED_SEED_EXPRESSIONS:
        assert text in texts[seed], f"{text!r} is not in seed {seed}"


# Anything in a seed that marks a date: a month name or abbreviation, พ.ศ., a fiscal year,
# an open end, a time, or any four-digit Thai number.
_MONTH_WORDS = (
    "มกราคม|กุมภาพันธ์|มีนาคม|เมษายน|พฤษภาคม|มิถุนายน|กรกฎาคม|สิงหาคม|กันยายน|ตุลาคม|"
    "พฤศจิกายน|ธันวาคม|ม\\.ค\\.|ก\\.พ\\.|มี\\.ค\\.|เม\\.ย\\.|พ\\.ค\\.|มิ\\.ย\\.|ก\\.ค\\.|"
    "ส\\.ค\\.|ก\\.ย\\.|ต\\.ค\\.|พ\\.ย\\.|ธ\\.ค\\."
)
_DATE_ANCHOR_RE = re.compile(
    rf"{_MONTH_WORDS}|พ\.ศ|ปีงบประมาณ|ตลอดปี|เป็นต้นไป|เวลา\s*[๐-๙]|[๐-๙]{{4}}"
)


def test_table_covers_every_date_expression_in_the_seeds() -> None:
    """Every date marker in the five documents lies inside an expression of the tables above
    (an expression listed once covers its repeats in any document)."""
    texts = _seed_texts()
    uncovered = []
    for seed, text in texts.items():
        covered: set[int] = set()
        for _, expression, *_ in SEED_EXPRESSIONS + REFUSED_SEED_EXPRESSIONS:
            for match in re.finditer(re.escape(expression), text):
                covered.update(range(*match.span()))
        for anchor in _DATE_ANCHOR_RE.finditer(text):
            if anchor.start() not in covered:
                uncovered.append(f"{seed}: …{text[anchor.start() - 30 : anchor.end() + 30]}…")
    assert not uncovered, "\n".join(uncovered)


# --------------------------------------------------------------------------------------------
# The same forms written slightly differently
# --------------------------------------------------------------------------------------------

MARCH_2_TO_31 = days(be(2569, 3, 2), be(2569, 3, 31))
FY_2569_BY_DAYS = days(be(2568, 10, 1), be(2569, 9, 30))

VARIANTS: list[tuple[str, Period]] = [
    # day ranges sharing month and year: digits, spaces, dots, พ.ศ.
    ("วันที่ 2 - 31 มีนาคม 2569", MARCH_2_TO_31),
    ("2-31 มี.ค. 69", MARCH_2_TO_31),
    ("2-31มีค69", MARCH_2_TO_31),
    ("๒-๓๑มี.ค.๖๙", MARCH_2_TO_31),
    ("2 - 31 มี.ค 2569", MARCH_2_TO_31),
    ("2 – 31 มี. ค. 2569", MARCH_2_TO_31),
    ("วันที่ ๒ - ๓๑ มี.ค. พ.ศ. ๒๕๖๙", MARCH_2_TO_31),
    ("วันที่ ๒ - ๓๑ มีนาคม พ.ศ ๒๕๖๙", MARCH_2_TO_31),
    ("2 - 31 มีนา 2569", MARCH_2_TO_31),
    ("1-31 ธ.ค. 68", days(be(2568, 12, 1), be(2568, 12, 31))),
    ("วันที่2มีนาคม2569ถึงวันที่31มีนาคม2569", MARCH_2_TO_31),
    ("<p>วันที่&nbsp;๒&nbsp;-&nbsp;๓๑ มีนาคม ๒๕๖๙</p>", MARCH_2_TO_31),
    # ranges with every separator
    ("1 ต.ค. 68 – 30 ก.ย. 69", FY_2569_BY_DAYS),
    ("1 ต.ค.68—30 ก.ย.69", FY_2569_BY_DAYS),
    ("๑ ต.ค.๖๘ - ๓๐ ก.ย.๖๙", FY_2569_BY_DAYS),
    ("๑ ตค ๖๘ ถึง ๓๐ กย ๖๙", FY_2569_BY_DAYS),
    ("1 ตุลาคม พ.ศ. 2568 ถึงวันที่ 30 กันยายน พ.ศ. 2569", FY_2569_BY_DAYS),
    ("ตั้งแต่วันที่ 1 ต.ค. 2568 จนถึงวันที่ 30 ก.ย. 2569", FY_2569_BY_DAYS),
    ("วันที่ 1 ตุลาคม 2568 - วันที่ 30 กันยายน 2569", FY_2569_BY_DAYS),
    # a yearless side takes the other's year, across the new year when the months say so
    ("วันที่ ๑ ธันวาคม - ๓๑ มกราคม ๒๕๖๙", days(be(2568, 12, 1), be(2569, 1, 31))),
    ("ต.ค. ๖๘ - มี.ค.", days(be(2568, 10, 1), be(2569, 3, 31))),
    ("ก.พ. - เม.ย. 2568", days(be(2568, 2, 1), be(2568, 4, 30))),
    # months and the month word
    ("เดือน ก.ย. 68", days(be(2568, 9, 1), be(2568, 9, 30))),
    ("กรกฏาคม 2569", days(be(2569, 7, 1), be(2569, 7, 31))),  # common ฏ misspelling
    ("ตลอดเดือนมีนาคม ๒๕๖๙", days(be(2569, 3, 1), be(2569, 3, 31))),
    # weekdays, spaced or not, checked against the date
    ("วันอังคารที่ ๓๑ มีนาคม ๒๕๖๙", day(2569, 3, 31)),
    ("วัน ศุกร์ที่ ๓๑ กรกฎาคม ๒๕๖๙", day(2569, 7, 31)),
    ("วันพุธ ที่ 30 ก.ย. 69", day(2569, 9, 30)),
    ("วันพฤหัสบดีที่ 1 ต.ค. 2569", day(2569, 10, 1)),
    ("วันจันทร์ที่ 2 มีนาคม 2569 ถึงวันพุธที่ 30 กันยายน 2569", days(be(2569, 3, 2), be(2569, 9, 30))),
    # fiscal and calendar years
    ("ตลอดปีงบประมาณ ๒๕๖๘", fiscal(2568)),
    ("ปีงบประมาณ 69", fiscal(2569)),
    ("ปีงบประมาณ พ.ศ. ๒๕๖๘ - ๒๕๖๙", fiscal(2568, 2569)),
    ("ปีงบ 2569", fiscal(2569)),
    ("ปีงบฯ ๖๙", fiscal(2569)),
    ("ประจ\u0e4d\u0e32ปีงบประมาณ พ.ศ. ๒๕๖๙", fiscal(2569)),  # sara am split in two, as PDFs do
    ("พ.ศ. ๒๕๖๙", calendar_years(2569)),
    ("พ.ศ ๒๕๖๙", calendar_years(2569)),
    ("ปี 69", calendar_years(2569)),
    ("พ.ศ. 2561 - 2580", calendar_years(2561, 2580)),
    # deadlines and open ends
    ("ภายใน ๕ พ.ค. ๖๙", deadline(2569, 5, 5)),
    ("ภายในวันที่5พ.ค.2569", deadline(2569, 5, 5)),
    ("ก่อนวันที่ ๕ พฤษภาคม ๒๕๖๙", deadline(2569, 5, 5)),
    ("ภายในเดือนมีนาคม 2569", deadline(2569, 3, 31)),
    ("1 พ.ย. 2568 เป็นต้นไป", Period(be(2568, 11, 1), None)),
    ("ตั้งแต่วันที่ 1 พ.ย. 68 เป็นต้นไป", Period(be(2568, 11, 1), None)),
    ("ตั้งแต่ 1 พ.ย. 68", Period(be(2568, 11, 1), None)),
    # times
    ("ภายในวันที่ ๗ สิงหาคม ๒๕๖๙ เวลา 17:00 น.", deadline(2569, 8, 7, 17)),
    ("ภายในวันที่ 7 ส.ค. 69 17.00น.", deadline(2569, 8, 7, 17)),
    ("ภายในวันที่ ๗ ส.ค. ๖๙ เวลา ๘.๓๐ น.", deadline(2569, 8, 7, 8, 30)),
    ("30 มิ.ย. 69 เวลา 17 น.", closing(2569, 6, 30)),
    ("30 มิ.ย. 69 เวลา 16.30 นาฬิกา", closing(2569, 6, 30, 16, 30)),
    (
        "วันที่ 2 มี.ค. 2569 - 30 มิ.ย. 2569 เวลา 17.00 น.",
        Period(be(2569, 3, 2), be(2569, 6, 30), at(2569, 6, 30, 17, 0)),
    ),
    # noise around the date
    ("  \n ๓๐ มิถุนายน ๒๕๖๙ \t", day(2569, 6, 30)),
    ("ครั้งที่ 2 ภายใน 5 มิ.ย. 69", deadline(2569, 6, 5)),
    ("ณ วันที่ 30 มิ.ย. 2569", day(2569, 6, 30)),
    ("30 มิ.ย. 2569.", day(2569, 6, 30)),
    ("๓๐ มิ.ย. ๒๕๖๙ ๓๐ มิ.ย. ๒๕๖๙", day(2569, 6, 30)),
    ("ภายใน 7 ส.ค. 69 เวลา 17.00 น. ภายใน 7 ส.ค. 69 เวลา 17.00 น.", deadline(2569, 8, 7, 17)),
]


@pytest.mark.parametrize(("text", "expected"), VARIANTS, ids=[text for text, _ in VARIANTS])
def test_same_forms_written_differently_are_read(text: str, expected: Period) -> None:
    assert parse_period(text) == expected


def test_single_day_starts_and_ends_that_day() -> None:
    assert parse_period("๓๐ มิถุนายน ๒๕๖๙") == Period(date(2026, 6, 30), date(2026, 6, 30))


def test_deadline_has_no_start() -> None:
    assert parse_period("ภายในวันที่ ๕ พฤษภาคม ๒๕๖๙") == Period(None, date(2026, 5, 5))


def test_deadline_with_time_sets_closes_at() -> None:
    period = parse_period("ภายในวันที่ ๗ สิงหาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.")
    assert period.end == date(2026, 8, 7)
    assert period.closes_at == datetime(2026, 8, 7, 17, 0, tzinfo=BANGKOK)
    assert period.closes_at.utcoffset().total_seconds() == 7 * 3600


def test_closing_sentence_is_a_day_with_a_closing_time() -> None:
    period = parse_period("ในวันอังคารที่ ๓๐ มิถุนายน ๒๕๖๙ เวลา ๑๗.๐๐ น.")
    assert period == Period(date(2026, 6, 30), date(2026, 6, 30), at(2569, 6, 30, 17, 0))
    assert period.closes_at.isoformat() == "2026-06-30T17:00:00+07:00"


def test_open_end_has_no_end() -> None:
    assert parse_period("วันที่ ๑ พฤศจิกายน ๒๕๖๘ เป็นต้นไป") == Period(date(2025, 11, 1), None)


def test_whole_fiscal_year_runs_october_to_september() -> None:
    assert parse_period("ปีงบประมาณ พ.ศ. ๒๕๖๙") == Period(date(2025, 10, 1), date(2026, 9, 30))


def test_calendar_year_range_covers_whole_years() -> None:
    assert parse_period("พ.ศ. ๒๕๖๑ – ๒๕๘๐") == Period(date(2018, 1, 1), date(2037, 12, 31))


def test_leap_day_exists_in_a_leap_year() -> None:
    assert parse_date("29 ก.พ. 2567") == date(2024, 2, 29)


# --------------------------------------------------------------------------------------------
# Default year (a calendar's context) only fills a text that has no year at all
# --------------------------------------------------------------------------------------------


def test_yearless_text_takes_the_default_year() -> None:
    assert parse_period("๑ - ๓๑ มีนาคม", default_year=2569) == days(be(2569, 3, 1), be(2569, 3, 31))
    assert parse_period("ตลอดปีงบประมาณ", default_year=2568) == fiscal(2568)
    assert parse_period("ก.พ. – เม.ย.", default_year=69) == days(be(2569, 2, 1), be(2569, 4, 30))


def test_written_year_wins_over_the_default() -> None:
    assert parse_period("๓๐ มิ.ย. ๖๘", default_year=2569) == day(2568, 6, 30)


def test_yearless_text_without_default_is_refused() -> None:
    with pytest.raises(ValueError, match="ไม่พบปี"):
        parse_period("๑ - ๓๑ มีนาคม")
    with pytest.raises(ValueError, match="ปีงบประมาณ"):
        parse_period("ตลอดปีงบประมาณ")


def test_default_year_must_be_buddhist_era() -> None:
    with pytest.raises(ValueError, match="พุทธศักราช"):
        parse_period("๑ - ๓๑ มีนาคม", default_year=2026)


# --------------------------------------------------------------------------------------------
# Impossible or unreadable text is refused with a Thai message that names the problem
# --------------------------------------------------------------------------------------------

REFUSED: list[tuple[str, str]] = [
    ("๓๑ เมษายน ๒๕๖๔", "วันที่ 31 เมษายน 2564 ไม่มีอยู่จริง (เมษายนมี 30 วัน)"),
    ("๒๙ กุมภาพันธ์ ๒๕๖๙", "กุมภาพันธ์ 2569 มี 28 วัน"),
    ("31 มิ.ย. 69", "มิถุนายนมี 30 วัน"),
    ("0 มี.ค. 2569", "วันที่ 0 มีนาคม 2569 ไม่มีอยู่จริง"),
    ("๓๐ - ๑ มีนาคม ๒๕๖๙", "กลับด้าน"),
    ("มีนาคม ๒๕๖๙ - มกราคม ๒๕๖๙", "กลับด้าน"),
    ("30 ก.ย. 2569 - 1 ต.ค. 2568", "กลับด้าน"),
    ("ปีงบประมาณ 2570 - 2569", "กลับด้าน"),
    ("วันจันทร์ที่ ๓๐ มิถุนายน ๒๕๖๙", "ตรงกับวันอังคาร ไม่ใช่วันจันทร์"),
    ("๓๐ มิถุนาซ ๒๕๖๙", "“มิถุนาซ”"),
    ("5 foo 2569", "“foo”"),
    ("", "ข้อความว่าง"),
    ("   ", "ข้อความว่าง"),
    ("<p></p>", "ข้อความว่าง"),
    ("-", "วันที่หรือชื่อเดือน"),
    ("เวลา 17.00 น.", "วันที่หรือชื่อเดือน"),
    ("สวัสดีครับ", "ไม่รู้จักคำว่า"),
    ("30 2569", "ไม่พบชื่อเดือน"),
    ("30 มิ.ย. 2569 เวลา 25.00 น.", "ชั่วโมง"),
    ("30 มิ.ย. 2569 เวลา 17.60 น.", "นาที"),
    ("30 มิ.ย. 2569 เวลา 17.5 น.", "นาที"),
    ("30 มิ.ย. 2701", "2400–2700"),
    ("30 มิ.ย. 2399", "2400–2700"),
    ("30 มิ.ย. 2026", "พุทธศักราช"),
    ("30 มิ.ย. 256", "2 หรือ 4 หลัก"),
    ("30 มิ.ย.", "ไม่พบปี"),
    ("ปี", "ตัวเลขปี"),
    ("๓๐ มิ.ย. ๒๕๖๙ ๑ ก.ค. ๒๕๖๙", "มากกว่าหนึ่ง"),
    ("ภายในวันที่ 1 - 5 พ.ค. 2569", "วันเดียว"),
    ("1 - 5 พ.ค. 2569 เป็นต้นไป", "เป็นต้นไป"),
    ("1 พ.ย. 2568 เป็นต้นไป เวลา 17.00 น.", "เวลาปิด"),
    ("วันที่ 2 มีนาคม 2569 เวลา 08.30 น. ถึงวันที่ 30 กันยายน 2569", "เวลาปิดท้าย"),
    ("วันอังคาร มีนาคม 2569", "วันที่ด้วย"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[text or "empty" for text, _ in REFUSED])
def test_impossible_or_unreadable_text_is_refused_in_thai(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_period(text)


def test_refusals_are_thai_date_errors_and_value_errors() -> None:
    with pytest.raises(ThaiDateError) as caught:
        parse_period("๓๑ เมษายน ๒๕๖๔")
    assert isinstance(caught.value, ValueError)


def test_parse_date_refuses_anything_but_one_day() -> None:
    assert parse_date("วันอังคารที่ ๓๐ มิ.ย. ๖๙") == date(2026, 6, 30)
    assert parse_date("30 มิ.ย. 69 เวลา 17.00 น.") == date(2026, 6, 30)
    for text in ("2 - 31 มี.ค. 2569", "มีนาคม 2569", "ภายในวันที่ 5 พ.ค. 2569", "1 พ.ย. 68 เป็นต้นไป"):
        with pytest.raises(ValueError, match="ไม่ใช่วันเดียว"):
            parse_date(text)


# --------------------------------------------------------------------------------------------
# Period values are consistent
# --------------------------------------------------------------------------------------------


def test_period_needs_a_start_or_an_end() -> None:
    with pytest.raises(ValueError, match="อย่างน้อยหนึ่งวัน"):
        Period(None, None)


def test_period_cannot_run_backwards() -> None:
    with pytest.raises(ValueError, match="กลับด้าน"):
        Period(date(2026, 3, 31), date(2026, 3, 1))


def test_period_closing_time_must_be_aware_and_on_the_end_day() -> None:
    with pytest.raises(ValueError, match="เขตเวลา"):
        Period(None, date(2026, 6, 30), datetime(2026, 6, 30, 17, 0))
    with pytest.raises(ValueError, match="วันสิ้นสุด"):
        Period(None, date(2026, 6, 30), at(2569, 7, 1, 17, 0))
    with pytest.raises(ValueError, match="ไม่มีวันสิ้นสุด"):
        Period(date(2026, 6, 30), None, at(2569, 6, 30, 17, 0))
    # the same instant in another zone is fine: 10:00 UTC is 17:00 in Bangkok
    Period(None, date(2026, 6, 30), datetime(2026, 6, 30, 10, 0, tzinfo=UTC))


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def test_short_date_uses_abbreviated_month_and_buddhist_year() -> None:
    assert format_date_short(date(2026, 6, 30)) == "30 มิ.ย. 2569"
    assert format_date_short(date(2026, 5, 5)) == "5 พ.ค. 2569"


def test_long_date_names_the_weekday() -> None:
    assert format_date_long(date(2026, 6, 30)) == "วันอังคารที่ 30 มิถุนายน 2569"


def test_closing_time_is_printed_in_bangkok_time() -> None:
    expected = "วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น."
    assert format_closing(datetime(2026, 6, 30, 17, 0, tzinfo=BANGKOK)) == expected
    assert format_closing(datetime(2026, 6, 30, 10, 0, tzinfo=UTC)) == expected
    assert format_closing(at(2569, 8, 7, 8, 30)) == "วันศุกร์ที่ 7 สิงหาคม 2569 เวลา 08.30 น."


def test_closing_time_without_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="เขตเวลา"):
        format_closing(datetime(2026, 6, 30, 17, 0))


@pytest.mark.parametrize(
    ("period", "text"),
    [
        (days(be(2569, 3, 2), be(2569, 3, 31)), "2 - 31 มี.ค. 2569"),
        (days(be(2569, 3, 2), be(2569, 9, 30)), "2 มี.ค. 2569 - 30 ก.ย. 2569"),
        (deadline(2569, 5, 5), "ภายในวันที่ 5 พ.ค. 2569"),
        (Period(be(2568, 11, 1), None), "1 พ.ย. 2568 เป็นต้นไป"),
        (day(2569, 6, 30), "30 มิ.ย. 2569"),
        (closing(2569, 6, 30), "30 มิ.ย. 2569 เวลา 17.00 น."),
        (deadline(2569, 8, 7, 17), "ภายในวันที่ 7 ส.ค. 2569 เวลา 17.00 น."),
    ],
)
def test_period_is_printed_as_thai_calendars_write_it(period: Period, text: str) -> None:
    assert format_period(period) == text


def test_month_and_weekday_names() -> None:
    assert thai_month_name(6) == "มิถุนายน"
    assert thai_month_name(6, short=True) == "มิ.ย."
    assert thai_weekday_name(date(2026, 6, 30)) == "อังคาร"
    with pytest.raises(ValueError, match="เดือน"):
        thai_month_name(13)


# --------------------------------------------------------------------------------------------
# Years
# --------------------------------------------------------------------------------------------


def test_digits_and_years() -> None:
    assert to_arabic_digits("๓๐ มิ.ย. ๒๕๖๙") == "30 มิ.ย. 2569"
    assert be_year(68) == 2568
    assert be_year(2568) == 2568
    assert be_year(2025) == 2568
    with pytest.raises(ValueError):
        be_year(500)


def test_fiscal_year_turns_over_on_first_of_october() -> None:
    assert fiscal_year_of(date(2026, 9, 30)) == 2569
    assert fiscal_year_of(date(2026, 10, 1)) == 2570
    assert fiscal_year_bounds(2569) == (date(2025, 10, 1), date(2026, 9, 30))


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

DATES = st.dates(min_value=be(2560, 1, 1), max_value=be(2580, 12, 31))


@given(DATES)
def test_every_short_and_long_date_reads_back(d: date) -> None:
    for text in (format_date_short(d), format_date_long(d)):
        assert parse_date(text) == d
        assert parse_date(arabic_digit_to_thai_digit(text)) == d


@given(DATES)
def test_every_date_lies_in_its_fiscal_year(d: date) -> None:
    first, last = fiscal_year_bounds(fiscal_year_of(d))
    assert first <= d <= last


@st.composite
def periods(draw: st.DrawFn) -> Period:
    """Single days, ranges, deadlines and open ends, some with a closing time."""
    first, second = sorted((draw(DATES), draw(DATES)))
    shape = draw(st.sampled_from(["day", "range", "deadline", "open"]))
    start, end = {
        "day": (first, first),
        "range": (first, second),
        "deadline": (None, first),
        "open": (first, None),
    }[shape]
    closes_at = None
    if end is not None and draw(st.booleans()):
        clock = time(draw(st.integers(0, 23)), draw(st.integers(0, 59)))
        closes_at = datetime.combine(end, clock, tzinfo=BANGKOK)
    return Period(start, end, closes_at)


@given(periods())
def test_printed_period_reads_back_to_the_same_period(period: Period) -> None:
    text = format_period(period)
    assert parse_period(text) == period
    assert parse_period(arabic_digit_to_thai_digit(text)) == period
    assert parse_period(text.replace(" ", "")) == period


# Words of the seed expressions, shuffled and mixed with noise, reach deep into the grammar.
_FRAGMENTS = sorted({word for _, text, _ in SEED_EXPRESSIONS for word in text.split()})
_FRAGMENTS += ["0", "2400", "99", "ก่อน", "ตั้งแต่", "เป็นต้นไป", "17:00"]


@given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=3), max_size=8).map(" ".join))
def test_any_text_gives_a_period_or_a_value_error(text: str) -> None:
    try:
        period = parse_period(text)
    except ValueError as error:
        assert str(error)
    else:
        assert parse_period(format_period(period)) == period
