"""Finding phases by what the calendars themselves say: titles, details, units, indicators.

Staff describe activities in their own words ("ประชุมทบทวนผลปีที่แล้ว", "คำสั่งแต่งตั้ง
คณะทำงาน", "คู่มือผลประโยชน์ทับซ้อน"); no lexicon written by hand keeps up with six calendars'
rows. So every phase is indexed once, when the calendars are loaded, by the PyThaiNLP tokens of
its own text, and a question's leftover words (those the tool lexicon did not already read) are
scored against them: IDF-weighted overlap, a title word counting more than a word of the detail.
Six calendars are ~70 phases and ~1,500 distinct words: a plain dict index built in tens of
milliseconds beats a retrieval library's corpus build and keeps the dependency list short.

A word one edit away from a known word (after folding the marks typists skip, see `skeleton`)
is read as that word: the deletion neighbourhood of every known word (SymSpell's trick) answers
"which known word is this?" with a few dict lookups instead of comparing against each word.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from itabot.calendars.model import Calendars, Phase
from itabot.conversation.dictionary import tokenize

# Tone marks and the "silent letter" mark: the ones people leave out or misplace on phones.
_TONES = re.compile("[\u0e47-\u0e4b]")
_SILENCED = re.compile("[\u0e01-\u0e2e][\u0e34\u0e38]?\u0e4c")  # ย์, ห์, ทร์ … a silenced letter
_MIN_FUZZY = 4  # shorter words have too many neighbours to guess from

# Words that say nothing about which phase: particles, the question's own machinery, and words
# every ITA row contains.
STOP_WORDS = frozenset(
    """ครับ คับ ค่ะ คะ นะ นะคะ นะครับ จ้า จ้ะ ค่า ฮะ หน่อย ด้วย บ้าง ไหม มั้ย มั๊ย เหรอ หรอ
    อะไร ไร ยังไง อย่างไร ไหน ใด ใคร เมื่อไหร่ เมื่อไร เมื่อใด กี่ วัน วันที่ เวลา โมง
    ที่ ของ และ กับ ใน ให้ ได้ ไป มา จะ ต้อง ยัง แล้ว อยู่ มี เป็น คือ ว่า นี้ นั้น ก็ หรือ
    ถึง จาก โดย เพื่อ ตาม แต่ ทำ การ ความ ผู้ ไหร่ เท่าไหร่ เสร็จ ปิด เปิด เริ่ม ส่ง ตอน ตอนนี้
    ita itas ประเมิน การประเมิน หน่วยงาน จังหวัด ปี พ.ศ. งบประมาณ ปีงบประมาณ ประจำ
    ข้อมูล แบบวัด ระบบ ดำเนินการ ทุก แห่ง ทั้ง ส่วน ราชการ เรื่อง อัน ช่วง กำหนด
    กำหนดการ ต่อ อีก เหลือ ทัน ช่วย ขอ ถาม รับผิดชอบ หมดเขต ภายใน ครั้ง รอบ ที่แล้ว ดูแล""".split()  # noqa: SIM905
)
FIELD_WEIGHTS = {"title": 3.0, "unit": 2.0, "indicator": 1.5, "detail": 1.0}


def skeleton(text: str) -> str:
    """`text` without tone marks and silenced letters, ใ read as ไ: "อาทิต" is "อาทิตย์"
    and "พรุงนี้" is "พรุ่งนี้" once both are skeletons."""
    return _TONES.sub("", _SILENCED.sub("", text)).replace("ใ", "ไ")


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _words_of(text: str) -> list[str]:
    return [t for t in tokenize(text) if len(t) >= 2 and not t.isdigit() and t not in STOP_WORDS]


@dataclass(frozen=True)
class Hit:
    phase: Phase
    score: float
    words: tuple[str, ...]  # the question's words the phase contains


class PhaseIndex:
    """Every loaded phase's text by field, and the known words' deletion neighbourhood.

    A question's word is looked for *inside* each field's text (Thai is written without
    spaces: a substring test needs no tokenising of 19,000 characters of details at load,
    which newmm takes ~0.3 s for); how many phases contain a word (its IDF) is counted on
    first use and kept."""

    def __init__(self, phases: Iterable[Phase], extra_words: Iterable[str] = ()) -> None:
        from itabot.conversation.understanding import INDICATOR_NAMES

        self._fields: dict[str, tuple[tuple[str, float], ...]] = {}
        titles = set()
        for phase in phases:
            fields = (
                (phase.title, FIELD_WEIGHTS["title"]),
                (" ".join(phase.responsible_expanded()), FIELD_WEIGHTS["unit"]),
                (
                    " ".join(INDICATOR_NAMES.get(i, "") for i in phase.indicators),
                    FIELD_WEIGHTS["indicator"],
                ),
                (phase.detail or "", FIELD_WEIGHTS["detail"]),
            )
            self._fields[phase.key] = tuple((fold(text), w) for text, w in fields if text)
            titles.add(fold(phase.title))
        self._postings: dict[str, dict[str, float]] = {}
        self._near: dict[str, str] = {}
        known = {w for title in titles for w in _words_of(title)}
        for word in sorted(known | set(extra_words), key=len, reverse=True):
            self._add_known(word)
        self._known = frozenset(known)

    def postings(self, word: str) -> dict[str, float]:
        """Phase key → the weight of the best field containing `word` (kept once counted)."""
        found = self._postings.get(word)
        if found is None:
            found = {}
            for key, fields in self._fields.items():
                weight = max((w for text, w in fields if word in text), default=0.0)
                if weight:
                    found[key] = weight
            self._postings[word] = found
        return found

    def idf(self, word: str) -> float:
        """log(1 + phases / phases containing `word`); 0 for a word no phase contains."""
        having = len(self.postings(word))
        return math.log(1 + len(self._fields) / having) if having else 0.0

    def _add_known(self, word: str) -> None:
        skel = skeleton(word)
        if len(skel) < _MIN_FUZZY:
            return
        self._near[skel] = word
        for variant in _deletions(skel):
            self._near.setdefault(variant, word)

    def known(self, word: str) -> str | None:
        """The word as the calendars have it: itself if some phase contains it, else the known
        word it is one edit away from (both as skeletons), else None."""
        if word in self._known or self.postings(word):
            return word
        skel = skeleton(word)
        if len(skel) < _MIN_FUZZY:
            return None
        found = self._near.get(skel)
        if found is None:
            found = next((self._near[v] for v in _deletions(skel) if v in self._near), None)
        return found

    def search(self, words: Iterable[str], phases: Iterable[Phase]) -> list[Hit]:
        """`phases` sharing a word with the question, best first."""
        wanted = {k for w in words if (k := self.known(w)) and self.postings(k)}
        if not wanted:
            return []
        weighted = [(word, self.idf(word), self.postings(word)) for word in sorted(wanted)]
        hits = []
        for phase in phases:
            key = phase.key
            common = [(word, idf * found[key]) for word, idf, found in weighted if key in found]
            if common:
                score = sum(value for _, value in common)
                hits.append(Hit(phase, score, tuple(word for word, _ in common)))
        return sorted(hits, key=lambda h: -h.score)


_FOLD = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789", " \t\n\u200b")


def fold(text: str) -> str:
    """The cheap part of `understanding.normalise` (digits, case, spaces), for the calendars'
    own text: PyThaiNLP's full normalising of every detail would cost the load ~70 ms."""
    return unicodedata.normalize("NFC", text).lower().translate(_FOLD)


_INDEXES: dict[int, tuple[Calendars, PhaseIndex]] = {}


def index_for(calendars: Calendars) -> PhaseIndex:
    """The index of these calendars, built once (at load, by `router.Services`)."""
    kept = _INDEXES.get(id(calendars))
    if kept is not None and kept[0] is calendars:
        return kept[1]
    from itabot.conversation.understanding import lexicon_words

    index = PhaseIndex(calendars.all_phases(), lexicon_words())
    if len(_INDEXES) >= 8:  # tests load calendars many times; a process has one set
        _INDEXES.pop(next(iter(_INDEXES)))
    _INDEXES[id(calendars)] = (calendars, index)
    return index


@lru_cache(maxsize=2048)
def question_words(norm: str) -> tuple[str, ...]:
    """A normalised question's content words (cached: staff repeat the same questions)."""
    return tuple(_words_of(norm))
