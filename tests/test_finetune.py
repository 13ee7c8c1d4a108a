import pytest
import torch
import torch.nn.functional as F

from llmbook.classification import (
    GPTClassifier,
    LabelledTexts,
    accuracy,
    confusion_matrix,
    freeze,
    train_classifier,
)
from llmbook.finetune import (
    CHAT_TOKENS,
    add_chat_tokens,
    answer,
    chat_tokenizer,
    collate,
    encode_example,
    exact_match,
    finetune,
    format_alpaca,
    format_chat,
    prompt_ids,
)
from llmbook.gpt import GPT, GPTConfig
from llmbook.instructions import Instruction

MICRO = dict(context_length=64, n_layer=2, n_head=2, n_embd=32)


def micro_gpt(vocab: int = 4096, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab, **MICRO))


def test_collate_shifts_pads_and_masks_the_prompt():
    x, y = collate([([1, 2, 3], [4, 5]), ([6], [7])], pad_id=0)
    assert x.tolist() == [[1, 2, 3, 4], [6, 0, 0, 0]]
    assert y.tolist() == [[-100, -100, 4, 5], [7, -100, -100, -100]]
    x, y = collate([([9, 8], [7])], pad_id=0, ignore_index=-1)
    assert x.tolist() == [[9, 8]] and y.tolist() == [[-1, 7]]


def test_masked_positions_contribute_nothing_to_the_loss():
    model = micro_gpt()
    x, y = collate([([5, 6, 7, 8], [9, 10]), ([11, 12], [13, 14, 15])], pad_id=0)
    loss = model.loss(x, y)
    logp = torch.log_softmax(model(x), -1)
    kept = [(b, t) for b in range(2) for t in range(x.shape[1]) if y[b, t] != -100]
    assert len(kept) == 2 + 3
    by_hand = -sum(logp[b, t, y[b, t]] for b, t in kept) / len(kept)
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-5)
    # changing the padding tokens (after each response) changes nothing: causal + masked
    x2 = x.clone()
    x2[1, 4:] = 42
    assert model.loss(x2, y).item() == pytest.approx(loss.item(), rel=1e-6)
    # no gradient flows to the logits of masked positions
    logits = model(x).detach().requires_grad_()
    F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-100).backward()
    masked = y == -100
    assert logits.grad[masked].abs().max() == 0 and logits.grad[~masked].abs().max() > 0


def test_collate_rejects_bad_examples():
    with pytest.raises(ValueError, match="max_len"):
        collate([([1, 2, 3], [4, 5])], pad_id=0, max_len=3)
    with pytest.raises(ValueError, match="empty response"):
        collate([([1, 2], [])], pad_id=0)
    with pytest.raises(ValueError, match="empty prompt"):
        collate([([], [3])], pad_id=0)
    with pytest.raises(ValueError, match="at least one"):
        collate([], pad_id=0)
    with pytest.raises(TypeError, match="pair"):
        collate([[1, 2, 3]], pad_id=0)


def test_chat_tokens_round_trip():
    tok = chat_tokenizer()
    assert tok.vocab_size == 4099
    assert sorted(CHAT_TOKENS.values()) == [4096, 4097, 4098]
    msgs = [{"role": "user", "content": "안녕? Hi"}, {"role": "assistant", "content": "네."}]
    text = format_chat(msgs)
    assert text == "<|user|>안녕? Hi<|end|><|assistant|>네.<|end|>"
    ids = tok.encode(text, allowed_special="all")
    assert ids[0] == 4096 and ids[-1] == 4098 and ids.count(4097) == 1
    assert tok.decode(ids) == text
    ex = Instruction("Uppercase the word.", "apple", "APPLE", "en", "upper")
    prompt, response = encode_example(ex)
    user = format_chat([{"role": "user", "content": "Uppercase the word.\napple"}], True)
    assert prompt == tok.encode(user, allowed_special="all")
    assert tok.decode(response) == "APPLE<|end|>"
    with pytest.raises(ValueError, match="role"):
        format_chat([{"role": "system", "content": "x"}])


def test_alpaca_template_uses_the_prompt_language():
    en = format_alpaca(Instruction("Add.", "1 + 2", "3", "en", "arithmetic"))
    assert en == "### Instruction:\nAdd.\n\n### Input:\n1 + 2\n\n### Response:\n"
    ko = format_alpaca(Instruction("더하세요.", "", "3", "ko", "arithmetic"))
    assert ko == "### 지시:\n더하세요.\n\n### 응답:\n"
    prompt, response = encode_example(Instruction("Add.", "1 + 2", "3", "en", "a"), "alpaca")
    assert response[-1] == 4095 and chat_tokenizer().decode(prompt).endswith("### Response:\n")
    with pytest.raises(ValueError, match="template"):
        prompt_ids("hi", template="chatml")


def test_add_chat_tokens_keeps_the_old_vocabulary():
    model = micro_gpt().eval()
    grown = add_chat_tokens(model).eval()
    assert grown.config.vocab_size == 4099 and model.config.vocab_size == 4096
    assert grown.head.weight is grown.embed.tok.weight  # still tied
    x = torch.tensor([[1, 2, 3, 4]])
    assert torch.allclose(grown(x)[..., :4096], model(x), atol=1e-6)
    assert grown(torch.tensor([[4096, 4097, 4098]])).shape == (1, 3, 4099)
    with pytest.raises(ValueError, match="vocabulary"):
        add_chat_tokens(micro_gpt(vocab=500))


def test_finetuning_learns_the_responses_and_answer_stops_at_the_end_token():
    examples = [Instruction("Uppercase the word.", w, w.upper(), "en", "upper")
                for w in ("apple", "river", "stone")]  # fmt: skip
    model = add_chat_tokens(micro_gpt())
    pairs = [encode_example(e) for e in examples]
    x, y = collate(pairs, 4095)
    before = model.loss(x, y).item()
    emb_before = model.embed.pos.weight.detach().clone()
    model.embed.pos.weight.requires_grad = False  # frozen parameters are not trained
    hist = finetune(model, examples, steps=80, batch_size=3, lr=2e-2, progress=False)
    assert torch.equal(model.embed.pos.weight, emb_before)
    assert hist.train_loss[-1] < 0.1 * before
    assert model.loss(x, y).item() < 0.1 * before
    assert answer(model, examples[1]) == "RIVER"
    assert exact_match(model, examples) == 1.0
    with pytest.raises(ValueError, match="add_chat_tokens"):
        finetune(micro_gpt(), examples, steps=1, progress=False)


def test_classifier_reads_the_last_real_token():
    base = micro_gpt().eval()
    clf = GPTClassifier(base, n_classes=3, pad_id=0).eval()
    short, long = torch.tensor([[5, 6, 7]]), torch.tensor([[8, 9, 10, 11, 12]])
    batch = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    out = clf(batch)
    assert out.shape == (2, 3)
    assert torch.allclose(out[0], clf(short)[0], atol=1e-6)
    assert torch.allclose(out[1], clf(long)[0], atol=1e-6)
    trunk = clf.gpt.ln_f(clf.gpt.blocks[1](clf.gpt.blocks[0](clf.gpt.embed(short))))
    assert torch.allclose(out[0], clf.gpt.head(trunk[0, -1]), atol=1e-5)
    assert clf.gpt.embed.tok.weight is not base.embed.tok.weight  # the base is not changed
    with pytest.raises(ValueError, match="padding"):
        clf(torch.tensor([[0, 0]]))
    with pytest.raises(ValueError, match="n_classes"):
        GPTClassifier(base, 1)


def test_freeze_choices():
    clf = GPTClassifier(micro_gpt(), n_classes=2)
    n_head = sum(p.numel() for p in clf.gpt.head.parameters())
    trainable, total = freeze(clf, "head")
    assert trainable == n_head and total == sum(p.numel() for p in clf.parameters())
    block = sum(p.numel() for p in clf.gpt.blocks[-1].parameters())
    ln_f = sum(p.numel() for p in clf.gpt.ln_f.parameters())
    assert freeze(clf, "last_block")[0] == n_head + block + ln_f
    assert freeze(clf, "all") == (total, total)
    with pytest.raises(ValueError, match="trainable"):
        freeze(clf, "middle")


def test_classifier_training_and_metrics():
    data = LabelledTexts(("a cat sat", "the dog ran", "a cat ran", "the dog sat") * 2,
                         (0, 1, 0, 1) * 2, ("cat", "dog"), "en")  # fmt: skip
    clf = GPTClassifier(micro_gpt(), n_classes=2)
    freeze(clf, "all")
    hist = train_classifier(clf, data, steps=60, batch_size=8, lr=3e-3, progress=False)
    assert hist.train_loss[-1] < 0.1
    m = confusion_matrix(clf, data)
    assert m.tolist() == [[4, 0], [0, 4]] and accuracy(clf, data) == 1.0
    with pytest.raises(ValueError, match="classes"):
        accuracy(GPTClassifier(micro_gpt(), n_classes=3), data)
