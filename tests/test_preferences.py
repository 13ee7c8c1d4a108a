"""The preference data: deterministic, disjoint splits, and a rule that agrees with every pair."""

import pytest

from llmbook import preferences as P


@pytest.mark.parametrize("lang", P.LANGS)
def test_pairs_are_deterministic_and_cover_every_task(lang):
    a, b = P.preference_pairs(lang, "train"), P.preference_pairs(lang, "train")
    assert a == b
    assert P.preference_pairs(lang, "train", seed=1) != a  # the seed changes order / wrong sums
    for split in P.SPLITS:
        assert {x.task for x in P.preference_pairs(lang, split)} == set(P.TASKS)
        assert all(x.lang == lang for x in P.preference_pairs(lang, split))


@pytest.mark.parametrize("lang", P.LANGS)
def test_splits_use_different_prompts(lang):
    train, held = set(P.prompts(lang, "train")), set(P.prompts(lang, "heldout"))
    assert train and held and not train & held
    assert {x.prompt for x in P.preference_pairs(lang, "heldout")} == held


@pytest.mark.parametrize("lang", P.LANGS)
def test_true_preference_agrees_with_every_pair(lang):
    for split in P.SPLITS:
        for x in P.preference_pairs(lang, split):
            assert P.true_preference(x.prompt, x.chosen, lang) > P.true_preference(
                x.prompt, x.rejected, lang), x


def test_true_preference_hand_cases():
    q = "What is 2 plus 3?"
    assert P.true_preference(q, "2 plus 3 is 5.", "en") == 1.0
    assert P.true_preference(q, "5", "en") == 1.0
    assert P.true_preference(q, "2 plus 3 is 6.", "en") == -1.0
    assert P.true_preference(q, "", "en") == -1.0
    g = "Say hello to Alice."
    assert P.true_preference(g, "Hello, Alice!", "en") == 1.0
    assert P.true_preference(g, "Hello!", "en") == -0.5  # polite but does not name her
    assert P.true_preference(g, "Go away, Alice.", "en") == -1.0
    # 12 words, budget 10, "hello" repeated 11 times: 1 - 0.25 * 2 - 0.25 * 10
    assert P.true_preference(g, "Alice " + "hello " * 11, "en") == pytest.approx(1 - 0.5 - 2.5)
    k = "민준에게 인사해 주세요."
    assert P.true_preference(k, "안녕하세요, 민준님!", "ko") == 1.0
    assert P.true_preference(k, "민준, 저리 가.", "ko") == -1.0


def test_good_response_and_parse_prompt():
    assert P.parse_prompt("What is 7 plus 8?", "en") == ("add", {"a": 7, "b": 8})
    assert P.good_response("7 더하기 8의 값은 얼마인가요?", "ko") == "7 더하기 8의 값은 15입니다."
    with pytest.raises(ValueError, match="not a prompt"):
        P.parse_prompt("Tell me a story.", "en")
    with pytest.raises(ValueError, match="lang"):
        P.prompts("fr")
    with pytest.raises(TypeError):
        P.true_preference("What is 1 plus 1?", None, "en")
