"""The report card: every shipped model as its card in the store says, in tables a page shows.

The book's report-card pages (``chapters/LANG/report_card.ipynb``) call these functions when the
book is built, so the page always shows the cards as they are (nothing on it is typed by hand).
Held-out bits per byte are computed from the card's loss and the held-out text's size: unlike the
loss per token, they do not depend on the tokenizer, so Korean and English, a GPT and a
character n-gram compare on one scale. Samples are drawn afresh with a fixed seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from IPython.display import Markdown

from llmbook import corpus, playground, store
from llmbook.rlhf import format_table

LANGS = ("ko", "en")
TEXT = {
    "ko": {
        "name": "이름", "what": "무엇인가", "params": "매개변수", "size": "파일 크기", "steps": "단계",
        "tokens": "본 토큰", "time": "훈련 시간", "device": "장치", "data": "데이터", "licence": "라이선스",
        "model": "모델", "lang": "언어", "loss": "손실(토큰당 nat)", "bpc": "문자당 비트 수", "bpb": "바이트당 비트 수",
        "base": "기반 모델 base", "pretrained": "어닐링 전 (이동 평균)",
        "last": "어닐링 전 (이동 평균 없이 마지막 가중치)", "ngram": "{n}-그램 (크네저-네이)",
        "task": "과제", "before": "미세 조정 전", "after": "미세 조정 후", "all": "전체",
        "method": "기법", "accuracy": "정확도", "prompt": "프롬프트", "sample": "샘플 (온도 0.8, 시드 0)",
        "pairwise": "보상 모델의 쌍별 정확도 (평가용 쌍)", "rag_col": "조건",
        "no weights": "가중치 없음 (결과 카드)", "bytes": "평가용 바이트", "ko": "한국어", "en": "영어",
        "previous": "이전 기반 모델",
        "zero-shot": "제로샷", "zero-shot, digits only": "제로샷, 숫자만", "few-shot": "퓨샷",
        "chain of thought": "사고의 연쇄", "self-consistency": "자기 일관성",
        "no context": "문맥 없음", "BM25 top-1 passage": "BM25 1위 구절", "gold passage": "정답 구절",
        "BM25 recall@1": "BM25 recall@1",
    },
    "en": {
        "name": "name", "what": "what it is", "params": "parameters", "size": "file size", "steps": "steps",
        "tokens": "tokens seen", "time": "training time", "device": "device", "data": "data", "licence": "licence",
        "model": "model", "lang": "language", "loss": "loss (nats/token)", "bpc": "bits/char", "bpb": "bits/byte",
        "base": "base model", "pretrained": "before annealing (moving average)",
        "last": "before annealing (last weights, no moving average)", "ngram": "{n}-gram (Kneser-Ney)",
        "task": "task", "before": "before fine-tuning", "after": "after fine-tuning", "all": "all",
        "method": "method", "accuracy": "accuracy", "prompt": "prompt", "sample": "sample (temperature 0.8, seed 0)",
        "pairwise": "reward model's pairwise accuracy (held-out pairs)", "rag_col": "condition",
        "no weights": "no weights (a results card)", "bytes": "held-out bytes", "ko": "Korean", "en": "English",
        "previous": "previous base model",
    },
}  # fmt: skip


def _t(lang: str) -> dict[str, str]:
    if lang not in TEXT:
        raise ValueError(f"lang must be 'ko' or 'en', got {lang!r}")
    return TEXT[lang]


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cell = lambda v: "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def artifacts(lang: str = "en") -> Markdown:
    """One row per shipped model: what it is, its size, its training and its data's licence."""
    t = _t(lang)
    rows = []
    for name in store.names():
        c = store.card(name)
        weights = store.ROOT / f"{name}.safetensors"
        size = f"{weights.stat().st_size / 1e6:.1f} MB" if weights.is_file() else t["no weights"]
        rows.append([f"`{name}`", c.summary, f"{c.parameters:,}" if c.parameters else None, size,
                     f"{c.steps:,}" if c.steps else None,
                     f"{c.tokens_seen:,}" if c.tokens_seen else None, _duration(c.train_seconds),
                     c.device, c.data["source"], c.data["licence"]])  # fmt: skip
    header = [t[k] for k in ("name", "what", "params", "size", "steps", "tokens", "time", "device",
                             "data", "licence")]  # fmt: skip
    return Markdown(_table(header, rows))


def heldout_bits(lang: str) -> dict[str, dict[str, float]]:
    """Held-out bits per byte on ``lang``'s held-out text, from the base card's numbers: the
    first stage's last weights and their moving average, the shipped model after annealing, and
    the n-gram baseline; bits per char times chars per byte of the same text (the card records
    how many characters it scored)."""
    ev = store.card("base").evaluation
    text = corpus.split(lang)[1]
    if len(text) != ev["heldout"][lang]["chars"]:
        raise ValueError(f"the base card scored {ev['heldout'][lang]['chars']} held-out {lang} "
                         f"characters, the corpus now has {len(text)}: re-evaluate the base model")  # fmt: skip
    chars_per_byte = len(text) / len(text.encode("utf-8"))
    stage1 = ev["before_anneal"]
    rows = {"last": stage1["heldout_last_weights"][lang], "pretrained": stage1["heldout"][lang],
            "base": ev["heldout"][lang], "ngram": ev["ngram_baseline"][lang]}  # fmt: skip
    return {k: {"loss": r["loss"], "bits_per_char": r["bits_per_char"],
                "bits_per_byte": r["bits_per_char"] * chars_per_byte} for k, r in rows.items()}  # fmt: skip


def heldout(lang: str = "en") -> Markdown:
    """The base model against the n-gram baseline on the held-out text, both languages."""
    t = _t(lang)
    order = store.card("base").evaluation["ngram_baseline"]["order"]
    rows = []
    for text_lang in LANGS:
        for key, r in heldout_bits(text_lang).items():
            label = t["ngram"].format(n=order) if key == "ngram" else t[key]
            rows.append([t[text_lang], label, f"{r['loss']:.3f}", f"{r['bits_per_char']:.3f}",
                         f"{r['bits_per_byte']:.3f}"])  # fmt: skip
    return Markdown(_table([t["lang"], t["model"], t["loss"], t["bpc"], t["bpb"]], rows))


def heldout_texts_bits() -> dict[str, dict]:
    """Bits per byte on every held-out text, keyed ``"ko-chapters"`` (the chapters' split),
    ``"ko-libreoffice"``, ...: the base model's, the same model before its annealing stage, the
    base model it replaced (``None`` unless the card records ``previous_base``, scored on the same
    texts) and the n-gram's fit on the same training texts, with the text's size in bytes; all
    from the base model's card."""
    ev = store.card("base").evaluation
    stage1 = ev["before_anneal"]
    previous = ev.get("previous_base", {"heldout": {}, "heldout_sources": {}})
    rows = {}
    for lang in LANGS:
        rows[f"{lang}-chapters"] = {"bytes": ev["heldout"][lang]["bytes"],
                                    "base": ev["heldout"][lang]["bits_per_byte"],
                                    "pretrained": stage1["heldout"][lang]["bits_per_byte"],
                                    "previous": previous["heldout"].get(lang),
                                    "ngram": ev["ngram_baseline"][lang]["bits_per_byte"]}  # fmt: skip
        for source in corpus.EXTRA_SOURCES[lang]:
            key, r = f"{lang}-{source}", ev["heldout_sources"][f"{lang}-{source}"]
            rows[key] = {"bytes": r["gpt"]["bytes"], "base": r["gpt"]["bits_per_byte"],
                         "pretrained": stage1["heldout_sources"][key]["bits_per_byte"],
                         "previous": previous["heldout_sources"].get(key),
                         "ngram": r["ngram"]["bits_per_byte"]}  # fmt: skip
    return rows


def heldout_sources(lang: str = "en") -> Markdown:
    """:func:`heldout_texts_bits` as a table: one row per held-out text, the base model, the same
    model before annealing, the base model it replaced and the n-gram in bits per byte."""
    t = _t(lang)
    order = store.card("base").evaluation["ngram_baseline"]["order"]
    rows = []
    for key, r in heldout_texts_bits().items():
        text_lang, source = key.split("-", 1)
        name = corpus.SOURCES[text_lang] if source == "chapters" else corpus.EXTRA_SOURCES[text_lang][source]
        rows.append([t[text_lang], name, f"{r['bytes']:,}", f"{r['base']:.3f}", f"{r['pretrained']:.3f}",
                     None if r["previous"] is None else f"{r['previous']:.3f}", f"{r['ngram']:.3f}"])  # fmt: skip
    header = [t["lang"], t["data"], t["bytes"], f"{t['base']} · {t['bpb']}", f"{t['pretrained']} · {t['bpb']}",
              f"{t['previous']} · {t['bpb']}", f"{t['ngram'].format(n=order)} · {t['bpb']}"]  # fmt: skip
    return Markdown(_table(header, rows))


def downstream(lang: str = "en") -> Markdown:
    """What the later models do: SFT exact match per task, the reward model's accuracy, the RLHF
    comparison, the reasoner's accuracy per prompting method and RAG."""
    t = _t(lang)
    em = store.card("sft").evaluation["exact_match"]
    tasks = list(em["after"]["en"])
    sft = _table([t["task"], *(f"{t[x]} · {t[k]}" for k in LANGS for x in ("before", "after"))],
                 [[t["all"] if task == "all" else task,
                   *(f"{em[x][k][task]:.2f}" for k in LANGS for x in ("before", "after"))]
                  for task in tasks])  # fmt: skip
    reward = store.card("reward").evaluation
    pairwise = (f"{t['pairwise']}: {reward['heldout_pairwise_accuracy_before']:.2f} → "
                f"{reward['heldout_pairwise_accuracy']:.2f}")  # fmt: skip
    rlhf = format_table(store.card("rlhf").evaluation["table"], lang)
    ev = store.card("reasoner").evaluation
    methods = [m for m in ev["en"] if isinstance(ev["en"][m], float)]
    by_lang = {k: {m.split(" (")[0]: (m, v) for m, v in ev[k].items() if isinstance(v, float)}
               for k in LANGS}  # fmt: skip
    prompting = _table([t["method"], *(t[k] for k in LANGS)],
                       [[t.get(m.split(" (")[0], m.split(" (")[0]), *(f"{by_lang[k][m.split(' (')[0]][1]:.2f} "
                                             f"({by_lang[k][m.split(' (')[0]][0]})" for k in LANGS)]
                        for m in methods])  # fmt: skip
    rag_rows = [c for c in ev["rag"]["en"] if c != "questions"]
    rag = _table([t["rag_col"], *(t[k] for k in LANGS)],
                 [[t.get(c, c), *(f"{ev['rag'][k][c]:.2f}" for k in LANGS)] for c in rag_rows])  # fmt: skip
    return Markdown("\n\n".join([
        "**SFT** (`sft`)", sft, f"**{pairwise}**", "**RLHF** (`rlhf`)", rlhf,
        f"**{t['accuracy']}** (`reasoner`, n = {ev['n_per_language']})", prompting, "**RAG**", rag,
    ]))  # fmt: skip


def sample(name: str, prompt: str, max_new_tokens: int = 30, seed: int = 0) -> str:
    """Model ``name``'s continuation of ``prompt`` (in its playground template), temperature
    0.8, seeded: the same text on every build on the same machine."""
    ids = playground.complete(name, prompt, max_new_tokens, temperature=0.8,
                              generator=torch.Generator().manual_seed(seed))  # fmt: skip
    return playground.reply(name, ids)


def samples(lang: str = "en") -> Markdown:
    """A sample per chat or language model, in both languages (the playground's example prompts)."""
    t = _t(lang)
    rows = [[f"`{name}`", t[k], info.example[k], sample(name, info.example[k])]
            for name, info in playground.MODELS.items() for k in LANGS]  # fmt: skip
    return Markdown(_table([t["model"], t["lang"], t["prompt"], t["sample"]], rows))

