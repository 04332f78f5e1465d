"""Gradient clipping: shrink gradients before the optimizer step so one bad batch
cannot throw the parameters far away."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from tinygrad_opt.engine import Value
from tinygrad_opt.optim.optimizer import check_number


def _as_list(params: Value | Iterable[Value]) -> list[Value]:
    params = [params] if isinstance(params, Value) else list(params)
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"clipping needs Values, got {type(p).__name__}")
    return params


def clip_grad_norm(params: Value | Iterable[Value], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> float:
    r"""Scale all gradients together so their joint norm is at most `max_norm`; return the norm before.

        n    <- || (g_1, g_2, ...) ||_p        (all gradients as one vector; p = norm_type)
        g_i  <- g_i * min(1, max_norm / (n + 1e-6))

    The direction of the full gradient is kept, only its length shrinks. This is
    PyTorch's `clip_grad_norm_` formula, including the 1e-6 that keeps the scale
    finite when every gradient is zero (so a norm just above max_norm comes out a
    hair below it). `norm_type` may be `math.inf` (the largest |g|). With
    `error_if_nonfinite`, a nan or infinite norm raises instead of spreading nan
    into every gradient.
    """
    params = _as_list(params)
    max_norm = check_number("max_norm", max_norm, finite=False)  # inf: never clip
    norm_type = check_number("norm_type", norm_type, 0.0, finite=False)  # inf: the largest |g|
    if norm_type == 0:
        raise ValueError("Invalid norm_type: 0.0 (expected > 0, or math.inf)")
    grads = [np.asarray(p.grad) for p in params]
    if norm_type == math.inf:
        total = max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)
    else:
        total = sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads) ** (1 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise ValueError(f"the total norm of the gradients is {total}: clipping would make them nan")
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in params:
            if type(p.grad) is float:
                p.grad = p.grad * scale
            else:
                p.grad *= scale  # in place
    return total


def clip_grad_value(params: Value | Iterable[Value], clip_value: float) -> None:
    r"""Clip every gradient element into [-clip_value, clip_value] (in place for tensors).

        g <- min(max(g, -c), c)       (c = clip_value)

    Unlike `clip_grad_norm` this changes the gradient's direction. The post's race
    clips this way (np.clip(grad, -10, 10)).
    """
    params = _as_list(params)
    clip_value = check_number("clip_value", clip_value)
    for p in params:
        if type(p.grad) is float:
            p.grad = min(max(p.grad, -clip_value), clip_value)
        else:
            np.clip(p.grad, -clip_value, clip_value, out=p.grad)
