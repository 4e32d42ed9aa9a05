"""Province and agency names as staff type them, reduced to one key each.

Staff write `จ.สุรินทร์`, `จังหวัดสุรินทร์`, `สุรินทร์`, or the abbreviation `สร`; and
`อบต.คลองพา` for `องค์การบริหารส่วนตำบลคลองพา`. The same agency must not be added twice
under two spellings, so every comparison goes through these keys. The province list is
PyThaiNLP's (77 provinces with their official abbreviations).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache

from pythainlp.corpus import provinces as _pythainlp_provinces
from pythainlp.util import normalize as thai_normalize
from pythainlp.util import thai_digit_to_arabic_digit

# Longest first so "เทศบาลตำบล" wins over "เทศบาล".
AGENCY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("องค์การบริหารส่วนตำบล", "อบต"),
    ("องค์การบริหารส่วนจังหวัด", "อบจ"),
    ("เทศบาลตำบล", "ทต"),
    ("เทศบาลเมือง", "ทม"),
    ("เทศบาลนคร", "ทน"),
    ("สำนักงานจังหวัด", "สนจ"),
)
_PROVINCE_PREFIX_RE = re.compile(r"^(?:จังหวัด|จ\s*\.)\s*")
_SPACE_DOTS_RE = re.compile(r"[\s.\u200b]+")
# What PyThaiNLP's normalize would change: a combining mark typed twice, a tone mark typed
# before its vowel, "เเ" for "แ", a nikhahit (the "ํา" of "ำ").
_LOOKALIKE_RE = re.compile(
    r"([\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])\1|[\u0e48-\u0e4b][\u0e31\u0e34-\u0e3a\u0e47]|เเ|\u0e4d"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """NFC, control and bidi characters removed, whitespace folded: safe to store and show."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub(" ", text)
    return " ".join(text.split())


@cache
def province_table() -> dict[str, str]:
    """key → official Thai name, for names and abbreviations (กทม, สร, …)."""
    table: dict[str, str] = {}
    for p in _pythainlp_provinces(details=True):
        name = p["name_th"]
        table[_bare(name)] = name
        table[_bare(p["abbr_th"])] = name
        table[p["name_en"].lower().replace(" ", "")] = name
    table[_bare("กรุงเทพ")] = "กรุงเทพมหานคร"
    table[_bare("กรุงเทพฯ")] = "กรุงเทพมหานคร"
    return table


def province_names() -> list[str]:
    return sorted(set(province_table().values()))


def _bare(text: str) -> str:
    """The comparison form: no spaces or dots, and Thai spelt one way. A name typed with a tone
    mark repeated ("ส่่่ซ้อน") looks like the one typed once, as do "เเ" and "แ", "ํา" and "ำ",
    so they must be one agency: PyThaiNLP's `normalize` collapses repeated marks and these
    look-alikes and puts tone marks after vowels."""
    text = clean_text(text)
    if _LOOKALIKE_RE.search(text):  # normalize costs ~100 µs; most names need none of it
        text = thai_normalize(text)
    return _SPACE_DOTS_RE.sub("", text).replace("ฯ", "").lower()


def province_key(text: str) -> str:
    return _bare(_PROVINCE_PREFIX_RE.sub("", clean_text(text)))


def resolve_province(text: str) -> str | None:
    """The official name of a province as typed (prefix, abbreviation, spaces), else None."""
    return province_table().get(province_key(text))


def suggest_province(text: str, n: int = 3) -> list[str]:
    """Closest real provinces to a misspelt one (`สุรินทท์` → สุรินทร์)."""
    key = province_key(text)
    names = province_names()
    return difflib.get_close_matches(key, names, n=n, cutoff=0.5)


def agency_key(name: str) -> str:
    """`อบต. คลองพา` ≡ `องค์การบริหารส่วนตำบลคลองพา` ≡ `อบต.คลองพา` → one key."""
    text = thai_digit_to_arabic_digit(clean_text(name))
    bare = _bare(text)
    for full, short in AGENCY_PREFIXES:
        if bare.startswith(full):
            return short + bare[len(full) :]
    return bare


_ABBREVIATED_PREFIX_RE = re.compile(r"^(อบต|อบจ|ทต|ทม|ทน|สนจ)(?:\s*\.\s*|\s+)(?=\S)")


def expand_agency_name(name: str) -> str:
    """The name spelt out for display: `อบต.คลองพา` → `องค์การบริหารส่วนตำบลคลองพา`.

    Only an abbreviation followed by a dot or a space is expanded (a name merely starting with
    the letters ทน is left alone); `อบจ.สร` and `สนจ.สุรินทร์` also get the province's full name.
    """
    text = clean_text(name)
    match = _ABBREVIATED_PREFIX_RE.match(text)
    if not match:
        return text
    short = match.group(1)
    full = next(f for f, s in AGENCY_PREFIXES if s == short)
    rest = text[match.end() :]
    if short in {"อบจ", "สนจ"}:
        rest = resolve_province(rest) or rest
    return full + rest


def agency_kind(name: str) -> str | None:
    """The kind of agency its name announces (อบต., ทต., …), for display and grouping.

    Judged on the spelt-out name, so `ทนายความ…` is not taken for a city municipality (ทน.).
    """
    full_name = _bare(expand_agency_name(name))
    return next((short for full, short in AGENCY_PREFIXES if full_name.startswith(full)), None)


def suggest_names(text: str, candidates: list[str], n: int = 3) -> list[str]:
    """Closest agency names by their keys, for 'did you mean' answers."""
    keyed = {agency_key(c): c for c in candidates}
    hits = difflib.get_close_matches(agency_key(text), list(keyed), n=n, cutoff=0.5)
    return [keyed[h] for h in hits]
