"""Prodigy: Adam whose step size d is learnt on the way, from how far the weights have travelled."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value
from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_lr, check_number

_Entry = tuple[Value, np.ndarray, np.ndarray, dict[str, np.ndarray]]  # p, theta, grad, state


class Prodigy(Optimizer):
    r"""Prodigy: an expert-free adaptive learning rate (D-Adaptation with Adam).

    One estimate d of the distance to the solution is shared by all parameters. For
    t = 1, 2, ... with d_1 = d0, r_0 = 0, m_0 = v_0 = s_0 = 0 and theta_0 the start:

        eta_t   <- lr * d_t                  (times sqrt(1 - beta2^t) / (1 - beta1^t)
                                              with use_bias_correction)
        m_t     <- beta1 * m_{t-1} + (1 - beta1) * d_t * g_t
        v_t     <- beta2 * v_{t-1} + (1 - beta2) * d_t^2 * g_t^2
        r_t     <- beta3 * r_{t-1} + (d_t / d0) * eta_t * <g_t, theta_0 - theta_{t-1}>
        s_t     <- beta3 * s_{t-1} + (d_t / d0) * eta_t * g_t
                                             (d_t in place of eta_t with safeguard_warmup)
        d_hat   <- d_coef * r_t / ||s_t||_1  (r and ||s||_1 summed over all parameters)
        d_max   <- max(d_max, d_hat)         (the largest estimate so far, from d0)
        d_{t+1} <- min(d_max, d_t * growth_rate)
                                             (never decreasing; the first move, from d0,
                                              goes to d_max uncapped)
        theta_t <- theta_{t-1} - lambda * eta_t * theta_{t-1}     (decoupled decay)
        theta_t <- theta_t - eta_t * m_t / (sqrt(v_t) + d_{t+1} * eps)

    With beta1 = 0 there is no m: the step is eta_t * d_{t+1} * g_t / (sqrt(v_t) + d_{t+1} * eps).

    Arguments -> symbols: `lr` -> lr (a multiplier on the learnt rate: leave it at
    1), `betas` -> (beta1, beta2), `beta3` -> beta3 (None means sqrt(beta2)), `eps`
    -> eps, `weight_decay` -> lambda (`decouple=False` adds lambda * theta to g instead),
    `d0` -> d0, `d_coef` -> d_coef, `growth_rate` caps how fast d may grow per step.

    Paper: Mishchenko & Defazio (2024), "Prodigy: An Expert-Free Adaptive Learning
    Rate Algorithm" (Algorithm 4, Adam version). On a convex problem r / ||s||_1 is a
    lower bound on the distance from theta_0 to the solution, so d grows quickly from a tiny d0 until
    the steps are about as large as the problem needs, with no learning rate to tune.

    Conventions: the numbers of the `prodigyopt` package. d_t (the old estimate) sets
    eta_t, the moments and the decay; the new d_{t+1} appears only in the eps term
    (and the beta1 = 0 step). The sums r and s use (d / d0) * eta_t rather than the
    paper's d * eta_t, a rescaling that cancels in r / ||s||_1 and keeps the numbers
    away from underflow. d, its maximum and r are global: every group holds the same
    copy, and d's hyperparameters (betas, beta3, d_coef, growth_rate,
    use_bias_correction) are read from the first group. All groups share one lr; a
    group with lr 0 is frozen (prodigyopt still decays it). A step whose gradients
    are all zero (or whose lr is 0) changes nothing, as in prodigyopt, but it is
    counted in `step`, which drives schedules and the bias correction; prodigyopt's own
    count skips it (its schedules are stepped from outside).
    """

    batch_scalars = False  # `step` below updates each scalar as a 0-d array of its own

    group_state = ("d", "d_max", "d_numerator")  # the shared estimate of d, saved in state dicts

    def __init__(self, params: Iterable[Any], lr: Any = 1.0, betas: tuple[float, float] = (0.9, 0.999),
                 beta3: float | None = None, eps: float = 1e-8, weight_decay: float = 0.0,
                 decouple: bool = True, use_bias_correction: bool = False, safeguard_warmup: bool = False,
                 d0: float = 1e-6, d_coef: float = 1.0, growth_rate: float = math.inf) -> None:
        defaults = dict(lr=lr, betas=betas, beta3=beta3, eps=eps, weight_decay=weight_decay,
                        decouple=decouple, use_bias_correction=use_bias_correction,
                        safeguard_warmup=safeguard_warmup, d0=d0, d_coef=d_coef, growth_rate=growth_rate)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        first = self.param_groups[0]  # the shared estimate so far
        group["d"] = first.get("d", group["d0"])
        group["d_max"] = first.get("d_max", group["d0"])
        group["d_numerator"] = first.get("d_numerator", 0.0)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["betas"] = check_betas(group["betas"])
        if group["beta3"] is not None:
            group["beta3"] = check_number("beta3", group["beta3"], 0.0, 1.0)
        group["eps"] = check_number("epsilon (eps)", group["eps"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        group["d0"] = check_number("d0", group["d0"])
        if group["d0"] == 0:
            raise ValueError("Invalid d0: 0.0 (expected > 0: the first estimate of the distance)")
        group["d_coef"] = check_number("d_coef", group["d_coef"])
        # inf (the default) means no cap on how fast d grows
        group["growth_rate"] = check_number("growth_rate", group["growth_rate"], 1.0, finite=False)

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        state = {"p0": theta.copy(), "s": np.zeros_like(theta), "exp_avg_sq": np.zeros_like(theta)}
        if group["betas"][0] > 0:
            state["exp_avg"] = np.zeros_like(theta)
        return state

    def _entries(self) -> list[tuple[dict[str, Any], list[_Entry]]]:
        """Each group with its parameters as arrays; a scalar's are 0-d copies, written back later."""
        groups = []
        for group in self.param_groups:
            entries = []
            for p in group["params"]:
                theta = np.array(p.data) if type(p.data) is float else p.data
                grad = np.asarray(p.grad, dtype=theta.dtype)
                entries.append((p, theta, grad, self._param_state(p, theta, group)))
            groups.append((group, entries))
        return groups

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter once from its `.grad`; return `closure()` if one is given."""
        loss = closure() if closure is not None else None
        first = self.param_groups[0]
        (beta1, beta2), d, d_max = first["betas"], first["d"], first["d_max"]
        beta3 = math.sqrt(beta2) if first["beta3"] is None else first["beta3"]
        lrs = self.lrs
        lr = max(lrs)
        if any(rate not in (lr, 0.0) for rate in lrs):
            raise ValueError(f"Prodigy needs one learning rate for all groups (0 freezes one), got {lrs}")
        self._check_gradients()  # all of them before pass 1 changes any state
        t = first["step"] + 1
        bias_correction = math.sqrt(1 - beta2**t) / (1 - beta1**t) if first["use_bias_correction"] else 1.0
        eta = lr * d * bias_correction
        groups = self._entries()

        # Pass 1: the moments, and the two sums of the distance estimate.
        d_numerator = beta3 * first["d_numerator"]
        d_denominator = 0.0
        for group, entries in groups:
            if self._lr_at(group) == 0:
                continue
            d0, decay = group["d0"], group["weight_decay"]
            for _, theta, grad, state in entries:
                g = grad + decay * theta if decay and not group["decouple"] else grad
                v, s, p0 = state["exp_avg_sq"], state["s"], state["p0"]
                d_numerator += (d / d0) * eta * float(np.vdot(g, p0 - theta))
                if beta1 > 0:
                    m = state["exp_avg"]
                    m[...] = beta1 * m + d * (1 - beta1) * g
                v[...] = beta2 * v + d * d * (1 - beta2) * g * g
                s_weight = d if group["safeguard_warmup"] else eta
                s[...] = beta3 * s + (d / d0) * s_weight * g
                d_denominator += float(np.abs(s).sum())
        if d_denominator == 0:  # no gradient anywhere yet (or lr 0): nothing to learn from, nothing moves
            for group, _ in groups:
                group["step"] += 1  # but the step counts, so a schedule that starts at 0 moves on
            return loss

        # The new estimate: d only grows, and at most by growth_rate a step (but not from d0).
        d_hat = first["d_coef"] * d_numerator / d_denominator
        if d == first["d0"]:
            d = max(d, d_hat)  # so that min(d_max, d * growth_rate) below is d_max
        d_max = max(d_max, d_hat)
        d = min(d_max, d * first["growth_rate"])

        # Pass 2: the Adam step with the learnt rate.
        for group, entries in groups:
            frozen = self._lr_at(group) == 0
            group.update(d=d, d_max=d_max, d_numerator=d_numerator, step=group["step"] + 1)
            if frozen:
                continue
            decay, eps = group["weight_decay"], group["eps"]
            for p, theta, grad, state in entries:
                denominator = np.sqrt(state["exp_avg_sq"]) + d * eps
                if decay and group["decouple"]:
                    theta -= decay * eta * theta
                if beta1 > 0:
                    theta -= eta * (state["exp_avg"] / denominator)
                else:
                    g = grad + decay * theta if decay and not group["decouple"] else grad
                    theta -= eta * d * g / denominator
                if type(p.data) is float:
                    p.data = float(theta)
        return loss
