"""Chapter 9's passages and questions: corpus views, made-up people, quotes."""

from llmbook import documents as D


def test_corpus_documents_and_quotes():
    arts = D.constitution_articles()
    assert [d.doc_id for d in arts] == [f"제{i}조" for i in range(1, 131)]
    assert "존엄" in arts[9].text
    qs = D.quote_questions(arts, 10)
    assert len(qs) == 10
    for q in qs:
        quote = q.text.split("'")[1]
        assert [d.doc_id for d in arts if quote in d.text] == [q.gold]


def test_training_never_sees_test_people():
    examples = D.context_qa_examples(400)
    for prompt, answer in examples:  # the answer is in the passage: reading is enough
        assert answer.strip() in prompt.split("\n")[0]
    train_text = " ".join(p + a for p, a in D.context_qa_examples(400))
    for lang in ("ko", "en"):
        for name, _ in D.people(lang, "test"):
            assert name not in train_text
