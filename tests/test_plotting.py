import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

import llmbook  # noqa: E402, F401  (registers the Korean font)
from llmbook import plotting  # noqa: E402
from llmbook.train import History  # noqa: E402


def test_korean_font_is_registered_and_used():
    assert plotting.korean_font_files(), "koreanize-matplotlib's Nanum fonts are missing"
    assert plotting.use_korean_font()
    assert matplotlib.rcParams["font.family"] == [plotting.LATIN_FAMILY, plotting.FONT_FAMILY]
    found = font_manager.findfont(plotting.FONT_FAMILY, fallback_to_default=False)
    assert "Nanum" in found


def test_hangul_draws_without_missing_glyphs(tmp_path):
    fig, ax = plt.subplots()
    ax.set_title("한국어 제목: 토큰화와 어텐션 -1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would raise
        fig.savefig(tmp_path / "ko.png")
    plt.close(fig)


def test_log_axis_ticks_draw_their_minus_sign(tmp_path, caplog):
    """Math text (10^-3 on a log axis) finds U+2212: no "does not have a glyph" and no dummy."""
    fig, ax = plt.subplots()
    ax.semilogy([1e-5, 1e-3, 1])
    ax.set_title("기울기 노름")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(tmp_path / "log.png")
    plt.close(fig)
    assert "does not have a glyph" not in caplog.text


def test_helpers_draw_what_they_are_given():
    hist = History(steps=list(range(100)), train_loss=[3 - i / 50 for i in range(100)],
                   eval_steps=[50, 100], eval_loss=[2.5, 1.2])  # fmt: skip
    fig = plotting.loss_curve(hist, title="손실")
    assert [len(line.get_xdata()) for line in fig.axes[0].lines] == [99, 2]
    fig = plotting.probability_bars({"a": (["x", "y"], [0.3, 0.7]), "b": (["x", "y"], [1, 0])})
    assert [len(ax.patches) for ax in fig.axes] == [2, 2]
    fig = plotting.flow_diagram(["사전 훈련", "미세 조정", "RLHF"], notes=["a", "b", "c"])
    assert sum(t.get_text() == "미세 조정" for t in fig.axes[0].texts) == 1
    fig = plotting.mask_panels({"causal": [[1, 0], [1, 1]]})
    assert fig.axes[0].images[0].get_array().tolist() == [[1, 0], [1, 1]]
    plt.close("all")
