"""Lion: the sign of an interpolated momentum, found by program search."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_lr, check_number, chunks


class Lion(Optimizer):
    r"""Lion: EvoLved Sign Momentum.

    For t = 1, 2, ... with m_0 = 0:

        c_t     <- beta1 * m_{t-1} + (1 - beta1) * g_t
        theta_t <- theta_{t-1} - lr * (sign(c_t) + lambda * theta_{t-1})
        m_t     <- beta2 * m_{t-1} + (1 - beta2) * g_t

    Arguments -> symbols: `lr` -> lr, `betas` -> (beta1, beta2), `weight_decay` -> lambda
    (decoupled, as in AdamW, and scaled by lr).

    Paper: Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms",
    Algorithm 2.

    Conventions: every coordinate moves by exactly lr (sign(0) = 0 leaves it), so
    the paper recommends an lr 3-10 times smaller than AdamW's and a lambda 3-10
    times larger. The update direction uses beta1, the stored momentum beta2 (the
    defaults 0.9, 0.99 are the paper's). The default weight_decay is 0 (as in
    lion-pytorch; optax's is 1e-3).
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["betas"] = check_betas(group["betas"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"exp_avg": np.zeros_like(theta)}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        (beta1, beta2), weight_decay = group["betas"], group["weight_decay"]
        if weight_decay:
            theta *= 1 - lr * weight_decay  # the lambda theta_{t-1} term, applied first
        pieces = chunks(theta, grad, state["exp_avg"])  # in cache-sized pieces
        for theta, g, m in pieces:
            c = beta1 * m + (1 - beta1) * g
            theta -= lr * np.sign(c)
            m[:] = beta2 * m + (1 - beta2) * g
