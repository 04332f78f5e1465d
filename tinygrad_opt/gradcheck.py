"""`gradcheck`: does backward agree with central differences?

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

The finite-difference side never calls backward, so it is an independent check of
every local backward rule in the graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tinygrad_opt.engine import Value, no_grad


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when backward disagrees with central differences."""


def gradcheck(
    f: Callable[..., Value],
    *values: Value,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Compare `f(*values).backward()` with central differences, element by element.

    An element passes when |backward - numeric| <= atol + rtol * |numeric|. A
    non-scalar output is checked through sum(out * r) for a fixed random r, which
    tests the whole vector-Jacobian product. Returns True, or raises
    `GradcheckError` naming the worst element. Use float64 data: float32 differences
    are too coarse to compare.
    """
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"gradcheck takes Values, argument {i} is {type(v).__name__}")
    weights: list[np.ndarray] = []

    def scalar_output() -> Value:
        out = f(*values)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
        if out.size == 1:
            return out.sum() if out.ndim else out
        if not weights:
            weights.append(np.random.default_rng(0).standard_normal(out.shape))
        return (out * weights[0]).sum()

    for v in values:
        v.zero_grad()
    scalar_output().backward()
    analytic = [np.array(v.grad, dtype=np.float64).reshape(-1) for v in values]

    worst_excess, worst = 0.0, ""
    for i, v in enumerate(values):
        for j in range(v.size):
            numeric = _central_difference(scalar_output, v, j, eps)
            got = float(analytic[i][j])
            excess = abs(got - numeric) - (atol + rtol * abs(numeric))
            if not math.isfinite(excess):
                excess = math.inf  # a nan or an inf on either side is a mismatch
            if excess > worst_excess:
                where = f"input {i}" + (f" ({v.label!r})" if v.label else "")
                if v.ndim:
                    where += f" at index {tuple(int(k) for k in np.unravel_index(j, v.shape))}"
                worst_excess = excess
                worst = f"{where}: backward gives {got!r}, central differences {numeric!r}"
    if worst:
        raise GradcheckError(f"gradient mismatch for {worst}")
    return True


def _central_difference(output: Callable[[], Value], v: Value, j: int, eps: float) -> float:
    """(f(x + eps) - f(x - eps)) / 2eps, moving element j of v."""
    original = v.data
    results = []
    for step in (eps, -eps):
        if type(original) is float:
            v.data = original + step
        else:
            v.data = original.copy()
            v.data.reshape(-1)[j] += step
        with no_grad():
            results.append(output().item())
    v.data = original
    return (results[0] - results[1]) / (2 * eps)
