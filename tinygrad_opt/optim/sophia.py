"""SophiaG: momentum divided by a cheap diagonal Hessian estimate, each coordinate's step clipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value
from tinygrad_opt.optim.optimizer import Optimizer, check_betas, check_lr, check_number


def sample_labels(logits: Value | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels drawn from the model's own prediction: y_hat ~ softmax(logits) along the last axis.

    The Gauss-Newton-Bartlett estimator of Sophia-G: the gradient of the loss on these
    labels (not the true ones), squared, estimates the diagonal of the Gauss-Newton
    matrix. Returns integer labels of shape `logits.shape[:-1]`.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    z = np.asarray(logits.data if isinstance(logits, Value) else logits, dtype=np.float64)
    if z.ndim == 0:
        raise ValueError("logits must have a class axis (shape (..., C)), got a single number")
    probabilities = np.exp(z - z.max(axis=-1, keepdims=True))
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    cumulative = np.cumsum(probabilities, axis=-1)
    u = rng.random(z.shape[:-1] + (1,))
    labels = (cumulative < u).sum(axis=-1)  # the first class whose cumulative probability reaches u
    return np.minimum(labels, z.shape[-1] - 1)  # rounding can leave cumulative[-1] a hair below 1


class SophiaG(Optimizer):
    r"""SophiaG: second-order clipped stochastic optimisation with the Gauss-Newton-Bartlett estimator.

    Every k steps (`update_hessian()`, with `.grad` holding the gradient g_hat of the
    loss on labels sampled from the model's own softmax, see `sample_labels`):

        h_t <- beta2 * h_{t-k} + (1 - beta2) * g_hat * g_hat

    Every step t = 1, 2, ... (`step(bs=B)`), with m_0 = h_0 = 0:

        theta_{t-1} <- theta_{t-1} * (1 - lr * lambda)              (decoupled decay first)
        m_t     <- beta1 * m_{t-1} + (1 - beta1) * g_t
        theta_t <- theta_{t-1} - lr * sign(m_t) * min(|m_t| / (rho * B * h_t + 1e-15), 1)

    Arguments -> symbols: `lr` -> lr, `betas` -> (beta1, beta2), `rho` -> rho,
    `weight_decay` -> lambda, `step(bs=...)` -> B.

    Paper: Liu, Li, Hall, Liang & Ma (2023), "Sophia: A Scalable Stochastic
    Second-order Optimizer for Language Model Pre-training", Algorithms 1 and 2.
    Where the curvature h is large the step is the Newton-like lr * m / (rho B h);
    where h is tiny (a flat direction, or no estimate yet) the clip caps it at lr
    per coordinate, as sign momentum would.

    Conventions: the numbers of the authors' released SophiaG, whose README says
    its update is the paper's up to a reparameterisation of lr and rho (so neither
    compares directly with the paper's numbers, nor lr with AdamW's). The paper's
    estimator is B * g_hat * g_hat for a mini-batch of B examples; the released
    code stores g_hat * g_hat and multiplies by B (`bs`, which their GPT-2 script
    sets to the tokens in a batch) in the step. There is no bias correction;
    `update_hessian` uses beta2 on whatever gradient it is given and leaves m alone,
    and before the first `update_hessian` h is 0, so every coordinate takes the full
    clipped step lr * sign(m).
    """

    def __init__(self, params: Iterable[Any], lr: Any = 1e-4, betas: tuple[float, float] = (0.965, 0.99),
                 rho: float = 0.04, weight_decay: float = 0.1) -> None:
        defaults = dict(lr=lr, betas=betas, rho=rho, weight_decay=weight_decay)
        super().__init__(params, defaults)
        self._batch_size = 5120.0  # B of the step being taken: set by step(bs=...)

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        group["betas"] = check_betas(group["betas"])
        group["rho"] = check_number("rho", group["rho"])
        group["weight_decay"] = check_number("weight_decay", group["weight_decay"])

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"exp_avg": np.zeros_like(theta), "hessian": np.zeros_like(theta)}

    def update_hessian(self) -> None:
        """h <- beta2 * h + (1 - beta2) * g * g for every parameter, from the gradients now in `.grad`."""
        self._check_gradients()  # a missing or misshapen gradient: an error, and no h has changed
        for group in self.param_groups:
            beta2 = group["betas"][1]
            for p in group["params"]:
                theta = np.array(p.data) if type(p.data) is float else p.data
                g = np.asarray(p.grad, dtype=theta.dtype)
                h = self._param_state(p, theta, group)["hessian"]
                h[...] = beta2 * h + (1 - beta2) * g * g

    def step(self, closure: Callable[[], Any] | None = None, bs: float = 5120) -> Any:
        """One update from `.grad` (see the class docstring); `bs` is B, the batch size rho is scaled by."""
        self._batch_size = check_number("batch size (bs)", bs, 1.0)
        return super().step(closure)

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        (beta1, _), rho, weight_decay = group["betas"], group["rho"], group["weight_decay"]
        m, h, bs = state["exp_avg"], state["hessian"], self._batch_size
        theta *= 1 - lr * weight_decay
        m[...] = beta1 * m + (1 - beta1) * grad
        ratio = np.minimum(np.abs(m) / (rho * bs * h + 1e-15), 1.0)
        theta -= lr * np.sign(m) * ratio
