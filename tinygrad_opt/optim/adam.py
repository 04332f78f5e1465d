"""Adam and AdamW: momentum and RMSProp combined, with bias correction.

`update_moments` (Adam's two running averages) is shared by NAdam, RAdam and LAMB;
`adam_update` (one whole Adam step) by AdamW and Muon.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_flag, check_lr, check_number, chunks


def update_moments(m: np.ndarray, v: np.ndarray, g: np.ndarray, beta1: float, beta2: float) -> None:
    """Adam's first and second moments, updated in place:

        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2

    each written as a step towards its target, in place (PyTorch's `lerp_`): m moves the
    fraction (1 - beta1) of the way to g, the same average, since beta1 m + (1 - beta1) g =
    m + (1 - beta1)(g - m); v likewise towards g^2. Written so, a moment is updated where it
    lies, with no new array for it and no copy back.
    """
    m += (1 - beta1) * (g - m)
    v += (1 - beta2) * (g * g - v)


def adam_update(theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray], *, t: int, lr: float,
                betas: tuple[float, float], eps: float, weight_decay: float = 0.0, amsgrad: bool = False,
                bias_correction: bool = True) -> None:
    """One Adam step of `theta` in place, the equations of `Adam` (`weight_decay` is its L2 term).

    `state` holds `exp_avg` (m), `exp_avg_sq` (v) and, with amsgrad, `max_exp_avg_sq`
    (vmax); `t` is the 1-based number of this update.
    """
    beta1, beta2 = betas
    bias_correction1 = 1 - beta1**t if bias_correction else 1.0
    bias_correction2 = 1 - beta2**t if bias_correction else 1.0
    step_size, root_bias_correction2 = lr / bias_correction1, math.sqrt(bias_correction2)
    v_max_all = state["max_exp_avg_sq"] if amsgrad else None
    pieces = chunks(theta, grad, state["exp_avg"], state["exp_avg_sq"], v_max_all)  # in cache-sized pieces
    for theta, g, m, v, v_max in pieces:
        if weight_decay:
            g = g + weight_decay * theta  # L2, coupled: it passes through m and v
        update_moments(m, v, g, beta1, beta2)
        if amsgrad:
            v_max[:] = np.maximum(v_max, v)
            v = v_max
        # lr m_hat / (sqrt(v_hat) + eps), with the two corrections moved onto the scalars:
        # lr m_hat = step_size m, and sqrt(v_hat) = sqrt(v) / sqrt(1 - beta2^t)
        theta -= step_size * m / (np.sqrt(v) / root_bias_correction2 + eps)


class Adam(Optimizer):
    r"""Adam: adaptive moment estimation.

    For t = 1, 2, ... with m_0 = v_0 = 0:

        g_t     <- g_t + lambda * theta_{t-1}              (if weight_decay != 0: L2, coupled)
        m_t     <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t     <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        m_hat_t <- m_t / (1 - beta1^t)
        v_hat_t <- v_t / (1 - beta2^t)
                   (amsgrad: vmax_t <- max(vmax_{t-1}, v_t), v_hat_t <- vmax_t / (1 - beta2^t))
        theta_t <- theta_{t-1} - lr * m_hat_t / (sqrt(v_hat_t) + eps)

    Arguments -> symbols: `lr` -> lr (alpha in the paper), `betas` -> (beta1, beta2),
    `eps` -> eps, `weight_decay` -> lambda, `amsgrad` keeps the running maximum
    vmax. `bias_correction=False` drops the two divisions (m_hat = m, v_hat = v), a
    teaching switch. Both moments start too small, but v more so: with the default
    betas the first uncorrected step is (1 - beta1) / sqrt(1 - beta2) = 3.16 times
    lr, too *large* (the post says the uncorrected steps are "nearly frozen"; that
    holds only for beta2 <= 1 - (1 - beta1)^2, e.g. not for 0.999).

    Papers: Kingma & Ba (2015), "Adam: A Method for Stochastic Optimization";
    AMSGrad from Reddi, Kale & Kumar (2018), "On the Convergence of Adam and Beyond".

    Conventions: eps is added outside the square root of the bias-corrected v_hat
    (PyTorch, optax; the paper's Algorithm 1 too; its section 2 "efficient version"
    puts eps on the uncorrected sqrt(v), which differs slightly in early steps).
    AMSGrad takes the maximum of the raw v_t and then corrects it, as PyTorch does
    (Reddi et al. use no bias correction at all). `weight_decay` here is an L2
    penalty added to the gradient, which Adam then divides by sqrt(v_hat): for
    decoupled decay use `AdamW`.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 bias_correction: bool = True) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        bias_correction=bias_correction)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["betas"] = check_betas(group["betas"])
        group["eps"] = check_number("epsilon (eps)", group["eps"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["amsgrad"] = check_flag("amsgrad", group["amsgrad"])
        group["bias_correction"] = check_flag("bias_correction", group["bias_correction"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        state = {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(theta)
        return state

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        adam_update(theta, grad, state, t=group["step"], lr=lr, betas=group["betas"], eps=group["eps"],
                    weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
                    bias_correction=group["bias_correction"])


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay.

    For t = 1, 2, ...:

        theta_{t-1} <- theta_{t-1} * (1 - lr * lambda)      (decay first, on the old weights)
        then the Adam update of `Adam` with no L2 term:
        theta_t <- theta_{t-1} - lr * m_hat_t / (sqrt(v_hat_t) + eps)

    Arguments -> symbols: as `Adam`; `weight_decay` -> lambda (default 0.01).

    Paper: Loshchilov & Hutter (2019), "Decoupled Weight Decay Regularization",
    Algorithm 2. The decay never passes through m or v, so it is not divided by
    sqrt(v_hat) as Adam's L2 term is.

    Conventions: the decay is multiplied by the learning rate and applied to
    theta_{t-1} before the Adam step, as in PyTorch. The paper multiplies lambda
    by the schedule multiplier eta_t but not by alpha (`lr`); optax and PyTorch
    use lr * lambda. The post applies the decay *after* the Adam step
    (theta <- theta - lr * lambda * theta on the already updated weights); the two
    orders differ by a term of order lr^2 * lambda per step.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 bias_correction: bool = True) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         bias_correction=bias_correction)

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        if group["weight_decay"]:
            theta *= 1 - lr * group["weight_decay"]  # decoupled: theta <- theta (1 - lr lambda), first
        adam_update(theta, grad, state, t=group["step"], lr=lr, betas=group["betas"], eps=group["eps"],
                    amsgrad=group["amsgrad"], bias_correction=group["bias_correction"])
