"""PyThaiNLP's word list for its `newmm` tokenizer, held as a set instead of a trie.

The fuzzy fallback of `replies.parse_question` tokenises with `newmm` over PyThaiNLP's 62,000
words. PyThaiNLP's default dictionary is a `Trie` of one Python object per letter: 63 MiB and
0.8 s to build in every process that tokenises. `newmm` asks its dictionary one thing only —
`prefixes(text, start)`, the words that begin at `start` — which PyThaiNLP's own frozenset of
those words answers with a handful of lookups: the same tokens, for the word list's 10 MiB and
20 ms. Built on first use (`words()`); `gunicorn --preload` builds it once, in the master, for
every worker (bot.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from pythainlp.corpus import thai_words
from pythainlp.tokenize import word_tokenize


class WordSet:
    """A read-only dictionary for PyThaiNLP's `newmm`: `Trie.prefixes` over a frozenset.

    Beside the words it keeps, per three-letter beginning, the length of the longest word that
    begins so: most positions in a question are ruled out after three lookups, where a trie's
    walk would stop."""

    __slots__ = ("_longest", "_words")

    def __init__(self, words: Iterable[str]) -> None:
        words = frozenset(words)  # PyThaiNLP's own frozenset: the same object, not a copy
        if not all(word and word == word.strip() for word in words):  # as `Trie.add` strips
            words = frozenset(filter(None, map(str.strip, words)))
        self._words = words
        longest: dict[str, int] = {}
        for word in self._words:
            if len(word) > 2 and longest.get(word[:3], 0) < len(word):
                longest[word[:3]] = len(word)
        self._longest = longest

    def prefixes(self, text: str, start: int = 0) -> list[str]:
        """The words that `text` has at `start`, shortest first (as `Trie.prefixes`)."""
        words, size = self._words, len(text)
        found = [
            text[start:end]
            for end in (start + 1, start + 2)
            if end <= size and text[start:end] in words
        ]
        stop = min(size, start + self._longest.get(text[start : start + 3], 0))
        found.extend(
            text[start:end] for end in range(start + 3, stop + 1) if text[start:end] in words
        )
        return found

    def __len__(self) -> int:  # `newmm` falls back to its own trie when this is 0
        return len(self._words)


@cache
def words() -> WordSet:
    """PyThaiNLP's own word list (the one its default trie is built from), once per process."""
    return WordSet(thai_words())


def tokenize(text: str) -> list[str]:
    """`newmm` word tokens of `text` (no whitespace tokens), as PyThaiNLP's default gives."""
    return word_tokenize(text, custom_dict=words(), engine="newmm", keep_whitespace=False)
