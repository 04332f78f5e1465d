"""RMSProp: divide each gradient by a running root-mean-square of its recent values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_lr, check_number


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
        centered = group["centered"]
        arrays = [theta, grad, state["square_avg"]]
        if centered:
            arrays.append(state["grad_avg"])
        if mu:
            arrays.append(state["momentum_buffer"])
        for pieces in self.chunks(*arrays, scratch=2):
            theta_, g, v = pieces[:3]
            g_decayed, s = pieces[-2:]
            if weight_decay:
                g = np.add(g, np.multiply(theta_, weight_decay, out=g_decayed), out=g_decayed)
            v *= alpha
            np.multiply(g, g, out=s)
            s *= 1 - alpha
            v += s  # v = alpha v + (1 - alpha) g^2
            if centered:
                g_avg = pieces[3]
                g_avg *= alpha
                g_avg += np.multiply(g, 1 - alpha, out=s)
                np.multiply(g_avg, g_avg, out=s)
                np.subtract(v, s, out=s)
                np.maximum(s, 0, out=s)  # v >= gbar^2 exactly; rounding must not make sqrt see -1e-20
                np.sqrt(s, out=s)
            else:
                np.sqrt(v, out=s)
            s += eps
            np.divide(g, s, out=s)  # g / s
            if mu:
                b = pieces[-3]
                b *= mu
                b += s
                np.multiply(b, lr, out=s)
            else:
                s *= lr
            theta_ -= s


RMSprop = RMSProp  # PyTorch's spelling
