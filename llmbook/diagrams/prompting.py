"""Concept diagrams for chapter 9 (prompting): the anatomy of a few-shot prompt, self-consistency
voting over sampled reasoning paths, and retrieval-augmented generation from question to answer."""

from __future__ import annotations

from llmbook.diagrams import Diagram, pick
from llmbook.prompting import majority_vote


def few_shot_anatomy(lang: str = "en") -> Diagram:
    """A few-shot prompt as the model reads it: solved examples separated by blank lines, then the
    question in the same template, ending where the model should continue."""
    q, a = pick(lang, "문제: ", "Q: "), pick(lang, "답:", "A:")
    lines = [
        (f"{q}" + pick(lang, "사과 3개에 2개를 더하면?", "3 apples and 2 more?"), "data", 0),
        (f"{a} 5", "data", 0),
        ("", None, 0),
        (f"{q}" + pick(lang, "7에서 4를 빼면?", "7 take away 4?"), "data", 1),
        (f"{a} 3", "data", 1),
        ("", None, 1),
        (f"{q}" + pick(lang, "새 질문: 6개씩 2묶음은?", "new question: 2 bags of 6?"), "layer", 2),
        (f"{a}", "layer", 2),
    ]
    d = Diagram(16, 8.6, pick(lang, "퓨샷 프롬프트의 구조: 예시 k개, 그다음 질문", "Anatomy of a few-shot "
                              "prompt: k solved examples, then the question"))  # fmt: skip
    y = 7.0
    for text, kind, _ in lines:
        if kind is None:
            d.text(5.0, y + 0.3, pick(lang, "(빈 줄: 예시 구분)", "(blank line: separator)"), fontsize=8,
                   color="#777777")  # fmt: skip
        else:
            d.box(1.0, y, 8.0, 0.6, text, kind=kind, fontsize=9)
        y -= 0.8
    d.text(12.6, 6.2, pick(lang, "예시 1, 2 (풀이가 달린 문제)\n형식과 과제를 보여 줍니다",
                           "examples 1 and 2 (solved)\nshow the format and the task"), fontsize=9)  # fmt: skip
    d.arrow((10.4, 6.2), (9.1, 6.2))
    d.text(12.6, 2.3, pick(lang, "질문: 같은 틀로 묻고\n'답:'에서 끝내면 모델이 이어 씁니다",
                           "the question in the same template,\nending at 'A:' where the model continues"),
           fontsize=9)  # fmt: skip
    d.arrow((10.2, 2.3), (9.1, 1.9))
    d.text(8.0, 0.35, pick(lang, "가중치는 그대로: 맥락 안에서 배웁니다 (in-context learning)",
                           "no weight changes: the model learns in context"), fontsize=9, color="#555555")  # fmt: skip
    return d


def self_consistency(lang: str = "en", answers: tuple = (14, 14, 12, None, 14, 16)) -> Diagram:
    """Self-consistency: sample N reasoning paths at a temperature, extract each one's answer and
    take the majority (:func:`llmbook.prompting.majority_vote`, which skips paths with no answer)."""
    from collections import Counter

    winner = majority_vote(list(answers))
    counts = Counter(a for a in answers if a is not None)
    n = len(answers)
    d = Diagram(17, 2.8 + 1.0 * n, pick(lang, "자기 일관성: 여러 풀이를 샘플링해 다수결",
                                        "Self-consistency: sample several solutions, take a vote"))  # fmt: skip
    top = 0.8 + 1.0 * (n - 1)
    d.box(0.3, top / 2, 2.8, 1.0, pick(lang, "문제 + CoT", "question + CoT"), kind="data", fontsize=9)
    for i, a in enumerate(answers):
        y = top - i * 1.0
        d.arrow((3.1, top / 2 + 0.5), (4.0, y + 0.35))
        d.box(4.0, y, 5.2, 0.7, pick(lang, f"풀이 {i + 1} (온도 T로 샘플링)", f"path {i + 1} (sampled at T)"),
              kind="note", fontsize=8)  # fmt: skip
        d.arrow((9.2, y + 0.35), (10.0, y + 0.35))
        label = pick(lang, "답 없음", "no answer") if a is None else str(a)
        d.box(10.0, y, 1.8, 0.7, label, kind="note" if a is None else "data", fontsize=9)
    d.box(13.0, top / 2 - 0.4, 3.6, 1.8, pick(lang, "다수결", "majority vote") + "\n"
          + ", ".join(f"{k}: {v}" for k, v in counts.most_common()) + "\n"
          + pick(lang, f"-> 답 {winner}", f"-> answer {winner}"), kind="loss", fontsize=9)  # fmt: skip
    for i in range(n):
        d.arrow((11.8, top - i * 1.0 + 0.35), (13.0, top / 2 + 0.5))
    d.text(8.5, 0.3, pick(lang, "답을 찾지 못한 풀이는 세지 않습니다; 동점이면 먼저 나온 답",
                          "paths with no answer are not counted; a tie goes to the earliest"),
           fontsize=8, color="#555555")  # fmt: skip
    return d


def rag_flow(lang: str = "en") -> Diagram:
    """Retrieval-augmented generation: the question retrieves passages from a document store
    (BM25), the passages go before the question in the prompt, and the model answers from them."""
    d = Diagram(17, 7.6, pick(lang, "RAG: 질문 → 검색 → 프롬프트 → 답", "RAG: question → retrieve → prompt → answer"))
    d.box(0.3, 4.2, 3.0, 1.0, pick(lang, "질문", "question"), kind="data")
    d.box(4.4, 4.0, 3.4, 1.4, pick(lang, "검색기 (BM25)\n점수가 높은 k개", "retriever (BM25)\ntop-k by score"),
          kind="op", fontsize=9)  # fmt: skip
    d.box(4.4, 1.2, 3.4, 1.4, pick(lang, "문서 저장소\n(사실 카드, 헌법, 희곡)", "document store\n(fact sheets, "
                                   "constitution, plays)"), kind="note", fontsize=8)  # fmt: skip
    d.box(9.0, 3.2, 4.2, 3.0, pick(lang, "프롬프트\n\n참고: <검색한 문단>\n문제: <질문>\n답:",
                                   "prompt\n\nContext: <passages>\nQ: <question>\nA:"), kind="data",
          fontsize=9)  # fmt: skip
    d.box(14.2, 4.0, 2.5, 1.4, pick(lang, "언어 모델\n-> 답", "language model\n-> answer"), kind="layer",
          fontsize=9)  # fmt: skip
    d.arrow((3.3, 4.7), (4.4, 4.7))
    d.arrow((6.1, 2.6), (6.1, 4.0), text=pick(lang, "문단", "passages"))
    d.arrow((7.8, 4.7), (9.0, 4.7))
    d.arrow((1.8, 4.2), (9.0, 3.6), curve=0.25, dashed=True)
    d.arrow((13.2, 4.7), (14.2, 4.7))
    d.text(8.5, 0.5, pick(lang, "모델이 모르는 사실도 문단에서 베껴 답할 수 있습니다: 검색이 틀리면 답도 틀립니다",
                          "the model can copy a fact it never learned from the passage; a wrong "
                          "retrieval gives a wrong answer"), fontsize=9, color="#555555")  # fmt: skip
    return d
