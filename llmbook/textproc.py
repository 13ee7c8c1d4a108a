"""The classic NLP pipeline, before LLMs: clean -> tokenize -> normalize (stem/lemmatize) -> tag.

English stemming is the Porter (1980) algorithm, written here from its published rules; the
lemmatizer is a small rule set plus irregular forms, checked against a vocabulary (real
lemmatizers need a dictionary: that is the point). Korean words are inflected agglutinatively,
so Korean uses morphological analysis with ``kiwipiepy`` (ships its model; no download).
:class:`Vocab` maps tokens to ids with an ``<unk>`` id for tokens never seen in training.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache


def clean(text: str, lowercase: bool = True, keep_punct: bool = False) -> str:
    """Unicode-normalise (NFKC), optionally lowercase, drop bracketed stage directions and
    (unless ``keep_punct``) punctuation, and collapse runs of whitespace to one space."""
    if not isinstance(text, str):
        raise TypeError(f"clean expects a str, got {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    if lowercase:
        text = text.lower()
    if not keep_punct:
        text = re.sub(r"[^\w\s']|_", " ", text)
        text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def word_tokenize(text: str) -> list[str]:
    """Words (keeping inner apostrophes: "o'er", "what's") and punctuation marks as tokens."""
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize expects a str, got {type(text).__name__}")
    return _WORD.findall(text)


def sentences(text: str) -> list[str]:
    """Split on line breaks and after '.', '!', '?' followed by a space."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if p.strip()]


# --- Porter stemmer -------------------------------------------------------------------------

_VOWELS = set("aeiou")


def _is_cons(w: str, i: int) -> bool:
    if w[i] in _VOWELS:
        return False
    if w[i] == "y":
        return i == 0 or not _is_cons(w, i - 1)
    return True


def _measure(stem: str) -> int:
    """m in [C](VC)^m[V]: how many vowel-consonant sequences the stem has."""
    forms = "".join("c" if _is_cons(stem, i) else "v" for i in range(len(stem)))
    return len(re.findall(r"v+c+", forms))


def _has_vowel(stem: str) -> bool:
    return any(not _is_cons(stem, i) for i in range(len(stem)))


def _double_cons(w: str) -> bool:
    return len(w) >= 2 and w[-1] == w[-2] and _is_cons(w, len(w) - 1)


def _cvc(w: str) -> bool:
    """Ends consonant-vowel-consonant, the last not w, x or y (e.g. 'hop', not 'snow')."""
    return (len(w) >= 3 and _is_cons(w, len(w) - 3) and not _is_cons(w, len(w) - 2)
            and _is_cons(w, len(w) - 1) and w[-1] not in "wxy")  # fmt: skip


def _replace(w: str, rules: Sequence[tuple[str, str]], min_m: int) -> str:
    for suffix, repl in rules:
        if w.endswith(suffix):
            stem = w[: len(w) - len(suffix)]
            return stem + repl if _measure(stem) > min_m else w
    return w


_STEP2 = (("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"),
          ("izer", "ize"), ("abli", "able"), ("alli", "al"), ("entli", "ent"), ("eli", "e"),
          ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"), ("ator", "ate"),
          ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"),
          ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"))  # fmt: skip
_STEP3 = (("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"),
          ("ful", ""), ("ness", ""))  # fmt: skip
_STEP4 = ("al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
          "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize")  # fmt: skip


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Porter stem of a lowercase English word: 'running' -> 'run', 'happiness' -> 'happi'.

    Stems need not be words; the point is that inflected forms map to one key."""
    if not isinstance(word, str):
        raise TypeError(f"stem expects a str, got {type(word).__name__}")
    w = word.lower()
    if len(w) <= 2:
        return w
    # step 1a: plurals
    for suffix, repl in (("sses", "ss"), ("ies", "i"), ("ss", "ss"), ("s", "")):
        if w.endswith(suffix):
            w = w[: len(w) - len(suffix)] + repl
            break
    # step 1b: -ed, -ing
    if w.endswith("eed"):
        if _measure(w[:-3]) > 0:
            w = w[:-1]
    else:
        for suffix in ("ed", "ing"):
            if w.endswith(suffix) and _has_vowel(w[: -len(suffix)]):
                w = w[: -len(suffix)]
                if w.endswith(("at", "bl", "iz")):
                    w += "e"
                elif _double_cons(w) and w[-1] not in "lsz":
                    w = w[:-1]
                elif _measure(w) == 1 and _cvc(w):
                    w += "e"
                break
    # step 1c: y -> i
    if w.endswith("y") and _has_vowel(w[:-1]):
        w = w[:-1] + "i"
    w = _replace(w, _STEP2, 0)
    w = _replace(w, _STEP3, 0)
    # step 4: drop a suffix when the rest is long enough (m > 1)
    for suffix in sorted(_STEP4, key=len, reverse=True):
        if w.endswith(suffix):
            rest = w[: -len(suffix)]
            if _measure(rest) > 1 and (suffix != "ion" or rest.endswith(("s", "t"))):
                w = rest
            break
    # step 5: final e, double l
    if w.endswith("e"):
        rest = w[:-1]
        if _measure(rest) > 1 or (_measure(rest) == 1 and not _cvc(rest)):
            w = rest
    if _measure(w) > 1 and _double_cons(w) and w.endswith("l"):
        w = w[:-1]
    return w


# --- lemmatizer -----------------------------------------------------------------------------

IRREGULAR = {
    "am": "be", "is": "be", "are": "be", "was": "be", "were": "be", "been": "be", "art": "be",
    "has": "have", "had": "have", "hath": "have", "hast": "have", "does": "do", "did": "do",
    "doth": "do", "dost": "do", "went": "go", "gone": "go", "saw": "see", "seen": "see",
    "made": "make", "said": "say", "came": "come", "took": "take", "taken": "take",
    "gave": "give", "given": "give", "knew": "know", "known": "know", "thought": "think",
    "spoke": "speak", "spoken": "speak", "men": "man", "women": "woman", "children": "child",
    "feet": "foot", "teeth": "tooth", "mice": "mouse", "better": "good", "best": "good",
    "worse": "bad", "worst": "bad", "ran": "run", "wrote": "write", "written": "write",
}  # fmt: skip


def _lemma_candidates(w: str) -> list[str]:
    out = []
    if w.endswith("ies") and len(w) > 4:
        out.append(w[:-3] + "y")
    if w.endswith("ied") and len(w) > 4:
        out.append(w[:-3] + "y")
    for suffix in ("s", "es", "ed", "ing", "est", "er"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 2:
            base = w[: -len(suffix)]
            if _double_cons(base):
                out.append(base[:-1])  # 'hopping' -> 'hop'
            out += [base + "e", base] if _cvc(base) else [base, base + "e"]  # 'hoping' -> 'hope'
    return out


def lemmatize(word: str, vocabulary: Iterable[str] | None = None) -> str:
    """The dictionary form of an English word: 'was' -> 'be', 'studies' -> 'study'.

    Irregular forms come from a table; otherwise suffix rules propose candidates ('hoping' ->
    'hop', 'hope') and the first one found in ``vocabulary`` wins (without one: the first
    candidate). Unlike a stem, a lemma is always a real word, which needs a word list."""
    if not isinstance(word, str):
        raise TypeError(f"lemmatize expects a str, got {type(word).__name__}")
    w = word.lower()
    if w in IRREGULAR:
        return IRREGULAR[w]
    vocab = None if vocabulary is None else set(vocabulary)
    if vocab is not None and w in vocab and not w.endswith(("s", "ed", "ing")):
        return w
    cands = _lemma_candidates(w)
    if vocab is None:
        return cands[0] if cands else w
    return next((c for c in cands if c in vocab), w)


# --- Korean ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def kiwi():
    """The shared ``kiwipiepy.Kiwi`` analyser (loads its shipped model once, ~1 s)."""
    from kiwipiepy import Kiwi

    return Kiwi()


def morphemes(text: str) -> list[tuple[str, str]]:
    """Korean morphological analysis: (morpheme, Sejong POS tag) pairs, e.g.
    '국민은' -> [('국민', 'NNG'), ('은', 'JX')]."""
    if not isinstance(text, str):
        raise TypeError(f"morphemes expects a str, got {type(text).__name__}")
    return [(t.form, t.tag) for t in kiwi().tokenize(text)]


def tagged_sentences(text: str) -> list[list[tuple[str, str]]]:
    """Each line of a Korean text as a list of (morpheme, tag): data for a POS tagger."""
    lines = [line for line in text.splitlines() if line.strip()]
    return [[(t.form, t.tag) for t in toks] for toks in kiwi().tokenize(lines)]


# --- vocabulary -----------------------------------------------------------------------------


class Vocab:
    """Token <-> id, built from training tokens. Id 0 is ``<unk>``: any token not seen (or seen
    fewer than ``min_count`` times) in training, so held-out text always encodes."""

    UNK = "<unk>"

    def __init__(self, tokens: Iterable, min_count: int = 1):
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}")
        counts = Counter(tokens)
        if not counts:
            raise ValueError("Vocab needs a non-empty training sequence")
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=str)
        self.itos = [self.UNK, *kept]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Iterable) -> list[int]:
        return [self.stoi.get(t, 0) for t in tokens]

    def decode(self, ids: Iterable[int], sep: str = "") -> str:
        return sep.join(str(self.itos[int(i)]) for i in ids)
