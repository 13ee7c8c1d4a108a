"""The training loop under DistributedDataParallel: 2 CPU processes (gloo) must end with the
weights of one process trained on the same global batches."""

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from llmbook.gpt import GPT, GPTConfig
from llmbook.train import TrainConfig, train

TOKENS = torch.arange(16).repeat(30) % 11
MODEL = GPTConfig(vocab_size=16, context_length=8, n_layer=1, n_head=2, n_embd=16)
CFG = TrainConfig(steps=4, batch_size=8, grad_accum=2, lr=1e-2, warmup_steps=1, eval_every=2,
                  eval_batches=2)  # fmt: skip


def _model() -> GPT:
    torch.manual_seed(0)
    return GPT(MODEL)


def _worker(rank: int, world: int, init_file: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)  # fmt: skip
    try:
        model = _model()
        hist = train(model, TOKENS, CFG, eval_tokens=TOKENS, progress=False,
                     checkpoint=f"{out}/ckpt.pt")  # fmt: skip
        torch.save({"state": model.state_dict(), "loss": hist.train_loss,
                    "eval": hist.eval_loss}, f"{out}/rank{rank}.pt")  # fmt: skip
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_match_single_process_training(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    single = _model()
    hist = train(single, TOKENS, CFG, eval_tokens=TOKENS, progress=False)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for name, want in single.state_dict().items():
        assert torch.equal(r0["state"][name], r1["state"][name]), name  # replicas stay in step
        torch.testing.assert_close(r0["state"][name], want, rtol=0, atol=1e-5, msg=name)
    assert not torch.equal(single.head.weight, _model().head.weight)
    # the logged losses are those of the whole global batch, on every rank
    assert r0["loss"] == r1["loss"] and r0["eval"] == r1["eval"] and len(r0["eval"]) == 2
    assert r0["loss"] == pytest.approx(hist.train_loss, rel=1e-5)
    torch.testing.assert_close(torch.tensor(r0["eval"]), torch.tensor(hist.eval_loss), atol=1e-5, rtol=0)
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=False)  # written by rank 0 only
    assert ckpt["step"] == 4 and torch.equal(ckpt["model"]["head.weight"], r0["state"]["head.weight"])
