"""Adagrad: per-parameter learning rates from the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_lr, check_number, chunks


class Adagrad(Optimizer):
    r"""Adagrad (PyTorch's form, with its learning-rate decay).

    For t = 1, 2, ... with G_0 = initial_accumulator_value:

        g_t     <- g_t + lambda * theta_{t-1}              (if weight_decay != 0)
        lr_t    <- lr / (1 + (t - 1) * eta)
        G_t     <- G_{t-1} + g_t^2
        theta_t <- theta_{t-1} - lr_t * g_t / (sqrt(G_t) + eps)

    Arguments -> symbols: `lr` -> lr, `lr_decay` -> eta, `weight_decay` -> lambda,
    `initial_accumulator_value` -> G_0, `eps` -> eps.

    Paper: Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online
    Learning and Stochastic Optimization" (the diagonal version).

    Conventions: eps is added after the square root with default 1e-10 (PyTorch);
    optax adds eps=1e-7 and starts G at 0.1. Unlike RMSProp, G never forgets, so
    the effective step shrinks like 1/sqrt(t) even on a constant gradient.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["lr_decay"] = check_number("lr_decay", group["lr_decay"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["initial_accumulator_value"] = check_number("initial_accumulator_value",
                                                          group["initial_accumulator_value"])
        group["eps"] = check_number("epsilon (eps)", group["eps"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"sum": np.full_like(theta, group["initial_accumulator_value"])}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        eps, weight_decay = group["eps"], group["weight_decay"]
        lr_t = lr / (1 + (group["step"] - 1) * group["lr_decay"])
        pieces = chunks(theta, grad, state["sum"])  # in cache-sized pieces
        for theta, g, G in pieces:
            if weight_decay:
                g = g + weight_decay * theta
            G += g**2
            theta -= lr_t * g / (np.sqrt(G) + eps)
