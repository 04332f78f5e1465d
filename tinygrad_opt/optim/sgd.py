"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_flag, check_lr, check_number, chunks


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's form of momentum).

    With gradient $g_t$ of the loss at $\theta_{t-1}$, for t = 1, 2, ...:

        g_t   <- g_t + lambda * theta_{t-1}                  (if weight_decay != 0)
        b_t   <- g_t                                           (t = 1)
        b_t   <- mu * b_{t-1} + (1 - tau) * g_t                (t > 1)
        d_t   <- g_t + mu * b_t  if nesterov  else  b_t        (if momentum != 0; else d_t = g_t)
        theta_t <- theta_{t-1} - lr * d_t

    Arguments -> symbols: `lr` -> lr, `momentum` -> mu, `dampening` -> tau,
    `weight_decay` -> lambda (L2 penalty added to the gradient), `nesterov` uses the
    look-ahead direction d_t.

    Papers: Robbins & Monro (1951), "A Stochastic Approximation Method"; momentum
    from Polyak (1964); Nesterov momentum in the form of Sutskever et al. (2013),
    "On the importance of initialization and momentum in deep learning".

    Conventions (they differ between libraries): the first momentum buffer is the
    gradient itself, undamped (PyTorch); Sutskever et al. and optax start from
    b_0 = 0 and scale the step as v <- mu v - lr g. The learning rate multiplies
    the buffer, not the gradient inside it, so changing lr mid-run does not
    rescale the accumulated velocity. The post's "SGD with momentum" is this rule
    with dampening 0.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["momentum"] = check_number("momentum", group["momentum"])
        group["dampening"] = check_number("dampening", group["dampening"], 0.0, 1.0, high_inclusive=True)
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["nesterov"] = check_flag("nesterov", group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"Nesterov momentum needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"momentum_buffer": np.zeros_like(theta)} if group["momentum"] else {}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        mu, tau, weight_decay = group["momentum"], group["dampening"], group["weight_decay"]
        first_step = group["step"] == 1
        pieces = chunks(theta, grad, state.get("momentum_buffer"))  # in cache-sized pieces
        for theta, g, b in pieces:
            if weight_decay:
                g = g + weight_decay * theta
            if b is None:  # no momentum
                theta -= lr * g
                continue
            if first_step:
                b[:] = g  # b_1 = g_1, undamped: PyTorch's first buffer
            else:  # b <- mu b + (1 - tau) g, in place: scaled, then added to (PyTorch's order)
                b *= mu
                b += (1 - tau) * g
            d = g + mu * b if group["nesterov"] else b
            theta -= lr * d
