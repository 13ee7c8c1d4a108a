"""Chapter 9: right and typical wrong answers of every exercise (see tests/exercises/test_wrong_answers.py)."""

import math
import re
from collections import Counter

import torch


def few_shot(demos, question):
    return "\n\n".join([f"Q: {q}\nA: {a}" for q, a in demos] + [f"Q: {question}\nA:"])


def few_shot_one_newline(demos, question):
    return "\n".join([f"Q: {q}\nA: {a}" for q, a in demos] + [f"Q: {question}\nA:"])


def extract_answer(text):
    found = re.findall(r"answer is\s*(-?\d+)", text)
    if found:
        return int(found[-1])
    first = re.fullmatch(r"\s*(-?\d+)\.?\s*", text.split("\n")[0])
    return int(first.group(1)) if first else None


def extract_first_number(text):
    found = re.findall(r"-?\d+", text)
    return int(found[0]) if found else None


def majority_vote(answers):
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == best)


def majority_vote_counts_none(answers):
    counts = Counter(answers)
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in answers if counts[a] == best)


def bm25_scores(docs, query, k1=1.5, b=0.75):
    n, avgdl = len(docs), sum(map(len, docs)) / len(docs)
    df = Counter(t for d in docs for t in set(d))
    out = []
    for d in docs:
        tf, s = Counter(d), 0.0
        for t in query:
            if tf[t]:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
        out.append(s)
    return out


def bm25_no_length(docs, query):
    return bm25_scores(docs, query, b=0.0)


def chat_template(messages, add_generation_prompt):
    out = "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in messages)
    return out + ("<|assistant|>" if add_generation_prompt else "")


def chat_template_no_end(messages, add_generation_prompt):
    out = "".join(f"<|{m['role']}|>{m['content']}" for m in messages)
    return out + ("<|assistant|>" if add_generation_prompt else "")


def digits_only(logits, allowed):
    keep = torch.zeros_like(logits, dtype=torch.bool)
    keep[allowed] = True
    return logits.masked_fill(~keep, float("-inf"))


def digits_only_zero(logits, allowed):
    keep = torch.zeros_like(logits, dtype=torch.bool)
    keep[allowed] = True
    return logits.masked_fill(~keep, 0.0)


RIGHT = {
    "09.1": {"few_shot": few_shot},
    "09.2": {"extract_answer": extract_answer},
    "09.3": {"majority_vote": majority_vote},
    "09.4": {"bm25_scores": bm25_scores},
    "09.5": {"chat_template": chat_template},
    "09.6": {"digits_only": digits_only},
}

WRONG = {
    "09.1": [({"few_shot": few_shot_one_newline}, "blank line")],
    "09.2": [({"extract_answer": extract_first_number}, "the last number after")],
    "09.3": [({"majority_vote": majority_vote_counts_none}, "None is not an answer")],
    "09.4": [({"bm25_scores": bm25_no_length}, "bm25_scores([")],
    "09.5": [({"chat_template": chat_template_no_end}, "<|end|>")],
    "09.6": [({"digits_only": digits_only_zero}, "-inf")],
}
