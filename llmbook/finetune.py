"""Instruction fine-tuning (SFT): prompt templates, chat tokens, masked batches, training, answers.

A pretrained model continues text; to make it *answer*, train it further on (prompt, response)
pairs written in a fixed template, and count the loss only on the response tokens: the labels of
prompt and padding positions are set to ``-100``, which cross-entropy ignores. Two templates:

- Alpaca style (:func:`format_alpaca`): plain-text headers (``### Instruction:`` ...; Korean
  prompts get Korean headers), the response ends with ``<|endoftext|>``;
- chat style (:func:`format_chat`): new special tokens ``<|user|>``, ``<|assistant|>``,
  ``<|end|>`` with ids after the base vocabulary, so the model's embedding and output layer grow
  (:func:`add_chat_tokens`).

The shipped SFT model is the base model fine-tuned this way on
:func:`llmbook.instructions.instruction_dataset` with the chat template
(:mod:`llmbook.recipes.sft`); ``store.load("sft")`` loads it. The classification side of fine-tuning
(:class:`GPTClassifier`, :func:`freeze`, ...) lives in :mod:`llmbook.classification` and is
re-exported here.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import asdict

import torch
from torch import nn

from llmbook.classification import (  # noqa: F401  (re-exported: fine-tuning's public API)
    GPTClassifier,
    LabelledTexts,
    accuracy,
    classification_dataset,
    confusion_matrix,
    freeze,
    predict,
    train_classifier,
)
from llmbook.data import pad_right
from llmbook.generation import generate
from llmbook.gpt import GPT, GPTConfig
from llmbook.instructions import LANGS, TASKS, Instruction
from llmbook.tokenizer import BPETokenizer
from llmbook.tokens import default_tokenizer, encode, eot_id
from llmbook.train import History, TrainConfig, train

IGNORE_INDEX = -100
TEMPLATES = ("chat", "alpaca")

# ----- Alpaca-style template -------------------------------------------------------------------
ALPACA_HEADERS = {
    "en": {"instruction": "### Instruction:", "input": "### Input:", "response": "### Response:"},
    "ko": {"instruction": "### 지시:", "input": "### 입력:", "response": "### 응답:"},
}
ALPACA_RESPONSE_HEADER = {lang: h["response"] for lang, h in ALPACA_HEADERS.items()}


def _check_example(ex) -> Instruction:
    if not isinstance(ex, Instruction):
        raise TypeError(f"expected an Instruction (from instruction_dataset), got {type(ex).__name__}")
    if ex.lang not in ALPACA_HEADERS:
        raise ValueError(f"Instruction.lang must be 'ko' or 'en', got {ex.lang!r}")
    return ex


def format_alpaca(ex: Instruction) -> str:
    """The Alpaca-style prompt of ``ex``, up to and including the response header (the model
    writes what follows). The input section is left out when ``ex.input`` is empty."""
    h = ALPACA_HEADERS[_check_example(ex).lang]
    parts = [f"{h['instruction']}\n{ex.instruction}"]
    if ex.input:
        parts.append(f"{h['input']}\n{ex.input}")
    parts.append(f"{h['response']}\n")
    return "\n\n".join(parts)


# ----- chat template with special tokens -------------------------------------------------------
CHAT_TOKENS = {"<|user|>": 4096, "<|assistant|>": 4097, "<|end|>": 4098}
ROLE_TOKENS = {"user": "<|user|>", "assistant": "<|assistant|>"}
END = "<|end|>"


@functools.lru_cache(maxsize=1)
def chat_tokenizer() -> BPETokenizer:
    """The default tokenizer with the chat special tokens added (vocabulary 4,099)."""
    base = default_tokenizer()
    byte_order = [base.token_bytes(i)[0] for i in range(256)]
    return BPETokenizer(base.merges, base.pattern, {**base.special_tokens, **CHAT_TOKENS},
                        byte_order)  # fmt: skip


def chat_vocab_size() -> int:
    """The vocabulary size with the chat tokens: 4,099."""
    return max(CHAT_TOKENS.values()) + 1


def add_chat_tokens(model: GPT, seed: int = 0) -> GPT:
    """A copy of ``model`` whose vocabulary grows to hold :data:`CHAT_TOKENS`.

    The new embedding rows start at the mean of the existing ones plus a little noise (so they
    begin as an "average token" and differ from one another); with tied weights the output layer
    grows with them. A model that already has the tokens is returned unchanged (as a copy).
    """
    if not isinstance(model, GPT):
        raise TypeError(f"add_chat_tokens expects a GPT, got {type(model).__name__}")
    old = model.config.vocab_size
    new = chat_vocab_size()
    out = copy.deepcopy(model)
    if old >= new:
        return out
    if old != default_tokenizer().vocab_size:
        raise ValueError(f"the model's vocabulary ({old}) is not the default tokenizer's "
                         f"({default_tokenizer().vocab_size}): cannot add chat tokens after it")  # fmt: skip
    cfg = GPTConfig(**{**asdict(model.config), "vocab_size": new})
    emb = model.embed.tok.weight.detach()
    gen = torch.Generator().manual_seed(seed)
    extra = emb.mean(0) + 0.02 * torch.randn(new - old, emb.shape[1], generator=gen).to(emb)
    out.config = cfg
    out.embed.tok = nn.Embedding(new, emb.shape[1]).to(emb.device)
    out.embed.tok.weight = nn.Parameter(torch.cat([emb, extra]))
    out.head = nn.Linear(emb.shape[1], new, bias=False).to(emb.device)
    if cfg.tie_weights:
        out.head.weight = out.embed.tok.weight
    else:
        out.head.weight = nn.Parameter(torch.cat([model.head.weight.detach(), extra]))
    return out


def format_chat(messages: Sequence[dict], add_generation_prompt: bool = False) -> str:
    """Messages ``[{"role": "user"|"assistant", "content": str}, ...]`` as one string:
    ``<|user|>content<|end|><|assistant|>content<|end|>...``. ``add_generation_prompt``
    appends ``<|assistant|>`` so the model writes the next reply."""
    out = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ROLE_TOKENS or not isinstance(
                m.get("content"), str):  # fmt: skip
            raise ValueError(f"each message must be {{'role': 'user' or 'assistant', 'content': "
                             f"str}}, got {m!r}")  # fmt: skip
        out.append(f"{ROLE_TOKENS[m['role']]}{m['content']}{END}")
    if add_generation_prompt:
        out.append(ROLE_TOKENS["assistant"])
    return "".join(out)


def user_message(ex: Instruction) -> str:
    """What the user says for ``ex``: the instruction, then the input on its own line."""
    return f"{ex.instruction}\n{ex.input}" if ex.input else ex.instruction


def end_id(template: str = "chat") -> int:
    """The token that ends a response: ``<|end|>`` (chat) or ``<|endoftext|>`` (alpaca)."""
    return CHAT_TOKENS[END] if _template(template) == "chat" else eot_id()


def _template(template: str) -> str:
    if template not in TEMPLATES:
        raise ValueError(f"template must be one of {TEMPLATES}, got {template!r}")
    return template


def prompt_ids(prompt: Instruction | str, template: str = "chat") -> list[int]:
    """Token ids of the prompt the model answers: an :class:`Instruction`, or a plain string
    taken as the user's message (chat) or the instruction (alpaca, English headers)."""
    if isinstance(prompt, str):
        prompt = Instruction(prompt, "", "", "en", "")
    ex = _check_example(prompt)
    if _template(template) == "alpaca":
        return encode(format_alpaca(ex))
    return [CHAT_TOKENS["<|user|>"], *encode(user_message(ex)), CHAT_TOKENS[END],
            CHAT_TOKENS["<|assistant|>"]]  # fmt: skip


def encode_example(ex: Instruction, template: str = "chat") -> tuple[list[int], list[int]]:
    """(prompt ids, response ids ending with the end token) of ``ex`` in ``template``."""
    return prompt_ids(ex, template), [*encode(_check_example(ex).output), end_id(template)]


# ----- batches with masked labels --------------------------------------------------------------
def _checked_pairs(examples, max_len: int | None) -> list[tuple[list[int], list[int]]]:
    """The (prompt, response) pairs of :func:`collate` as lists, each checked: a pair, neither
    part empty, and ``prompt + response - 1`` no longer than ``max_len``."""
    if not examples:
        raise ValueError("collate needs at least one (prompt ids, response ids) example")
    pairs = []
    for k, ex in enumerate(examples):
        if not (isinstance(ex, (tuple, list)) and len(ex) == 2):
            raise TypeError(f"example {k} must be a (prompt ids, response ids) pair, got {ex!r}")
        prompt, response = list(ex[0]), list(ex[1])
        if not prompt or not response:
            raise ValueError(f"example {k} has an empty {'prompt' if not prompt else 'response'}: "
                             "both need at least one token")  # fmt: skip
        if max_len is not None and len(prompt) + len(response) - 1 > max_len:
            raise ValueError(f"example {k} is {len(prompt) + len(response) - 1} tokens long (prompt + "
                             f"response - 1), more than max_len={max_len}: shorten it or raise "
                             "max_len")  # fmt: skip
        pairs.append((prompt, response))
    return pairs


def collate(examples: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int,
            ignore_index: int = IGNORE_INDEX,
            max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(prompt, response) id pairs -> inputs ``x`` and labels ``y``, both ``(batch, T)``.

    Each row is ``prompt + response`` without its last token, right-padded with ``pad_id``;
    ``y[i]`` is the token after ``x[i]``, except where that token belongs to the prompt or is
    padding: those labels are ``ignore_index``, so only the response is learned. ``T`` is the
    longest row; a row longer than ``max_len`` (the model's context) is an error.
    """
    rows = []
    for prompt, response in _checked_pairs(examples, max_len):
        seq = prompt + response
        labels = [ignore_index] * (len(prompt) - 1) + response  # predicting a prompt token: skipped
        rows.append((seq[:-1], labels))
    return pad_right([x for x, _ in rows], pad_id), pad_right([y for _, y in rows], ignore_index)


# ----- training --------------------------------------------------------------------------------
def finetune(model: GPT, examples: Sequence, steps: int = 300, batch_size: int = 16,
             lr: float = 1e-3, template: str = "chat", warmup_steps: int | None = None,
             weight_decay: float = 0.0, grad_clip: float = 1.0, seed: int = 0,
             progress: bool = True) -> History:  # fmt: skip
    """Supervised fine-tuning: train ``model`` (its parameters with ``requires_grad``) on
    ``examples`` — :class:`Instruction` objects (encoded with ``template``) or (prompt ids,
    response ids) pairs — with the loss on response tokens only. Each step draws ``batch_size``
    random examples; optimizer, schedule and clipping are those of :func:`llmbook.train.train`.
    """
    if not examples:
        raise ValueError("finetune needs at least one example")
    pairs = [encode_example(e, template) if isinstance(e, Instruction) else e for e in examples]
    if template == "chat" and model.config.vocab_size < chat_vocab_size():
        raise ValueError("the chat template needs the chat tokens: model = add_chat_tokens(model)")
    ctx = model.config.context_length
    collate(pairs, eot_id(), max_len=ctx)  # check every example once, up front
    dev = next(model.parameters()).device

    def sample(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(pairs), (n,), generator=gen).tolist()
        x, y = collate([pairs[i] for i in idx], eot_id(), max_len=ctx)
        return x.to(dev), y.to(dev)

    warmup = min(20, steps // 10) if warmup_steps is None else warmup_steps
    cfg = TrainConfig(steps=steps, batch_size=batch_size, lr=lr,
                      warmup_steps=warmup, weight_decay=weight_decay, grad_clip=grad_clip,
                      eval_every=steps, seed=seed)  # fmt: skip
    return train(model, sample, cfg, progress=progress)


@torch.no_grad()
def answer(model: GPT, prompt: Instruction | str, template: str = "chat",
           max_new_tokens: int = 24, temperature: float = 0.0, top_k: int | None = None,
           generator: torch.Generator | None = None) -> str:  # fmt: skip
    """The model's reply to ``prompt`` (an :class:`Instruction` or the user's text), generated
    until the end token (greedy by default) and decoded without it."""
    ids = prompt_ids(prompt, template)
    dev = next(model.parameters()).device
    idx = torch.tensor([ids], device=dev)
    out = generate(model, idx, max_new_tokens, temperature=temperature, top_k=top_k,
                   generator=generator, eos_id=end_id(template))[0, len(ids):].tolist()  # fmt: skip
    stop = end_id(template)
    reply = out[: out.index(stop)] if stop in out else out
    return chat_tokenizer().decode(reply)


def exact_match(model: GPT, examples: Sequence[Instruction], template: str = "chat",
                max_new_tokens: int = 24) -> float:  # fmt: skip
    """Fraction of ``examples`` whose greedy answer equals the expected output (spaces at the
    ends ignored)."""
    return sum(_hits(model, examples, template, max_new_tokens)) / len(examples)


def _hits(model: GPT, examples: Sequence[Instruction], template: str,
          max_new_tokens: int) -> list[bool]:  # fmt: skip
    if not examples:
        raise ValueError("exact_match needs at least one example")
    return [answer(model, ex, template, max_new_tokens).strip() == ex.output.strip()
            for ex in examples]  # fmt: skip


def exact_match_report(model: GPT, examples: Sequence[Instruction], template: str = "chat",
                       max_new_tokens: int = 24) -> dict[str, dict[str, float]]:  # fmt: skip
    """Exact match per language (``"all"``) and per task within each language."""
    hits = _hits(model, examples, template, max_new_tokens)
    report: dict[str, dict[str, float]] = {}
    for lang in LANGS:
        for key in ("all", *TASKS):
            got = [h for h, e in zip(hits, examples)
                   if e.lang == lang and key in ("all", e.task)]  # fmt: skip
            if got:
                report.setdefault(lang, {})[key] = sum(got) / len(got)
    return report
