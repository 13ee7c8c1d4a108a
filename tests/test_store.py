"""The model store: every shipped model loads by name and has a card of the one shape; save and
load are inverses; the build command writes what the store reads."""

import json
import math
import socket
from dataclasses import asdict, replace

import pytest
import torch
from safetensors import safe_open

from llmbook import cli, corpus, store
from llmbook.gpt import GPT, GPTConfig
from llmbook.metrics import perplexity
from llmbook.recipes import build
from llmbook.reward import RewardModel
from llmbook.rnn import RNNLM, log_probs
from llmbook.seq2seq import Seq2Seq
from llmbook.textproc import Vocab

SHIPPED = {"base": "GPT", "sft": "GPT", "reasoner": "GPT", "reward": "RewardModel", "rlhf": None,
           "grpo": "GPT", "grpo-nokl": "GPT", "dpo": "GPT",
           "lstm_en": "RNNLM", "lstm_ko": "RNNLM", "seq2seq_plain": "Seq2Seq",
           "seq2seq_attention": "Seq2Seq"}  # fmt: skip


def test_the_store_holds_the_shipped_cards_and_nothing_else():
    assert store.names() == sorted(SHIPPED)
    files = {p.name for p in store.ROOT.iterdir()}
    want = {f"{n}.{ext}" for n, arch in SHIPPED.items() for ext in ("json", "md", "safetensors")
            if ext != "safetensors" or arch}  # fmt: skip
    assert files == want


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_card_has_the_one_shape(name):
    raw = json.loads((store.ROOT / f"{name}.json").read_text(encoding="utf-8"))
    card = store.Card.from_dict(raw)
    assert asdict(card) == raw  # nothing outside the shape, nothing missing
    assert card.name == name and card.architecture == SHIPPED[name]
    assert card.parent is None or card.parent in SHIPPED
    assert card.data["source"] and card.data["licence"] and card.command.startswith("python -m llmbook.recipes.")
    assert card.steps >= 1 and card.evaluation
    assert store.describe(name).startswith(f"# {name}\n")
    assert (store.ROOT / f"{name}.md").read_text(encoding="utf-8") == store.describe(name)


@pytest.mark.parametrize("name", [n for n, arch in SHIPPED.items() if arch])
def test_every_shipped_model_loads_offline_through_the_store(name, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("loading a shipped model must not use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    model, card = store.load(name), store.card(name)
    assert type(model).__name__ == card.architecture and not model.training
    assert store.count_parameters(model) == card.parameters
    assert next(model.parameters()).dtype == torch.float32
    with safe_open(store.ROOT / f"{name}.safetensors", "pt") as f:  # the file repeats the card's config
        assert json.loads(f.metadata()["config"]) == card.model_config


def test_a_card_without_weights_says_so():
    with pytest.raises(ValueError, match=r"without weights.*store.card\('rlhf'\)"):
        store.load("rlhf")
    assert set(store.card("rlhf").evaluation["table"]) >= {"SFT", "GRPO (beta=0)"}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lstm_cards_perplexity_is_what_the_shipped_weights_give(lang):
    text, held = corpus.split(lang)
    got = perplexity(log_probs(store.load(f"lstm_{lang}"), Vocab(text).encode(held)))
    assert got == pytest.approx(store.card(f"lstm_{lang}").evaluation["heldout_perplexity_per_char"], rel=1e-6)


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(store.UnknownModel, match=r"no model 'gpt5'.*known: base, dpo, .*seq2seq_plain, sft"):
        store.load("gpt5")
    with pytest.raises(store.UnknownModel, match="known: none"):
        store.card("base", root="/nonexistent")


def _card(name: str, architecture: str | None, model_config: dict, parameters: int | None) -> store.Card:
    return store.Card(name=name, summary="a test", architecture=architecture, model_config=model_config,
                      parameters=parameters, parent=None, data={"source": "test", "licence": "MIT"},
                      train_config={}, steps=1, tokens_seen=None, command="python -m test",
                      train_seconds=0.5, device="cpu", evaluation={"x": 1.0})  # fmt: skip


TINY_GPT = asdict(GPTConfig(vocab_size=50, context_length=16, n_layer=2, n_head=2, n_embd=32))
ROUND_TRIPS = {
    "GPT": (GPT(GPTConfig(**TINY_GPT)), TINY_GPT, lambda m: m(torch.arange(12)[None] % 50)),
    "RewardModel": (RewardModel(GPTConfig(**TINY_GPT)), TINY_GPT,
                    lambda m: m.reward(torch.arange(12)[None] % 50, torch.tensor([9]))),
    "RNNLM": (RNNLM(30, "gru", 8, 16), {"vocab_size": 30, "cell": "gru", "d_embed": 8, "d_hidden": 16},
              lambda m: m(torch.arange(10)[None] % 30)),
    "Seq2Seq": (Seq2Seq(True, 8, 16), {"attention": True, "d_embed": 8, "d_hidden": 16},
                lambda m: m.translate(["123", "40506"], max_len=6)[0]),
}  # fmt: skip


@pytest.mark.parametrize("arch", sorted(ROUND_TRIPS))
def test_save_then_load_gives_the_fp16_model_back(arch, tmp_path):
    torch.manual_seed(0)
    model, cfg, run = ROUND_TRIPS[arch]
    for p in model.parameters():  # a non-zero reward head too
        torch.nn.init.normal_(p, std=0.2)
    card = _card(arch.lower(), arch, cfg, store.count_parameters(model))
    store.save(card.name, model, card, tmp_path)
    back = store.load(card.name, root=tmp_path)
    assert store.card(card.name, tmp_path) == card and not back.training
    want = model.half().float().eval()  # what fp16 storage keeps
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), want.state_dict().values()))
    out, ref = run(back), run(want)
    assert out == ref if isinstance(out, list) else torch.equal(out, ref)
    if arch in ("GPT", "RewardModel"):  # the tied matrix is stored once and tied again on load
        assert back.head.weight is back.embed.tok.weight
        assert (tmp_path / f"{card.name}.safetensors").stat().st_size < 2.1 * card.parameters + 4096


def test_save_checks_the_card_against_the_model(tmp_path):
    model = GPT(GPTConfig(**TINY_GPT))
    good = _card("m", "GPT", TINY_GPT, store.count_parameters(model))
    with pytest.raises(ValueError, match="named 'm', not 'other'"):
        store.save("other", model, good, tmp_path)
    with pytest.raises(ValueError, match="the card says RNNLM, the model is a GPT"):
        store.save("m", model, replace(good, architecture="RNNLM"), tmp_path)
    with pytest.raises(ValueError, match="one without does not"):
        store.save("m", model, replace(good, architecture=None, parameters=None), tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_card_of_another_shape_is_refused():
    raw = asdict(_card("m", "GPT", TINY_GPT, 10))
    with pytest.raises(ValueError, match=r"outside the card's shape: \['seconds'\]"):
        store.Card.from_dict({**raw, "seconds": 3})
    with pytest.raises(ValueError, match="missing 1 required positional argument: 'device'"):
        store.Card.from_dict({k: v for k, v in raw.items() if k != "device"})
    with pytest.raises(ValueError, match=r"data must say \['licence'\]"):
        store.Card.from_dict({**raw, "data": {"source": "somewhere"}})
    with pytest.raises(ValueError, match="steps must be"):
        store.Card.from_dict({**raw, "steps": "3"})
    with pytest.raises(ValueError, match="architecture 'Mamba' is none of"):
        store.Card.from_dict({**raw, "architecture": "Mamba"})


def test_build_all_dry_run_prints_the_order_and_runs_nothing(tmp_path, capsys):
    assert cli.main(["build", "all", "--dry-run", "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("order: corpus -> tokenizer -> base -> sft -> rlhf -> reasoner -> rnn -> seq2seq\n")
    assert "python -m llmbook.recipes.base --steps 6000 --checkpoint-every 250 --out " in out
    assert "python -m llmbook.recipes.tokenizer\n" in out  # package data: no model options
    assert not (tmp_path / "m").exists()
    for a in build.ARTIFACTS.values():  # dependency order: everything an artifact needs comes first
        assert all(list(build.ARTIFACTS).index(n) < list(build.ARTIFACTS).index(a.name) for n in a.needs)
    assert cli.main(["build", "gpt5", "--dry-run"]) == 2
    assert "unknown artifact gpt5; known: all, corpus" in capsys.readouterr().err


def test_a_cheap_rebuild_through_the_build_command_writes_loadable_models(tmp_path):
    assert cli.main(["build", "seq2seq", "--steps", "2", "--out", str(tmp_path), "--quiet"]) == 0
    for name in ("seq2seq_plain", "seq2seq_attention"):
        card = store.card(name, tmp_path)
        assert card.steps == 2 and card.command.endswith(f"--steps 2 --out {tmp_path} --quiet")
        assert set(card.evaluation["by_digits"]) == {"2", "4", "6", "8", "10", "12"}
        model = store.load(name, root=tmp_path)
        assert model.attention == (name == "seq2seq_attention")
        assert store.count_parameters(model) == card.parameters and math.isfinite(card.train_seconds)
