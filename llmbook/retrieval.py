"""Retrieval-augmented generation (RAG): what a retrieved passage does to the model's answers.

The passages and questions are in :mod:`llmbook.documents`, the search in :mod:`llmbook.search`;
here :func:`recall_table` measures every store on every kind of question, and
:func:`rag_report` answers fact questions about people the model never trained on with no
passage, with BM25's top passage and with the gold passage.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmbook.documents import Question, context_prompt, fact_documents, store_documents
from llmbook.generation import complete
from llmbook.gpt import GPT
from llmbook.search import DocumentStore, recall_at_k


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
