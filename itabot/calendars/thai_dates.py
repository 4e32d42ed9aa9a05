"""Thai dates and periods as ITA calendars write them: read them, check them, print them.

Pure (no I/O). The source documents are Thai PDFs turned into text, so the same date comes in
many spellings: Thai or Arabic digits, full or abbreviated months with or without dots,
2- or 4-digit Buddhist Era (BE) years, day ranges sharing a month, month ranges crossing a
year, whole fiscal years, deadlines ("ภายในวันที่ …"), open ends ("… เป็นต้นไป") and closing
times ("เวลา ๑๗.๐๐ น."). `parse_period` turns any of them into one `Period`; the `format_*`
functions print what users read in LINE, and `format_period` output always parses back.

Every error is a `ThaiDateError` (a `ValueError`) whose message is Thai and is shown to users,
so it says what is wrong in their words ("เมษายนมี 30 วัน"), not in ours.

Years: BE = CE + 543. Fiscal year N (BE) runs 1 October N-1 to 30 September N. `date` objects
are ordinary CE dates; BE appears only in text.
"""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum, auto
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pythainlp.util import normalize, thai_digit_to_arabic_digit, thai_strftime
from pythainlp.util.date import thai_abbr_months, thai_full_months, thai_full_weekdays

__all__ = [
    "BANGKOK",
    "Period",
    "ThaiDateError",
    "be_year",
    "fiscal_year_bounds",
    "fiscal_year_of",
    "format_closing",
    "format_date_long",
    "format_date_short",
    "format_period",
    "parse_date",
    "parse_period",
    "thai_month_name",
    "thai_weekday_name",
    "to_arabic_digits",
]

BANGKOK = ZoneInfo("Asia/Bangkok")

BE_OFFSET = 543
MIN_BE_YEAR = 2400
MAX_BE_YEAR = 2700


class ThaiDateError(ValueError):
    """A date text or value users gave is wrong; the message is Thai and safe to show them."""


# --------------------------------------------------------------------------------------------
# The value
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Days something is open, as written in a calendar (all days inclusive).

    `start` is None for a pure deadline ("ภายในวันที่ …"), `end` is None for an open end
    ("… เป็นต้นไป"). `closes_at` (aware) is the stated closing time, which always falls on
    `end`: a period cannot close on a day outside itself.
    """

    start: date | None
    end: date | None
    closes_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is None and self.end is None:
            raise ThaiDateError("ช่วงเวลาต้องมีวันเริ่มหรือวันสิ้นสุดอย่างน้อยหนึ่งวัน")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise _reversed_error(format_date_short(self.start), format_date_short(self.end))
        if self.closes_at is None:
            return
        if self.closes_at.tzinfo is None or self.closes_at.utcoffset() is None:
            raise ThaiDateError("เวลาปิดต้องระบุเขตเวลา (เช่น เวลาประเทศไทย +07:00)")
        if self.end is None:
            raise ThaiDateError("ช่วงเวลาที่ไม่มีวันสิ้นสุดจะระบุเวลาปิดไม่ได้")
        closing_day = self.closes_at.astimezone(BANGKOK).date()
        if closing_day != self.end:
            raise ThaiDateError(
                f"เวลาปิด ({format_date_short(closing_day)}) ต้องอยู่ในวันสิ้นสุดของช่วงเวลา "
                f"({format_date_short(self.end)})"
            )


# --------------------------------------------------------------------------------------------
# Names, digits, years
# --------------------------------------------------------------------------------------------


def thai_month_name(month: int, *, short: bool = False) -> str:
    """Thai name of a month 1-12: "มิถุนายน", or "มิ.ย." with short=True."""
    if not 1 <= month <= 12:
        raise ThaiDateError(f"เดือนที่ {month} ไม่มีอยู่จริง (เดือนมี 1 ถึง 12)")
    return (thai_abbr_months if short else thai_full_months)[month - 1]


def thai_weekday_name(d: date) -> str:
    """Thai weekday name without the "วัน" prefix: "อังคาร" (so callers can write วัน…ที่)."""
    return thai_full_weekdays[d.weekday()].removeprefix("วัน")


def to_arabic_digits(text: str) -> str:
    """Thai digits to Arabic digits ("๓๐" -> "30"); everything else is left alone."""
    return thai_digit_to_arabic_digit(text)


def be_year(ce_or_be_2_or_4_digits: int) -> int:
    """A year as people write it, in BE: 68 -> 2568, 2568 -> 2568, 2025 (CE) -> 2568.

    Two-digit years are BE 25xx (that is how Thai tables abbreviate them); four-digit years in
    2400-2700 are BE, in 1857-2157 they are CE. Anything else is not a year we can place.
    """
    year = ce_or_be_2_or_4_digits
    if 0 <= year <= 99:
        return 2500 + year
    if MIN_BE_YEAR <= year <= MAX_BE_YEAR:
        return year
    if MIN_BE_YEAR - BE_OFFSET <= year <= MAX_BE_YEAR - BE_OFFSET:
        return year + BE_OFFSET
    raise ThaiDateError(f"ปี {year} อยู่นอกช่วงที่รองรับ (พ.ศ. {MIN_BE_YEAR}–{MAX_BE_YEAR})")


def fiscal_year_of(d: date) -> int:
    """The BE fiscal year containing `d`: October to December belong to the next year's budget."""
    return d.year + BE_OFFSET + (1 if d.month >= 10 else 0)


def fiscal_year_bounds(fy_be: int) -> tuple[date, date]:
    """First and last day (CE dates) of BE fiscal year `fy_be`: 1 Oct fy-1 to 30 Sep fy."""
    _check_be_year(fy_be)
    ce = fy_be - BE_OFFSET
    return date(ce - 1, 10, 1), date(ce, 9, 30)


def _check_be_year(year_be: int) -> int:
    if not MIN_BE_YEAR <= year_be <= MAX_BE_YEAR:
        raise ThaiDateError(
            f"ปี พ.ศ. {year_be} อยู่นอกช่วงที่รองรับ ({MIN_BE_YEAR}–{MAX_BE_YEAR}) "
            "กรุณาใช้ปีพุทธศักราช เช่น 2569 หรือ 69"
        )
    return year_be


# --------------------------------------------------------------------------------------------
# Formatting (what users read; `format_period` output parses back to the same Period)
# --------------------------------------------------------------------------------------------


def format_date_short(d: date) -> str:
    """ "30 มิ.ย. 2569": compact enough for a LINE list, and unambiguous."""
    return thai_strftime(d, "%-d %b %Y")


def format_date_long(d: date) -> str:
    """ "วันอังคารที่ 30 มิถุนายน 2569": the formal form, with the weekday people plan by."""
    return thai_strftime(d, "%Aที่ %-d %B %Y")


@lru_cache(maxsize=1024)
def format_closing(dt: datetime) -> str:
    """ "วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น.", always in Bangkok time. Cached: a calendar
    has a few dozen closings, and `thai_strftime` is a good part of answering a question."""
    local = _in_bangkok(dt)
    return f"{format_date_long(local.date())} เวลา {_format_time(local)}"


def format_period(p: Period) -> str:
    """A period the way Thai calendars write it, e.g. "2 - 31 มี.ค. 2569".

    Other shapes: "2 มี.ค. 2569 - 30 ก.ย. 2569", "ภายในวันที่ 5 พ.ค. 2569",
    "1 พ.ย. 2568 เป็นต้นไป", each followed by " เวลา 17.00 น." when it has a closing time.
    `parse_period` reads it back to an equal Period (closing times to the minute).
    """
    if p.start is None:
        text = f"ภายในวันที่ {format_date_short(p.end)}"
    elif p.end is None:
        text = f"{format_date_short(p.start)} เป็นต้นไป"
    elif p.start == p.end:
        text = format_date_short(p.end)
    elif (p.start.year, p.start.month) == (p.end.year, p.end.month):
        text = f"{p.start.day} - {format_date_short(p.end)}"
    else:
        text = f"{format_date_short(p.start)} - {format_date_short(p.end)}"
    if p.closes_at is not None:
        text += f" เวลา {_format_time(_in_bangkok(p.closes_at))}"
    return text


def _format_time(dt: datetime) -> str:
    return f"{dt:%H.%M} น."


def _in_bangkok(dt: datetime) -> datetime:
    """Bangkok wall-clock time of an aware datetime; naive ones are refused, not guessed."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ThaiDateError("เวลาต้องระบุเขตเวลา (เช่น เวลาประเทศไทย +07:00)")
    return dt.astimezone(BANGKOK)


# --------------------------------------------------------------------------------------------
# Parsing, step 1: normalise the text (digits, tags, spacing, harmless surrounding noise)
# --------------------------------------------------------------------------------------------

_TAG_RE = re.compile(r"<[^>]*>")
_SPACES_RE = re.compile(r"\s+")
# Row labels written before a date: "ครั้งที่ ๑ ภายในวันที่ …", "รอบที่ ๑ ในวัน …", "รอบ ๒ …".
_LEADING_ROUND_RE = re.compile(r"^(?:ครั้ง|รอบ)(?:ที่)?\s*[0-9]+\s*")
_TRAILING_NOTE_RE = re.compile(r"\s*\(\s*ระบบปิดอัตโนมัติ\s*\)$")
_TRAILING_PUNCT_RE = re.compile(r"(?<=[0-9])\s*\.$|[\s,;]+$")
_ENCLOSING_PARENS_RE = re.compile(r"^\((.*)\)$")


def _normalise(text: str) -> str:
    """Arabic digits, no markup, single spaces, and no label or note around the date."""
    text = _TAG_RE.sub(" ", html.unescape(text))
    text = normalize(to_arabic_digits(text))  # also joins a decomposed sara am (ํา -> ำ)
    text = _SPACES_RE.sub(" ", text).strip()
    text = _LEADING_ROUND_RE.sub("", text)
    text = _TRAILING_NOTE_RE.sub("", text)
    text = _TRAILING_PUNCT_RE.sub("", text)
    enclosed = _ENCLOSING_PARENS_RE.match(text)
    return enclosed.group(1).strip() if enclosed else text


# --------------------------------------------------------------------------------------------
# Parsing, step 2: tokens (Thai has no spaces between words, so match known words in order)
# --------------------------------------------------------------------------------------------


class _Kind(Enum):
    NUM = auto()  # 30, 2569, 69
    TIME = auto()  # 17.00 / 17:00 / 17 น.
    TIMEWORD = auto()  # เวลา
    MONTH = auto()  # มิถุนายน, มิ.ย., มิย, มิถุนา
    MONTHWORD = auto()  # เดือน
    DAYWORD = auto()  # วันที่
    WEEKDAY = auto()  # วันอังคารที่, วัน ศุกร์ที่, วันที่พุธที่
    ERA = auto()  # พ.ศ.
    YEARWORD = auto()  # ปี (a calendar year)
    FISCAL = auto()  # ปีงบประมาณ, ตลอดปี
    SEP = auto()  # - – — ถึง ถึงวันที่
    DEADLINE = auto()  # ภายในวันที่, ภายใน, ก่อนวันที่
    FROM = auto()  # ตั้งแต่วันที่
    OPEN = auto()  # เป็นต้นไป
    LEAD = auto()  # words that only introduce a date: ใน, ประจำ, เมื่อ, ลง, ณ, ของ, ช่วง


class _Token(NamedTuple):
    kind: _Kind
    text: str  # as matched (for messages)
    value: int | tuple[str, str] | None = None  # NUM: number, MONTH/WEEKDAY: index, TIME: h, m


def _month_names() -> dict[str, int]:
    """Month names written out -> month number: the full names from PyThaiNLP, the everyday
    short forms ("มิถุนา", the full name without its คม/ยน/พันธ์ ending), and กรกฏาคม (ฏ),
    a very common misspelling."""
    names: dict[str, int] = {}
    for month, full in enumerate(thai_full_months, 1):
        names[full] = month
        names[re.sub(r"(?:คม|ยน|พันธ์)$", "", full)] = month
    names["กรกฏาคม"] = names["กรกฏา"] = 7
    return names


_MONTH_NAMES = _month_names()
# Every spelling with dots and spaces removed -> month number, to read a matched month.
_MONTHS = _MONTH_NAMES | {abbr.replace(".", ""): m for m, abbr in enumerate(thai_abbr_months, 1)}
_DOTS_AND_SPACES_RE = re.compile(r"[.\s]")


def _month_pattern() -> str:
    """Names longest first (so มีนาคม wins over มีนา), then abbreviations with optional dots
    and spaces between their letters (มี.ค. มีค มี.ค มี. ค.)."""
    names = sorted(_MONTH_NAMES, key=len, reverse=True)
    abbrs = [
        r"\s*\.?\s*".join(re.escape(part) for part in abbr.rstrip(".").split(".")) + r"\.?"
        for abbr in thai_abbr_months
    ]
    return "|".join([*map(re.escape, names), *abbrs])


_WEEKDAYS = {name.removeprefix("วัน"): index for index, name in enumerate(thai_full_weekdays)}
_WEEKDAYS["พฤหัส"] = _WEEKDAYS["พฤหัสบดี"]
_WEEKDAY_NAMES = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))

# Tried in this order at each position; the first match wins, so longer words come first.
_TOKEN_PATTERNS: tuple[tuple[_Kind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (_Kind.TIMEWORD, r"เวลา"),
        (_Kind.TIME, r"([0-9]+)\s*[.:]\s*([0-9]+)(?:\s*(?:นาฬิกา|น\.?))?|([0-9]+)\s*(?:นาฬิกา|น\.)"),
        (_Kind.NUM, r"[0-9]+"),
        (
            _Kind.FISCAL,
            r"(?:ตลอด\s*(?:ทั้ง\s*)?)?ปี\s*งบ(?:\s*ประมาณ|ฯ)?|ตลอด\s*(?:ทั้ง\s*)?ปี",
        ),
        (_Kind.DEADLINE, r"(?:ภายใน|ก่อน|ไม่เกิน)(?:\s*วันที่)?"),
        (_Kind.FROM, r"ตั้งแต่(?:\s*วันที่)?"),
        (_Kind.SEP, r"(?:จน\s*)?ถึง(?:\s*วันที่)?|[-–—−]"),
        (_Kind.OPEN, r"เป็น\s*ต้น\s*ไป"),
        (_Kind.WEEKDAY, rf"(?:วัน\s*(?:ที่\s*)?)?({_WEEKDAY_NAMES})(?:\s*ที่)?"),
        (_Kind.DAYWORD, r"วันที่"),
        (_Kind.MONTHWORD, r"เดือน"),
        (_Kind.MONTH, _month_pattern()),
        (_Kind.ERA, r"พ\s*\.?\s*ศ\.?"),
        (_Kind.YEARWORD, r"ปี"),
        (_Kind.LEAD, r"ในช่วง|ช่วง|ประจำ|ของ|เมื่อ|ลง|ณ|ใน|ตลอด"),
    )
)
# Where a word ends, for naming an unknown word in an error message.
_WORD_BOUNDARY = frozenset(" 0123456789-–—−")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    month_span = (-1, -1)  # last month name read, to name "มิถุนาซ" whole in an error
    while pos < len(text):
        if text[pos] == " ":
            pos += 1
            continue
        for kind, pattern in _TOKEN_PATTERNS:
            match = pattern.match(text, pos)
            if match:
                tokens.append(_token(kind, match))
                if kind is _Kind.MONTH:
                    month_span = match.span()
                pos = match.end()
                break
        else:
            # A month glued to more letters ("มิถุนาซ") is one misspelt word, not two.
            start = month_span[0] if month_span[1] == pos else pos
            raise _unknown_word_error(text, start, pos)
    return tokens


def _token(kind: _Kind, match: re.Match[str]) -> _Token:
    raw = match.group(0)
    if kind is _Kind.NUM:
        return _Token(kind, raw, int(raw))
    if kind is _Kind.TIME:
        hour, minute, hour_only = match.groups()
        return _Token(kind, raw, (hour or hour_only, minute or "00"))
    if kind is _Kind.MONTH:
        return _Token(kind, raw, _MONTHS[_DOTS_AND_SPACES_RE.sub("", raw)])
    if kind is _Kind.WEEKDAY:
        return _Token(kind, raw, _WEEKDAYS[match.group(1)])
    return _Token(kind, raw)


def _unknown_word_error(text: str, start: int, pos: int) -> ThaiDateError:
    """Name the whole word that is not understood ("มิถุนาซ", "foo"), not just one letter."""
    end = pos
    while end < len(text) and text[end] not in _WORD_BOUNDARY:
        end += 1
    word = text[start:end] or text[pos]
    return ThaiDateError(
        f"ไม่รู้จักคำว่า “{word}” ในข้อความวันที่ "
        "(ชื่อเดือนเขียนได้เช่น “มิถุนายน” หรือ “มิ.ย.” ปีเป็น พ.ศ. เช่น 2569 หรือ 69)"
    )


# --------------------------------------------------------------------------------------------
# Parsing, step 3: grammar
#
#   text   := LEAD* [DEADLINE | FROM] body [OPEN] [[TIMEWORD] TIME]     (repeated: same period)
#   body   := FISCAL [year [SEP [FISCAL] year]]              fiscal year(s)
#           | (YEARWORD [ERA] | ERA) NUM [SEP [ERA] NUM]     calendar year(s)
#           | part [SEP part | part]                          a day, month, or a range of them
#   part   := [DAYWORD | MONTHWORD] [WEEKDAY] [NUM] [MONTHWORD] [MONTH [year]]
#   year   := [ERA] NUM
# --------------------------------------------------------------------------------------------


@dataclass
class _Part:
    """One side of a range as written; missing pieces are filled from the other side."""

    day: int | None = None
    month: int | None = None
    year: int | None = None  # BE, only when the text states it
    weekday: int | None = None


class _Span(NamedTuple):
    start: date
    end: date
    is_range: bool  # two sides were written (a deadline or open end cannot be one)


class _Parser:
    """Recursive descent over the tokens of one normalised text."""

    def __init__(self, tokens: list[_Token], default_year: int | None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.default_year = default_year

    # -- token helpers --------------------------------------------------------------------

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def at(self, *kinds: _Kind) -> bool:
        token = self.peek()
        return token is not None and token.kind in kinds

    def accept(self, *kinds: _Kind) -> _Token | None:
        if self.at(*kinds):
            self.pos += 1
            return self.tokens[self.pos - 1]
        return None

    def skip(self, *kinds: _Kind) -> None:
        while self.accept(*kinds):
            pass

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def unexpected(self, what_was_expected: str) -> ThaiDateError:
        token = self.peek()
        if token is None:
            return ThaiDateError(f"ข้อความจบก่อนครบ: ไม่พบ{what_was_expected}")
        return ThaiDateError(f"อ่านคำว่า “{token.text}” ตรงนี้ไม่ได้ (ต้องการ{what_was_expected})")

    # -- grammar ----------------------------------------------------------------------------

    def period(self) -> Period:
        self.skip(_Kind.LEAD)
        deadline = self.accept(_Kind.DEADLINE) is not None
        from_ = not deadline and self.accept(_Kind.FROM) is not None
        span = self.body()
        open_end = self.accept(_Kind.OPEN) is not None
        closing = self.closing_time()
        if closing is not None and self.at(_Kind.SEP, _Kind.OPEN):
            raise ThaiDateError("ระบุเวลาได้เฉพาะเวลาปิดท้ายข้อความ เช่น “… เวลา 17.00 น.”")

        start: date | None = span.start
        end: date | None = span.end
        if deadline:
            if span.is_range or open_end:
                raise ThaiDateError("“ภายใน/ก่อน” ต้องตามด้วยวันเดียว ไม่ใช่ช่วงเวลา")
            start = None
        elif open_end or (from_ and not span.is_range):
            if span.is_range:
                raise ThaiDateError("ช่วงเวลาที่มีวันสิ้นสุดแล้วใช้ “เป็นต้นไป” ไม่ได้")
            end = None
        closes_at = None
        if closing is not None:
            if end is None:
                raise ThaiDateError("ช่วงเวลาที่ไม่มีวันสิ้นสุด (“เป็นต้นไป”) จะระบุเวลาปิดไม่ได้")
            closes_at = datetime.combine(end, closing, tzinfo=BANGKOK)
        return Period(start, end, closes_at)

    def body(self) -> _Span:
        if self.at(_Kind.FISCAL):
            return self.fiscal_years()
        if self.at(_Kind.YEARWORD, _Kind.ERA):
            return self.calendar_years()
        return self.days_or_months()

    def fiscal_years(self) -> _Span:
        self.accept(_Kind.FISCAL)
        first = self.year(required=False)
        if first is None:
            first = self.default_or_error("ไม่พบปีงบประมาณ (เช่น ปีงบประมาณ พ.ศ. 2569)")
        last = first
        is_range = self.accept(_Kind.SEP) is not None
        if is_range:
            self.accept(_Kind.FISCAL)
            last = self.year(required=True)
        if first > last:
            raise _reversed_error(f"ปีงบประมาณ {first}", f"ปีงบประมาณ {last}")
        return _Span(fiscal_year_bounds(first)[0], fiscal_year_bounds(last)[1], is_range)

    def calendar_years(self) -> _Span:
        self.accept(_Kind.YEARWORD)
        first = self.year(required=True)
        last = first
        is_range = self.accept(_Kind.SEP) is not None
        if is_range:
            self.accept(_Kind.YEARWORD)
            last = self.year(required=True)
        if first > last:
            raise _reversed_error(f"พ.ศ. {first}", f"พ.ศ. {last}")
        return _Span(date(first - BE_OFFSET, 1, 1), date(last - BE_OFFSET, 12, 31), is_range)

    def year(self, *, required: bool) -> int | None:
        """[พ.ศ.] 2569 | 69 -> BE year; after พ.ศ. the number is required."""
        era = self.accept(_Kind.ERA)
        number = self.accept(_Kind.NUM)
        if number is None:
            if era is not None or required:
                raise self.unexpected("ตัวเลขปี พ.ศ. (เช่น 2569 หรือ 69)")
            return None
        return _text_year(number.text)

    def days_or_months(self) -> _Span:
        first = self.part()
        if self.accept(_Kind.SEP):
            return _Span(*_resolve_range(first, self.part(), self.default_year), True)
        if first.month is None:
            raise _missing_month_error(first)
        # "ตุลาคม ๒๕๖๗ พฤศจิกายน ๒๕๖๗": a month range with its separator lost in the PDF.
        if first.day is None and first.year is not None and self.at(_Kind.MONTH, _Kind.MONTHWORD):
            return _Span(*_resolve_range(first, self.part(), self.default_year), True)
        year = first.year if first.year is not None else self.default_or_error(_NO_YEAR)
        return _Span(
            _first_day(first, first.month, year), _last_day(first, first.month, year), False
        )

    def part(self) -> _Part:
        self.skip(_Kind.DAYWORD, _Kind.MONTHWORD)
        part = _Part()
        weekday = self.accept(_Kind.WEEKDAY)
        if weekday is not None:
            part.weekday = weekday.value
            self.skip(_Kind.DAYWORD)
        day = self.accept(_Kind.NUM)
        if day is not None:
            part.day = day.value
        self.skip(_Kind.MONTHWORD)
        month = self.accept(_Kind.MONTH)
        if month is not None:
            part.month = month.value
            part.year = self.year(required=False)
        if part.day is None and part.month is None:
            raise self.unexpected("วันที่หรือชื่อเดือน")
        if part.weekday is not None and part.day is None:
            raise ThaiDateError("ระบุวันในสัปดาห์แล้วต้องระบุวันที่ด้วย เช่น “วันอังคารที่ 30 มิ.ย. 2569”")
        return part

    def closing_time(self) -> time | None:
        word = self.accept(_Kind.TIMEWORD)
        token = self.accept(_Kind.TIME)
        if token is None and word is not None:
            hour_only = self.accept(_Kind.NUM)  # "เวลา 17"
            if hour_only is None:
                raise self.unexpected("เวลา เช่น 17.00 น.")
            token = _Token(_Kind.TIME, hour_only.text, (hour_only.text, "00"))
        return None if token is None else _clock(*token.value)

    def default_or_error(self, message: str) -> int:
        if self.default_year is None:
            raise ThaiDateError(message)
        return self.default_year


_NO_YEAR = "ไม่พบปี พ.ศ. (เช่น 2569 หรือ 69)"


def _text_year(digits: str) -> int:
    """A year as written in a Thai document: always BE, 2 digits (69) or 4 digits (2569).

    A 4-digit CE year ("2026") is refused rather than converted: in these documents it is a
    typo far more often than a deliberate CE date, and guessing would move a deadline.
    """
    if len(digits) == 2:
        return 2500 + int(digits)
    if len(digits) == 4:
        return _check_be_year(int(digits))
    raise ThaiDateError(f"ปี {digits} ไม่ถูกต้อง (เขียนปี พ.ศ. 2 หรือ 4 หลัก เช่น 69 หรือ 2569)")


def _default_be_year(year: int) -> int:
    """The caller's BE year (2569 or 69); a CE year here is a bug, so it is refused too."""
    return 2500 + year if 0 <= year <= 99 else _check_be_year(year)


def _clock(hour_text: str, minute_text: str) -> time:
    hour, minute = int(hour_text), int(minute_text)
    shown = f"{hour_text}.{minute_text} น."
    if len(minute_text) != 2:
        raise ThaiDateError(f"เวลา {shown} ไม่ถูกต้อง (นาทีต้องเป็นเลข 2 หลัก เช่น 17.00 น.)")
    if not 0 <= hour <= 23:
        raise ThaiDateError(f"เวลา {shown} ไม่ถูกต้อง (ชั่วโมงต้องอยู่ระหว่าง 0–23)")
    if not 0 <= minute <= 59:
        raise ThaiDateError(f"เวลา {shown} ไม่ถูกต้อง (นาทีต้องอยู่ระหว่าง 00–59)")
    return time(hour, minute)


def _resolve_range(a: _Part, b: _Part, default_year: int | None) -> tuple[date, date]:
    """Fill what one side leaves out from the other and check the range runs forward.

    "๒ - ๓๑ มีนาคม ๒๕๖๙": the start shares the end's month and year. A side without a year
    takes the other's, rolling over the new year when the months say so ("ต.ค. - มี.ค. ๖๘"
    starts in October ๖๗). A side whose year is written never moves, so "มีนาคม ๒๕๖๙ -
    มกราคม ๒๕๖๙" is reversed, not a range over the new year.
    """
    if b.month is None:
        raise _missing_month_error(b)
    a_month = b.month if a.month is None else a.month
    a_year, b_year = a.year, b.year
    if a.month is None:
        a_year = b_year  # a day range inside one month: same year, no rolling over
    if a_year is None and b_year is None:
        if default_year is None:
            raise ThaiDateError(_NO_YEAR)
        a_year = b_year = default_year
    elif a_year is None:
        a_year = b_year - (1 if a_month > b.month else 0)
    elif b_year is None:
        b_year = a_year + (1 if b.month < a_month else 0)
    start, end = _first_day(a, a_month, a_year), _last_day(b, b.month, b_year)
    if start > end:
        raise _reversed_error(format_date_short(start), format_date_short(end))
    return start, end


def _first_day(part: _Part, month: int, year_be: int) -> date:
    return _make_date(1 if part.day is None else part.day, month, year_be, part.weekday)


def _last_day(part: _Part, month: int, year_be: int) -> date:
    day = part.day
    if day is None:
        day = calendar.monthrange(year_be - BE_OFFSET, month)[1]
    return _make_date(day, month, year_be, part.weekday)


def _make_date(day: int, month: int, year_be: int, weekday: int | None = None) -> date:
    """The date, after checking the day exists and any weekday written matches it."""
    days_in_month = calendar.monthrange(year_be - BE_OFFSET, month)[1]
    written = f"วันที่ {day} {thai_month_name(month)} {year_be}"
    if day < 1:
        raise ThaiDateError(f"{written} ไม่มีอยู่จริง (วันที่เริ่มจาก 1)")
    if day > days_in_month:
        if month == 2:
            why = f"กุมภาพันธ์ {year_be} มี {days_in_month} วัน"
            if days_in_month == 28:
                why += " เพราะไม่ใช่ปีอธิกสุรทิน"
        else:
            why = f"{thai_month_name(month)}มี {days_in_month} วัน"
        raise ThaiDateError(f"{written} ไม่มีอยู่จริง ({why})")
    result = date(year_be - BE_OFFSET, month, day)
    if weekday is not None and result.weekday() != weekday:
        stated = thai_full_weekdays[weekday]
        raise ThaiDateError(
            f"{written} ตรงกับวัน{thai_weekday_name(result)} ไม่ใช่{stated} กรุณาตรวจสอบวันหรือวันที่อีกครั้ง"
        )
    return result


def _missing_month_error(part: _Part) -> ThaiDateError:
    if part.day is not None and part.day >= 100:
        return ThaiDateError(
            f"ตัวเลข {part.day} ดูเหมือนปี แต่ไม่ได้บอกว่าเป็นปีงบประมาณหรือปีปฏิทิน "
            "(เขียนเช่น “ปีงบประมาณ พ.ศ. 2569” หรือ “พ.ศ. 2569”)"
        )
    return ThaiDateError("ไม่พบชื่อเดือน (เช่น “30 มิถุนายน 2569” หรือ “30 มิ.ย. 69”)")


def _reversed_error(start: str, end: str) -> ThaiDateError:
    return ThaiDateError(f"ช่วงเวลากลับด้าน: วันเริ่ม ({start}) อยู่หลังวันสิ้นสุด ({end})")


# --------------------------------------------------------------------------------------------
# Public parsing
# --------------------------------------------------------------------------------------------


def parse_period(text: str, *, default_year: int | None = None) -> Period:
    """Read a Thai date or period, e.g. "วันที่ ๒ มีนาคม ๒๕๖๙ ถึงวันที่ ๓๐ กันยายน ๒๕๖๙".

    `default_year` (BE, 2 or 4 digits) is used only when the text states no year at all, as
    in a calendar whose fiscal year is known from its header; without it such text is refused.
    The same period written twice (a PDF cell duplicated) is read once; two different periods
    are refused. Raises ThaiDateError (a ValueError) with a Thai message users can act on.
    """
    normalised = _normalise(text)
    if not normalised:
        raise ThaiDateError("ข้อความว่าง ไม่พบวันที่หรือช่วงเวลา")
    default = None if default_year is None else _default_be_year(default_year)
    parser = _Parser(_tokenize(normalised), default)
    period = parser.period()
    while not parser.at_end():
        if parser.period() != period:
            raise ThaiDateError("ข้อความมีวันที่หรือช่วงเวลามากกว่าหนึ่งชุด กรุณาแยกทีละรายการ")
    return period


def parse_date(text: str, *, default_year: int | None = None) -> date:
    """Read one day ("๓๐ มิ.ย. ๖๙", "วันอังคารที่ 30 มิถุนายน 2569"); a stated time is allowed.

    Ranges, whole months or years, deadlines and open ends are refused: the caller wanted a day.
    """
    period = parse_period(text, default_year=default_year)
    if period.start is None or period.start != period.end:
        raise ThaiDateError(f"“{text.strip()}” เป็นช่วงเวลา ({format_period(period)}) ไม่ใช่วันเดียว")
    return period.start
