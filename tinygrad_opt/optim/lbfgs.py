"""L-BFGS: a quasi-Newton method that builds curvature from the last few steps."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value
from tinygrad_opt.optim.optimizer import Optimizer, check_lr, check_number


class LBFGS(Optimizer):
    r"""L-BFGS: limited-memory Broyden-Fletcher-Goldfarb-Shanno (PyTorch's interface).

    All parameters form one vector x. Each iteration k, with gradient g_k:

        s_k = x_{k+1} - x_k,   y_k = g_{k+1} - g_k,   rho_k = 1 / (y_k . s_k)
        d_k = -H_k g_k, H_k applied by the two-loop recursion over the last m pairs (s, y),
              starting from H^0 = gamma I with gamma = (s . y) / (y . y) of the newest pair
        x_{k+1} = x_k + t_k d_k

    with t_k = lr (the first iteration: lr * min(1, 1 / ||g||_1)), or t_k found by a
    line search satisfying the strong Wolfe conditions
        f(x + t d) <= f(x) + c1 t g.d   and   |g(x + t d).d| <= c2 |g.d|,   c1 = 1e-4, c2 = 0.9.
    A pair is kept only if y . s > 1e-10 (so H stays positive definite).

    `step(closure)` runs up to `max_iter` iterations: the closure must zero the
    gradients, compute the loss, call backward and return the loss; it is called
    up to `max_eval` times. It stops early when max|g| <= tolerance_grad, or the step
    or the change in loss is below tolerance_change. Returns the first loss.

    Arguments -> symbols: `lr` -> t (or the line search's first trial), `history_size`
    -> m, `line_search_fn` None or "strong_wolfe".

    Papers: Liu & Nocedal (1989), "On the limited memory BFGS method for large scale
    optimization"; Nocedal & Wright, "Numerical Optimization" (2006), Algorithms
    7.4 (two-loop recursion), 3.5 and 3.6 (line search with cubic interpolation).

    Conventions: as PyTorch's LBFGS, step for step (tests/test_golden.py holds the
    trajectories to torch's): one parameter group, the same stopping tests and
    defaults, lr scaling of the first step, and the same line search (PyTorch's
    port of minFunc's): its safeguards against trial steps near the ends of the
    bracket, and its budget, at most max_eval minus the evaluations this step()
    has made so far, after its first trial. Without a line search, the fixed step
    lr=1 can diverge on hard problems.
    """

    batch_scalars = False

    def __init__(self, params: Iterable[Any], lr: float = 1.0, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size,
                        line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS updates all its parameters as one vector: give it one parameter group")
        self.memory: dict[str, Any] = {"n_iter": 0, "func_evals": 0, "s": [], "y": [], "rho": []}

    def _validate(self, group: dict[str, Any]) -> None:
        group["lr"] = check_lr(group["lr"])
        for name in ("max_iter", "max_eval", "history_size"):
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid {name}: {value!r} (expected a whole number >= 1)")
        group["tolerance_grad"] = check_number("tolerance_grad", group["tolerance_grad"])
        group["tolerance_change"] = check_number("tolerance_change", group["tolerance_change"])
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"Invalid line_search_fn: {group['line_search_fn']!r} "
                             "(expected None or 'strong_wolfe')")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError("LBFGS updates all its parameters as one vector: it has one parameter group")
        super().add_param_group(param_group)

    # ---------------------------------------------------- the parameter vector
    def _params(self) -> list[Value]:
        return self.param_groups[0]["params"]

    def _flat_grad(self, before_any_change: bool = False) -> np.ndarray:
        group = self.param_groups[0]
        for p in group["params"]:
            if not self._grad_fits(p):
                self._bad_grad(0, group, p, nothing_changed=before_any_change)
        return np.concatenate([np.ravel(p.grad) for p in self._params()]).astype(np.float64)

    def _flat_data(self) -> np.ndarray:
        return np.concatenate([np.ravel(p.data) for p in self._params()]).astype(np.float64)

    def _set_flat_data(self, x: np.ndarray) -> None:
        start = 0
        for p in self._params():
            if type(p.data) is float:
                p.data = float(x[start])
                start += 1
            else:
                p.data[...] = x[start:start + p.data.size].reshape(p.data.shape)  # in place, dtype kept
                start += p.data.size

    @staticmethod
    def _loss_value(loss: Any) -> float:
        return float(loss.data) if isinstance(loss, Value) else float(loss)

    # -------------------------------------------------------------------- step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Run up to `max_iter` L-BFGS iterations; return the loss before the first one."""
        if closure is None:
            raise ValueError("LBFGS needs a closure: a function that zeroes the gradients, computes the "
                             "loss, calls backward() and returns the loss")
        group, memory = self.param_groups[0], self.memory
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        lr = self._lr_at(group)
        first_loss = closure()
        loss = self._loss_value(first_loss)
        g = self._flat_grad(before_any_change=True)
        evals = 1
        memory["func_evals"] += 1
        if np.max(np.abs(g), initial=0.0) <= tolerance_grad:
            return first_loss
        d, t = memory.get("d"), memory.get("t")
        iterations = 0
        while iterations < group["max_iter"]:
            iterations += 1
            memory["n_iter"] += 1
            if memory["n_iter"] == 1:
                d = -g
                memory.update(s=[], y=[], rho=[], gamma=1.0)
            else:
                self._remember(d * t, g - memory["prev_grad"], group["history_size"])
                d = -self._apply_inverse_hessian(g)
            memory["prev_grad"], memory["prev_loss"] = g.copy(), loss
            t = lr * min(1.0, 1.0 / np.sum(np.abs(g))) if memory["n_iter"] == 1 else lr
            slope = float(g @ d)
            if slope > -tolerance_change:  # not a descent direction (any more)
                break
            if group["line_search_fn"] == "strong_wolfe":
                x = self._flat_data()
                loss, g, t, used = self._strong_wolfe(closure, x, d, t, loss, g, slope,
                                                      budget=group["max_eval"] - evals)
                self._set_flat_data(x + t * d)
            else:
                self._set_flat_data(self._flat_data() + t * d)
                used = 0
                if iterations != group["max_iter"]:  # the last iteration's loss is the next step's first
                    loss = self._loss_value(closure())
                    g = self._flat_grad()
                    used = 1
            evals += used
            memory["func_evals"] += used
            if iterations == group["max_iter"] or evals >= group["max_eval"]:
                break
            if np.max(np.abs(g)) <= tolerance_grad:
                break
            if np.max(np.abs(d)) * abs(t) <= tolerance_change:  # the step is negligible
                break
            if abs(loss - memory["prev_loss"]) < tolerance_change:  # so is the progress
                break
        memory["d"], memory["t"] = d, t
        group["step"] += 1
        return first_loss

    def _remember(self, s: np.ndarray, y: np.ndarray, history_size: int) -> None:
        """Keep the pair (s, y) if it has positive curvature y . s, dropping the oldest beyond m."""
        memory = self.memory
        ys = float(y @ s)
        if ys > 1e-10:
            if len(memory["s"]) == history_size:
                for key in ("s", "y", "rho"):
                    memory[key].pop(0)
            memory["s"].append(s)
            memory["y"].append(y)
            memory["rho"].append(1.0 / ys)
            memory["gamma"] = ys / float(y @ y)

    def _apply_inverse_hessian(self, g: np.ndarray) -> np.ndarray:
        """H g by the two-loop recursion (Nocedal & Wright, Algorithm 7.4)."""
        memory = self.memory
        q = g.copy()
        alphas = []
        newest_first = zip(reversed(memory["s"]), reversed(memory["y"]), reversed(memory["rho"]), strict=True)
        for s, y, rho in newest_first:
            alpha = rho * float(s @ q)
            q -= alpha * y
            alphas.append(alpha)
        r = memory["gamma"] * q  # H^0 = gamma I
        for s, y, rho, alpha in zip(memory["s"], memory["y"], memory["rho"], reversed(alphas), strict=True):
            beta = rho * float(y @ r)
            r += (alpha - beta) * s
        return r

    # ------------------------------------------------------------ line search
    def _strong_wolfe(self, closure: Callable[[], Any], x: np.ndarray, d: np.ndarray, t: float, loss: float,
                      g: np.ndarray, slope: float, budget: int, c1: float = 1e-4, c2: float = 0.9,
                      tolerance_change: float = 1e-9) -> tuple[float, np.ndarray, float, int]:
        """Find t with f(x + t d) <= f(x) + c1 t slope and |g(x + t d) . d| <= c2 |slope|.

        Nocedal & Wright, Algorithm 3.5 (bracketing) and 3.6 (zoom), with PyTorch's choices
        (from minFunc): after the first trial at most `budget` more; a trial step within a
        tenth of the bracket's length from one of its ends is moved to that distance when
        the previous trial also was, or when it lands on an end; if the budget runs out
        while bracketing, the better of t = 0 and the last trial is taken. Its own
        `tolerance_change` is 1e-9 whatever the optimizer's (PyTorch does not pass its own).
        Returns the loss, gradient and step length of the accepted point and the number of
        evaluations. A point is (t, f(x + t d), its gradient, its slope along d).
        """
        def evaluate(step: float) -> tuple[float, float, np.ndarray, float]:
            self._set_flat_data(x + step * d)
            value = self._loss_value(closure())
            grad = self._flat_grad()
            return step, value, grad, float(grad @ d)

        f0, slope0 = loss, slope
        start = previous = (0.0, loss, g, slope)
        trial = evaluate(t)
        more = 0  # trials after the first
        bracket = None
        while more < budget:  # bracketing: extend t until [previous, trial] holds an acceptable point
            t, f_t, g_t, slope_t = trial
            if f_t > f0 + c1 * t * slope0 or (more > 1 and f_t >= previous[1]):
                bracket = [previous, trial]
                break
            if abs(slope_t) <= -c2 * slope0:
                return f_t, g_t, t, more + 1  # strong Wolfe conditions hold
            if slope_t >= 0:
                bracket = [previous, trial]
                break
            # extrapolate: a cubic step between 1.01 t and 10 t
            t_next = _cubic_minimum(previous[0], previous[1], previous[3], t, f_t, slope_t,
                                    t + 0.01 * (t - previous[0]), 10 * t)
            previous, trial = trial, evaluate(t_next)
            more += 1
        if bracket is None:  # the budget ran out while extending
            bracket = [start, trial]
        # zoom: shrink the bracket (bracket[low] the better end) until the conditions hold
        low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        insufficient_progress = False
        d_norm = float(np.max(np.abs(d)))
        while more < budget and abs(bracket[1][0] - bracket[0][0]) * d_norm >= tolerance_change:
            t = _cubic_minimum(*bracket[0][:2], bracket[0][3], *bracket[1][:2], bracket[1][3])
            lo, hi = sorted((bracket[0][0], bracket[1][0]))
            margin = 0.1 * (hi - lo)
            if min(hi - t, t - lo) < margin:  # too close to an end
                if insufficient_progress or t >= hi or t <= lo:
                    t = hi - margin if abs(t - hi) < abs(t - lo) else lo + margin
                    insufficient_progress = False
                else:
                    insufficient_progress = True
            else:
                insufficient_progress = False
            trial = evaluate(t)
            more += 1
            _, f_t, _, slope_t = trial
            if f_t > f0 + c1 * t * slope0 or f_t >= bracket[low][1]:
                bracket[high] = trial
                low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
            else:
                done = abs(slope_t) <= -c2 * slope0  # strong Wolfe conditions hold
                if not done and slope_t * (bracket[high][0] - bracket[low][0]) >= 0:
                    bracket[high] = bracket[low]
                bracket[low] = trial
                if done:
                    break
        t, f_t, g_t, _ = bracket[low]
        return f_t, g_t, t, more + 1

    # ------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, Any]:
        saved = super().state_dict()
        saved["memory"] = copy.deepcopy(self.memory)
        return saved

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        memory = state_dict.get("memory") if isinstance(state_dict, dict) else None
        if not isinstance(memory, dict) or not {"n_iter", "func_evals", "s", "y", "rho"} <= set(memory):
            raise ValueError("LBFGS state dict needs its 'memory' (the history of steps), with n_iter, "
                             f"func_evals, s, y and rho; got {memory!r:.80}")
        super().load_state_dict(state_dict)
        self.memory = copy.deepcopy(memory)


def _cubic_minimum(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                   low: float | None = None, high: float | None = None) -> float:
    """The minimiser in [low, high] (by default between x1 and x2) of the cubic through (x1, f1)
    and (x2, f2) with slopes g1, g2 (Nocedal & Wright, equation 3.59); the middle of [low, high]
    if the cubic has none."""
    if x1 > x2:  # the formula below takes x1 <= x2
        x1, f1, g1, x2, f2, g2 = x2, f2, g2, x1, f1, g1
    low, high = (x1, x2) if low is None else (low, high)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    square = d1 * d1 - g1 * g2
    if square < 0:
        return (low + high) / 2
    d2 = math.sqrt(square)
    x = x2 - (x2 - x1) * (g2 + d2 - d1) / (g2 - g1 + 2 * d2)
    return min(max(x, low), high)
