import pytest
import torch
from torch import nn

from llmbook.gpt import GPT, GPTConfig
from llmbook.lora import TARGETS, LoRALinear, add_lora, count_parameters, merge_lora
from llmbook.quantize import QuantLinear, quantize_model

CFG = GPTConfig(vocab_size=64, context_length=16, n_layer=2, n_head=2, n_embd=16)


def tiny(seed=0) -> GPT:
    torch.manual_seed(seed)
    return GPT(CFG).eval()


def tokens(seed=1, batch=4, time=12) -> torch.Tensor:
    return torch.randint(0, CFG.vocab_size, (batch, time), generator=torch.Generator().manual_seed(seed))


def train_steps(model: GPT, steps=20, lr=3e-2) -> list[float]:
    """A few AdamW steps on a fixed batch; the losses."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    x = tokens(seed=2, batch=8, time=16)
    losses = []
    model.train()
    for _ in range(steps):
        loss = model.loss(x[:, :-1], x[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_a_fresh_adapter_gives_exactly_the_base_models_logits():
    base, lora = tiny(), add_lora(tiny(), r=4)
    x = tokens()
    assert torch.equal(lora(x), base(x))  # B = 0: the update is exactly zero
    for m in lora.modules():
        if isinstance(m, LoRALinear):
            assert torch.count_nonzero(m.B) == 0 and torch.count_nonzero(m.A) > 0


def test_only_the_adapters_are_trainable_and_every_target_is_wrapped():
    model = add_lora(tiny(), r=4)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    wrapped = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    assert sorted(wrapped) == sorted(f"blocks.{i}.{t}" for i in range(CFG.n_layer) for t in TARGETS)
    assert trainable == {f"{n}.{ab}" for n in wrapped for ab in ("A", "B")}


def test_count_parameters_against_a_hand_count():
    assert count_parameters(tiny()) == (CFG.num_parameters(), CFG.num_parameters())  # tied once
    r, C = 4, CFG.n_embd
    per_block = r * (C + 3 * C) + r * (C + C) + r * (C + 4 * C) + r * (4 * C + C)  # qkv proj fc proj
    adapters = CFG.n_layer * per_block
    assert count_parameters(add_lora(tiny(), r=r)) == (adapters, CFG.num_parameters() + adapters)
    only_qkv = add_lora(tiny(), r=2, targets="attn.qkv")
    assert count_parameters(only_qkv)[0] == CFG.n_layer * 2 * (C + 3 * C)


def test_training_moves_only_the_adapters_and_merging_gives_the_adapter_logits():
    base = tiny()
    model = add_lora(tiny(), r=4, alpha=8.0)
    losses = train_steps(model)
    assert losses[-1] < losses[0] - 0.05  # adapters alone can only bend a random model a little
    model.eval()
    for name, p in base.named_parameters():  # the frozen weights did not move
        mapped = name.replace(".weight", ".base.weight").replace(".bias", ".base.bias")
        own = dict(model.named_parameters())
        assert torch.equal(own.get(name, own.get(mapped)), p), name
    layers = [m for m in model.modules() if isinstance(m, LoRALinear)]
    assert all(torch.count_nonzero(m.B) > 0 for m in layers)
    x = tokens()
    with torch.no_grad():
        adapted = model(x)
        assert not torch.allclose(adapted, base(x), atol=1e-3)  # fine-tuning changed the model
        merged = merge_lora(model)
        assert not any(isinstance(m, LoRALinear) for m in merged.modules())
        assert type(merged.blocks[0].attn.qkv) is nn.Linear
        assert torch.allclose(merged(x), adapted, atol=1e-5)


def test_lora_linear_forward_is_the_formula_and_merged_is_w_plus_scaled_ba():
    torch.manual_seed(0)
    lin = nn.Linear(6, 5)
    layer = LoRALinear(lin, r=3, alpha=6.0)
    with torch.no_grad():
        layer.B.normal_()
    x = torch.randn(4, 6)
    expected = lin(x) + (x @ layer.A.T @ layer.B.T) * 2.0
    assert torch.allclose(layer(x), expected, atol=1e-6)
    merged = layer.merged()
    assert torch.allclose(merged.weight, lin.weight + 2.0 * layer.B @ layer.A, atol=1e-6)
    assert torch.equal(merged.bias, lin.bias)
    assert torch.allclose(merged(x), layer(x), atol=1e-5)
    assert torch.linalg.matrix_rank(layer.delta_weight()) <= 3
    assert not any(p.requires_grad for p in merged.parameters())


def test_lora_on_a_4bit_base_qlora():
    quantized = quantize_model(tiny(), bits=4)
    x = tokens()
    with torch.no_grad():
        reference = quantized(x)
    model = add_lora(quantized, r=4)
    assert all(isinstance(m.base, QuantLinear) for m in model.modules() if isinstance(m, LoRALinear))
    with torch.no_grad():
        assert torch.equal(model(x), reference)
    trainable, total = count_parameters(model)
    assert total == CFG.num_parameters() + trainable  # quantized weights still count as parameters
    losses = train_steps(model)
    assert losses[-1] < losses[0] - 0.05  # adapters alone can only bend a random model a little
    model.eval()
    with torch.no_grad():
        adapted = model(x)
        assert torch.allclose(merge_lora(model)(x), adapted, atol=1e-5)


def test_bad_input_is_refused_with_a_clear_error():
    lin = nn.Linear(4, 4)
    for r in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="rank r"):
            LoRALinear(lin, r=r)
    with pytest.raises(ValueError, match="alpha"):
        LoRALinear(lin, r=2, alpha=0)
    with pytest.raises(TypeError, match="nn.Linear"):
        LoRALinear(nn.Conv1d(4, 4, 1))
    with pytest.raises(TypeError, match="nn.Linear"):
        LoRALinear(LoRALinear(lin))
    with pytest.raises(ValueError, match="no linear layer"):
        add_lora(tiny(), targets=("attn.nothing",))
    with pytest.raises(ValueError, match="rank r"):
        add_lora(tiny(), r=0)
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_lora(tiny())
    with pytest.raises(ValueError, match="targets"):
        add_lora(tiny(), targets=())
    with pytest.raises(TypeError, match="Module"):
        count_parameters("gpt")
