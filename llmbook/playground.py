"""The playground: the course's shipped models to type into, in a notebook or in the browser.

:data:`MODELS` says what the playground offers (the store's base, sft, RLHF policies and reasoner)
and how each reads a prompt (its template and stop token); :func:`prompt_ids` and
:func:`complete` are Python's answers, which the browser version must give token for token
(:mod:`llmbook.web_export` writes that version; tests/site/test_site.py compares the two).
:func:`widget` is the playground computed by the package, for Colab, Binder or JupyterLab, and
:func:`show` picks the browser version in a frame while the book build runs a chapter
(``LLMBOOK_SITE`` set) and the widget anywhere else.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import IFrame, display

from llmbook import prompting, store
from llmbook.finetune import END, ROLE_TOKENS, chat_tokenizer
from llmbook.generation import generate, next_token_distribution
from llmbook.gpt import GPT
from llmbook.tokenizer import ENDOFTEXT, BPETokenizer
from llmbook.tokens import default_tokenizer

VIEWS = ("tokens", "next", "generate", "attention")
SITE_ENV = "LLMBOOK_SITE"  # set by book/build.py while it runs the chapters
HANGUL = re.compile("[\uac00-\ud7a3]")


@dataclass(frozen=True)
class PlaygroundModel:
    """A shipped model as the playground offers it. ``template[lang]`` is the prompt around the
    reader's text: parts ``{"text": "...{prompt}..."}`` (plain text) or ``{"special": token}``;
    the Korean template is used when the reader's text has Hangul in it."""

    title: dict[str, str]
    about: dict[str, str]
    example: dict[str, str]
    template: dict[str, list[dict[str, str]]]
    stop: str  # the special token that ends a reply
    chat: bool = False  # the vocabulary has the chat tokens (llmbook.finetune.CHAT_TOKENS)


def _reasoner_template(lang: str) -> list[dict[str, str]]:
    """The reasoner's prompt: end-of-text, then the question with chain-of-thought's trigger
    (as it was trained, :mod:`llmbook.recipes.reasoner`)."""
    return [{"special": ENDOFTEXT},
            {"text": prompting.few_shot_prompt([], "{prompt}", lang, cot=True)}]  # fmt: skip


CHAT_TEMPLATE = [{"special": ROLE_TOKENS["user"]}, {"text": "{prompt}"}, {"special": END},
                 {"special": ROLE_TOKENS["assistant"]}]  # fmt: skip

MODELS: dict[str, PlaygroundModel] = {  # the store's names
    "base": PlaygroundModel(
        {"ko": "기반 모델 (6장: 사전 훈련)", "en": "Base model (chapter 6: pretraining)"},
        {"ko": "다음 토큰을 예측하도록 사전 훈련한 GPT", "en": "A GPT pretrained to predict the next token"},
        {"ko": "대한민국은 민주공화국이다. 대한민국의", "en": "To be, or not to be, that is the"},
        {"ko": [{"text": "{prompt}"}], "en": [{"text": "{prompt}"}]},
        ENDOFTEXT,
    ),
    "sft": PlaygroundModel(
        {"ko": "지시 모델 (7장: 미세 조정)", "en": "Instruction model (chapter 7: fine-tuning)"},
        {"ko": "채팅 템플릿으로 지시를 따르도록 미세 조정한 모델",
         "en": "Fine-tuned to follow instructions in the chat template"},
        {"ko": "이 장의 제목을 헌법에서 찾아 쓰세요.\n제2장",
         "en": "Tell me the play where this character has lines.\nHermia"},
        {"ko": CHAT_TEMPLATE, "en": CHAT_TEMPLATE},
        END,
        chat=True,
    ),
    **{name: PlaygroundModel(
        {"ko": f"{label} (8장: RLHF)", "en": f"{label} (chapter 8: RLHF)"},
        about,
        {"ko": "소율에게 꽃에 대해 감사 인사를 해 주세요.", "en": "Thank Sam for the flowers."},
        {"ko": CHAT_TEMPLATE, "en": CHAT_TEMPLATE},
        END,
        chat=True,
    ) for name, label, about in (
        ("grpo", "GRPO", {"ko": "보상 모델의 점수를 올리도록 GRPO로 조정한 정책 (KL 벌점 있음)",
                          "en": "Tuned with GRPO toward the reward model's score (with the KL penalty)"}),
        ("grpo-nokl", "GRPO, β=0", {"ko": "KL 벌점 없이 GRPO로 조정한 정책: 보상 해킹을 찾아보세요",
                                    "en": "GRPO without the KL penalty: look for reward hacking"}),
        ("dpo", "DPO", {"ko": "보상 모델 없이 선호 쌍으로 직접 조정한 정책",
                        "en": "Tuned directly on the preference pairs, no reward model"}),
    )},
    "reasoner": PlaygroundModel(
        {"ko": "추론 모델 (9장: 프롬프팅)", "en": "Reasoner (chapter 9: prompting)"},
        {"ko": "단계별로 풀이를 쓰도록 미세 조정한 모델",
         "en": "Fine-tuned to write its steps before the answer"},
        {"ko": "내가 6살 때 동생은 내 나이의 절반이었다. 지금 나는 30살이다. 동생은 몇 살인가?",
         "en": "When I was 16, my sister was half my age. Now I am 29. How old is she?"},
        {lang: _reasoner_template(lang) for lang in ("ko", "en")},
        ENDOFTEXT,
    ),
}  # fmt: skip


def _model_info(name: str) -> PlaygroundModel:
    if name not in MODELS:
        raise ValueError(f"the playground has no model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name]


def tokenizer(name: str) -> BPETokenizer:
    """The tokenizer of model ``name`` (the chat tokens included for the instruction model)."""
    return chat_tokenizer() if _model_info(name).chat else default_tokenizer()


def weights_file(name: str) -> Path:
    """The store's safetensors file of ``name``: the browser reads it as it is."""
    _model_info(name)
    return store.ROOT / f"{name}.safetensors"


@functools.cache
def model(name: str) -> GPT:
    """The shipped model ``name`` (fp32, eval mode, CPU), loaded once."""
    _model_info(name)
    return store.load(name, device="cpu")


def prompt_ids(name: str, prompt: str) -> list[int]:
    """The ids model ``name`` reads for the reader's ``prompt``: its template around the text,
    the text encoded as plain text (a typed ``<|end|>`` is not the special token)."""
    if not isinstance(prompt, str):
        raise TypeError(f"the prompt must be a string, got {type(prompt).__name__}")
    info, tok = _model_info(name), tokenizer(name)
    parts = info.template["ko" if HANGUL.search(prompt) else "en"]
    ids: list[int] = []
    for part in parts:
        if "special" in part:
            ids.append(tok.special_tokens[part["special"]])
        else:
            ids += tok.encode_ordinary(part["text"].replace("{prompt}", prompt))
    return ids


def stop_id(name: str) -> int:
    return tokenizer(name).special_tokens[_model_info(name).stop]


@torch.no_grad()
def complete(name: str, prompt: str, max_new_tokens: int = 40, **sampling) -> list[int]:
    """The continuation's ids (the stop token included when it comes), as
    :func:`llmbook.generation.generate` gives them: greedy by default, what the browser's greedy
    button must give too; ``sampling`` (temperature, top_k, top_p, generator...) goes to generate."""
    ids = prompt_ids(name, prompt)
    if not ids:
        raise ValueError("the prompt is empty: type some text for the model to continue")
    sampling = sampling or {"greedy": True}
    out = generate(model(name), torch.tensor([ids]), max_new_tokens, eos_id=stop_id(name),
                   **sampling)  # fmt: skip
    return out[0, len(ids) :].tolist()


def reply(name: str, ids: Sequence[int]) -> str:
    """The text of a continuation, without the stop token."""
    return tokenizer(name).decode([i for i in ids if i != stop_id(name)])


# ----- the same in a notebook ------------------------------------------------------------------
TEXT = {
    "ko": {"model": "모델", "prompt": "프롬프트", "temperature": "온도", "top_k": "top-k (0: 끄기)",
           "top_p": "top-p", "greedy": "탐욕적 디코딩", "seed": "시드", "generate": "생성",
           "layer": "층", "head": "헤드", "max": "최대 토큰 수"},
    "en": {"model": "Model", "prompt": "Prompt", "temperature": "Temperature",
           "top_k": "top-k (0: off)", "top_p": "top-p", "greedy": "Greedy decoding",
           "seed": "Seed", "generate": "Generate", "layer": "Layer", "head": "Head",
           "max": "Max tokens"},
}  # fmt: skip


def token_label(tok: BPETokenizer, token_id: int) -> tuple[str, bool]:
    """How a token is shown: its text, or its bytes in hex when they are only part of a UTF-8
    character (``(text, partial)``)."""
    data = tok.token_bytes(token_id)
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.hex(" "), True


def tokens_html(tok: BPETokenizer, ids: Sequence[int]) -> str:
    """Coloured token boxes with their ids (the browser playground draws the same)."""
    spans = []
    for i, t in enumerate(ids):
        text, partial = token_label(tok, t)
        style = "font-style:italic;font-size:0.75em;" if partial else ""
        spans.append(
            f'<span title="id {t}" style="display:inline-flex;flex-direction:column;'
            f"align-items:center;margin:1px;padding:1px 3px;border-radius:3px;color:#111;"
            f'background:hsl({i * 67 % 360} 80% 85%);font-family:monospace">'
            f'<span style="white-space:pre;{style}">{html.escape(text.replace(chr(10), "↵"))}</span>'
            f'<span style="font-size:0.65em;opacity:0.7">{t}</span></span>'
        )
    return "<div>" + "".join(spans) + "</div>"


def bars_html(tok: BPETokenizer, probs: torch.Tensor, k: int = 10) -> str:
    """The ``k`` most likely next tokens as bars."""
    top = torch.topk(probs, k)
    rows = []
    for p, i in zip(top.values.tolist(), top.indices.tolist()):
        label = html.escape(json.dumps(token_label(tok, i)[0], ensure_ascii=False)[1:-1])
        rows.append(
            f'<div style="display:grid;grid-template-columns:7rem 1fr 3.5rem;gap:0.4rem">'
            f'<span style="font-family:monospace;white-space:pre">{label}</span>'
            f'<span style="background:#eee"><span style="display:block;height:100%;'
            f'width:{100 * p:.1f}%;background:#2563eb"></span></span><span>{100 * p:.1f}%</span></div>'
        )
    return "".join(rows)


def widget(lang: str = "en", name: str = "base", views: Sequence[str] = VIEWS,
           prompt: str | None = None) -> widgets.VBox:  # fmt: skip
    """The playground as a notebook widget, computed by the package: the prompt's tokens, the
    next-token distribution under temperature/top-k/top-p, a generated continuation (greedy or
    sampled with a seed) and one head's attention weights."""
    if lang not in TEXT:
        raise ValueError(f"lang must be 'ko' or 'en', got {lang!r}")
    if unknown := set(views) - set(VIEWS):
        raise ValueError(f"unknown views {sorted(unknown)}; choose from {VIEWS}")
    t = TEXT[lang]
    choose = widgets.Dropdown(options=[(MODELS[m].title[lang], m) for m in MODELS], value=name,
                              description=t["model"])  # fmt: skip
    text = widgets.Textarea(value=prompt or MODELS[name].example[lang], description=t["prompt"],
                            layout=widgets.Layout(width="100%"))  # fmt: skip
    temperature = widgets.FloatSlider(1.0, min=0.1, max=2.0, step=0.1, description=t["temperature"])
    top_k = widgets.IntText(0, description=t["top_k"])
    top_p = widgets.FloatSlider(1.0, min=0.05, max=1.0, step=0.05, description=t["top_p"])
    greedy = widgets.Checkbox(True, description=t["greedy"])
    seed = widgets.IntText(0, description=t["seed"])
    max_new = widgets.IntText(40, description=t["max"])
    button = widgets.Button(description=t["generate"])
    layer = widgets.IntSlider(0, min=0, max=3, description=t["layer"])
    head = widgets.IntSlider(0, min=0, max=5, description=t["head"])
    tokens_out, bars_out, gen_out = widgets.HTML(), widgets.HTML(), widgets.HTML()
    attention_out = widgets.Output()

    def analyse(_change=None) -> None:
        m, tok = model(choose.value), tokenizer(choose.value)
        layer.max, head.max = m.config.n_layer - 1, m.config.n_head - 1
        ids = prompt_ids(choose.value, text.value)[-m.config.context_length :]
        tokens_out.value = tokens_html(tok, ids)
        if not ids:
            bars_out.value = ""
            return
        with torch.no_grad():
            logits = m(torch.tensor([ids]))[0, -1]
        probs = next_token_distribution(logits[None], temperature.value, top_k.value or None,
                                        top_p.value if top_p.value < 1 else None)[0]  # fmt: skip
        bars_out.value = bars_html(tok, probs)
        if "attention" in views:
            w = m.attention_weights(torch.tensor([ids]))[layer.value][0, head.value]
            attention_out.clear_output(wait=True)
            with attention_out:
                fig, ax = plt.subplots(figsize=(4, 4))
                ax.imshow(w.numpy(), cmap="Blues", vmin=0, vmax=1)
                ax.set_title(f"{t['layer']} {layer.value}, {t['head']} {head.value}")
                plt.show()

    def run(_button=None) -> None:
        name = choose.value
        if not prompt_ids(name, text.value):
            return
        out = complete(name, text.value, max(1, max_new.value), temperature=temperature.value,
                       top_k=top_k.value or None, top_p=top_p.value if top_p.value < 1 else None,
                       greedy=greedy.value, generator=torch.Generator().manual_seed(seed.value))  # fmt: skip
        gen_out.value = (f'<div style="white-space:pre-wrap">{html.escape(reply(name, out))}</div>'
                         + tokens_html(tokenizer(name), out))  # fmt: skip

    for control in (choose, text, temperature, top_k, top_p, layer, head):
        control.observe(analyse, names="value")
    button.on_click(run)
    parts = {
        "tokens": [tokens_out],
        "next": [widgets.HBox([temperature, top_k, top_p]), bars_out],
        "generate": [widgets.HBox([greedy, seed, max_new, button]), gen_out],
        "attention": [widgets.HBox([layer, head]), attention_out],
    }
    analyse()
    if "generate" in views:
        run()
    return widgets.VBox([choose, text, *(w for v in VIEWS if v in views for w in parts[v])])


EMBED_HEIGHT = {"tokens": 280, "next": 330, "generate": 260, "attention": 470}


def show(lang: str = "en", name: str = "base", views: Sequence[str] = VIEWS,
         prompt: str | None = None):  # fmt: skip
    """The playground in a chapter: on the site, the browser version in a frame (it runs in the
    reader's browser, no kernel needed); in a running notebook, :func:`widget`."""
    if not os.environ.get(SITE_ENV):
        return widget(lang, name, views, prompt)
    _model_info(name)
    query = {"lang": lang, "model": name, "views": ",".join(views)}
    if prompt:
        query["prompt"] = prompt
    height = 150 + sum(EMBED_HEIGHT[v] for v in views)
    display(IFrame("../../../_playground/embed.html", "100%", height, **query))
    return None
