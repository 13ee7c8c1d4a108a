import pytest
import torch

from llmbook.gpt import GPT, GPTConfig
from llmbook.lora import add_lora, count_parameters
from llmbook.memory import METHODS, MODEL_SIZES, llama_parameters, memory_table, training_memory


def test_full_fine_tuning_with_adamw_costs_16_bytes_per_parameter():
    n = 1_000_000
    fp32 = training_memory(n, "fp32")
    assert fp32 == {"weights": 4 * n, "gradients": 4 * n, "optimizer": 8 * n, "master_weights": 0,
                    "total": 16 * n}  # fmt: skip
    mixed = training_memory(n, "bf16", master_weights=True)
    assert mixed == {"weights": 2 * n, "gradients": 2 * n, "optimizer": 8 * n,
                     "master_weights": 4 * n, "total": 16 * n}  # fmt: skip
    assert training_memory(n, "bf16")["total"] == 12 * n  # no master copy
    assert training_memory(n, "fp32", optimizer="sgd")["total"] == 8 * n
    assert training_memory(n, "fp32", optimizer="sgd_momentum")["total"] == 12 * n


def test_lora_and_qlora_by_hand():
    n, f = 7_000_000_000, 0.01
    t = int(n * f)
    lora = training_memory(n, "bf16", trainable_fraction=f, master_weights=True)
    assert lora["weights"] == 2 * n and lora["gradients"] == 2 * t
    assert lora["total"] == 2 * n + (2 + 8 + 4) * t
    qlora = training_memory(n, "nf4", trainable_fraction=f, trainable_dtype="bf16",
                            master_weights=True)  # fmt: skip
    # frozen: a 4-bit code + a float32 absmax per 64 numbers = 0.5625 bytes; adapters in bf16
    assert qlora["weights"] == round((n - t) * 0.5625) + 2 * t
    assert qlora["total"] == qlora["weights"] + (2 + 8 + 4) * t
    assert training_memory(n, "nf4", trainable_fraction=0)["total"] == round(n * 0.5625)


def test_the_formula_matches_what_pytorch_really_allocates():
    """Weights + gradients + AdamW's two moments of a real model after one step, in bytes."""
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=64, context_length=16, n_layer=2, n_head=2, n_embd=16)
    for model in (GPT(cfg), add_lora(GPT(cfg), r=2)):
        params = list(model.parameters())
        opt = torch.optim.AdamW([p for p in params if p.requires_grad])
        x = torch.randint(0, 64, (2, 16))
        model.loss(x, x).backward()
        opt.step()
        allocated = sum(p.numel() * p.element_size() for p in params)
        allocated += sum(p.grad.numel() * p.grad.element_size() for p in params if p.grad is not None)
        allocated += sum(s.numel() * s.element_size() for state in opt.state.values()
                         for k, s in state.items() if k != "step")  # fmt: skip
        trainable, total = count_parameters(model)
        assert allocated == training_memory(total, "fp32", trainable_fraction=trainable / total)["total"]


def test_model_sizes_are_the_published_counts():
    assert MODEL_SIZES["GPT-2 small (124M)"] == 124_439_808
    assert MODEL_SIZES["GPT-2 medium (350M)"] == 354_823_168
    assert 1.25e9 < MODEL_SIZES["GPT-3 XL (1.3B)"] < 1.35e9
    assert MODEL_SIZES["LLaMA-7B (6.7B)"] == 6_738_415_616
    assert llama_parameters(10, 4, 1, 8) == 2 * 10 * 4 + (4 * 16 + 3 * 32 + 8) + 4


def test_memory_table_orders_the_methods():
    rows = memory_table()
    assert len(rows) == len(MODEL_SIZES) * len(METHODS)
    for model, n in MODEL_SIZES.items():
        total = {r["method"]: r["total"] for r in rows if r["model"] == model}
        full, lora, qlora, infer = (total[m] for m in ("full (fp32, AdamW)", "LoRA (bf16 base)",
                                                        "QLoRA (NF4 base)", "inference (bf16)"))  # fmt: skip
        assert full == 16 * n and qlora < infer < lora < full
    for r in rows:
        parts = r["weights"] + r["gradients"] + r["optimizer"] + r["master_weights"]
        assert r["total"] == parts and r["total_gb"] == r["total"] / 1e9


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="weights must be one of"):
        training_memory(100, "fp8")
    with pytest.raises(ValueError, match="optimizer"):
        training_memory(100, optimizer="adam9000")
    with pytest.raises(ValueError, match="between 0 and 1"):
        training_memory(100, trainable_fraction=1.5)
    with pytest.raises(ValueError, match="cannot be trained"):
        training_memory(100, "nf4")
    with pytest.raises(ValueError, match="n_params"):
        training_memory(0)
    with pytest.raises(ValueError, match="n_params"):
        training_memory(1.5e9)
