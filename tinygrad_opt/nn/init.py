"""Weight initialisation: arrays drawn so that signals neither vanish nor explode.

Each function returns a new float64 NumPy array of the given shape; wrap it in a `Value` to make
a parameter. `seed` is an int (the same int gives the same numbers), a `numpy.random.Generator`
(draws continue from it, so one Generator can initialise a whole network reproducibly) or `None`
(fresh randomness).

Fans follow PyTorch: for a weight of shape (out, in, *kernel), fan_in = in * prod(kernel) and
fan_out = out * prod(kernel). A 1-D shape has fan_in = fan_out = its length.

    uniform          U(low, high)
    normal           N(mean, std^2)
    xavier_uniform   U(-a, a),  a = gain * sqrt(6 / (fan_in + fan_out))     Glorot & Bengio, 2010
    xavier_normal    N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform  U(-a, a),  a = gain * sqrt(3 / fan)                     He et al., 2015
    kaiming_normal   N(0, s^2), s = gain / sqrt(fan)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tinygrad_opt.engine import Seed, rng_from  # defined once, in the engine, for nn and data alike

__all__ = [
    "Seed",
    "calculate_gain",
    "fans",
    "kaiming_normal",
    "kaiming_uniform",
    "normal",
    "rng_from",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
]


def uniform(shape: int | Sequence[int], low: float = 0.0, high: float = 1.0, seed: Seed = None) -> np.ndarray:
    """Draw from U(low, high), as `torch.nn.init.uniform_`."""
    if not low < high:
        raise ValueError(f"uniform needs low < high, got low={low}, high={high}")
    return rng_from(seed).uniform(low, high, size=_shape(shape))


def normal(shape: int | Sequence[int], mean: float = 0.0, std: float = 1.0, seed: Seed = None) -> np.ndarray:
    """Draw from N(mean, std^2), as `torch.nn.init.normal_`."""
    if not std >= 0:
        raise ValueError(f"normal needs std >= 0, got {std}")
    return rng_from(seed).normal(mean, std, size=_shape(shape))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for a nonlinearity (`torch.nn.init.calculate_gain`)."""
    if nonlinearity in ("linear", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(
        f"unknown nonlinearity {nonlinearity!r}: expected linear, identity, sigmoid, tanh, relu, "
        "leaky_relu or selu"
    )


def fans(shape: int | Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape, as PyTorch computes them."""
    shape = _shape(shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def xavier_uniform(shape: int | Sequence[int], gain: float = 1.0, seed: Seed = None) -> np.ndarray:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Keeps the variance of activations and of gradients about equal across layers for
    tanh/sigmoid networks (Glorot & Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", 2010).
    """
    fan_in, fan_out = fans(shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rng_from(seed).uniform(-a, a, size=_shape(shape))


def xavier_normal(shape: int | Sequence[int], gain: float = 1.0, seed: Seed = None) -> np.ndarray:
    """Glorot normal: N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return rng_from(seed).normal(0.0, std, size=_shape(shape))


def kaiming_uniform(
    shape: int | Sequence[int],
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    seed: Seed = None,
) -> np.ndarray:
    """He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan), gain from `nonlinearity`.

    Made for ReLU networks, whose activations would otherwise halve in variance at each layer
    (He et al., "Delving Deep into Rectifiers", 2015). `a` is the negative slope used when
    `nonlinearity="leaky_relu"` (PyTorch's default; a = 0 is plain ReLU, gain sqrt(2)).
    `mode="fan_in"` keeps forward activations steady, `"fan_out"` the backward gradients.
    PyTorch's `nn.Linear` uses a = sqrt(5), which gives bound = 1 / sqrt(fan_in).
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    bound = math.sqrt(3.0) * std
    return rng_from(seed).uniform(-bound, bound, size=_shape(shape))


def kaiming_normal(
    shape: int | Sequence[int],
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    seed: Seed = None,
) -> np.ndarray:
    """He normal: N(0, s^2) with s = gain / sqrt(fan); arguments as `kaiming_uniform`."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    return rng_from(seed).normal(0.0, std, size=_shape(shape))


def _fan(shape: int | Sequence[int], mode: str) -> int:
    fan_in, fan_out = fans(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not shape or any(not isinstance(n, (int, np.integer)) or n < 1 for n in shape):
        raise ValueError(f"shape must be one or more positive ints, got {shape!r}")
    return tuple(int(n) for n in shape)
