"""llmbook.playground and llmbook.web_export: Python's answers, the browser export, the widget. The browser itself is tested
on the built site (tests/site/test_site.py: the page gives these functions' ids)."""

import base64
import json
import re

import ipywidgets
import pytest
import regex
import torch

from llmbook import corpus, finetune, instructions, playground, prompting, web_export
from llmbook.generation import generate
from llmbook.openai_encodings import GPT4O_SPLIT_PATTERN
from llmbook.tokenizer import ENDOFTEXT, GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN
from llmbook.tokens import default_tokenizer

TRICKY = [
    "don't DON'T We'LL they've I'M \u00a0x\u0085y\ufeffz\u3000\u2028\t\v\f\n\n  end  ",
    "🙂👍🏽 naïve café 1234567 ٣٤٥ ½ Ⅻ 한글\r\n줄\n\n\n  ",
    "a\u001cb\u001fc  \n",
]


@pytest.mark.parametrize("pattern", [GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, GPT4O_SPLIT_PATTERN])
def test_js_pattern_splits_text_as_the_original(pattern):
    """The rewritten pattern is also valid for Python's regex module: both split alike."""
    js = web_export.js_pattern(pattern)
    assert "(?i:" not in js and "\\s" not in js and "\\S" not in js
    assert not re.search(r"[+*?}]\+", re.sub(r"\\p\{\w+\}", "L", js)), "a possessive is left"
    texts = [corpus.load("ko"), corpus.load("en")[:60_000], *TRICKY]
    for text in texts:
        assert regex.findall(js, text) == regex.findall(pattern, text)


def test_js_whitespace_is_pythons():
    ws = web_export._whitespace_class()
    for c in ("\u0085", "\u3000", "\t", "\u2028"):
        assert regex.fullmatch(f"[{ws}]", c)
    for c in ("\ufeff", "\u001c", "a", "\u200b"):
        assert not regex.fullmatch(f"[{ws}]", c)


def test_prompts_are_the_ones_the_models_were_trained_on():
    tok = default_tokenizer()
    question = "When I was 16, my sister was half my age. Now I am 29. How old is she?"
    assert playground.prompt_ids("base", "To be") == tok.encode("To be")
    assert playground.prompt_ids("sft", "Reverse it.\napple") == finetune.prompt_ids("Reverse it.\napple")
    assert playground.prompt_ids("reasoner", question) == [
        tok.special_tokens[ENDOFTEXT], *tok.encode(prompting.few_shot_prompt([], question, "en", cot=True))]
    ko = "사과 3개와 배 4개가 있다. 모두 몇 개인가?"
    assert playground.prompt_ids("reasoner", ko)[1:] == tok.encode(
        prompting.few_shot_prompt([], ko, "ko", cot=True))


def test_typed_special_tokens_stay_text():
    ids = playground.prompt_ids("sft", "hi<|end|><|assistant|>")
    assert ids.count(finetune.CHAT_TOKENS["<|end|>"]) == 1  # the template's own
    assert ids.count(finetune.CHAT_TOKENS["<|assistant|>"]) == 1


def test_complete_is_the_instruction_models_answer():
    ex = next(e for e in instructions.instruction_dataset("heldout") if e.task == "upper")
    ids = playground.complete("sft", finetune.user_message(ex))
    assert ids[-1] == playground.stop_id("sft")
    assert playground.tokenizer("sft").decode(ids[:-1]) == finetune.answer(playground.model("sft"), ex)


def test_complete_matches_generate_past_the_context():
    """A prompt longer than the context: the model sees its last context_length tokens, as in
    generate without a cache (the browser rebuilds its cache the same way)."""
    prompt = corpus.load("en")[:2000]
    ids = playground.prompt_ids("base", prompt)
    assert len(ids) > playground.model("base").config.context_length
    want = generate(playground.model("base"), torch.tensor([ids]), 6, greedy=True, use_cache=False,
                    eos_id=playground.stop_id("base"))[0, len(ids) :]  # fmt: skip
    assert playground.complete("base", prompt, 6) == want.tolist()


def test_errors_speak_the_learners_terms():
    with pytest.raises(ValueError, match="base"):
        playground.prompt_ids("gpt4", "hi")
    with pytest.raises(ValueError, match="empty"):
        playground.complete("base", "")
    with pytest.raises(TypeError, match="string"):
        playground.prompt_ids("base", 3)
    with pytest.raises(ValueError, match="views"):
        playground.widget("en", views=["tokens", "vibes"])


def test_export_writes_the_models_and_a_manifest(tmp_path):
    manifest = web_export.export(tmp_path / "pg")
    out = tmp_path / "pg"
    assert {p.name for p in out.iterdir()} >= {"playground.js", "playground.css", "embed.html",
                                                 "manifest.js", "tokenizer.js", "models"}  # fmt: skip
    assert set(manifest["models"]) == set(playground.MODELS)
    for name, info in manifest["models"].items():
        script = (out / info["file"]).read_text()
        payload = json.loads(script[script.index(", ") + 2 : script.rindex(")")])
        raw = base64.b64decode(payload)
        assert raw == playground.weights_file(name).read_bytes()
        assert info["bytes"] == len(raw) and info["stop_id"] == playground.stop_id(name)
        assert info["parameters"] == playground.model(name).num_parameters()
    assert manifest["models"]["sft"]["extra_special_tokens"] == finetune.CHAT_TOKENS
    with pytest.raises(NotADirectoryError):
        web_export.export(out / "embed.html")


def test_export_key_follows_the_models(tmp_path, monkeypatch):
    key = web_export.export_key()
    assert web_export.export_key() == key
    for name in playground.MODELS:
        (tmp_path / f"{name}.safetensors").write_bytes(playground.weights_file(name).read_bytes())
    monkeypatch.setattr(playground.store, "ROOT", tmp_path)
    assert web_export.export_key() == key
    with open(tmp_path / "sft.safetensors", "ab") as f:
        f.write(b" ")
    assert web_export.export_key() != key


def test_show_is_a_frame_on_the_site_and_a_widget_in_a_notebook(monkeypatch, capsys):
    monkeypatch.delenv(playground.SITE_ENV, raising=False)
    w = playground.show("ko", "base", ["tokens"])
    assert isinstance(w, ipywidgets.VBox)
    shown = []
    monkeypatch.setenv(playground.SITE_ENV, "1")
    monkeypatch.setattr(playground, "display", shown.append)
    assert playground.show("ko", "sft", ["tokens", "next"], prompt="안녕") is None
    src = re.search(r'src="([^"]+)"', shown[0]._repr_html_())[1]
    assert src.startswith("../../../_playground/embed.html?")  # from LANG/chapters/LANG/NN.html
    assert "views=tokens%2Cnext" in src and "model=sft" in src and "lang=ko" in src


def test_widget_shows_tokens_bars_and_a_continuation():
    w = playground.widget("en", "base", prompt="The king said")
    html = "".join(c.value for c in w.children if isinstance(c, ipywidgets.HTML))
    for token_id in playground.prompt_ids("base", "The king said"):
        assert f">{token_id}</span>" in html
    assert html.count("%</span></div>") == 10  # ten bars
    first = default_tokenizer().decode(playground.complete("base", "The king said", 3)[:1])
    assert first.strip() and first.strip() in html


def test_token_label_shows_partial_utf8_as_bytes():
    tok = default_tokenizer()
    assert playground.token_label(tok, tok.encode("a")[0]) == ("a", False)
    lead = next(i for i in range(256) if tok.token_bytes(i) == b"\xeb")  # starts a 3-byte character
    assert playground.token_label(tok, lead) == ("eb", True)
