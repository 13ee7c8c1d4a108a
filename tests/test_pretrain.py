import json
import math
import socket
from types import SimpleNamespace

import pytest
import torch

from llmbook import pretrain
from llmbook.checkpoint import CheckpointError
from llmbook.gpt import GPT, GPTConfig


class BigramWithConfig(torch.nn.Module):
    """Predicts from the previous token only, so every window gives the same log-probabilities."""

    def __init__(self, vocab: int, context_length: int):
        super().__init__()
        self.config = SimpleNamespace(context_length=context_length)
        self.table = torch.nn.Parameter(torch.randn(vocab, vocab))

    def forward(self, idx):
        return self.table[idx]


def test_token_log_probs_scores_every_token_once_in_order():
    torch.manual_seed(0)
    model = BigramWithConfig(7, context_length=8)
    ids = torch.randint(0, 7, (45,)).tolist()
    got = pretrain.token_log_probs(model, ids, context=[3])
    prev = [3] + ids[:-1]
    want = torch.log_softmax(model.table.detach().double(), -1)[prev, ids]
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)


def test_save_and_load_round_trip_in_fp16(tmp_path):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, context_length=16, n_layer=2, n_head=2, n_embd=32))
    path = pretrain.save_model(model, tmp_path / "m.safetensors")
    back = pretrain.load_base_model(path)
    assert back.config == model.config and not back.training
    assert back.head.weight is back.embed.tok.weight  # the tied matrix is stored once
    idx = torch.randint(0, 50, (2, 16))
    torch.testing.assert_close(back(idx), model.eval()(idx), rtol=0, atol=2e-3)
    assert path.stat().st_size < 2.1 * model.num_parameters()
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        pretrain.load_base_model(tmp_path / "nothing.safetensors")


def test_the_shipped_model_loads_offline_and_matches_its_card(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("loading the base model must not use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    path = pretrain.MODELS_DIR / "base.safetensors"
    assert path.stat().st_size <= 16 * 2**20
    model = pretrain.load_base_model()
    card = json.loads((pretrain.MODELS_DIR / "base.json").read_text())
    assert model.num_parameters() == card["parameters"] and 1e6 < card["parameters"] < 2e7
    # the card's Korean held-out loss is what the shipped weights give
    ko = pretrain.corpus.split("ko")[1]
    lp = pretrain.token_log_probs(model, pretrain.encode(ko))
    assert -lp.mean().item() == pytest.approx(card["heldout"]["ko"]["loss"], abs=1e-4)
    assert card["heldout"]["ko"]["bits_per_char"] == pytest.approx(
        -lp.sum().item() / math.log(2) / len(ko), abs=1e-4)
    assert "| ko |" in (pretrain.MODELS_DIR / "base.md").read_text()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_shipped_model_beats_the_ngram_baseline(lang):
    card = json.loads((pretrain.MODELS_DIR / "base.json").read_text())
    assert card["heldout"][lang]["bits_per_char"] < card["ngram_baseline"][lang]["bits_per_char"]


@pytest.mark.slow
def test_the_command_trains_in_pieces_and_writes_weights_and_card(tmp_path):
    small = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--context-length", "32",
             "--steps", "4", "--batch-size", "4", "--out", str(tmp_path),
             "--checkpoint", str(tmp_path / "run.ckpt"), "--ngram-order", "0", "--quiet"]  # fmt: skip
    assert pretrain.main(small + ["--stop-at", "2"]) == {}
    assert not (tmp_path / "base.safetensors").exists()
    info = pretrain.main(small + ["--resume"])
    card = json.loads((tmp_path / "base.json").read_text())
    assert card["train_config"]["steps"] == 4 and card["tokens_seen"] == 4 * 4 * 32
    assert card["heldout"] == info["heldout"] and set(card["heldout"]) == {"ko", "en"}
    curve = card["heldout_bits_per_char_curve"]  # the resumed call's evaluations, per language
    assert curve["steps"] == card["eval_loss_curve"]["steps"][-2:] == [3, 4]
    assert len(curve["ko"]) == len(curve["en"]) == 2 and curve["en"][-1] == pytest.approx(
        card["heldout"]["en"]["bits_per_char"], rel=1e-2)
    assert pretrain.load_base_model(tmp_path / "base.safetensors").config.n_embd == 16
    # the shipped weights are the average; the card also scores the last step's own weights
    assert card["train_config"]["ema_decay"] == pretrain.EMA_DECAY > 0
    last = card["heldout_last_weights"]
    assert set(last) == {"ko", "en"} and last["ko"]["bits_per_char"] != card["heldout"]["ko"]["bits_per_char"]
    with pytest.raises(CheckpointError, match="run.ckpt was written for another"):
        pretrain.main(small + ["--lr", "1e-4", "--resume"])
