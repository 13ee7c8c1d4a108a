"""The shipped tokenizer and the ids every stage uses: one home for encode and eot_id."""

from llmbook import corpus
from llmbook.tokenizer import ENDOFTEXT, GPT4_SPLIT_PATTERN, BPETokenizer
from llmbook.tokens import (
    DEFAULT_PATH,
    default_tokenizer,
    default_training_text,
    digit_token_ids,
    encode,
    eot_id,
    train_default,
    vocab_strings,
)


def test_shipped_default_tokenizer_is_reproduced_bit_for_bit():
    assert train_default().to_json() == DEFAULT_PATH.read_text(encoding="utf-8")
    tok = default_tokenizer()
    assert tok.vocab_size == 4096 and tok.special_tokens == {ENDOFTEXT: 4095}


def test_encode_and_eot_are_the_shipped_tokenizers():
    tok = default_tokenizer()
    text = corpus.split("ko")[1][:2000] + corpus.split("en")[1][:2000]
    assert encode(text) == tok.encode(text)
    assert eot_id() == tok.special_tokens[ENDOFTEXT] == 4095
    # the marker inside user text stays plain text: it is not the end-of-text id
    assert eot_id() not in encode("a <|endoftext|> b")


def test_digit_tokens_are_exactly_the_all_digit_tokens():
    digits = set(digit_token_ids())
    assert {encode(str(d))[0] for d in range(10)} <= digits
    assert all(vocab_strings()[i].isdigit() for i in digits)
    assert not any(s.isdigit() for i, s in enumerate(vocab_strings()) if i not in digits
                   and s.isascii())  # fmt: skip


def test_the_tokenizer_learned_every_source_and_round_trips_its_held_out_text():
    """Trained on every training text (statutes, four manuals, all of Shakespeare): each
    source's held-out part decodes back exactly, and the Korean manuals take far fewer tokens
    than under the same recipe trained on the original statutes and six plays only."""
    assert default_training_text() == "".join(t for lang in corpus.LANGS for t in corpus.training_texts(lang))
    tok = default_tokenizer()
    for lang in corpus.LANGS:
        for source in corpus.EXTRA_SOURCES[lang]:
            held = corpus.split(lang, source)[1]
            assert tok.decode(encode(held)) == held
    manuals = "".join(corpus.split("ko", s)[1] for s in corpus.EXTRA_SOURCES["ko"])
    original = BPETokenizer.train(corpus.split("ko")[0] + corpus.split("en")[0], 4096,
                                  GPT4_SPLIT_PATTERN, [ENDOFTEXT]).to_tiktoken()  # fmt: skip
    assert len(manuals.encode()) / len(encode(manuals)) > 4.0  # bytes per token
    assert len(encode(manuals)) < 0.6 * len(original.encode_ordinary(manuals))
