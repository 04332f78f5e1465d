"""Batched layers: a whole batch of inputs, shape (batch, features), goes through each layer at once.

Where the scalar MLP builds one graph node per multiplication, `Linear` is a single `@`, so
training on a few hundred points takes milliseconds a step. Layouts and initialisation follow
PyTorch (`weight` has shape (out, in), `y = x @ weight.T + bias`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


# NumPy has no erf: apply math.erf (exact to double precision) element by element. That is
# slower than a NumPy ufunc on large batches; approximate="tanh" is all NumPy.
_erf = np.vectorize(math.erf, otypes=[np.float64])


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
    # way (docs/engine.md, "Adding your own op"). Phi(x) = (1 + erf(x / sqrt 2)) / 2.
    data = x.data
    if type(data) is float:
        cdf = 0.5 * (1 + math.erf(data / math.sqrt(2)))
    else:
        cdf = (0.5 * (1 + _erf(data / math.sqrt(2)))).astype(data.dtype)  # float32 stays float32
    return operation(data * cdf, (x,), "GELU", _gelu_backward, saved=cdf)


def _gelu_backward(out: Value, grad: Any) -> tuple[Any]:
    """d/dx [x Phi(x)] = Phi(x) + x phi(x), with phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""
    (x,) = out.inputs
    cdf = out.saved
    pdf = np.exp(-0.5 * x.data * x.data) / math.sqrt(2 * math.pi)
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
