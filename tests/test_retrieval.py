"""RAG: the recall table and the model's answers with passages in front of the questions."""

import torch

from llmbook import documents as D
from llmbook import retrieval as R
from llmbook import search as S
from llmbook.generation import complete
from llmbook.gpt import GPT, GPTConfig


def test_recall_table_is_recall_at_k_of_every_store_on_every_question_set():
    docs, questions = D.fact_documents("en")
    stores = {"bm25": S.DocumentStore(docs, "bm25"), "tfidf": S.DocumentStore(docs, "tfidf")}
    table = R.recall_table(stores, {"facts": questions}, ks=(1, 3))
    for name, store in stores.items():
        ranked = [[d.doc_id for d in store.search(q.text, 3)] for q in questions]
        for k in (1, 3):
            want = S.recall_at_k(ranked, [q.gold for q in questions], k)
            assert table[name][f"facts @{k}"] == want
    assert table["bm25"]["facts @3"] > 0.5  # the names in the questions find their sheets


def test_answers_are_the_completions_of_the_context_prompts():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=4096, context_length=128, n_layer=1, n_head=2, n_embd=16)).eval()
    docs, questions = D.fact_documents("ko")
    questions, passages = questions[:4], [[docs[0].text], [], [docs[1].text], []]
    got = R.answer_questions(model, questions, passages)
    prompts = [D.context_prompt(p, q.text, q.lang) for q, p in zip(questions, passages)]
    assert got == [t.strip().rstrip(".").strip() for t in complete(model, prompts, 8)]
    assert prompts[0].startswith("참고: ") and not prompts[1].startswith("참고:")  # no passage, no label
