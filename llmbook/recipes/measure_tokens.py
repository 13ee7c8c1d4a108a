"""Characters and bytes per token, per language, on the held-out parts of the larger corpus
sources (issue 21): the shipped tokenizer against one retrained on the sources' training parts.

    python -m llmbook.recipes.measure_tokens 4096

Measures only: nothing is written, the shipped tokenizer is not replaced.
"""

from __future__ import annotations

import sys
import time

from llmbook import corpus, tokens
from llmbook import tokenizer as T


def main(vocab: int = tokens.DEFAULT_VOCAB_SIZE) -> None:
    parts = {
        lang: [corpus.split(lang, source=s) for s in corpus.EXTRA_SOURCES[lang]]
        for lang in corpus.LANGS
    }
    train = "".join(tr for lang in ("ko", "en") for tr, _ in parts[lang])
    start = time.time()
    new = T.BPETokenizer.train(train, vocab, T.GPT4_SPLIT_PATTERN, [T.ENDOFTEXT])
    print(
        f"retrained {vocab} tokens on {len(train.encode()) / 1e6:.2f} MB "
        f"in {time.time() - start:.0f} s"
    )
    encodings = {
        "shipped 4096 (ko.txt+en.txt)": tokens.default_encoding(),
        f"retrained {vocab} (new sources)": new.to_tiktoken(),
    }
    for lang in corpus.LANGS:
        for what, text in (
            ("new held-out", "".join(held for _, held in parts[lang])),
            ("original held-out", corpus.split(lang)[1]),
        ):
            for name, enc in encodings.items():
                n = len(enc.encode_ordinary(text))
                print(
                    f"{lang} {what:17s} {name:32s} tokens {n:8d}  "
                    f"chars/token {len(text) / n:.3f}  bytes/token {len(text.encode()) / n:.3f}"
                )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
