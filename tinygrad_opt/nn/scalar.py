"""micrograd's `nn`, on this engine: a network of scalar Values, one neuron at a time.

Code written for micrograd runs by changing its imports::

    from tinygrad_opt import Value          # was: from micrograd.engine import Value
    from tinygrad_opt.nn.scalar import MLP  # was: from micrograd.nn import MLP

The signatures, the initialisation (weights from `random.uniform(-1, 1)` with Python's
`random` module, biases 0), the parameter order (each neuron's weights then its bias, neuron by
neuron, layer by layer) and the reprs are micrograd's, so the same `random.seed` gives the same
network. These classes are also `Module`s, so `state_dict`, `save` and `load` work on them.

Every multiplication and addition is its own graph node: slow, but each one can be drawn.
For real training use the batched layers (`tinygrad_opt.nn.MLP`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from tinygrad_opt.engine import Value, check_count
from tinygrad_opt.nn.module import Module


class Neuron(Module):
    """act = b + sum_i w_i * x_i, followed by ReLU when `nonlin` (the output neuron is linear)."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        check_count(nin, "nin")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def forward(self, x: Sequence[Any]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        act = self.b  # start from the bias, then add w_i * x_i in order (micrograd's order)
        for wi, xi in zip(self.w, x, strict=True):
            act = act + wi * xi
        return act.relu() if self.nonlin else act

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons reading the same inputs; a single output is returned bare, not in a list."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        check_count(nout, "nout")
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def forward(self, x: Sequence[Any]) -> Value | list[Value]:
        out = [neuron(x) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(neuron) for neuron in self.neurons)}]"


class MLP(Module):
    """Layers of sizes `nouts`: ReLU neurons everywhere except the last layer, which is linear."""

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != last) for i in range(len(nouts))]

    def forward(self, x: Sequence[Any]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
