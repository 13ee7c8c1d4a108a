from dataclasses import replace

import pytest
import torch

from llmbook.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from llmbook.gpt import GPT, GPTConfig
from llmbook.train import TrainConfig, train

TOKENS = torch.arange(16).repeat(40) % 13  # a short periodic text over a 16-token vocabulary
MODEL = GPTConfig(vocab_size=16, context_length=8, n_layer=1, n_head=2, n_embd=16, dropout=0.1)
CFG = TrainConfig(steps=10, batch_size=4, lr=1e-2, warmup_steps=2, eval_every=5, eval_batches=2)


def fresh(seed: int) -> GPT:
    torch.manual_seed(seed)
    return GPT(MODEL)


def test_save_and_load_round_trip(tmp_path):
    path = save_checkpoint({"step": 3, "w": torch.arange(4.0)}, tmp_path / "sub" / "c.pt")
    state = load_checkpoint(path, expect={"step": 3})
    assert state["step"] == 3 and torch.equal(state["w"], torch.arange(4.0))
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]  # no temp file left behind


def test_a_write_killed_midway_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint({"step": 1}, tmp_path / "c.pt")

    def dies_halfway(obj, f):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_missing_corrupt_and_foreign_checkpoints_name_the_file(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError, match="nope.pt does not exist"):
        load_checkpoint(missing)
    good = save_checkpoint({"cfg": {"lr": 0.1, "steps": 5}, "x": torch.ones(1000)}, tmp_path / "a.pt")
    truncated = tmp_path / "b.pt"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="b.pt is corrupt"):
        load_checkpoint(truncated)
    (tmp_path / "t.pt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="t.pt is corrupt"):
        load_checkpoint(tmp_path / "t.pt")
    with pytest.raises(CheckpointError, match=r"a.pt was written for another cfg \(lr: 0.1 in the file, 0.2"):
        load_checkpoint(good, expect={"cfg": {"lr": 0.2, "steps": 5}})


@pytest.mark.parametrize("ema_decay", [0.0, 0.9], ids=["last-weights", "weight-average"])
def test_stop_halfway_and_resume_gives_bit_identical_weights(tmp_path, ema_decay):
    cfg = replace(CFG, ema_decay=ema_decay)
    whole = fresh(0)
    full = train(whole, TOKENS, cfg, eval_tokens=TOKENS, progress=False,
                 checkpoint=tmp_path / "full.pt")  # fmt: skip
    first = fresh(0)
    train(first, TOKENS, cfg, eval_tokens=TOKENS, progress=False, checkpoint=tmp_path / "run.pt",
          checkpoint_every=2, stop_at=5)  # fmt: skip
    assert load_checkpoint(tmp_path / "run.pt")["step"] == 5
    torch.manual_seed(123)  # the resumed process starts from another RNG state and other weights
    second = fresh(1)
    hist = train(second, TOKENS, cfg, eval_tokens=TOKENS, progress=False,
                 checkpoint=tmp_path / "run.pt", resume=True)  # fmt: skip
    assert not torch.equal(first.head.weight, whole.head.weight)  # the halfway weights differ
    for (name, a), b in zip(whole.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name
    assert hist.train_loss == full.train_loss and hist.eval_loss == full.eval_loss
    assert hist.steps == list(range(10))
    ours, theirs = load_checkpoint(tmp_path / "full.pt"), load_checkpoint(tmp_path / "run.pt")
    assert ours["step"] == theirs["step"] == 10
    for a, b in zip(ours["optimizer"]["state"].values(), theirs["optimizer"]["state"].values()):
        assert torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])


def test_resume_refuses_another_config_or_a_missing_file(tmp_path):
    train(fresh(0), TOKENS, CFG, progress=False, checkpoint=tmp_path / "run.pt", stop_at=2)
    other = TrainConfig(**{**CFG.__dict__, "lr": 5e-3})
    with pytest.raises(CheckpointError, match=r"run.pt was written for another train_config \(lr"):
        train(fresh(0), TOKENS, other, progress=False, checkpoint=tmp_path / "run.pt", resume=True)
    wider = GPT(GPTConfig(**{**MODEL.__dict__, "n_embd": 32}))
    with pytest.raises(CheckpointError, match="model_config .n_embd: 16 in the file, 32 now"):
        train(wider, TOKENS, CFG, progress=False, checkpoint=tmp_path / "run.pt", resume=True)
    with pytest.raises(CheckpointError, match="gone.pt does not exist"):
        train(fresh(0), TOKENS, CFG, progress=False, checkpoint=tmp_path / "gone.pt", resume=True)
    with pytest.raises(ValueError, match="already at step 2, past stop_at=1"):
        train(fresh(0), TOKENS, CFG, progress=False, checkpoint=tmp_path / "run.pt", resume=True,
              stop_at=1)  # fmt: skip
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        train(fresh(0), TOKENS, CFG, progress=False, resume=True)
