"""Batched layers: a whole batch of inputs, shape (batch, features), goes through each layer at once.

Where the scalar MLP builds one graph node per multiplication, `Linear` is a single `@`, so
training on a few hundred points takes milliseconds a step. Layouts and initialisation follow
PyTorch (`weight` has shape (out, in), `y = x @ weight.T + bias`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value, as_value, check_count, operation
from tinygrad_opt.nn import init
from tinygrad_opt.nn.module import Module


class Linear(Module):
    """y = x @ weight.T + bias, for x of shape (batch, nin) (or (nin,)).

    Initialised as PyTorch's `nn.Linear`: weight and bias both from U(-1/sqrt(nin), 1/sqrt(nin))
    (Kaiming-uniform with a = sqrt(5)). `seed` is an int or a NumPy Generator (see `nn.init`).
    Parameters, in order: `weight` (nout, nin), then `bias` (nout,).
    """

    def __init__(self, nin: int, nout: int, bias: bool = True, seed: init.Seed = None) -> None:
        check_count(nin, "Linear nin")
        check_count(nout, "Linear nout")
        rng = init.rng_from(seed)
        self.weight = Value(init.kaiming_uniform((nout, nin), a=math.sqrt(5), seed=rng), label="weight")
        bound = 1 / math.sqrt(nin)
        self.bias = Value(init.uniform(nout, -bound, bound, seed=rng), label="bias") if bias else None

    def forward(self, x: Any) -> Value:
        x = as_value(x)
        nin = self.weight.shape[1]
        if x.ndim == 0 or x.shape[-1] != nin:
            raise ValueError(f"{self!r} needs inputs of shape (..., {nin}), got {x.shape}")
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out

    def __repr__(self) -> str:
        nout, nin = self.weight.shape
        return f"Linear(nin={nin}, nout={nout}, bias={self.bias is not None})"


class Sequential(Module):
    """Apply `layers` in order: `Sequential(a, b, c)(x)` is `c(b(a(x)))`."""

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential takes layers, argument {i} is {type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


class ReLU(Module):
    """max(0, x), elementwise."""

    def forward(self, x: Value) -> Value:
        return as_value(x).relu()

    def __repr__(self) -> str:
        return "ReLU()"


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Value) -> Value:
        return as_value(x).tanh()

    def __repr__(self) -> str:
        return "Tanh()"


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x: Value) -> Value:
        return as_value(x).sigmoid()

    def __repr__(self) -> str:
        return "Sigmoid()"


class GELU(Module):
    """GELU(x) = x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016).

    `approximate="none"` (PyTorch's default) is the exact erf form; `approximate="tanh"` is
    the tanh approximation used by GPT-2 and by PyTorch's `GELU(approximate="tanh")`.
    """

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Value) -> Value:
        return gelu(x, self.approximate)

    def __repr__(self) -> str:
        return "GELU()" if self.approximate == "none" else "GELU(approximate='tanh')"


# NumPy has no erf, and math.erf element by element (np.vectorize) is a Python call per
# number: in a small GPT that was most of a training step. `_erf` is W. J. Cody's rational
# Chebyshev approximation ("Rational Chebyshev approximations for the error function", Math.
# Comp. 23 (1969), 631-638; the coefficients of his CALERF routine), as accurate as math.erf
# to about one unit in the last place, in whole-array NumPy. Three intervals of |x|:
#   |x| <= 0.46875   erf(x) = x P(x^2) / Q(x^2)
#   |x| <= 4         erfc(x) = exp(-x^2) P(x) / Q(x)
#   |x| > 4          erfc(x) = exp(-x^2) / x (1/sqrt(pi) + z P(z) / Q(z)), z = 1 / x^2
# and erf = 1 - erfc in the last two. Each P / Q lists its coefficients from the constant
# term up; `_polynomial` evaluates them by Horner's rule. (Cody's routine also computes
# exp(-x^2) in two pieces, to keep erfc's relative error small far out in the tail; erf
# needs only erfc's absolute error, which exp(-x * x) keeps within 0.2 units of the last place.)
_ERF_P1 = (3.20937758913846947e03, 3.77485237685302021e02, 1.13864154151050156e02,
           3.16112374387056560e00, 1.85777706184603153e-1)
_ERF_Q1 = (2.84423683343917062e03, 1.28261652607737228e03, 2.44024637934444173e02,
           2.36012909523441209e01, 1.0)
_ERFC_P2 = (1.23033935479799725e03, 2.05107837782607147e03, 1.71204761263407058e03,
            8.81952221241769090e02, 2.98635138197400131e02, 6.61191906371416295e01,
            8.88314979438837594e00, 5.64188496988670089e-1, 2.15311535474403846e-8)
_ERFC_Q2 = (1.23033935480374942e03, 3.43936767414372164e03, 4.36261909014324716e03,
            3.29079923573345963e03, 1.62138957456669019e03, 5.37181101862009858e02,
            1.17693950891312499e02, 1.57449261107098347e01, 1.0)
_ERFC_P3 = (6.58749161529837803e-4, 1.60837851487422766e-2, 1.25781726111229246e-1,
            3.60344899949804439e-1, 3.05326634961232344e-1, 1.63153871373020978e-2)
_ERFC_Q3 = (2.33520497626869185e-3, 6.05183413124413191e-2, 5.27905102951428412e-1,
            1.87295284992346725e00, 2.56852019228982242e00, 1.0)


def _polynomial(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """c0 + c1 x + c2 x^2 + ..., by Horner's rule."""
    result = np.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result *= x
        result += c
    return result


def _erf(x: np.ndarray) -> np.ndarray:
    """erf(x) elementwise in float64 (Cody 1969, above), within one unit in the last place.
    erf(-x) = -erf(x), erf(+-inf) = +-1, erf(-0.0) = -0.0, nan stays nan.

    The formulas make a few dozen passes over their argument, so `x` goes through them in
    pieces (`_pieces`; a third faster than whole (12, 64, 512) arrays)."""
    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    result = np.empty_like(flat)
    for piece in _pieces(flat.size):
        result[piece] = _erf_piece(flat[piece])
    return result.reshape(np.shape(x))


_PIECE = 65_536  # elements of a piece in `_pieces`: measured, faster than whole activations
# (optim.optimizer.chunks cuts at 128 KiB instead: an update's few passes read more arrays at once)


def _pieces(size: int) -> Iterator[slice]:
    """Slices of `_PIECE` elements that cover `size`: a formula of many passes over a piece keeps
    the piece's temporaries in the processor's cache."""
    return (slice(start, start + _PIECE) for start in range(0, size, _PIECE))


def _erf_piece(x: np.ndarray) -> np.ndarray:
    """Cody's three intervals on a 1-D array. Each interval's formula is evaluated on every
    element (clipped into the interval) and `np.where` picks the right one: cheaper in NumPy
    than gathering and scattering the elements of each interval."""
    y = np.abs(x)
    v = np.minimum(y, 0.46875)
    small = v * _polynomial(_ERF_P1, v * v) / _polynomial(_ERF_Q1, v * v)
    v = np.clip(y, 0.46875, 4)
    middle = 1 - np.exp(-v * v) * _polynomial(_ERFC_P2, v) / _polynomial(_ERFC_Q2, v)
    result = np.where(y <= 0.46875, small, middle)
    if np.any(~(y <= 4)):  # rare in a network: |x| > 4, inf or nan
        v = np.clip(y, 4, 6)  # erf(y) rounds to 1 once y > 6
        z = 1 / (v * v)
        tail = (1 / math.sqrt(math.pi) - z * _polynomial(_ERFC_P3, z) / _polynomial(_ERFC_Q3, z)) / v
        large = np.where(y > 6, 1.0, 1 - np.exp(-v * v) * tail)  # nan > 6 is False: nan stays
        result = np.where(y <= 4, result, large)
    return np.copysign(result, x)


# float32 carries 7 digits, not 16: for it, Phi comes from Hastings' shorter formula for erfc
# (Abramowitz & Stegun 7.1.26, |error in erf| <= 1.5e-7), the one PyTorch's float32 erf computes
# on AVX2 and AVX-512, a third of the passes of Cody's. With t = 1 / (1 + p |z|):
#   erfc(|z|) = t (a1 + a2 t + a3 t^2 + a4 t^3 + a5 t^4) exp(-z^2)
_HASTINGS_P = 0.3275911
_HASTINGS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _normal_cdf_and_pdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phi(x) and phi(x) = exp(-x^2 / 2) / sqrt(2 pi) elementwise, the standard normal's CDF
    and density, in x's floating-point type (float64 for integers): float32 by Hastings'
    formula (above), any other type computed in float64 with Cody's erf.

    The float32 formula makes about twenty passes over its argument, so `x` goes through it
    in pieces (`_pieces`; twice as fast as whole (12, 64, 512) arrays, whose temporaries
    malloc handed back to the system)."""
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    if dtype != np.float32:
        x = x.astype(np.float64)
        cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return cdf.astype(dtype, copy=False), pdf.astype(dtype, copy=False)
    flat = x.reshape(-1)
    cdf, pdf = np.empty_like(flat), np.empty_like(flat)
    for piece in _pieces(flat.size):
        cdf[piece], pdf[piece] = _hastings_piece(flat[piece])
    return cdf.reshape(x.shape), pdf.reshape(x.shape)


def _hastings_piece(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phi(x) and phi(x) of a float32 array by Hastings' formula, z = x / sqrt 2.

    exp(-x^2 / 2) is computed once for both: it is phi's numerator and Hastings' exp(-z^2).
    Phi(x) for x < 0 is erfc(|z|) / 2 itself, not 1 - (1 - erfc) / 2, which keeps its digits
    far into the left tail (where GELU is tiny, not zero)."""
    gauss = np.exp(-0.5 * x * x)
    t = 1 / (1 + _HASTINGS_P / math.sqrt(2) * np.abs(x))
    left_tail = 0.5 * t * _polynomial(_HASTINGS_A, t) * gauss  # Phi(-|x|) = erfc(|x| / sqrt 2) / 2
    # Phi(x) = Phi(-|x|) for x < 0 and 1 - Phi(-|x|) for x >= 0, picked by arithmetic on the
    # sign's mask: np.where branches on every element, ten times slower on random signs
    cdf = left_tail + (x >= 0) * (1 - 2 * left_tail)
    return cdf, gauss * (1 / math.sqrt(2 * math.pi))


def gelu(x: Any, approximate: str = "none") -> Value:
    """x * Phi(x) exactly (`"none"`) or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (`"tanh"`)."""
    x = as_value(x)
    if approximate == "tanh":
        # A composition of engine ops: autograd finds its gradient.
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1 + inner.tanh())
    if approximate != "none":
        raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")
    # The exact form needs erf, which the engine (and NumPy) lack: a new op, added the public
    # way (docs/engine.md, "Adding your own op"). Phi(x) = (1 + erf(x / sqrt 2)) / 2. The
    # forward pass keeps phi(x) too, which the backward pass needs and which shares its exp.
    data = x.data
    if type(data) is float:
        cdf = 0.5 * (1 + math.erf(data / math.sqrt(2)))
        pdf = math.exp(-0.5 * data * data) / math.sqrt(2 * math.pi)
    else:
        cdf, pdf = _normal_cdf_and_pdf(data)
    return operation(data * cdf, (x,), "GELU", _gelu_backward, saved=(cdf, pdf))


def _gelu_backward(out: Value, grad: Any) -> tuple[Any]:
    """d/dx [x Phi(x)] = Phi(x) + x phi(x), both kept by the forward pass."""
    (x,) = out.inputs
    cdf, pdf = out.saved
    return (grad * (cdf + x.data * pdf),)


class MLP(Sequential):
    """The scalar `MLP(nin, nouts)` batched: Linear layers of sizes `nouts` with `activation`
    between them and none after the last, mapping (batch, nin) to (batch, nouts[-1]).

    `activation` is "relu", "tanh", "sigmoid" or "gelu". `MLP(2, [16, 16, 1])` has 337
    parameters, as micrograd's. Parameters, in order: each Linear's weight then bias.
    """

    def __init__(
        self, nin: int, nouts: Sequence[int], activation: str = "relu", seed: init.Seed = None
    ) -> None:
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if not nouts:
            raise ValueError("MLP needs at least one layer size in nouts")
        rng = init.rng_from(seed)
        sizes = [nin, *nouts]
        layers: list[Module] = []
        for i in range(len(nouts)):
            layers.append(Linear(sizes[i], sizes[i + 1], seed=rng))
            if i != len(nouts) - 1:
                layers.append(_ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.activation = activation
        self._sizes = sizes

    def __repr__(self) -> str:
        return f"MLP({self._sizes[0]}, {self._sizes[1:]}, activation={self.activation!r})"


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "gelu": GELU}
