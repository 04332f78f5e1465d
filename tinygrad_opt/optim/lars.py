"""LARS: momentum SGD whose step for each weight matrix is rescaled by a trust ratio."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_flag, check_lr, check_number


class LARS(Optimizer):
    r"""LARS: layer-wise adaptive rate scaling.

    For t = 1, 2, ... with b_0 = 0, for a parameter with two or more dimensions (a
    weight matrix, a convolution kernel):

        ratio_t <- eta * ||theta_{t-1}|| / (||g_t|| + lambda * ||theta_{t-1}||)
                   (1 if ||theta_{t-1}|| = 0 or the denominator is 0)
        u_t     <- ratio_t * (g_t + lambda * theta_{t-1})

    and for a vector or a scalar (biases, gains) u_t <- g_t: no ratio, no decay. Then

        b_t     <- mu * b_{t-1} + (1 - tau) * u_t
        d_t     <- u_t + mu * b_t  if nesterov  else  b_t      (if momentum != 0; else d_t = u_t)
        theta_t <- theta_{t-1} - lr * d_t

    Arguments -> symbols: `lr` -> lr (the global rate gamma), `momentum` -> mu,
    `weight_decay` -> lambda, `dampening` -> tau, `trust_coefficient` -> eta,
    `nesterov` uses the look-ahead direction d_t.

    Paper: You, Gitman & Ginsburg (2017), "Large Batch Training of Convolutional
    Networks", Algorithm 1. The ratio makes each layer move by about lr * eta times
    its own norm, whatever the size of its gradient, which keeps layers with small
    weights and large gradients stable at the huge learning rates of large batches.

    Conventions: the numbers of `pytorch_optimizer.LARS`. The momentum buffer starts
    at zero and is damped from the first step, b_1 = (1 - tau) u_1 (PyTorch's SGD
    starts it at g_1, undamped; with dampening 0 the two agree). The learning rate
    multiplies the buffer, not the gradient inside it (the paper puts lr * ratio
    inside the momentum). The trust ratio and the decay skip parameters with fewer
    than two dimensions, as most large-batch recipes do, so on scalars LARS is plain
    momentum SGD.
    """

    def __init__(self, params: Iterable[Any], lr: Any, momentum: float = 0.9, weight_decay: float = 0.0,
                 dampening: float = 0.0, trust_coefficient: float = 0.001, nesterov: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, dampening=dampening,
                        trust_coefficient=trust_coefficient, nesterov=nesterov)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["momentum"] = check_number("momentum", group["momentum"], 0.0, 1.0, high_inclusive=True)
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["dampening"] = check_number("dampening", group["dampening"], 0.0, 1.0, high_inclusive=True)
        group["trust_coefficient"] = check_number("trust_coefficient", group["trust_coefficient"])
        group["nesterov"] = check_flag("nesterov", group["nesterov"])
        if group["nesterov"] and group["momentum"] == 0:
            raise ValueError(f"Nesterov momentum needs momentum > 0, got momentum={group['momentum']!r}")

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"momentum_buffer": np.zeros_like(theta)} if group["momentum"] else {}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        mu, tau, weight_decay, eta = (group["momentum"], group["dampening"], group["weight_decay"],
                                      group["trust_coefficient"])
        u = grad  # vectors and scalars: u_t = g_t
        if theta.ndim > 1:  # a layer's weights: scale by the trust ratio
            theta_norm, grad_norm = float(np.linalg.norm(theta)), float(np.linalg.norm(grad))
            denominator = grad_norm + weight_decay * theta_norm
            ratio = eta * theta_norm / denominator if theta_norm > 0 and denominator > 0 else 1.0
            u = ratio * (grad + weight_decay * theta)
        d = u  # without momentum, d_t = u_t
        if mu:
            b = state["momentum_buffer"]
            b[...] = mu * b + (1 - tau) * u
            d = u + mu * b if group["nesterov"] else b
        theta -= lr * d
