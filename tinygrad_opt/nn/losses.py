"""Loss functions: how far predictions are from targets, as one number to backpropagate from.

Each gives the same numbers as the PyTorch function of the same name (`torch.nn.functional`),
with `reduction="mean"` (average over elements), `"sum"` or `"none"` (one loss per element),
except `hinge_loss`, which is micrograd's max-margin loss (PyTorch has no function of that name).

Predictions are Values (a list of scalar Values, as a micrograd model returns, is stacked into
one); targets may be Values, arrays, lists or numbers. Prediction and target shapes must match
exactly: no silent broadcasting of a (N, 1) output against (N,) targets.

Options after the target are keyword-only: PyTorch's third positional argument is a class
`weight`, which here is written `weight=`, so `loss(x, y, something)` is an error rather than
a guess at a meaning.

Most losses are compositions of engine ops, so autograd finds their gradients (and a target
that is a Value gets one too). `binary_cross_entropy` is its own op, to clamp its logarithms
at -100 and keep its gradient finite the way PyTorch does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value, as_value, operation, stack

REDUCTIONS = ("mean", "sum", "none")


# ------------------------------------------------------------------- regression
def mse_loss(input: Any, target: Any, *, reduction: str = "mean") -> Value:
    """Mean squared error, (x - y)^2 per element.

    The default for regression: large errors cost quadratically, so outliers pull hard.
    """
    x, y = _pair(input, target, "mse_loss", reduction)
    return _reduce((x - y) ** 2, reduction)


def l1_loss(input: Any, target: Any, *, reduction: str = "mean") -> Value:
    """Mean absolute error, |x - y| per element.

    Robust to outliers (they cost linearly); its gradient is +-1 however close the fit.
    """
    x, y = _pair(input, target, "l1_loss", reduction)
    return _reduce((x - y).abs(), reduction)


def huber_loss(input: Any, target: Any, *, reduction: str = "mean", delta: float = 1.0) -> Value:
    """Huber loss: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = x - y.

    Quadratic near the target (smooth, like MSE), linear far from it (robust, like L1).
    `delta=inf` leaves only the quadratic part: 0.5 d^2, half the squared error (as PyTorch).
    """
    if not delta > 0:
        raise ValueError(f"huber_loss delta must be > 0, got {delta!r}")
    x, y = _pair(input, target, "huber_loss", reduction)
    if delta == math.inf:  # no linear zone (written out: inf * 0 below would be nan)
        return _reduce(0.5 * (x - y) ** 2, reduction)
    a = (x - y).abs()
    q = a - (a - delta).relu()  # min(|d|, delta): the part of |d| inside the quadratic zone
    return _reduce(0.5 * q**2 + delta * (a - q), reduction)


# --------------------------------------------------------- binary classification
def binary_cross_entropy(input: Any, target: Any, *, reduction: str = "mean") -> Value:
    """-(y log p + (1 - y) log(1 - p)), for probabilities p in [0, 1] and targets y in [0, 1].

    Use it after a sigmoid; better, skip the sigmoid and use `binary_cross_entropy_with_logits`,
    which stays exact where p rounds to 0 or 1. As in PyTorch, each log is clamped at -100 (so
    the loss is finite at p = 0 or 1) and the gradient is (p - y) / max(p (1 - p), 1e-12).
    """
    p, y = _pair(input, target, "binary_cross_entropy", reduction)
    probs, labels = np.asarray(p.data), np.asarray(y.data)
    _check_in_unit_interval(probs, "probabilities")
    _check_in_unit_interval(labels, "targets")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(probs), -100.0)
        log_1mp = np.maximum(np.log1p(-probs), -100.0)
    loss = -(labels * log_p + (1 - labels) * log_1mp)
    return _reduce(operation(loss, (p, y), "bce", _bce_backward, saved=(log_p, log_1mp)), reduction)


def _bce_backward(out: Value, grad: Any) -> tuple[Any, Any]:
    """d/dp = (p - y) / max(p (1 - p), 1e-12) (PyTorch's clamp), d/dy = log(1 - p) - log p."""
    p, y = out.inputs
    log_p, log_1mp = out.saved
    return grad * (p.data - y.data) / np.maximum(p.data * (1 - p.data), 1e-12), grad * (log_1mp - log_p)


def _check_in_unit_interval(x: np.ndarray, what: str) -> None:
    outside = ~((x >= 0) & (x <= 1))  # nan is outside too
    if np.any(outside):
        bad = x[outside].reshape(-1)[0] if x.ndim else x
        raise ValueError(f"binary_cross_entropy needs {what} in [0, 1], got {float(bad)!r}")


def binary_cross_entropy_with_logits(
    input: Any, target: Any, *, reduction: str = "mean", pos_weight: Any = None
) -> Value:
    """-(w y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), from logits x, stably.

    The loss for a single output unit that says "yes" or "no": feed it the raw score, no
    sigmoid. A sigmoid is a two-class softmax over the logits [0, x], so this is
    cross-entropy through `log_softmax`, which never overflows: it is exact for logits of any
    size and its gradient is sigmoid(x) - y (times w where y = 1). `pos_weight` w weighs the
    positive examples (PyTorch's argument of that name).
    """
    x, y = _pair(input, target, "binary_cross_entropy_with_logits", reduction)
    two_logits = stack([np.zeros(x.shape, x.dtype), x], axis=-1)
    log_p = two_logits.log_softmax(axis=-1)  # [..., 0] = log(1 - sigmoid x), [..., 1] = log sigmoid x
    positive = y * log_p[..., 1]
    if pos_weight is not None:
        positive = positive * pos_weight
    return _reduce(-(positive + (1 - y) * log_p[..., 0]), reduction)


def hinge_loss(input: Any, target: Any, *, reduction: str = "mean") -> Value:
    """micrograd's max-margin loss: relu(1 - y s), for scores s and labels y in {-1, +1}.

    Zero once an example is on the right side with margin 1; otherwise it grows linearly.
    This is the SVM loss micrograd's moons demo trains with.
    """
    s, y = _pair(input, target, "hinge_loss", reduction)
    labels = np.asarray(y.data)
    if np.any((labels != 1) & (labels != -1)):
        bad = labels[(labels != 1) & (labels != -1)].reshape(-1)[0]
        raise ValueError(f"hinge_loss needs labels -1 or +1, got {float(bad)!r}")
    return _reduce((1 - y * s).relu(), reduction)


# ---------------------------------------------------------- multi-class: labels
def cross_entropy(
    input: Any,
    target: Any,
    *,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    weight: Any = None,
    ignore_index: int = -100,
) -> Value:
    """-log softmax(x)[label], the loss for choosing one of C classes, from logits x.

    Shapes: logits (N, C) with integer labels (N,); (B, T, C) with labels (B, T), as a language
    model gives them (any number of leading axes); or (C,) with one label. The classes are on
    the last axis. (PyTorch puts them on axis 1 when there are more than two axes: the same
    numbers come from `F.cross_entropy(x.reshape(-1, C), y.reshape(-1))`.) Computed through a
    stable `log_softmax`, so huge logits do not overflow.

    As in PyTorch: `weight` (C,) scales the loss of each class, a label equal to `ignore_index`
    counts for nothing, and the mean is the weighted mean sum_i w[y_i] loss_i / sum_i w[y_i] over
    the labels not ignored (nan when all are ignored). With label smoothing eps the target puts
    1 - eps on the label and eps spread evenly over the C classes:

        loss_i = (1 - eps) w[y_i] (-log p_i[y_i]) + (eps / C) sum_c w[c] (-log p_i[c])

    and the mean divides both parts by sum_i w[y_i] (w = 1 without `weight`).
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    logits = _check_reduction_and_lift(input, reduction)
    if logits.ndim == 0:
        raise ValueError("cross_entropy needs logits of shape (C,), (N, C) or (B, T, C), got a scalar")
    log_probs = logits.log_softmax(axis=-1)
    return _label_loss(log_probs, target, "cross_entropy", reduction, weight, ignore_index, label_smoothing)


def nll_loss(
    input: Any, target: Any, *, reduction: str = "mean", weight: Any = None, ignore_index: int = -100
) -> Value:
    """Negative log likelihood -log_probs[label]: log-probabilities (N, C) or (B, T, C), integer
    labels (N,) or (B, T).

    `cross_entropy(x, y)` is `nll_loss(x.log_softmax(), y)`; use this one when the model already
    ends in a log-softmax. `weight` and `ignore_index` as in `cross_entropy` (and PyTorch).
    """
    log_probs = _check_reduction_and_lift(input, reduction)
    if log_probs.ndim == 0:
        raise ValueError("nll_loss needs log-probabilities of shape (C,), (N, C) or (B, T, C), got a scalar")
    return _label_loss(log_probs, target, "nll_loss", reduction, weight, ignore_index, 0.0)


def _label_loss(
    log_probs: Value, target: Any, name: str, reduction: str, weight: Any, ignore_index: int, smoothing: float
) -> Value:
    """The weighted, smoothed negative log likelihood of the labels, reduced as PyTorch does."""
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{name} needs an int ignore_index, got {ignore_index!r}")
    n_classes = log_probs.shape[-1]
    labels = _labels(target, log_probs.shape, name, ignore_index)
    ignored = labels == ignore_index
    picked = np.where(ignored, 0, labels)  # an ignored label picks class 0, then counts for nothing
    kept = (~ignored).astype(log_probs.dtype)  # 0 for an ignored label, else 1
    nll = -log_probs.take_along_axis(picked[..., None], axis=-1)[..., 0]
    class_weight = _class_weight(weight, n_classes, name, log_probs.dtype)
    label_weight = kept * class_weight[picked]  # w[y_i], 0 where ignored
    loss = nll * label_weight
    if smoothing > 0:
        smooth = -(log_probs * class_weight).sum(axis=-1) * kept  # sum_c w[c] (-log p_c)
        loss = (1 - smoothing) * loss + (smoothing / n_classes) * smooth
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / float(label_weight.sum())  # PyTorch's weighted mean


def _class_weight(weight: Any, n_classes: int, name: str, dtype: np.dtype) -> np.ndarray:
    """The weight of each class as an array (C,): ones when no weight is given."""
    if weight is None:
        return np.ones(n_classes, dtype)
    weights = np.asarray(weight.data if isinstance(weight, Value) else weight, dtype=dtype)
    if weights.shape != (n_classes,):
        raise ValueError(f"{name}: weight has shape {weights.shape}, expected ({n_classes},): one per class")
    return weights


def softmax(x: Any, temperature: float = 1.0, axis: int = -1) -> Value:
    """exp(x_i / T) / sum_j exp(x_j / T) along `axis`: logits to probabilities.

    Temperature T > 1 flattens the distribution towards uniform, T < 1 sharpens it towards
    the argmax. Stable for any logits (the maximum is subtracted first).
    """
    is_number = isinstance(temperature, (int, float, np.number)) and not isinstance(temperature, bool)
    if not (is_number and math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"softmax temperature must be a finite number > 0, got {temperature!r}")
    x = as_value(x)
    if x.ndim == 0:
        raise ValueError("softmax needs at least one axis, got a scalar")
    return (x / temperature).softmax(axis=axis) if temperature != 1 else x.softmax(axis=axis)


# ----------------------------------------------------------- internal functions
def _check_reduction_and_lift(input: Any, reduction: str) -> Value:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return as_value(input)


def _pair(input: Any, target: Any, name: str, reduction: str) -> tuple[Value, Value]:
    """Prediction and target as Values of the same shape."""
    x = _check_reduction_and_lift(input, reduction)
    y = as_value(target)
    if x.shape != y.shape:
        raise ValueError(f"{name}: input has shape {x.shape} but target has shape {y.shape}; they must match")
    return x, y


def _reduce(loss: Value, reduction: str) -> Value:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _labels(target: Any, input_shape: tuple[int, ...], name: str, ignore_index: int) -> np.ndarray:
    """Class labels as an int array, one per row of the input, each in [0, C) or ignore_index."""
    shape, n_classes = input_shape[:-1], input_shape[-1]
    labels = np.asarray(target.data if isinstance(target, Value) else target)
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)  # 2.0 is label 2 (a Value holds floats)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name} needs integer class labels, got {labels.dtype}: {labels.reshape(-1)[:5]}")
    if labels.shape != shape:
        raise ValueError(
            f"{name}: labels have shape {labels.shape}, expected {shape} (one per row of input, of shape "
            f"{input_shape})"
        )
    out_of_range = ((labels < 0) | (labels >= n_classes)) & (labels != ignore_index)
    if np.any(out_of_range):
        bad = labels[out_of_range].reshape(-1)[0]
        raise ValueError(
            f"{name}: label {bad} is out of range for {n_classes} classes (expected 0..{n_classes - 1}, "
            f"or ignore_index={ignore_index})"
        )
    return labels
