"""Built on the page: every chapter shows, runs and explains the code of the pieces it teaches,
and draws its ideas in concept diagrams in the page's language.

``PIECES[chapter]`` lists what a chapter must put on the page, each with the pattern of the code
that puts it there: ``show(...)`` of the package's own source (``llmbook.source.show``), or a
teaching version written in the chapter (``def ...`` / ``class ...``) that the chapter then
proves equal to the package's. The pattern must appear in a code cell of both twins.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from llmbook.diagrams import Diagram

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {p.stem[:2]: p.stem for p in sorted((ROOT / "chapters" / "en").glob("0[2-9]_*.ipynb"))}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
MIN_DIAGRAMS = 3

# chapter -> {piece: regular expression matched against the chapter's code}
PIECES: dict[str, dict[str, str]] = {
    "02": {
        "Kneser-Ney smoothing": r"def kn_bigram\(",
        "Viterbi": r"show\(HMM\.viterbi\)",
        "skip-gram negative-sampling loss": r"show\(sgns_loss\)",
        "one LSTM step": r"def lstm_step\(",
        "Bahdanau attention scores": r"show\(seq2seq\.Seq2Seq\.attend\)",
    },
    "03": {
        "pair counting": r"bpe\.count_pairs\(",
        "merging a pair": r"show\(bpe\.merge_pair\)",
        "byte-level encode": r"show\(BPETokenizer\._encode_piece\)",
        "split into pieces": r"show\(BPETokenizer\.encode_ordinary\)",
        "encode as the merge table in order": r"def encode_with_merge_table\(",
        "decode": r"show\(BPETokenizer\.decode_bytes\)",
        "sliding-window dataset": r"show\(SlidingWindowDataset\)",
        "batches": r"make_dataloader\(",
    },
    "04": {
        "masked softmax": r"show\(masked_softmax\)",
        "causal mask": r"show\(causal_mask\)",
        "one head": r"show\(scaled_dot_product_attention\)",
        "head split": r"show\(MultiHeadAttention\.split_heads\)",
        "head merge": r"show\(MultiHeadAttention\.merge_heads\)",
        "multi-head attention with the output projection": r"show\(MultiHeadAttention\.forward\)",
        "heads one at a time, equal to the module": r"def multi_head_by_loop\(",
        "attention dropout": r"w_eval\[kept\] / \(1 - 0\.5\)",
        "RoPE": r"show\(apply_rope\)",
    },
    "05": {
        "LayerNorm": r"def layer_norm\(",
        "GELU": r"def gelu\(",
        "feed-forward layer": r"def feed_forward\([\s\S]*show\(FeedForward\)",
        "pre-LN block with residuals": r"def pre_ln_block\([\s\S]*show\(Block\)",
        "GPT: embeddings, blocks, final norm, tied head": r"def gpt_forward\(",
        "GPT constructor": r"show\(GPT\.__init__\)",
        "GPT forward": r"show\(GPT\.forward\)",
        "top-k": r"show\(top_k_filter\)",
        "top-p": r"show\(top_p_filter\)",
        "temperature and the filters chained": r"show\(next_token_distribution\)",
        "generation loop": r"def sample\(",
        "KV cache": r"show\(KVCache\)",
        "cached step": r"def greedy_with_cache\(",
    },
    "06": {
        "plain training loop": r"def train_plain\(",
        "train is that loop plus features": r"show\(train\)",
        "loop equal to train (asserted)": r"assert .*train_loss",
        "LM loss": r"show\(lm_loss\)",
        "batches": r"show\(random_batch\)",
        "LR schedule": r"show\(lr_at\)",
        "optimizer groups": r"show\(make_optimizer\)",
        "evaluation": r"show\(evaluate\)",
        "weight average": r"show\(WeightAverage\)",
    },
    "07": {
        "classification head (last real token)": r"show\(GPTClassifier\.forward\)",
        "right padding": r"show\(pad_right\)",
        "SFT batch with -100 masking": r"show\(collate\)",
        "LoRA layer": r"show\(LoRALinear\)",
        "add_lora": r"show\(add_lora\)",
        "merge_lora": r"show\(merge_lora\)",
        "absmax int8 quantization": r"show\(quantize_int8\)",
        "NF4 quantization": r"show\(quantize_nf4\)",
    },
    "08": {
        "reward model": r"show\(rlhf\.RewardModel\.reward\)",
        "Bradley-Terry training step": r"rlhf\.bradley_terry_loss\(r_c, r_r\)[\s\S]*rm_opt\.step\(\)",
        "sequence log-probability": r"show\(rlhf\.token_logprobs\)",
        "GRPO: sample a group": r"rlhf\.sample_responses\(",
        "GRPO: group-normalised advantages": r"rlhf\.group_advantages\(rewards",
        "GRPO: clipped update with the KL term": r"rlhf\.ppo_clip_loss\([\s\S]*beta \* kl",
        "DPO step against a frozen reference": r"rlhf\.dpo_loss\(pc, pr, rc, rr",
    },
    "09": {
        "constrained completion": r"show\(allow_only\)",
        "answer extraction": r"show\(prompting\.extract_answer\)",
        "self-consistency voting": r"show\(prompting\.majority_vote\)",
        "BM25 scoring": r"show\(search\.BM25\)",
        "RAG prompt": r"show\(documents\.context_prompt\)",
    },
}


def code_of(lang: str, chapter: str) -> str:
    nb = json.loads((ROOT / "chapters" / lang / f"{CHAPTERS[chapter]}.ipynb").read_text("utf-8"))
    return "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def diagram_calls(code: str) -> list[ast.Call]:
    """Calls of a ``llmbook.diagrams`` figure function: ``diagrams.<topic>.<figure>(...)``."""
    tree = ast.parse("\n".join(line[: len(line) - len(line.lstrip())] + "pass"
                               if line.lstrip().startswith(("%", "!")) else line
                               for line in code.splitlines()))  # magics become `pass`
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and isinstance(node.func.value.value, ast.Name)
            and node.func.value.value.id == "diagrams"]  # fmt: skip


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("chapter", sorted(PIECES))
def test_every_piece_is_on_the_page(chapter, lang):
    code = code_of(lang, chapter)
    missing = [piece for piece, pattern in PIECES[chapter].items() if not re.search(pattern, code)]
    assert not missing, f"chapter {chapter} ({lang}) does not put these on the page: {missing}"


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("chapter", sorted(PIECES))
def test_every_chapter_draws_its_ideas_in_the_page_language(chapter, lang):
    calls = diagram_calls(code_of(lang, chapter))
    assert len(calls) >= MIN_DIAGRAMS, f"chapter {chapter} ({lang}): {len(calls)} diagrams"
    for call in calls:
        langs = [kw.value.value for kw in call.keywords
                 if kw.arg == "lang" and isinstance(kw.value, ast.Constant)]  # fmt: skip
        assert langs == [lang], f"chapter {chapter} ({lang}): {ast.unparse(call)} needs lang={lang!r}"


def figure_functions() -> list[tuple[str, object]]:
    """Every public figure function of the ``llmbook.diagrams`` topic modules."""
    import importlib
    import inspect
    import pkgutil

    import llmbook.diagrams as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"llmbook.diagrams.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                found.append((f"{info.name}.{name}", fn))
    return found


@pytest.mark.parametrize("name, figure", figure_functions() or [("none", None)])
def test_diagrams_are_labelled_in_the_page_language(name, figure):
    if figure is None:
        pytest.skip("no diagram modules yet")
    ko, en = figure(lang="ko"), figure(lang="en")
    assert isinstance(ko, Diagram) and isinstance(en, Diagram)
    assert any(HANGUL.search(label) for label in ko.labels), f"{name}: no Korean label"
    assert not any(HANGUL.search(label) for label in en.labels), f"{name}: Korean in English"
    assert ko.svg().startswith("<?xml") and "<text" not in en.svg()  # letters as outlines
