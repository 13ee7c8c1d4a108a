import json

import pytest

from llmbook import instructions
from llmbook.classification import classification_dataset
from llmbook.instructions import (
    NUMBERS_EN,
    NUMBERS_KO,
    TASKS,
    constitution_chapters,
    instruction_dataset,
)


def test_dataset_is_deterministic():
    first = instruction_dataset("train", "ko")
    instructions._dataset.cache_clear()
    assert instruction_dataset("train", "ko") == first
    assert instruction_dataset("train") == instruction_dataset("train", "ko") + instruction_dataset(
        "train", "en"
    )


def test_heldout_phrasings_never_occur_in_training():
    train, held = instruction_dataset("train"), instruction_dataset("heldout")
    assert {e.instruction for e in train}.isdisjoint({e.instruction for e in held})
    assert {(e.instruction, e.input) for e in train}.isdisjoint(
        {(e.instruction, e.input) for e in held}
    )
    for split in (train, held):  # every task in both languages
        assert {(e.task, e.lang) for e in split} == {(t, la) for t in TASKS for la in ("ko", "en")}


def test_outputs_are_the_right_answers():
    chapters = constitution_chapters()
    assert chapters["제1장"] == "총강" and chapters["제3장"] == "국회" and len(chapters) == 10
    for e in instruction_dataset("train") + instruction_dataset("heldout"):
        if e.task == "upper":
            assert e.output == e.input.upper() != e.input
        elif e.task == "reverse":
            assert e.output.split(", ") == e.input.split(", ")[::-1]
        elif e.task == "json":
            assert list(json.loads(e.output).values()) == [e.input]
        elif e.task == "arithmetic":
            a, op, b = e.input.split()
            assert int(e.output) == (int(a) + int(b) if op == "+" else int(a) - int(b)) >= 0
        elif e.task == "number_word":
            if e.lang == "en":
                assert NUMBERS_EN[int(e.output) - 1] == e.input
            else:
                assert NUMBERS_EN[NUMBERS_KO.index(e.input)] == e.output
        elif e.task == "fact" and e.lang == "ko":
            assert chapters[e.input] == e.output


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="split"):
        instruction_dataset("test")
    with pytest.raises(ValueError, match="lang"):
        instruction_dataset("train", "fr")


def test_classification_heldout_passages_are_unseen_text():
    for lang, n_classes in (("en", 2), ("ko", 2)):
        train, held = classification_dataset("train", lang), classification_dataset("heldout", lang)
        assert train.classes == held.classes and len(train.classes) == n_classes
        assert set(train.texts).isdisjoint(held.texts)
        assert set(train.labels) == set(held.labels) == set(range(n_classes))
        assert 0.1 < len(held) / (len(train) + len(held)) < 0.3
    assert classification_dataset("train", "en").classes == ("tragedy", "comedy")
    with pytest.raises(ValueError, match="lang"):
        classification_dataset("train", "de")
