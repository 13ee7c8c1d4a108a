"""The engine's parts that own state: precision, the process's share of a batch, checkpoints."""

import pytest
import torch

from llmbook.checkpoint import load_checkpoint
from llmbook.engine import Checkpointer, Distributed, Precision
from llmbook.train import History


def test_precision_off_cuda_is_fp32_with_a_disabled_scaler():
    precision = Precision(torch.device("cpu"))
    loss = torch.tensor(2.5, requires_grad=True)
    assert precision.scaler.scale(loss) is loss and not precision.scaler.is_enabled()
    with precision.autocast():
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32 and precision.dtype is None


def test_alone_the_process_takes_every_micro_batch_in_order():
    model = torch.nn.Linear(2, 2)
    alone = Distributed(model)
    assert (alone.rank, alone.world) == (0, 1) and alone.net is model
    batch = (torch.arange(8), list("abcdefgh"))
    parts = [alone.share(batch, m, 4) for m in range(4)]
    assert [p[1] for p in parts] == [["a", "b"], ["c", "d"], ["e", "f"], ["g", "h"]]
    assert torch.equal(torch.cat([p[0] for p in parts]), batch[0])
    assert alone.mean(1.25) == 1.25
    with pytest.raises(ValueError, match="split evenly"):
        alone.share_size(6, 4)


def test_checkpointer_restores_every_part_and_only_a_writer_writes(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    gen = torch.Generator().manual_seed(5)
    torch.randint(0, 9, (3,), generator=gen)
    hist = History(steps=[0], train_loss=[1.5])
    identity = {"train_config": {"lr": 0.1}}
    saver = Checkpointer(tmp_path / "c.pt", 2, identity, {"model": model, "optimizer": opt}, gen,
                         torch.device("cpu"))  # fmt: skip
    saver.after_step(1, 10, hist)
    assert not (tmp_path / "c.pt").exists()  # step 1 is not a multiple of every=2
    saver.after_step(2, 10, hist)
    assert load_checkpoint(tmp_path / "c.pt")["step"] == 2
    Checkpointer(tmp_path / "other.pt", 1, identity, {"model": model}, gen, torch.device("cpu"),
                 writes=False).save(3, hist)  # fmt: skip
    assert not (tmp_path / "other.pt").exists()

    fresh = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=0.1)
    fresh_gen, fresh_hist = torch.Generator(), History()
    step = Checkpointer(tmp_path / "c.pt", 2, identity, {"model": fresh, "optimizer": fresh_opt},
                        fresh_gen, torch.device("cpu")).restore(fresh_hist)  # fmt: skip
    assert step == 2 and fresh_hist.train_loss == [1.5]
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), fresh.parameters()))
    assert torch.equal(fresh_opt.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(torch.randint(0, 9, (5,), generator=fresh_gen), torch.randint(0, 9, (5,), generator=gen))
