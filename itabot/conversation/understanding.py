"""Understanding a Thai question: normalised text → `Parsed` (intent, topics, round, indicator).

Staff type on phones in LINE groups: Thai mixed with English tool names, Thai or Arabic digits,
no spaces, typos ("ลงทะเบียญ", "ปิดวันไหร", "อาทิต", "พรุงนี้"). So the text is normalised
(PyThaiNLP), matched against a small lexicon of tools and intents — as typed and as a skeleton
without the tone marks and silenced letters typists skip (`search.skeleton`) — then, only if
nothing matched, fuzzily over PyThaiNLP's word tokens. What the lexicon leaves (`residual`) is
for the search of the calendars' own words. Pure: no calendars, no LINE, no database.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pythainlp.util import normalize as thai_normalize
from pythainlp.util import thai_digit_to_arabic_digit

from itabot.conversation.dictionary import tokenize, words
from itabot.conversation.search import skeleton

INDICATOR_NAMES: dict[int, str] = {
    1: "การปฏิบัติหน้าที่",
    2: "การใช้งบประมาณ",
    3: "การใช้อำนาจ",
    4: "การใช้ทรัพย์สินของราชการ",
    5: "การแก้ไขปัญหาการทุจริต",
    6: "คุณภาพการดำเนินงาน",
    7: "ประสิทธิภาพการสื่อสาร",
    8: "การปรับปรุงการทำงาน",
    9: "การเปิดเผยข้อมูล",
    10: "การป้องกันการทุจริต",
}

# --- the lexicon ---------------------------------------------------------------------------
# Keys are spaceless, lower-case, Arabic-digit forms; order matters where one contains another
# (sub-steps of OIT are looked for before OIT itself).
TOPIC_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "OIT-appeal",
        ("ชี้แจง", "ชี้แจ้ง", "อุทธรณ์", "โต้แย้ง", "appeal", "ทักท้วง", "ดูผลคะแนน", "ดูคะแนน", "ผลการตรวจ"),
    ),
    (
        "OIT-links",
        ("ส่งlink", "ส่งลิงก์", "ส่งลิ้งค์", "ส่งลิงค์", "ลิงก์", "ลิ้งค์", "ลิงค์", "ลิ้ง", "link"),
    ),
    (
        "OIT-check",
        (
            "ตรวจให้คะแนน",
            "ตรวจแบบวัด",
            "ตรวจoit",
            "ให้คะแนน",
            "รอบ1",
            "รอบ2",
            "รอบที่1",
            "รอบที่2",
            "รอบแรก",
            "รอบสอง",
        ),
    ),
    (
        "results",
        ("ประกาศผล", "ผลการประเมิน", "ผลคะแนน", "ประกาศคะแนน", "รู้ผล", "ผลita", "results", "result"),
    ),
    ("screening", ("กลั่นกรอง",)),
    ("processing", ("ประมวลผล",)),
    ("registration", ("ลงทะเบียน", "ลงทะเบียน", "สมัคร", "register", "registration", "regis")),
    # Not bare "ภายใน": "ส่งภายในวันไหน" means "by when", not IIT.
    ("IIT", ("iit", "ไอไอที", "ส่วนเสียภายใน", "บุคลากรภายใน", "แบบวัดภายใน")),
    ("EIT", ("eit", "อีไอที", "ส่วนเสียภายนอก", "ผู้รับบริการ", "แบบวัดภายนอก")),
    ("OIT", ("oit", "0it", "โอไอที", "เปิดเผยข้อมูลสาธารณะ", "แบบวัดการเปิดเผย")),
)
TOOL_OF_TOPIC: dict[str, str] = {"OIT-links": "OIT"}

WHEN_WORDS = (
    "ปิด",
    "หมดเขต",
    "สิ้นสุด",
    "ถึงวันไหน",
    "ถึงเมื่อ",
    "ถึงกี่",
    "วันไหน",
    "วันที่เท่าไร",
    "เท่าไหร่",
    "เมื่อไหร่",
    "เมื่อไร",
    "เมื่อใด",
    "กี่โมง",
    "วันสุดท้าย",
    "deadline",
    "ภายในวัน",
    "เหลือกี่วัน",
    "อีกกี่วัน",
    "กำหนดส่ง",
    "ส่งวันไหน",
    "ครบกำหนด",
    "when",
    "ช่วงไหน",
    "ทันไหม",
    "ทันมั้ย",
    "ยังทัน",
    "เสร็จเมื่อ",
    "เสร็จวันไหน",
    "เดือนไหน",
    "เดือนอะไร",
    "ตอนไหน",
    "วันอะไร",
    "จัดเมื่อ",
)
# "When does it open": answered with the opening day, not only the closing.
OPEN_WORDS = (
    "เปิดวันไหน",
    "เปิดวันที่",
    "เปิดเมื่อ",
    "เปิดกี่",
    "เปิดระบบ",
    "เปิดรับ",
    "เริ่มวันไหน",
    "เริ่มวันที่",
    "เริ่มเมื่อ",
    "เริ่มกี่",
    "เริ่มได้",
    "เริ่มตอน",
    "เริ่มต้น",
    "เริ่มทำ",
    "เริ่มเก็บ",
    "เริ่มส่ง",
    "start",
    "open",
)
# "What is still to do": the steps ahead of the context's year that the agency acts on.
LEFT_WORDS = (
    "เหลืออะไร",
    "ค้างอะไร",
    "ทำอะไรต่อ",
    "ทำไรต่อ",
    "ทำอะไรอีก",
    "ทำไรอีก",
    "ต้องทำอะไรบ้าง",
    "ต้องทำไรบ้าง",
    "ต้องส่งอะไร",
    "ส่งอะไรบ้าง",
    "ยังไม่ได้ทำ",
    "ยังไม่ได้ส่ง",
    "todo",
)
# Courtesies: a short courteous reply in a 1:1 chat, silence in a group (unless addressed).
COURTESY_WORDS = (
    "ขอบคุณ",
    "ขอบใจ",
    "thank",
    "thx",
    "สวัสดี",
    "หวัดดี",
    "hello",
    "hi",
    "ok",
    "โอเค",
    "โอเช",
    "รับทราบ",
    "ทราบแล้ว",
    "ได้ครับ",
    "ได้ค่ะ",
    "ครับผม",
    "ค่ะ",
    "ครับ",
    "👍",
    "🙏",
)
NEXT_WORDS = (
    "ถัดไป",
    "ต่อไป",
    "ใกล้จะปิด",
    "ใกล้ปิด",
    "ที่จะถึง",
    "ข้างหน้า",
    "upcoming",
    "next",
    "กำหนดการ",
    "มีอะไรต้องทำ",
    "ต้องทำอะไร",
    "ปฏิทิน",
    "calendar",
    "timeline",
)
NOW_WORDS = ("ตอนนี้", "ขณะนี้", "ปัจจุบัน", "เปิดอยู่", "อยู่ช่วงไหน", "อยู่ขั้นตอนไหน", "ช่วงนี้", "now", "ถึงไหนแล้ว")
WHO_WORDS = (
    "ใคร",
    "รับผิดชอบ",
    "หน่วยงานไหน",
    "หน่วยไหน",
    "กองไหน",
    "ผู้รับผิดชอบ",
    "who",
    "ผู้ดำเนินการ",
    "ใครทำ",
    "ใครดูแล",
    "ผู้ดูแลเรื่อง",
)
HELP_WORDS = (
    "help",
    "ช่วยเหลือ",
    "วิธีใช้",
    "ใช้งานยังไง",
    "ใช้งานอย่างไร",
    "ใช้ยังไง",
    "ใช้อย่างไร",
    "ทำอะไรได้",
    "ถามอะไรได้",
    "เมนู",
    "menu",
    "คำสั่ง",
)
WINDOW_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("day_after_tomorrow", ("มะรืน",)),
    ("tomorrow", ("พรุ่งนี้", "พรุ่งนี", "tomorrow")),
    ("today", ("วันนี้", "today", "คืนนี้")),
    ("next_week", ("สัปดาห์หน้า", "อาทิตย์หน้า", "nextweek")),
    ("this_week", ("สัปดาห์นี้", "อาทิตย์นี้", "thisweek", "7วัน", "เจ็ดวัน")),
    ("next_month", ("เดือนหน้า", "nextmonth")),
    ("this_month", ("เดือนนี้", "thismonth")),
)
# The tools' own indicators: a preparation row tagged with indicators 1–8 but no tool (Surin's
# stakeholder lists) is about IIT and EIT.
TOOL_INDICATORS: dict[str, frozenset[int]] = {
    "IIT": frozenset(range(1, 6)),
    "EIT": frozenset(range(6, 9)),
    "OIT": frozenset({9, 10}),
}
ROUND_RE = re.compile(r"รอบ(?:ที่)?(1|2|แรก|สอง)")
DAYS_AHEAD_RE = re.compile(r"(?:อีก|ภายใน)(\d{1,3})วัน|(\d{1,3})วัน(?:ข้างหน้า|ต่อจากนี้|ถัดไป)")
# Phases a user is told about as windows ("when does it happen"), not only as deadlines.
WINDOW_TOOLS = frozenset({"results", "processing", "screening", "OIT-check", "OIT-appeal"})
INDICATOR_RE = re.compile(r"(?:ตัวชี้วัด(?:ที่)?|indicator|ข้อ)\s*(\d{1,2})")
_SPACE_RE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_FUZZY_MIN_LEN = 4


@dataclass(frozen=True)
class Parsed:
    """What the question asks, before it is answered."""

    topics: tuple[str, ...]
    indicator: int | None
    window: str | None
    asks_when: bool
    asks_next: bool
    asks_now: bool
    asks_who: bool
    asks_help: bool
    round_no: int | None = None
    days_ahead: int | None = None
    text: str = ""
    asks_open: bool = False
    asks_left: bool = False
    courtesy: bool = False
    guessed: bool = False  # the topic is a fuzzy guess from a misspelt word

    @property
    def topic(self) -> str | None:
        return self.topics[0] if self.topics else None


# --- normalising and matching --------------------------------------------------------------


def normalise(text: str) -> str:
    """NFC, PyThaiNLP's Thai normalisation (doubled vowels, tone order), Arabic digits,
    lower case, no spaces: the one form every keyword is compared against."""
    text = unicodedata.normalize("NFC", text)
    text = thai_normalize(text)
    text = thai_digit_to_arabic_digit(text).lower()
    return _SPACE_RE.sub("", text)


def _has_any(haystack: str, words: Iterable[str]) -> bool:
    return any(w in haystack for w in words)


@lru_cache(maxsize=64)
def _skeletons(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s for s in map(skeleton, words) if len(s) >= 4)


def _has_near(norm: str, skel: str, words: tuple[str, ...]) -> bool:
    """A keyword as typed, or with the tone marks and silenced letters typists skip
    ("อาทิตหน้า", "พรุงนี้")."""
    return _has_any(norm, words) or _has_any(skel, _skeletons(words))


_COURTESY_FILLER = re.compile(
    r"(มากๆ|มาก|นะ|จ้า|จ้ะ|ค่า|คับ|ครับ|ค่ะ|คะ|ผม|เลย|[!.~^_ๆ]|[\U0001F300-\U0001FAFF\u2600-\u27bf])+"
)


def is_courtesy(norm: str) -> bool:
    """Thanks, a greeting or an acknowledgement and nothing else ("ok ครับ", "ขอบคุณมากค่ะ")."""
    if not norm or len(norm) > 40:
        return False
    rest = norm
    for word in sorted(COURTESY_WORDS, key=len, reverse=True):
        rest = rest.replace(word, " ")
    if rest == norm:
        return False
    return not _COURTESY_FILLER.sub("", rest).strip()


@lru_cache(maxsize=2048)
def residual(norm: str) -> str:
    """The question without the lexicon's words (tools, intents, windows, indicators): what is
    left describes an activity in the calendars' own words, if anything does."""
    for word in _lexicon_longest_first():
        if word in norm:
            norm = norm.replace(word, " ")
    return INDICATOR_RE.sub(" ", norm)


@lru_cache(maxsize=1)
def _lexicon_longest_first() -> tuple[str, ...]:
    lists = [w for _, ws in TOPIC_WORDS for w in ws] + [w for _, ws in WINDOW_WORDS for w in ws]
    for group in (WHEN_WORDS, NEXT_WORDS, NOW_WORDS, WHO_WORDS, OPEN_WORDS, LEFT_WORDS):
        lists.extend(group)
    return tuple(sorted(set(lists), key=len, reverse=True))


def lexicon_words() -> tuple[str, ...]:
    """Every Thai keyword of the lexicon: known words for the search's typo reading."""
    lists = [w for _, ws in TOPIC_WORDS for w in ws] + [w for _, ws in WINDOW_WORDS for w in ws]
    for group in (WHEN_WORDS, NEXT_WORDS, NOW_WORDS, WHO_WORDS, OPEN_WORDS, LEFT_WORDS):
        lists.extend(group)
    return tuple(w for w in lists if not w.isascii())


def _fuzzy_windows(text: str) -> list[str]:
    """Joined runs of 1–3 PyThaiNLP tokens: a typo often splits a word into odd pieces."""
    tokens = [t for t in tokenize(text) if t.strip()]
    out = []
    for n in (1, 2, 3):
        for i in range(len(tokens) - n + 1):
            joined = "".join(tokens[i : i + n])
            if len(joined) >= _FUZZY_MIN_LEN - 1:
                out.append(joined)
    return out


def _fuzzy_has(windows: Sequence[str], words: Iterable[str], cutoff: float = 0.8) -> bool:
    """Any token run within `cutoff` similarity of a keyword (difflib's cheap bounds first,
    as in `difflib.get_close_matches`, so most pairs never pay for the full ratio)."""
    matcher = difflib.SequenceMatcher()
    for word in words:
        if len(word) < _FUZZY_MIN_LEN:
            continue
        matcher.set_seq2(word)
        for piece in windows:
            if abs(len(piece) - len(word)) > 2:
                continue
            matcher.set_seq1(piece)
            if (
                matcher.real_quick_ratio() >= cutoff
                and matcher.quick_ratio() >= cutoff
                and matcher.ratio() >= cutoff
            ):
                return True
    return False


def _topics_in(norm: str, skel: str) -> tuple[str, ...]:
    """Every topic the text names ("IIT กับ EIT" → both); a step of OIT hides plain OIT, and
    an OIT step's scores ("ดูผลคะแนน OIT") are not the announcement of results."""
    found = [topic for topic, words in TOPIC_WORDS if _has_near(norm, skel, words)]
    if any(t.startswith("OIT-") for t in found) and "OIT" in found:
        found.remove("OIT")
    if "results" in found and {"OIT-appeal", "OIT-check"} & set(found) and "ประกาศ" not in norm:
        found.remove("results")
    return tuple(found)


def _fuzzy_topic(windows: Sequence[str]) -> tuple[str, ...]:
    """The first topic a misspelt word comes close to (one is enough: typos are rare)."""
    return next(((t,) for t, words in TOPIC_WORDS if _fuzzy_has(windows, words)), ())


def _round_in(norm: str) -> int | None:
    match = ROUND_RE.search(norm)
    if not match:
        return None
    return 1 if match.group(1) in {"1", "แรก"} else 2


def _days_ahead_in(norm: str) -> int | None:
    match = DAYS_AHEAD_RE.search(norm)
    if not match:
        return None
    days = int(match.group(1) or match.group(2))
    return days if 0 < days <= 366 else None


def _indicator_in(norm: str, topics: tuple[str, ...]) -> int | None:
    match = INDICATOR_RE.search(norm)
    if match and 1 <= int(match.group(1)) <= 10:
        return int(match.group(1))
    by_name = next(
        (n for n, name in INDICATOR_NAMES.items() if name.replace(" ", "") in norm and n != 9),
        None,
    )
    if by_name is None and "เปิดเผยข้อมูล" in norm and "OIT" not in topics:
        return 9
    return by_name


@lru_cache(maxsize=2048)
def parse_question(text: str) -> Parsed:
    """What a text asks. Cached by text (`Parsed` is immutable): staff tap the same quick
    replies and ask the same few questions, and parsing (PyThaiNLP normalising, tokenising a
    typo) is half the cost of an answer."""
    norm = normalise(text)
    skel = skeleton(norm)
    topics = _topics_in(norm, skel)
    window = next((w for w, words in WINDOW_WORDS if _has_near(norm, skel, words)), None)
    days_ahead = _days_ahead_in(norm)
    if days_ahead is not None:
        window = "days_ahead"
    flags = {
        "asks_when": _has_near(norm, skel, WHEN_WORDS),
        "asks_next": _has_near(norm, skel, NEXT_WORDS),
        "asks_now": _has_near(norm, skel, NOW_WORDS),
        "asks_who": _has_near(norm, skel, WHO_WORDS),
        "asks_help": _has_any(norm, HELP_WORDS) or norm in {"?", "/help", "ช่วย"},
        "asks_open": _has_near(norm, skel, OPEN_WORDS),
        "asks_left": _has_near(norm, skel, LEFT_WORDS),
    }
    guessed = False
    if not topics or not any(flags.values()):
        # Only now pay for tokenising: typos ("ลงทะเบียญ", "ปิดวันไหร") and odd splits.
        windows = _fuzzy_windows(norm)
        # A question already clear about "next", "now" or a window needs no guessed topic.
        if not topics and not (flags["asks_next"] or flags["asks_now"] or window):
            topics = _fuzzy_topic(windows)
            guessed = bool(topics)
        if not flags["asks_when"]:
            flags["asks_when"] = _fuzzy_has(windows, WHEN_WORDS) or "ปิด" in norm
        if not flags["asks_who"]:
            flags["asks_who"] = _fuzzy_has(windows, WHO_WORDS, cutoff=0.85)
    return Parsed(
        topics=topics,
        indicator=_indicator_in(norm, topics),
        window=window,
        round_no=_round_in(norm),
        days_ahead=days_ahead,
        text=norm,
        courtesy=is_courtesy(norm),
        guessed=guessed,
        **flags,
    )


def warm_up() -> None:
    """Load the tokeniser's word list now (≈20 ms) rather than on the first user's question."""
    words()
