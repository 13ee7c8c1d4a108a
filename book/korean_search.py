"""Sphinx extension: a search index that finds Korean words whatever particle follows them.

Sphinx has no Korean search language and falls back to English, which indexes whole eojeol:
"토큰화를" is indexed, "토큰화" is not, so searching "토큰화" misses pages that only say
"토큰화를" or "토큰화는" (partial matching does not help words of two syllables, such as "모델").
This language indexes every word as it stands and, for Korean words, also the word without its
trailing particles and endings, found by the Kiwi morphological analyser (kiwipiepy, already a
dependency of ``llmbook``). English words keep the English stemmer, so the query side (Sphinx's
JavaScript porter stemmer, which leaves Hangul alone) matches both.
"""

from __future__ import annotations

import functools
import re

from sphinx.application import Sphinx
from sphinx.search.en import SearchEnglish

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Morpheme tags that may be cut from the end of a word: particles (J...), endings (E...), the
# copula (이다) and the suffixes that make verbs and adjectives of nouns (하다, 되다).
TRAILING = ("J", "E", "VCP", "XSV", "XSA")


@functools.cache
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


@functools.cache
def korean_stem(word: str) -> str:
    """The word without trailing particles and endings ("모델이" -> "모델"); the word itself
    when nothing trails or when nothing would be left."""
    tokens = _kiwi().tokenize(word)
    cut = len(tokens)
    while cut > 0 and tokens[cut - 1].tag.startswith(TRAILING):
        cut -= 1
    if cut in (0, len(tokens)):
        return word
    return word[: tokens[cut].start] or word  # a stem fused with its ending: 합니다


class SearchKorean(SearchEnglish):
    """Korean pages (with English terms in them): words as written plus Korean stems."""

    lang = "ko"
    language_name = "Korean"

    def split(self, input: str) -> list[str]:
        words = super().split(input)
        stems = {korean_stem(w) for w in words if HANGUL.search(w)}
        return words + sorted(stems - set(words))


def setup(app: Sphinx) -> dict:
    app.add_search_language(SearchKorean)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
