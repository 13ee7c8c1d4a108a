"""llmbook.report: the report card's tables are the cards' numbers, and the page calls them."""

import re

import nbformat
import pytest

from llmbook import corpus, report, store
from llmbook.rlhf import format_table

ROOT = report.store.ROOT.parents[2]


def test_every_shipped_model_has_a_row_with_its_file_size():
    text = report.artifacts("en").data
    for name in store.names():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}` |"))
        weights = store.ROOT / f"{name}.safetensors"
        if weights.is_file():
            assert f"{weights.stat().st_size / 1e6:.1f} MB" in row
        assert store.card(name).data["licence"] in row


def test_bits_per_byte_follow_from_the_card_and_the_text():
    for lang in ("ko", "en"):
        text = corpus.split(lang)[1]
        bits = report.heldout_bits(lang)
        card = store.card("base").evaluation["heldout"][lang]
        total_bits = card["bits_per_char"] * card["chars"]
        assert bits["base"]["bits_per_byte"] == pytest.approx(total_bits / len(text.encode()))
    # Hangul takes 3 bytes a syllable: far fewer bits per byte than per character; ASCII: equal.
    assert report.heldout_bits("ko")["base"]["bits_per_byte"] < 0.6 * report.heldout_bits("ko")["base"]["bits_per_char"]
    en = report.heldout_bits("en")["ngram"]
    assert en["bits_per_byte"] == pytest.approx(en["bits_per_char"], rel=1e-3)


def test_every_held_out_text_has_a_row_with_the_base_before_and_after_annealing_the_previous_base_and_the_ngram():
    text = report.heldout_sources("en").data
    ev = store.card("base").evaluation
    sources, stage1 = ev["heldout_sources"], ev["before_anneal"]
    assert set(sources) == {f"{lang}-{s}" for lang in corpus.EXTRA_SOURCES for s in corpus.EXTRA_SOURCES[lang]}
    old = ev["previous_base"]
    for key, r in sources.items():
        before = stage1["heldout_sources"][key]["bits_per_byte"]
        assert (f"| {r['gpt']['bits_per_byte']:.3f} | {before:.3f} | {old['heldout_sources'][key]:.3f} "
                f"| {r['ngram']['bits_per_byte']:.3f} |") in text
    for lang in corpus.LANGS:
        new, ngram = ev["heldout"][lang]["bits_per_byte"], ev["ngram_baseline"][lang]["bits_per_byte"]
        before = stage1["heldout"][lang]["bits_per_byte"]
        assert f"| {new:.3f} | {before:.3f} | {old['heldout'][lang]:.3f} | {ngram:.3f} |" in text
    assert text.count("\n| ") == 2 + len(sources) and "previous base model" in text and "before annealing" in text
    ko = corpus.split("ko", "libreoffice")[1]
    assert sources["ko-libreoffice"]["gpt"]["bytes"] == len(ko.encode())


def test_a_card_scored_on_other_text_is_refused(monkeypatch):
    monkeypatch.setattr(report.corpus, "split", lambda lang: ("train", "a different held-out text"))
    with pytest.raises(ValueError, match="re-evaluate"):
        report.heldout_bits("en")


def test_downstream_shows_the_cards_numbers_in_each_language():
    ko, en = report.downstream("ko").data, report.downstream("en").data
    assert format_table(store.card("rlhf").evaluation["table"], "ko") in ko
    acc = store.card("reward").evaluation["heldout_pairwise_accuracy"]
    assert f"{acc:.2f}" in ko and f"{acc:.2f}" in en
    cot = store.card("reasoner").evaluation["ko"]["chain of thought"]
    assert re.search(rf"\| 사고의 연쇄 \| {cot:.2f} ", ko)
    assert "| chain of thought |" in en


def test_samples_are_fixed_by_the_seed():
    prompt = "To be, or not to be"
    assert report.sample("base", prompt) == report.sample("base", prompt)
    assert report.sample("base", prompt, seed=1) != report.sample("base", prompt)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_page_builds_every_table_from_the_report(lang):
    nb = nbformat.read(ROOT / "chapters" / lang / "report_card.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for fn in ("artifacts", "heldout", "heldout_sources", "downstream", "samples"):
        assert f'report.{fn}("{lang}")' in code
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not re.search(r"\d\.\d\d", prose), "numbers belong to the tables, read from the cards"
