"""Tests for tinygrad_opt/nn/losses.py: closed forms, reductions, gradients, extreme inputs, errors.

The expected numbers are written from each loss's textbook formula (the one PyTorch documents),
computed here with NumPy or by hand, never taken from the code under test; the class weights,
ignored labels and (B, T, C) logits of cross_entropy and nll_loss are also compared with
PyTorch's numbers (tests/golden/ops.npz, made by tests/golden/make_op_fixtures.py).
"""

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_opt import Value, gradcheck, nn

GOLDEN = np.load(Path(__file__).parent / "golden" / "ops.npz")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# ------------------------------------------------------------------- regression
def test_mse_loss_closed_form_and_reductions():
    x = Value([1.0, 2.0, 3.0])
    target = np.array([1.0, 0.0, 5.0])  # differences 0, 2, -2
    loss = nn.mse_loss(x, target)
    assert loss.item() == pytest.approx(8 / 3)
    loss.backward()
    np.testing.assert_allclose(x.grad, [0.0, 4 / 3, -4 / 3])
    assert nn.mse_loss(x, target, reduction="sum").item() == pytest.approx(8.0)
    np.testing.assert_allclose(nn.mse_loss(x, target, reduction="none").data, [0.0, 4.0, 4.0])


def test_l1_loss_closed_form():
    x = Value([1.0, 2.0, 3.0])
    loss = nn.l1_loss(x, [1.0, 0.0, 5.0])
    assert loss.item() == pytest.approx(4 / 3)
    loss.backward()
    np.testing.assert_allclose(x.grad, [0.0, 1 / 3, -1 / 3])  # sign(0) = 0, as PyTorch
    assert nn.l1_loss(x, [1.0, 0.0, 5.0], reduction="sum").item() == pytest.approx(4.0)


def test_huber_loss_both_branches():
    x = Value([0.5, -2.0, 3.0])
    loss = nn.huber_loss(x, np.zeros(3), reduction="none")
    # |d| < 1: 0.5 d^2 = 0.125;  |d| >= 1: |d| - 0.5 = 1.5, 2.5
    np.testing.assert_allclose(loss.data, [0.125, 1.5, 2.5])
    nn.huber_loss(x, np.zeros(3)).backward()
    np.testing.assert_allclose(x.grad, np.array([0.5, -1.0, 1.0]) / 3)
    # delta = 2: 0.5 * 4 = 2 at the boundary, 2 * (3 - 1) = 4 beyond
    wide = nn.huber_loss(Value([2.0, 3.0]), [0.0, 0.0], delta=2.0, reduction="none")
    np.testing.assert_allclose(wide.data, [2.0, 4.0])


def test_huber_loss_with_infinite_delta_is_half_the_squared_error():
    # PyTorch 2.13: huber_loss([0, 1, 5, -20], 0, delta=inf) = 53.25 = 0.5 * mse_loss (no linear zone)
    x = Value([0.0, 1.0, 5.0, -20.0])
    loss = nn.huber_loss(x, np.zeros(4), delta=math.inf)
    assert loss.item() == 53.25
    loss.backward()
    np.testing.assert_allclose(x.grad, x.data / 4)  # d/dx of 0.5 x^2, averaged over 4


@pytest.mark.parametrize("loss_fn", [nn.mse_loss, nn.l1_loss, nn.huber_loss])
def test_regression_losses_gradcheck(loss_fn):
    rng = np.random.default_rng(0)
    x = Value(rng.standard_normal((4, 3)) * 2)
    target = rng.standard_normal((4, 3))
    assert gradcheck(lambda v: loss_fn(v, target), x)


def test_target_may_be_a_value_and_gets_a_gradient():
    x = Value([1.0, 4.0])
    target = Value([2.0, 2.0])
    nn.mse_loss(x, target).backward()
    np.testing.assert_allclose(x.grad, [-1.0, 2.0])  # 2 d / n
    np.testing.assert_allclose(target.grad, [1.0, -2.0])


# --------------------------------------------------------- binary classification
def test_binary_cross_entropy_closed_form():
    p = Value([0.9, 0.2])
    loss = nn.binary_cross_entropy(p, [1.0, 0.0])
    assert loss.item() == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2)
    loss.backward()
    # d/dp = (p - y) / (p (1 - p)), halved by the mean
    np.testing.assert_allclose(p.grad, [(-0.1 / 0.09) / 2, (0.2 / 0.16) / 2])


@pytest.mark.parametrize("target, bad", [([2.0, 0.0], "2.0"), ([1.0, -0.5], "-0.5"),
                                         ([float("nan"), 1.0], "nan")])
def test_binary_cross_entropy_refuses_targets_outside_zero_one(target, bad):
    with pytest.raises(ValueError, match=rf"binary_cross_entropy needs targets in \[0, 1\], got {bad}"):
        nn.binary_cross_entropy(Value([0.5, 0.5]), target)


def test_binary_cross_entropy_soft_targets_gradcheck():
    rng = np.random.default_rng(1)
    p = Value(rng.uniform(0.05, 0.95, size=6))
    target = rng.uniform(0, 1, size=6)
    assert gradcheck(lambda v: nn.binary_cross_entropy(v, target), p)
    assert gradcheck(lambda v, t: nn.binary_cross_entropy(v, t), p, Value(target))  # the target's too


def test_binary_cross_entropy_at_zero_and_one_is_clamped_like_pytorch():
    p = Value([0.0, 1.0, 1.0, 0.0])
    loss = nn.binary_cross_entropy(p, [1.0, 0.0, 1.0, 0.0], reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0, 0.0, 0.0])  # log clamped at -100
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad))
    np.testing.assert_allclose(p.grad, [-1e12, 1e12, 0.0, 0.0])  # (p - y) / max(p (1 - p), 1e-12)


def test_binary_cross_entropy_with_logits_closed_form():
    x = Value([0.0, 2.0, -3.0])
    y = np.array([1.0, 0.0, 1.0])
    loss = nn.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [math.log(2), math.log(1 + math.e**2), math.log(1 + math.e**3)])
    nn.binary_cross_entropy_with_logits(x, y).backward()
    np.testing.assert_allclose(x.grad, (_sigmoid(x.data) - y) / 3)  # exact at x = 0 too


def test_binary_cross_entropy_with_logits_extreme_logits():
    x = Value([1000.0, -1000.0, 1000.0, -1000.0, 40.0])
    y = np.array([1.0, 1.0, 0.0, 0.0, 0.0])
    loss = nn.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 1000.0, 1000.0, 0.0, 40.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, -1.0, 1.0, 0.0, 1.0])  # sigmoid(x) - y


def test_binary_cross_entropy_with_logits_pos_weight_and_gradcheck():
    rng = np.random.default_rng(2)
    x = Value(rng.standard_normal((3, 2)) * 3)
    y = rng.uniform(0, 1, size=(3, 2))
    pos_weight = np.array([2.0, 0.5])
    expected = -(pos_weight * y * np.log(_sigmoid(x.data)) + (1 - y) * np.log(1 - _sigmoid(x.data)))
    got = nn.binary_cross_entropy_with_logits(x, y, reduction="none", pos_weight=pos_weight)
    np.testing.assert_allclose(got.data, expected)
    assert gradcheck(lambda v: nn.binary_cross_entropy_with_logits(v, y, pos_weight=pos_weight), x)


def test_bce_with_logits_equals_bce_of_sigmoid():
    x = Value(np.linspace(-4, 4, 9))
    y = np.linspace(0, 1, 9)
    with_logits = nn.binary_cross_entropy_with_logits(x, y).item()
    assert with_logits == pytest.approx(nn.binary_cross_entropy(x.sigmoid(), y).item(), rel=1e-12)


def test_hinge_loss_is_micrographs_max_margin():
    scores = Value([2.0, 0.5, -1.0, 0.3])
    y = np.array([1.0, 1.0, 1.0, -1.0])
    loss = nn.hinge_loss(scores, y)
    # relu(1 - y s) = 0, 0.5, 2, 1.3
    assert loss.item() == pytest.approx(3.8 / 4)
    loss.backward()
    np.testing.assert_allclose(scores.grad, [0.0, -0.25, -0.25, 0.25])


def test_hinge_and_nll_gradcheck():
    scores = Value([2.0, 0.5, -1.0, 0.3, -0.2])  # away from the kink at y s = 1
    y = np.array([1.0, 1.0, 1.0, -1.0, 1.0])
    assert gradcheck(lambda v: nn.hinge_loss(v, y), scores)
    log_probs = Value(np.log(np.full((3, 4), 0.25)))
    assert gradcheck(lambda v: nn.nll_loss(v, [0, 3, 1], reduction="sum"), log_probs)


def test_losses_take_a_list_of_scalar_values():
    scores = [Value(2.0), Value(-1.0)]
    loss = nn.hinge_loss(scores, [1, 1])
    assert loss.item() == pytest.approx(1.0)  # (0 + 2) / 2
    loss.backward()
    assert scores[0].grad == 0.0
    assert scores[1].grad == -0.5


# ---------------------------------------------------------- multi-class: labels
def test_cross_entropy_closed_form():
    logits = Value([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    labels = np.array([2, 0])
    loss = nn.cross_entropy(logits, labels)
    row0 = -math.log(math.e**3 / (math.e + math.e**2 + math.e**3))
    assert loss.item() == pytest.approx((row0 + math.log(3)) / 2)
    loss.backward()
    probs = np.exp(_log_softmax(logits.data))
    np.testing.assert_allclose(logits.grad, (probs - np.eye(3)[labels]) / 2)


def test_cross_entropy_single_example_and_reductions():
    logits = Value([1.0, 1.0, 1.0, 1.0])
    assert nn.cross_entropy(logits, 3).item() == pytest.approx(math.log(4))
    batch = Value([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    assert nn.cross_entropy(batch, [0, 1, 1], reduction="sum").item() == pytest.approx(3 * math.log(2))
    np.testing.assert_allclose(nn.cross_entropy(batch, [0, 1, 1], reduction="none").data, [math.log(2)] * 3)


def test_cross_entropy_extreme_logits_stay_finite():
    logits = Value([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0]])
    loss = nn.cross_entropy(logits, [2, 0], reduction="none")
    np.testing.assert_allclose(loss.data, [2000.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad, [[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]], atol=1e-300)


def test_cross_entropy_label_smoothing():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    labels = np.array([2, 1])
    eps = 0.1
    smoothed_target = (1 - eps) * np.eye(3)[labels] + eps / 3  # the smoothed distribution
    expected = -(smoothed_target * _log_softmax(logits)).sum(axis=1).mean()
    assert nn.cross_entropy(Value(logits), labels, label_smoothing=eps).item() == pytest.approx(expected)
    assert gradcheck(lambda v: nn.cross_entropy(v, labels, label_smoothing=eps), Value(logits))


def test_cross_entropy_gradcheck():
    rng = np.random.default_rng(3)
    logits = Value(rng.standard_normal((5, 4)) * 3)
    labels = rng.integers(0, 4, size=5)
    assert gradcheck(lambda v: nn.cross_entropy(v, labels), logits)


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float64, (3, 4), elements=st.floats(-1e3, 1e3)),
    hnp.arrays(np.int64, 3, elements=st.integers(0, 3)),
)
def test_cross_entropy_matches_log_sum_exp(logits, labels):
    # -log softmax(x)[y] = logsumexp(x) - x[y], with the max pulled out of the log
    peak = logits.max(axis=1)
    logsumexp = peak + np.log(np.exp(logits - peak[:, None]).sum(axis=1))
    expected = logsumexp - logits[np.arange(3), labels]
    got = nn.cross_entropy(Value(logits), labels, reduction="none").data
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


def test_nll_loss_picks_the_labelled_log_probability():
    log_probs = Value([[-0.5, -1.0], [-2.0, -0.1]])
    loss = nn.nll_loss(log_probs, [1, 0])
    assert loss.item() == pytest.approx(1.5)
    loss.backward()
    np.testing.assert_allclose(log_probs.grad, [[0.0, -0.5], [-0.5, 0.0]])


def test_cross_entropy_is_nll_of_log_softmax():
    logits = Value(np.random.default_rng(4).standard_normal((6, 3)))
    labels = [0, 1, 2, 2, 1, 0]
    expected = nn.nll_loss(logits.log_softmax(axis=-1), labels).item()
    assert nn.cross_entropy(logits, labels).item() == pytest.approx(expected)


def test_labels_may_be_a_value_of_whole_numbers():
    logits = Value([[0.0, 5.0], [5.0, 0.0]])
    assert nn.cross_entropy(logits, Value([1.0, 0.0])).item() == pytest.approx(math.log(1 + math.exp(-5)))


# ------------------------------ class weights, ignored labels, (B, T, C) logits
W = GOLDEN["class_weight"]
LABEL_LOSSES = {  # each fixture case, computed here: logits or log-probabilities (2, 4, 5), labels (2, 4)
    "ce_btc": lambda x, y: nn.cross_entropy(x, y),
    "ce_btc_none": lambda x, y: nn.cross_entropy(x, y, reduction="none"),
    "ce_ignore": lambda x, y: nn.cross_entropy(x, y),  # labels -100 are ignored by default
    "ce_ignore_sum": lambda x, y: nn.cross_entropy(x, y, reduction="sum"),
    "ce_weight": lambda x, y: nn.cross_entropy(x, y, weight=W),
    "ce_weight_ignore": lambda x, y: nn.cross_entropy(x, y, weight=W),
    "ce_weight_smoothing": lambda x, y: nn.cross_entropy(x, y, weight=W, label_smoothing=0.2),
    "ce_weight_ignore_smoothing": lambda x, y: nn.cross_entropy(x, y, weight=W, label_smoothing=0.2),
    "ce_weight_ignore_smoothing_sum":
        lambda x, y: nn.cross_entropy(x, y, weight=W, label_smoothing=0.2, reduction="sum"),
    "ce_weight_ignore_smoothing_none":
        lambda x, y: nn.cross_entropy(x, y, weight=W, label_smoothing=0.2, reduction="none"),
    "ce_ignore_index_2": lambda x, y: nn.cross_entropy(x, y, ignore_index=2, label_smoothing=0.1),
    "nll_btc": lambda x, y: nn.nll_loss(x, y),
    "nll_weight_ignore": lambda x, y: nn.nll_loss(x, y, weight=W),
    "nll_weight_sum": lambda x, y: nn.nll_loss(x, y, weight=W, reduction="sum"),
}


def test_every_label_loss_fixture_is_tested():
    cases = {k.split(".")[0] for k in GOLDEN.files if k.endswith(".out")}
    assert {c for c in cases if c.startswith(("ce_", "nll_"))} == set(LABEL_LOSSES)


@pytest.mark.parametrize("name", sorted(LABEL_LOSSES))
def test_label_losses_equal_pytorch(name):
    x = Value(GOLDEN[f"{name}.x"])
    loss = LABEL_LOSSES[name](x, GOLDEN[f"{name}.target"])
    np.testing.assert_allclose(loss.data, GOLDEN[f"{name}.out"], rtol=1e-12, atol=1e-12)
    loss.backward(GOLDEN[f"{name}.grad_out"])
    np.testing.assert_allclose(x.grad, GOLDEN[f"{name}.grad_x"], rtol=1e-12, atol=1e-12)


def test_cross_entropy_of_b_t_c_logits_is_that_of_the_flattened_rows():
    rng = np.random.default_rng(5)
    logits, labels = rng.standard_normal((3, 4, 6)), rng.integers(0, 6, (3, 4))
    whole = nn.cross_entropy(Value(logits), labels, reduction="none")
    assert whole.shape == (3, 4)
    rows = nn.cross_entropy(Value(logits.reshape(12, 6)), labels.reshape(12), reduction="none")
    np.testing.assert_allclose(whole.data.reshape(-1), rows.data, rtol=1e-15)
    expected = -_log_softmax(logits)[np.arange(3)[:, None], np.arange(4), labels].mean()
    assert nn.cross_entropy(Value(logits), labels).item() == pytest.approx(expected, rel=1e-14)


def test_weighted_mean_divides_by_the_weights_of_the_labels_kept():
    log_probs = Value([[-1.0, -2.0, -3.0], [-0.5, -1.5, -2.5], [-4.0, -0.1, -0.2]])
    loss = nn.nll_loss(log_probs, [2, -100, 0], weight=[1.0, 10.0, 3.0])
    # (3 * 3.0 + 1 * 4.0) / (3 + 1): the ignored row adds neither loss nor weight
    assert loss.item() == pytest.approx(13.0 / 4)
    loss.backward()
    np.testing.assert_allclose(log_probs.grad, [[0, 0, -0.75], [0, 0, 0], [-0.25, 0, 0]])


def test_ignored_labels_get_no_gradient_and_all_ignored_is_nan_as_pytorch():
    logits = Value(np.random.default_rng(6).standard_normal((3, 4)))
    loss = nn.cross_entropy(logits, [1, -100, 3], label_smoothing=0.3)
    loss.backward()
    assert np.all(logits.grad[1] == 0.0) and np.all(logits.grad[[0, 2]] != 0.0)
    assert math.isnan(nn.cross_entropy(Value(np.zeros((2, 3))), [-100, -100]).item())  # 0 / 0
    assert nn.cross_entropy(Value(np.zeros((2, 3))), [-100, -100], reduction="sum").item() == 0.0


def test_weighted_smoothed_ignored_cross_entropy_gradcheck():
    rng = np.random.default_rng(8)
    logits = Value(rng.standard_normal((2, 3, 4)) * 2)
    labels = np.array([[0, 3, -1], [2, 2, 1]])
    weight = np.array([0.5, 1.0, 2.0, 4.0])
    assert gradcheck(lambda v: nn.cross_entropy(v, labels, weight=weight, ignore_index=-1,
                                                label_smoothing=0.15), logits)
    assert gradcheck(lambda v: nn.nll_loss(v.log_softmax(), labels, weight=weight, ignore_index=-1), logits)


def test_weight_and_ignore_index_errors():
    logits = Value(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        nn.cross_entropy(logits, [0, 1], weight=[1.0, 2.0])
    with pytest.raises(TypeError, match="int ignore_index"):
        nn.nll_loss(logits, [0, 1], ignore_index=0.5)
    with pytest.raises(ValueError, match="label -1 is out of range .* or ignore_index=-100"):
        nn.cross_entropy(logits, [0, -1])


def test_float32_stays_float32_with_weights_and_smoothing():
    logits = Value(np.array([[[0.5, -1.0], [2.0, 0.0]]], dtype=np.float32))
    loss = nn.cross_entropy(logits, [[0, -100]], weight=[2.0, 1.0], label_smoothing=0.1)
    loss.backward()
    assert loss.dtype == np.float32 and logits.grad.dtype == np.float32


# ---------------------------------------------------------------------- softmax
def test_softmax_with_temperature():
    x = Value([0.0, 2 * math.log(2)])
    np.testing.assert_allclose(nn.softmax(x, temperature=2.0).data, [1 / 3, 2 / 3])  # e^0 : e^ln2
    np.testing.assert_allclose(nn.softmax(x).data, [1 / 5, 4 / 5])
    hot = nn.softmax(Value([[1.0, 2.0], [3.0, 3.0]]), temperature=1e6)
    np.testing.assert_allclose(hot.data, 0.5, atol=1e-6)  # high temperature -> uniform
    assert gradcheck(lambda v: nn.softmax(v, temperature=0.5), Value([0.3, -1.2, 2.0]))


def test_softmax_extreme_logits():
    probs = nn.softmax(Value([1000.0, 0.0, -1000.0]))
    np.testing.assert_allclose(probs.data, [1.0, 0.0, 0.0])


# ----------------------------------------------------------------------- errors
def test_shape_mismatch_is_an_error_naming_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        nn.mse_loss(Value(np.zeros((4, 1))), np.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        nn.binary_cross_entropy_with_logits(Value(np.zeros(3)), np.zeros(2))


def test_labels_out_of_range_or_not_integers_are_errors():
    logits = Value(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        nn.cross_entropy(logits, [0, 3])
    with pytest.raises(ValueError, match="label -1"):
        nn.nll_loss(logits, [-1, 0])
    with pytest.raises(TypeError, match="integer class labels"):
        nn.cross_entropy(logits, [0.5, 1.0])
    with pytest.raises(ValueError, match=r"labels have shape \(3,\), expected \(2,\)"):
        nn.cross_entropy(logits, [0, 1, 2])
    with pytest.raises(ValueError, match=r"labels have shape \(2,\), expected \(2, 3\)"):
        nn.cross_entropy(Value(np.zeros((2, 3, 4))), [0, 1])  # (B, T, C) logits need (B, T) labels
    with pytest.raises(ValueError, match=r"\(C,\), \(N, C\) or \(B, T, C\), got a scalar"):
        nn.cross_entropy(Value(1.0), 0)


def test_bad_arguments_are_errors():
    x = Value([0.5, 0.5])
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nn.mse_loss(x, [0.0, 0.0], reduction="avg")
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\], got 1.5"):
        nn.binary_cross_entropy(Value([0.5, 1.5]), [0.0, 1.0])
    with pytest.raises(ValueError, match="labels -1 or \\+1, got 0.0"):
        nn.hinge_loss(x, [1.0, 0.0])
    with pytest.raises(ValueError, match="delta must be > 0"):
        nn.huber_loss(x, [0.0, 0.0], delta=0.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.cross_entropy(Value(np.zeros((1, 2))), [0], label_smoothing=1.5)
    with pytest.raises(ValueError, match="temperature"):
        nn.softmax(x, temperature=0.0)
    with pytest.raises(TypeError):  # PyTorch's third argument is a class weight: not taken here
        nn.cross_entropy(Value(np.zeros((1, 2))), [0], np.ones(2))


def test_float32_logits_stay_float32():
    logits = Value(np.array([[0.5, -1.0], [2.0, 0.0]], dtype=np.float32))
    for loss in [nn.binary_cross_entropy_with_logits(logits, np.ones((2, 2), np.float32)),
                 nn.cross_entropy(logits, [0, 1])]:
        loss.backward()
        assert loss.dtype == np.float32 and logits.grad.dtype == np.float32
