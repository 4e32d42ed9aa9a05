"""The tokeniser's word list as a set gives what PyThaiNLP's trie of the same words gives."""

from __future__ import annotations

import pytest
from pythainlp.corpus import thai_words
from pythainlp.util import Trie

from itabot.conversation.dictionary import WordSet, tokenize
from itabot.conversation.replies import EXAMPLE_QUESTIONS, QUICK_REPLIES
from itabot.conversation.understanding import normalise

SAMPLES = (
    *EXAMPLE_QUESTIONS,
    *QUICK_REPLIES,
    "ลงทะเบียญปิดวันไหร",
    "ลงทะเบีนยitasปิดวันไร",
    "ใครรับผิดชอบประชาสัมพันธ์การเปิดเผยข้อมูลสาธารณะของหน่วยงาน",
    "กา",
    "ก",
    "",
)


@pytest.fixture(scope="module")
def words() -> list[str]:
    """Every dictionary word found in the samples, and some thousands more (a whole trie of
    62,000 words would take a second to build)."""
    texts = [normalise(s) for s in SAMPLES] + list(SAMPLES)
    found = {w for w in thai_words() if any(w in t for t in texts)}
    return sorted(found | set(sorted(thai_words())[::20]))


def test_prefixes_are_the_tries_at_every_position(words):
    trie, word_set = Trie(words), WordSet(words)
    for text in {*SAMPLES, *(normalise(s) for s in SAMPLES)}:
        for start in range(len(text) + 1):
            assert word_set.prefixes(text, start) == trie.prefixes(text, start), (text, start)


def test_a_typo_splits_into_pieces_the_fuzzy_match_can_join():
    tokens = tokenize(normalise("ลงทะเบียญปิดวันไหร"))
    assert "".join(tokens) == "ลงทะเบียญปิดวันไหร"
    assert "ปิด" in tokens
