"""Attention patterns: GPT.attention_weights against a head computed by hand, and plot_attention
written to PNG, read back and checked cell by cell."""

from __future__ import annotations

import math

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from tinygrad_opt import Value, nn  # noqa: E402
from tinygrad_opt.viz import plot_attention  # noqa: E402

IDS = np.array([[3, 1, 4, 1, 5, 9], [2, 6, 5, 3, 5, 8]])


# ------------------------------------------------------------ GPT.attention_weights
def test_one_head_by_hand_equals_attention_weights():
    model = nn.GPT(10, 8, 1, 2, 8, seed=0)
    ln = model.transformer.h[0].ln_1
    attn = model.transformer.h[0].attn
    # LayerNorm, then the query and key of head 0 (its first 4 of 8 channels), all in NumPy
    x = model.transformer.wte.weight.data[IDS] + model.transformer.wpe.weight.data[:6]
    x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    x = x * ln.weight.data + ln.bias.data
    w, b = attn.c_attn.weight.data, attn.c_attn.bias.data
    q = x @ w[0:4].T + b[0:4]
    k = x @ w[8:12].T + b[8:12]
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(4)
    scores[:, np.triu(np.ones((6, 6), dtype=bool), k=1)] = -np.inf
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)

    weights = model.attention_weights(IDS)
    assert weights.shape == (1, 2, 2, 6, 6)  # (n_layer, B, n_head, T, T)
    np.testing.assert_allclose(weights[0, :, 0], expected, rtol=1e-12, atol=1e-15)


def test_rows_sum_to_one_and_nothing_looks_ahead():
    model = nn.GPT(10, 8, 3, 2, 8, seed=1)
    weights = model.attention_weights(IDS)
    assert weights.shape == (3, 2, 2, 6, 6)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-12)
    assert (weights[..., np.triu_indices(6, k=1)[0], np.triu_indices(6, k=1)[1]] == 0).all()
    assert (weights[..., np.tril_indices(6)[0], np.tril_indices(6)[1]] > 0).all()
    # changing the last token changes no earlier position's weights, in any layer
    later = IDS.copy()
    later[:, -1] = 0
    np.testing.assert_array_equal(model.attention_weights(later)[..., :5, :5], weights[..., :5, :5])


def test_with_zero_queries_and_keys_each_position_averages_its_past():
    model = nn.GPT(10, 8, 2, 2, 8, seed=2)
    attn = model.transformer.h[1].attn
    attn.c_attn.weight.data[:16] = 0.0  # queries and keys of layer 1 are all zero: every score is 0
    attn.c_attn.bias.data[:16] = 0.0
    uniform = np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None]
    np.testing.assert_allclose(model.attention_weights(IDS)[1], np.broadcast_to(uniform, (2, 2, 6, 6)))
    assert not np.allclose(model.attention_weights(IDS)[0], uniform)


def test_attention_weights_run_in_eval_mode_and_restore_the_mode():
    model = nn.GPT(10, 8, 1, 2, 8, dropout=0.5, seed=3)
    first = model.attention_weights(IDS)  # dropout would make two calls differ, and rows not sum to 1
    np.testing.assert_array_equal(model.attention_weights(IDS), first)
    np.testing.assert_allclose(first.sum(-1), 1.0, rtol=1e-12)
    assert model.training
    model.eval()
    model.attention_weights(IDS)
    assert not model.training


@pytest.mark.parametrize(("ids", "message"), [
    (np.zeros((2, 9), dtype=int), "9 positions, more than its block_size 8"),
    (np.zeros(4, dtype=int), r"shape \(B, T\)"),
    (np.zeros((1, 4)), "int array"),
])
def test_attention_weights_bad_ids_are_named(ids, message):
    with pytest.raises(ValueError, match=message):
        nn.GPT(10, 8, 1, 2, 8, seed=0).attention_weights(ids)


# ------------------------------------------------------------------ plot_attention
PATTERN = np.array([
    [1.0, 0.0, 0.0, 0.0],
    [0.25, 0.75, 0.0, 0.0],
    [0.5, 0.0, 0.5, 0.0],
    [0.1, 0.2, 0.3, 0.4],
])


def cell_colour(image: np.ndarray, fig: Figure, ax, row: int, col: int) -> np.ndarray:
    """The RGB colour at the centre of cell (row, col) of the saved picture."""
    px, py = ax.transData.transform((col, row))  # imshow puts cell (row, col) at x = col, y = row
    return image[int(round(fig.bbox.height - py)), int(round(px))]


def test_each_cell_has_the_colour_of_its_weight(tmp_path):
    fig = plot_attention(PATTERN, ["a", "b", "c", "d"], path=tmp_path / "attention.png")
    image = imread(tmp_path / "attention.png")[..., :3]
    ax = fig.axes[0]
    blues = matplotlib.colormaps["Blues"]
    for row in range(4):
        for col in range(4):
            expected = np.array(blues(PATTERN[row, col])[:3])
            assert np.abs(cell_colour(image, fig, ax, row, col) - expected).max() < 0.02, (row, col)
    # the scale is 0 .. 1 whatever the pattern, so a weight of 1 is the darkest cell
    assert cell_colour(image, fig, ax, 0, 0).sum() < cell_colour(image, fig, ax, 1, 1).sum()
    assert np.abs(cell_colour(image, fig, ax, 0, 3) - 1.0).max() < 0.05  # 0 above the diagonal: near white


def test_tokens_label_both_axes_in_order_with_spaces_and_newlines_visible():
    fig = plot_attention(PATTERN, ["T", " ", "\n", "o"], title="layer 0, head 1")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["T", "␣", "\\n", "o"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["T", "␣", "\\n", "o"]
    assert ax.get_title() == "layer 0, head 1"
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # position 0 at the top, as the rows of the array
    assert fig.axes[1].get_ylabel() == "attention weight"
    assert fig.axes[1].get_ylim() == (0.0, 1.0)
    unlabelled = plot_attention(PATTERN).axes[0]
    assert [t.get_text() for t in unlabelled.get_xticklabels()] == ["0", "1", "2", "3"]


def test_a_gpt_pattern_plots_from_a_value_or_an_array_alike(tmp_path):
    weights = nn.GPT(10, 8, 1, 2, 8, seed=0).attention_weights(IDS)[0, 1, 0]
    plot_attention(weights, path=tmp_path / "array.png")
    plot_attention(Value(weights), path=tmp_path / "value.png")
    assert np.array_equal(imread(tmp_path / "array.png"), imread(tmp_path / "value.png"))


def test_draws_into_a_given_axes():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_attention(PATTERN, ax=left) is fig
    assert plot_attention(PATTERN.T[::-1, ::-1].T, ax=right, title="second") is fig
    assert right.get_title() == "second" and len(left.get_images()) == 1


@pytest.mark.parametrize(("weights", "tokens", "message"), [
    (np.ones((2, 3)) / 3, None, r"one pattern of shape \(T, T\), got shape \(2, 3\)"),
    (np.ones((1, 2, 4, 4)) / 4, None, r"got shape \(1, 2, 4, 4\); from GPT.attention_weights pick one"),
    (PATTERN * 2, None, "must be in \\[0, 1\\], got values from 0 to 2"),
    (-PATTERN, None, "in \\[0, 1\\]"),
    (np.full((2, 2), np.nan), None, "must be finite, got 4 that are not"),
    (PATTERN, ["a", "b"], "tokens must be a sequence of 4 strings"),
    (PATTERN, "abcd", "tokens must be a sequence of 4 strings"),
    (PATTERN, [1, 2, 3, 4], "tokens must be a sequence of 4 strings"),
])
def test_bad_input_is_named(weights, tokens, message):
    with pytest.raises(ValueError, match=message):
        plot_attention(weights, tokens)


def test_a_bad_path_is_refused_before_drawing(tmp_path):
    with pytest.raises(ValueError, match=r"path must end in \.png, \.svg, \.pdf"):
        plot_attention(PATTERN, path=tmp_path / "attention.jpg")
    assert not (tmp_path / "attention.jpg").exists()
