"""LAMB: Adam's direction, rescaled per parameter by a trust ratio for large batches."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.adam import update_moments
from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_flag, check_lr, check_number, chunks


class LAMB(Optimizer):
    r"""LAMB: layer-wise adaptive moments.

    For t = 1, 2, ... with m_0 = v_0 = 0, for each parameter (a whole tensor):

        m_t     <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        m_hat_t <- m_t / (1 - beta1^t),   v_hat_t <- v_t / (1 - beta2^t)
        r_t     <- m_hat_t / (sqrt(v_hat_t) + eps) + lambda * theta_{t-1}
        ratio_t <- ||theta_{t-1}|| / ||r_t||         (1 if either norm is 0)
        theta_t <- theta_{t-1} - lr * ratio_t * r_t

    Arguments -> symbols: `lr` -> lr (eta), `betas` -> (beta1, beta2), `eps` -> eps,
    `weight_decay` -> lambda (decoupled: inside r, not in the moments),
    `bias_correction=False` uses m and v uncorrected (as NVIDIA's and some BERT code do).

    Paper: You et al. (2020), "Large Batch Optimization for Deep Learning: Training
    BERT in 76 minutes", Algorithm 2, with the scaling function phi the identity.

    Conventions: the norms are over each parameter tensor, so each layer moves by
    about lr times its own size; a scalar parameter's "layer" is itself, so its step
    is lr * |theta| * sign(r). Implementations differ in clipping phi (e.g. to
    [0, 10]) and in whether r includes the decay; this follows the paper and optax
    (no clipping, decay inside r). PyTorch has no LAMB.
    """

    batch_scalars = False  # the trust ratio needs each parameter's own norm

    def __init__(self, params: Iterable[Any], lr: Any = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-6, weight_decay: float = 0.0, bias_correction: bool = True) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        bias_correction=bias_correction)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["betas"] = check_betas(group["betas"])
        group["eps"] = check_number("epsilon (eps)", group["eps"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["bias_correction"] = check_flag("bias_correction", group["bias_correction"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        (beta1, beta2), eps, t = group["betas"], group["eps"], group["step"]
        weight_decay = group["weight_decay"]
        bias_correction1 = 1 - beta1**t if group["bias_correction"] else 1.0
        bias_correction2 = 1 - beta2**t if group["bias_correction"] else 1.0

        def direction(theta: np.ndarray, m: np.ndarray, v: np.ndarray) -> np.ndarray:
            m_hat = m / bias_correction1
            v_hat = v / bias_correction2
            return m_hat / (np.sqrt(v_hat) + eps) + weight_decay * theta

        m_all, v_all = state["exp_avg"], state["exp_avg_sq"]
        # Pass 1: the moments, and ||theta|| and ||r|| piece by piece.
        theta_norm_sq = r_norm_sq = 0.0
        for theta_piece, g, m, v in chunks(theta, grad, m_all, v_all):
            update_moments(m, v, g, beta1, beta2)
            r = direction(theta_piece, m, v)
            theta_norm_sq += float(np.vdot(theta_piece, theta_piece))
            r_norm_sq += float(np.vdot(r, r))
        theta_norm, r_norm = math.sqrt(theta_norm_sq), math.sqrt(r_norm_sq)
        ratio = theta_norm / r_norm if theta_norm > 0 and r_norm > 0 else 1.0
        # Pass 2: r again from the new moments (cheaper than keeping a parameter-sized copy).
        pieces = chunks(theta, m_all, v_all)  # in cache-sized pieces
        for theta, m, v in pieces:
            theta -= lr * ratio * direction(theta, m, v)
