"""Muon: momentum orthogonalised by Newton-Schulz iterations for matrices, AdamW for the rest."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_opt.optim.adam import adam_update
from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_flag, check_lr, check_number, rate_at

NS_COEFFICIENTS = (3.4445, -4.775, 2.0315)  # Keller Jordan's quintic, also PyTorch's default


def newton_schulz(matrix: np.ndarray, steps: int = 5,
                  coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                  eps: float = 1e-7) -> np.ndarray:
    """Approximately orthogonalise `matrix` (G = U S V^T  ->  about U V^T) with the quintic iteration

        X <- G / max(||G||_F, eps);   repeat `steps` times:  A = X X^T,  X <- a X + (b A + c A A) X

    The coefficients (a, b, c) push every singular value quickly towards 1 (to
    within roughly 0.7-1.2, which is all Muon needs), not exactly to 1. A wide
    matrix is iterated as is, a tall one transposed, so A is the smaller Gram matrix.
    """
    a, b, c = coefficients
    tall = matrix.shape[0] > matrix.shape[1]
    x = matrix.T if tall else matrix
    x = x / max(float(np.linalg.norm(x)), eps)  # spectral norm <= Frobenius norm <= 1
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


class Muon(Optimizer):
    r"""Muon: MomentUm Orthogonalized by Newton-Schulz, for 2-D weight matrices.

    For a matrix parameter, t = 1, 2, ... with B_0 = 0:

        B_t     <- mu * B_{t-1} + (1 - mu) * G_t
        U_t     <- (1 - mu) * G_t + mu * B_t  if nesterov  else  B_t
        O_t     <- NewtonSchulz(U_t)                        (about U V^T for U_t = U S V^T)
        theta_t <- theta_{t-1} * (1 - lr * lambda) - lr * s * O_t,   s = sqrt(max(1, rows / cols))

    Every other parameter (biases, gains, scalars) takes an AdamW step (the shared
    `adam.adam_update` after decoupled decay) with `adamw_lr`, `adamw_betas`,
    `adamw_eps`, `adamw_weight_decay`.

    Arguments -> symbols: `lr` -> lr, `momentum` -> mu, `weight_decay` -> lambda
    (decoupled), `ns_coefficients` -> (a, b, c), `ns_steps` -> the iteration count,
    `eps` guards the normalisation, `adjust_lr_fn` -> s: None or "original" as above,
    "match_rms_adamw" s = 0.2 * sqrt(max(rows, cols)) (Moonshot's scaling, so AdamW's
    lr and weight decay carry over).

    Sources: Jordan et al. (2024), "Muon: An optimizer for hidden layers in neural
    networks" (blog post and code); Liu et al. (2025), "Muon is Scalable for LLM
    Training" for "match_rms_adamw".

    Conventions: PyTorch's torch.optim.Muon (EMA momentum, its coefficients and
    defaults) but the iteration runs in the parameter's own precision, not
    bfloat16, so results differ from PyTorch's by about 1%; PyTorch's Muon
    refuses non-matrix parameters instead of handing them to AdamW. Keller Jordan's
    first version used B <- mu B + G (no 1 - mu), which only rescales B, and the
    orthogonalisation removes the scale.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
                 eps: float = 1e-7, ns_steps: int = 5, adjust_lr_fn: str | None = None, adamw_lr: Any = 1e-3,
                 adamw_betas: tuple[float, float] = (0.9, 0.999), adamw_eps: float = 1e-8,
                 adamw_weight_decay: float = 0.01) -> None:
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn,
                        adamw_lr=adamw_lr, adamw_betas=adamw_betas, adamw_eps=adamw_eps,
                        adamw_weight_decay=adamw_weight_decay)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["momentum"] = check_number("momentum", group["momentum"], 0.0, 1.0)
        group["nesterov"] = check_flag("nesterov", group["nesterov"])
        group["eps"] = check_number("epsilon (eps)", group["eps"])
        steps = group["ns_steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or not 0 < steps < 100:
            raise ValueError(f"Invalid ns_steps: {steps!r} (expected a whole number from 1 to 99)")
        coefficients = group["ns_coefficients"]
        if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
            raise ValueError(f"Invalid ns_coefficients: {coefficients!r} (expected three numbers (a, b, c))")
        group["ns_coefficients"] = tuple(check_number(f"ns_coefficients[{i}]", c, -math.inf)
                                         for i, c in enumerate(coefficients))
        if group["adjust_lr_fn"] not in (None, "original", "match_rms_adamw"):
            raise ValueError(f"Invalid adjust_lr_fn: {group['adjust_lr_fn']!r} "
                             "(expected None, 'original' or 'match_rms_adamw')")
        group["adamw_lr"] = check_lr(group["adamw_lr"], "adamw_lr")
        group["adamw_betas"] = check_betas(group["adamw_betas"])
        group["adamw_eps"] = check_number("adamw_eps", group["adamw_eps"])
        group["adamw_weight_decay"] = check_number("adamw_weight_decay", group["adamw_weight_decay"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """As `Optimizer.step`; a schedule given as `adamw_lr` is checked before anything changes."""
        for group in self.param_groups:
            rate_at(group["adamw_lr"], group["step"], "adamw_lr")
        return super().step(closure)

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        if theta.ndim == 2:
            return {"momentum_buffer": np.zeros_like(theta)}
        return {"exp_avg": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}  # AdamW's m and v

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        if theta.ndim != 2:  # AdamW: decoupled decay, then Adam's step
            adamw_lr = rate_at(group["adamw_lr"], group["step"] - 1, "adamw_lr")  # the step's count before it
            theta *= 1 - adamw_lr * group["adamw_weight_decay"]
            adam_update(theta, grad, state, t=group["step"], lr=adamw_lr, betas=group["adamw_betas"],
                        eps=group["adamw_eps"])
            return
        mu, B = group["momentum"], state["momentum_buffer"]
        B[:] = mu * B + (1 - mu) * grad
        U = (1 - mu) * grad + mu * B if group["nesterov"] else B
        O_t = newton_schulz(U, group["ns_steps"], group["ns_coefficients"], group["eps"])
        rows, cols = theta.shape
        if group["adjust_lr_fn"] == "match_rms_adamw":
            s = 0.2 * math.sqrt(max(rows, cols))
        else:
            s = math.sqrt(max(1.0, rows / cols))
        theta[:] = theta * (1 - lr * group["weight_decay"]) - lr * s * O_t
