import pytest
import torch

from llmbook.seq2seq import (
    SRC_ITOS,
    TGT_ITOS,
    Seq2Seq,
    encode_batch,
    korean_number,
    make_pairs,
    train_seq2seq,
)


@pytest.mark.parametrize(
    "n, words",
    [(0, "영"), (7, "칠"), (10, "십"), (15, "십오"), (101, "백일"), (1000, "천"),
     (1234, "천이백삼십사"), (10000, "만"), (10001, "만 일"), (20000, "이만"),
     (30512, "삼만 오백십이"), (110000, "십일만"), (100000000, "일억"),
     (123456789012, "천이백삼십사억 오천육백칠십팔만 구천십이")],
)  # fmt: skip
def test_korean_number(n, words):
    assert korean_number(n) == words


def test_pairs_and_encoding():
    pairs = make_pairs(50, 3, 5, seed=0)
    assert all(3 <= len(a) <= 5 and korean_number(int(a)) == b for a, b in pairs)
    x = encode_batch(["12", "3"], SRC_ITOS)
    assert x.tolist() == [[1, 4, 5, 2], [1, 6, 2, 0]]
    with pytest.raises(ValueError):
        encode_batch(["1a"], SRC_ITOS)


def test_attention_weights_are_distributions_that_ignore_padding():
    torch.manual_seed(0)
    m = Seq2Seq(attention=True, d_hidden=16)
    _, attn = m.translate(["12", "345678"], max_len=5)
    assert attn.shape[0] == 2 and attn.shape[2] == 8
    torch.testing.assert_close(attn.sum(-1), torch.ones(attn.shape[:2]))
    assert (attn[0, :, 4:] == 0).all()  # '12' is 4 ids long with <bos>/<eos>; the rest is padding
    assert Seq2Seq(attention=False, d_hidden=16).translate(["12"], max_len=3)[1] is None


def test_both_models_learn_short_numbers():
    for attention in (False, True):
        model, losses = train_seq2seq(attention, steps=40, batch_size=32, max_digits=2, d_hidden=32)
        assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10
    out, _ = model.translate(["7", "42"])
    assert all(set(s) <= set(TGT_ITOS) for s in out)
