"""RAdam: Adam with the variance of its adaptive learning rate rectified."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.adam import update_moments
from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_flag, check_lr, check_number, chunks


class RAdam(Optimizer):
    r"""RAdam: rectified Adam (PyTorch's form).

    For t = 1, 2, ... with m_0 = v_0 = 0 and rho_inf = 2 / (1 - beta2) - 1:

        g_t     <- g_t + lambda * theta_{t-1}        (weight_decay, L2; or, if decoupled,
                                                      theta_{t-1} <- theta_{t-1} (1 - lr lambda))
        m_t     <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        m_hat_t <- m_t / (1 - beta1^t)
        rho_t   <- rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            l_t <- sqrt(1 - beta2^t) / (sqrt(v_t) + eps)
            r_t <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            theta_t <- theta_{t-1} - lr * m_hat_t * r_t * l_t
        else:
            theta_t <- theta_{t-1} - lr * m_hat_t          (plain momentum while v is unreliable)

    Arguments -> symbols: `lr` -> lr, `betas` -> (beta1, beta2), `eps` -> eps,
    `weight_decay` -> lambda, `decoupled_weight_decay` applies it as AdamW does.

    Paper: Liu et al. (2020), "On the Variance of the Adaptive Learning Rate and Beyond".

    Conventions: the switch is at rho_t > 5 (PyTorch, optax's default threshold);
    the paper's Algorithm 2 uses rho_t > 4. eps is added to the uncorrected sqrt(v_t)
    (PyTorch); the paper has no eps. With beta2 = 0.999 the first 5 steps are SGD
    with momentum.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["betas"] = check_betas(group["betas"])
        group["eps"] = check_number("epsilon (eps)", group["eps"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["decoupled_weight_decay"] = check_flag("decoupled_weight_decay",
                                                     group["decoupled_weight_decay"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        (beta1, beta2), eps, t = group["betas"], group["eps"], group["step"]
        weight_decay = group["weight_decay"]
        bias_correction1, bias_correction2 = 1 - beta1**t, 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / bias_correction2
        r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) \
            if rho_t > 5 else None
        if weight_decay and group["decoupled_weight_decay"]:
            theta *= 1 - lr * weight_decay
            weight_decay = 0.0
        pieces = chunks(theta, grad, state["exp_avg"], state["exp_avg_sq"])  # in cache-sized pieces
        for theta, g, m, v in pieces:
            if weight_decay:
                g = g + weight_decay * theta
            update_moments(m, v, g, beta1, beta2)
            m_hat = m / bias_correction1
            if r_t is not None:  # rho_t > 5
                l_t = math.sqrt(bias_correction2) / (np.sqrt(v) + eps)
                theta -= lr * m_hat * r_t * l_t
            else:
                theta -= lr * m_hat
