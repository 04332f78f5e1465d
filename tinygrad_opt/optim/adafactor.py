"""Adafactor: RMSProp-like steps whose second moment of a matrix is kept as one row and one column."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_lr, check_number


def rms(x: np.ndarray) -> float:
    """Root mean square of all entries: ||x|| / sqrt(size)."""
    return float(np.linalg.norm(x)) / math.sqrt(x.size)


class Adafactor(Optimizer):
    r"""Adafactor: adaptive steps with a factored second moment, relative to each parameter's size.

    For t = 1, 2, ... with R_0 = C_0 = V_0 = 0, for each parameter (a whole tensor):

        beta2_t <- 1 - t^tau                      (0 at t = 1: the first estimate is g_1^2 itself)
        rho_t   <- min(lr, 1 / sqrt(t))
        alpha_t <- max(eps2, RMS(theta_{t-1})) * rho_t
        theta_{t-1} <- theta_{t-1} * (1 - lr * lambda)            (decoupled decay)

    For a matrix G_t (n x m; the last two axes of a larger tensor), only a row and a
    column of means are kept:

        R_t     <- beta2_t * R_{t-1} + (1 - beta2_t) * mean_over_columns(G_t^2)     (n x 1)
        C_t     <- beta2_t * C_{t-1} + (1 - beta2_t) * mean_over_rows(G_t^2)        (1 x m)
        V_hat_t <- R_t C_t / max(mean(R_t), eps1)                 (an n x m outer product)

    for a vector or a scalar V_hat_t <- V_t <- beta2_t * V_{t-1} + (1 - beta2_t) * g_t^2. Then

        U_t     <- g_t / sqrt(max(V_hat_t, eps1^2))
        theta_t <- theta_{t-1} - alpha_t * U_t / max(1, RMS(U_t) / d)

    Arguments -> symbols: `lr` -> lr (the cap on the relative step rho_t, and the
    decay's scale), `beta2_decay` -> tau, `eps` -> (eps1, eps2) with eps1 None meaning
    the machine epsilon of the parameter's dtype, `d` -> d (the clipping threshold),
    `weight_decay` -> lambda.

    Paper: Shazeer & Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear
    Memory Cost", Algorithms 4 and 5. An n x m matrix costs n + m numbers of state
    instead of Adam's 2nm; the step is relative to the parameter's own RMS, and the
    update is clipped when its RMS exceeds d.

    Conventions: PyTorch's `torch.optim.Adafactor`, its numbers. The paper has no
    lr: rho_t = min(0.01, 1 / sqrt(t)) (PyTorch's default lr is that 0.01), and it
    adds eps1 to G^2 inside R and C, where PyTorch (and this) floors the mean of R
    and V_hat at eps1 and eps1^2 instead. There is no first moment (the paper's
    beta1 = 0). Factoring needs a matrix: on scalars Adafactor is an RMSProp with a
    step of rho_t times the scalar's own size, which is why it stays out of the race.
    """

    batch_scalars = False  # RMS(theta) and RMS(U) are each parameter's own

    def __init__(self, params: Iterable[Any], lr: Any = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0) -> None:
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        beta2_decay = group["beta2_decay"]
        if isinstance(beta2_decay, bool) or not isinstance(beta2_decay, (int, float)):
            raise TypeError(f"beta2_decay must be a number, got {type(beta2_decay).__name__} {beta2_decay!r}")
        if not beta2_decay <= 0:
            raise ValueError(f"Invalid beta2_decay: {beta2_decay!r} (expected a number <= 0)")
        group["beta2_decay"] = float(beta2_decay)
        eps = group["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"Invalid eps: {eps!r} (expected a pair (eps1 or None, eps2))")
        eps1 = None if eps[0] is None else check_number("eps1 (eps[0])", eps[0])
        group["eps"] = (eps1, check_number("eps2 (eps[1])", eps[1]))
        group["d"] = check_number("clipping threshold d", group["d"], 1.0)
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        if theta.ndim > 1:  # factored: one mean per row, one per column of the last two axes
            return {"row_var": np.zeros(theta.shape[:-1] + (1,), theta.dtype),
                    "col_var": np.zeros(theta.shape[:-2] + (1, theta.shape[-1]), theta.dtype)}
        return {"variance": np.zeros_like(theta)}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        t, tau, d, weight_decay = group["step"], group["beta2_decay"], group["d"], group["weight_decay"]
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(theta.dtype).eps)
        beta2_t = 1 - t**tau
        rho_t = min(lr, 1 / math.sqrt(t))
        alpha_t = max(eps2, rms(theta)) * rho_t
        if weight_decay:
            theta *= 1 - lr * weight_decay
        g2 = grad * grad
        if theta.ndim > 1:
            R, C = state["row_var"], state["col_var"]  # noqa: N806 (the paper's names)
            R[...] = beta2_t * R + (1 - beta2_t) * g2.mean(axis=-1, keepdims=True)
            C[...] = beta2_t * C + (1 - beta2_t) * g2.mean(axis=-2, keepdims=True)
            v_hat = (R @ C) / np.maximum(R.mean(axis=-2, keepdims=True), eps1)
        else:
            v = state["variance"]
            v[...] = beta2_t * v + (1 - beta2_t) * g2
            v_hat = v
        u = grad / np.sqrt(np.maximum(v_hat, eps1 * eps1))
        theta -= alpha_t / max(1.0, rms(u) / d) * u
