"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.adam import update_moments
from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_flag, check_lr, check_number, chunks


class NAdam(Optimizer):
    r"""NAdam: Adam whose first moment looks one step ahead (Nesterov), PyTorch's form.

    For t = 1, 2, ... with m_0 = v_0 = 0 and the momentum schedule
    mu_t = beta1 * (1 - 0.5 * 0.96^(t * psi)):

        g_t     <- g_t + lambda * theta_{t-1}        (weight_decay, L2; or, if decoupled,
                                                      theta_{t-1} <- theta_{t-1} (1 - lr lambda))
        m_t     <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        v_hat_t <- v_t / (1 - beta2^t)
        theta_t <- theta_{t-1} - lr * [ (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g_t
                                      + mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m_t ] / (sqrt(v_hat_t) + eps)

    Arguments -> symbols: `lr` -> lr, `betas` -> (beta1, beta2), `eps` -> eps,
    `weight_decay` -> lambda, `momentum_decay` -> psi, `decoupled_weight_decay`
    applies lambda as AdamW does.

    Paper: Dozat (2016), "Incorporating Nesterov Momentum into Adam"; the warming
    momentum schedule mu_t is from the paper and PyTorch.

    Conventions: PyTorch's: the running product prod mu_i is kept in the state as
    `mu_product`. optax's nadam has no momentum schedule (mu = beta1) and uses
    Adam's bias corrections, so its numbers differ from these.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["betas"] = check_betas(group["betas"])
        group["eps"] = check_number("epsilon (eps)", group["eps"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["momentum_decay"] = check_number("momentum_decay", group["momentum_decay"])
        group["decoupled_weight_decay"] = check_flag("decoupled_weight_decay",
                                                     group["decoupled_weight_decay"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta),
                "mu_product": np.ones(())}  # one number per parameter, kept in float64

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        (beta1, beta2), eps, t = group["betas"], group["eps"], group["step"]
        weight_decay, psi = group["weight_decay"], group["momentum_decay"]
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = float(state["mu_product"]) * mu  # prod_{i<=t} mu_i
        state["mu_product"][...] = mu_product
        grad_coefficient = (1 - mu) / (1 - mu_product)
        momentum_coefficient = mu_next / (1 - mu_product * mu_next)
        bias_correction2 = 1 - beta2**t
        if weight_decay and group["decoupled_weight_decay"]:
            theta *= 1 - lr * weight_decay
            weight_decay = 0.0
        pieces = chunks(theta, grad, state["exp_avg"], state["exp_avg_sq"])  # in cache-sized pieces
        for theta, g, m, v in pieces:
            if weight_decay:
                g = g + weight_decay * theta
            update_moments(m, v, g, beta1, beta2)
            v_hat = v / bias_correction2
            theta -= lr * (grad_coefficient * g + momentum_coefficient * m) / (np.sqrt(v_hat) + eps)
