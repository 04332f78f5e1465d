"""RMSProp: divide each gradient by a running root-mean-square of its recent values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_flag, check_lr, check_number, chunks


class RMSProp(Optimizer):
    r"""RMSProp (PyTorch's form: eps outside the square root, optional centering and momentum).

    For t = 1, 2, ... with v_0 = 0, gbar_0 = 0, b_0 = 0:

        g_t    <- g_t + lambda * theta_{t-1}                     (if weight_decay != 0)
        v_t    <- alpha * v_{t-1} + (1 - alpha) * g_t^2
        gbar_t <- alpha * gbar_{t-1} + (1 - alpha) * g_t         (if centered)
        s_t    <- sqrt(v_t - gbar_t^2) + eps  if centered  else  sqrt(v_t) + eps
        b_t    <- mu * b_{t-1} + g_t / s_t                       (if momentum != 0)
        theta_t <- theta_{t-1} - lr * b_t     (or  - lr * g_t / s_t  without momentum)

    Arguments -> symbols: `lr` -> lr, `alpha` -> alpha (the post's beta), `eps` -> eps,
    `weight_decay` -> lambda (L2 added to the gradient), `momentum` -> mu,
    `centered` subtracts the running mean gbar, dividing by an estimate of the
    gradient's standard deviation rather than its root mean square.

    Source: Hinton, Srivastava & Swersky (2012), "Neural Networks for Machine
    Learning", lecture 6e (RMSProp was never published as a paper); centered
    form from Graves (2013), "Generating Sequences With Recurrent Neural Networks".

    Conventions: eps is added after the square root (PyTorch, Keras; optax's rmsprop
    and TensorFlow 1 add it inside); v starts at 0 (TensorFlow 1 started at 1); the
    momentum buffer accumulates the scaled gradient g/s and starts at 0. The post's
    RMSProp is this rule with centered=False, momentum=0.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["alpha"] = check_number("alpha", group["alpha"], 0.0, 1.0, high_inclusive=True)
        group["eps"] = check_number("epsilon (eps)", group["eps"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["momentum"] = check_number("momentum", group["momentum"])
        group["centered"] = check_flag("centered", group["centered"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        state = {"square_avg": np.zeros_like(theta)}
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(theta)
        if group["momentum"]:
            state["momentum_buffer"] = np.zeros_like(theta)
        return state

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        alpha, eps, weight_decay, mu = group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        arrays = (theta, grad, state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer"))
        pieces = chunks(*arrays)  # in cache-sized pieces
        for theta, g, v, gbar, b in pieces:
            if weight_decay:
                g = g + weight_decay * theta
            v[:] = alpha * v + (1 - alpha) * g**2
            if gbar is not None:  # centered
                gbar[:] = alpha * gbar + (1 - alpha) * g
                # v >= gbar^2 exactly; rounding must not make sqrt see -1e-20
                s = np.sqrt(np.maximum(v - gbar**2, 0)) + eps
            else:
                s = np.sqrt(v) + eps
            if b is not None:  # momentum
                b[:] = mu * b + g / s
                theta -= lr * b
            else:
                theta -= lr * (g / s)


RMSprop = RMSProp  # PyTorch's spelling
