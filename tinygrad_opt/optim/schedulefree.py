"""Schedule-free SGD and AdamW: no learning-rate schedule, an average of the iterates instead."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value
from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_lr, check_number


class ScheduleFree(Optimizer):
    r"""What the schedule-free optimizers share: three sequences z, x, y and the averaging weights.

    For t = 1, 2, ... with z_0 = x_0 = y_0 = theta_0, and d_t the method's step
    direction at y_{t-1} (the gradient for SGD, Adam's normalised gradient for AdamW):

        lr_t  <- lr * min(1, t / warmup_steps)                  (lr_t = lr without warmup)
        w_t   <- t^r * (max_{i<=t} lr_i)^p,   c_t <- w_t / (w_1 + ... + w_t)
        z_t   <- z_{t-1} - lr_t * d_t                            (the base method's iterate)
        x_t   <- (1 - c_t) * x_{t-1} + c_t * z_t                 (a weighted average of the z's)
        y_t   <- (1 - beta) * z_t + beta * x_t                   (where the next gradient is taken)

    With r = 0 and a constant lr, c_t = 1/t and x_t is the plain mean of z_1 .. z_t.
    The parameter holds y in train mode and x in eval mode: call `train()` before
    training steps and `eval()` before evaluating or saving the model.
    """

    group_state = ("lr_max", "weight_sum", "train_mode")  # saved in state dicts with the hyperparameters

    def _interpolation(self, group: dict[str, Any]) -> float:
        """beta of y_t = (1 - beta) z_t + beta x_t: `momentum` for SGD, betas[0] for AdamW."""
        raise NotImplementedError

    def _direction(self, y: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                   group: dict[str, Any]) -> np.ndarray:
        """d_t, the base method's direction at the training point y (weight decay included)."""
        raise NotImplementedError

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])
        warmup = group["warmup_steps"]
        if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) or warmup < 0:
            raise ValueError(f"Invalid warmup_steps: {warmup!r} (expected a whole number >= 0)")
        group["r"] = check_number("r (polynomial weighting power)", group["r"])
        group["weight_lr_power"] = check_number("weight_lr_power", group["weight_lr_power"])
        # Running values of the average, kept in the group so that state_dict() saves them.
        group.setdefault("lr_max", 0.0)  # the largest lr_t so far
        group.setdefault("weight_sum", 0.0)  # w_1 + ... + w_t
        group.setdefault("train_mode", True)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        self.param_groups[-1]["train_mode"] = self.param_groups[0]["train_mode"]  # one mode for all

    def _lr_at(self, group: dict[str, Any]) -> float:
        """lr_t of the group's next step: the learning rate (or schedule) times the warmup."""
        lr = Optimizer._lr_at(group)
        warmup, t = group["warmup_steps"], group["step"] + 1
        return lr * (t / warmup) if t < warmup else lr

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One step from the gradients at y (train mode only); returns `closure()` if given."""
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError(f"{type(self).__name__}.step() called in eval mode, where the parameters "
                               "hold the average x: call optimizer.train() before training steps")
        loss = closure() if closure is not None else None
        self._check_gradients()  # before the weights below change
        for group in self.param_groups:  # the weight w_t of this step, once per group
            t = group["step"] + 1
            group["lr_max"] = max(group["lr_max"], self._lr_at(group))
            group["weight_sum"] += t ** group["r"] * group["lr_max"] ** group["weight_lr_power"]
        super().step()
        return loss

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"z": np.zeros_like(theta), "x": np.zeros_like(theta)}

    def _update(self, y: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        t, z, x = group["step"], state["z"], state["x"]
        if t == 1:  # z_0 = x_0 = y_0: the starting point (state is made before theta is known)
            z[...] = y
            x[...] = y
        weight = t ** group["r"] * group["lr_max"] ** group["weight_lr_power"]
        c = weight / group["weight_sum"] if group["weight_sum"] > 0 else 0.0  # 0 while lr is 0
        beta = self._interpolation(group)
        d = self._direction(y, grad, state, group)
        z[...] = z - lr * d
        x[...] = (1 - c) * x + c * z
        y[...] = (1 - beta) * z + beta * x

    # ------------------------------------------------------------ train / eval
    def train(self) -> None:
        """Put y in the parameters (y = (1 - beta) z + beta x), to take training steps."""
        for group in self.param_groups:
            if not group["train_mode"]:
                beta = self._interpolation(group)
                for p in group["params"]:
                    if p in self.state:
                        state = self.state[p]
                        _assign(p, (1 - beta) * state["z"] + beta * state["x"])
            group["train_mode"] = True

    def eval(self) -> None:
        """Put the average x in the parameters, to evaluate (or save) the model."""
        for group in self.param_groups:
            if group["train_mode"]:
                for p in group["params"]:
                    if p in self.state:
                        _assign(p, self.state[p]["x"])
            group["train_mode"] = False


def _assign(p: Value, value: np.ndarray) -> None:
    """Write `value` into the parameter: in place for a tensor, a new float for a scalar."""
    if type(p.data) is float:
        p.data = float(value)
    else:
        p.data[...] = value


class ScheduleFreeSGD(ScheduleFree):
    r"""Schedule-free SGD: SGD on z, gradients taken at y, the answer is the average x.

    For t = 1, 2, ... with z_0 = x_0 = y_0 = theta_0 (see `ScheduleFree` for lr_t and c_t):

        g_t <- grad f(y_{t-1}) + lambda * y_{t-1}
        z_t <- z_{t-1} - lr_t * g_t
        x_t <- (1 - c_t) * x_{t-1} + c_t * z_t
        y_t <- (1 - beta) * z_t + beta * x_t

    Arguments -> symbols: `lr` -> lr (gamma in the paper), `momentum` -> beta,
    `weight_decay` -> lambda (an L2 term added to the gradient at y), `warmup_steps`
    -> the linear warmup of lr_t, `r` -> r and `weight_lr_power` -> p of the
    averaging weights w_t = t^r * max(lr_1..lr_t)^p.

    Paper: Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky (2024), "The Road Less
    Scheduled" (beta = 0 gives Polyak-Ruppert averaging, gradients at z; beta = 1
    primal averaging, gradients at the average x).

    Conventions: the numbers of the `schedulefree` package's SGDScheduleFree. It
    keeps y and z and updates y in place by an identity equal to the three lines
    above; here x is kept too, so `eval()` copies x instead of solving
    y = (1 - beta) z + beta x for it, which divides by beta: momentum = 0 therefore
    works here (the package refuses it). The package starts in eval mode and needs
    `train()` before the first step; here a new optimizer is in train mode (before
    any step x = y, so the mode makes no difference to the numbers). An lr schedule
    may be given as `lr`, multiplied by the warmup, as everywhere in `optim`.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1.0, momentum: float = 0.9,
                 weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0) -> None:
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, warmup_steps=warmup_steps,
                        r=r, weight_lr_power=weight_lr_power)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        group["momentum"] = check_number("momentum", group["momentum"], 0.0, 1.0)

    def _interpolation(self, group: dict[str, Any]) -> float:
        return group["momentum"]

    def _direction(self, y: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                   group: dict[str, Any]) -> np.ndarray:
        return grad + group["weight_decay"] * y  # g_t + lambda y_{t-1}


class ScheduleFreeAdamW(ScheduleFree):
    r"""Schedule-free AdamW: the schedule-free average around Adam's normalised gradient.

    For t = 1, 2, ... with z_0 = x_0 = y_0 = theta_0, v_0 = 0 (see `ScheduleFree` for
    lr_t and c_t):

        g_t     <- grad f(y_{t-1})
        v_t     <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        v_hat_t <- v_t / (1 - beta2^t)
        d_t     <- g_t / (sqrt(v_hat_t) + eps) + lambda * y_{t-1}
        z_t     <- z_{t-1} - lr_t * d_t
        x_t     <- (1 - c_t) * x_{t-1} + c_t * z_t
        y_t     <- (1 - beta1) * z_t + beta1 * x_t

    Arguments -> symbols: `lr` -> lr (gamma), `betas` -> (beta1, beta2), `eps` -> eps,
    `weight_decay` -> lambda (taken at y, after the normalisation, so not divided by
    sqrt(v_hat): decoupled as in AdamW), `warmup_steps`, `r` and `weight_lr_power` as
    in `ScheduleFreeSGD`. There is no first moment m: beta1 is the interpolation
    between z and x that plays momentum's part.

    Paper: Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky (2024), "The Road Less
    Scheduled", with the Adam direction; the entry that won the self-tuning track of
    the AlgoPerf benchmark.

    Conventions: the numbers of the `schedulefree` package's AdamWScheduleFree
    (version 1.4: v_hat bias-corrected inside the square root, lr not corrected; the
    paper's experiments used lr_t * sqrt(1 - beta2^t) with v uncorrected, a form the
    package keeps as AdamWScheduleFreePaper). As for `ScheduleFreeSGD`: x is kept,
    so beta1 = 0 works, and a new optimizer starts in train mode.
    """

    def __init__(self, params: Iterable[Any], lr: Any = 0.0025, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, warmup_steps: int = 0, r: float = 0.0,
                 weight_lr_power: float = 2.0) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, warmup_steps=warmup_steps,
                        r=r, weight_lr_power=weight_lr_power)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        group["betas"] = check_betas(group["betas"])
        group["eps"] = check_number("epsilon (eps)", group["eps"])

    def _interpolation(self, group: dict[str, Any]) -> float:
        return group["betas"][0]

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {**super()._init_state(theta, group), "exp_avg_sq": np.zeros_like(theta)}

    def _direction(self, y: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                   group: dict[str, Any]) -> np.ndarray:
        (_, beta2), eps, t, v = group["betas"], group["eps"], group["step"], state["exp_avg_sq"]
        v[...] = beta2 * v + (1 - beta2) * grad**2
        v_hat = v / (1 - beta2**t)
        return grad / (np.sqrt(v_hat) + eps) + group["weight_decay"] * y
