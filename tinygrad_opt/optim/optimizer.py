"""The `Optimizer` base class: parameter groups, named per-parameter state, `step`,
`zero_grad`, state dicts and learning-rate schedules. Each algorithm (`sgd.py`,
`adam.py`, ...) only writes `_init_state` and `_update`: the math of one step on
NumPy arrays, written as its formula.

Two things keep that one code path fast for scalars and for large tensors:

* A scalar `Value` holds an immutable Python float, so its update cannot happen in
  place. Every NumPy call costs about a microsecond whatever its size, so instead
  of updating scalars one at a time, the scalars of a group are copied into one
  array, updated together by the same `_update` as a tensor, and written back.
  The state of each scalar stays its own: `opt.state[p]` holds 0-d views into the
  group's state arrays, and when the group's scalars change (reordered, added,
  removed) the arrays are made again from each parameter's own state.
* Elementwise updates of large arrays are memory-bound. `chunks` walks them in
  cache-sized pieces, so the handful of NumPy operations of one formula read
  each element from main memory once instead of once per operation.

A step checks every gradient (present, of its parameter's shape) before it changes
anything, so a step that fails leaves parameters, state and step counts as they were.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_opt.engine import Value

if TYPE_CHECKING:
    from tinygrad_opt.optim.schedules import Schedule

# Bytes per piece of `chunks`: the arrays of a piece and the few temporaries a formula makes
# for it stay in the CPU's cache, and malloc reuses the temporaries' memory. Measured with
# benchmarks/bench_optim.py (Adam, 10M float32) and bench_mlp.py: 128 KiB was faster than 64
# (fewer NumPy calls) and as fast as 256; pieces much larger than the cache were several times
# slower.
CHUNK_BYTES = 1 << 17
CHUNK = CHUNK_BYTES // 4  # elements per piece of float32 (half as many of float64)
# a group's scalars as arrays: (the scalars, theta, grad, state)
_ScalarBatch = tuple[tuple[Value, ...], np.ndarray, np.ndarray, dict[str, np.ndarray]]


def check_number(name: str, value: Any, low: float = 0.0, high: float | None = None,
                 high_inclusive: bool = False, finite: bool = True) -> float:
    """Return `value` as a float if it is finite (unless `finite=False`) and low <= value
    (< or <= high); else raise a TypeError (not a number) or ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if not value >= low or too_high or (finite and not math.isfinite(value)):  # `not >=` rejects nan
        upper = "" if high is None else f" and {'<=' if high_inclusive else '<'} {high}"
        kind = "a finite number" if finite else "a number"
        raise ValueError(f"Invalid {name}: {value!r} (expected {kind} >= {low}{upper})")
    return value


def check_betas(betas: Any) -> tuple[float, float]:
    """Both coefficients of `betas` must lie in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    return (check_number("beta1 (betas[0])", betas[0], 0.0, 1.0),
            check_number("beta2 (betas[1])", betas[1], 0.0, 1.0))


def rate_at(lr: float | Schedule, step: int, name: str = "learning-rate") -> float:
    """`lr` itself, or a schedule's value at `step` (0 before the first update), checked."""
    if not callable(lr):
        return lr
    value = lr(step)
    try:
        return check_number(name, value)
    except (TypeError, ValueError):
        raise ValueError(f"the {name} schedule returned {value!r} at step {step} "
                         "(expected a finite number >= 0)") from None


def check_lr(lr: Any, name: str = "learning rate (lr)") -> float | Schedule:
    """A learning rate is a finite number >= 0 or a schedule: a function of the step count."""
    return lr if callable(lr) else check_number(name, lr)


def check_flag(name: str, value: Any) -> bool:
    """A switch such as `amsgrad` must be True or False (NumPy's bool too), not 1 or nan."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_step(step: Any, where: str = "step") -> int:
    """A group's step count: a whole number >= 0 (the updates made so far)."""
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"Invalid {where}: {step!r} (expected a whole number of updates >= 0)")
    return int(step)


def _is_scalar_grad(grad: Any) -> bool:
    """A scalar parameter's gradient is one number: a float, an int or a 0-d array."""
    if isinstance(grad, (bool, np.bool_)):
        return False
    return isinstance(grad, (int, float, np.integer, np.floating)) or (
        isinstance(grad, np.ndarray) and grad.shape == () and grad.dtype.kind in "iuf")


def chunks(*arrays: np.ndarray | None) -> Iterator[tuple[Any, ...]]:
    """Yield `arrays` (all of one shape) piece by piece, for an elementwise update.

    Small arrays come back whole, large C-contiguous ones as flat views of
    `CHUNK_BYTES` bytes each (`CHUNK` float32 elements), so a formula written once
    works on both, and updating a piece in place updates the array. A large array
    in another layout (a transpose, a strided slice, Fortran order) has no flat
    view: it comes back whole. A `None` (an optional buffer this update does not
    have) comes back as None.
    """
    present = [a for a in arrays if a is not None]
    size = present[0].size
    piece = CHUNK_BYTES // max(a.itemsize for a in present)
    if size <= piece or not all(a.flags.c_contiguous for a in present):
        yield arrays
        return
    flat = [None if a is None else a.reshape(-1) for a in arrays]  # views, since the arrays are contiguous
    for start in range(0, size, piece):
        yield tuple(None if f is None else f[start:start + piece] for f in flat)


class Optimizer:
    """Base class of all optimizers: holds parameter groups and per-parameter state.

    `params` is an iterable of `Value`s, or of dicts `{"params": [...], "lr": ...}`
    (parameter groups) whose entries override the optimizer's defaults. Each group
    counts its updates in `group["step"]` (0 before the first), and `lr` may be a
    schedule `step -> lr`: the first update uses `schedule(0)`. `lrs` gives the
    learning rate each group uses at its next step. `opt.state[p]` is parameter
    `p`'s named state (`exp_avg`, `momentum_buffer`, ...): it belongs to `p`, not to
    its place in a group.
    """

    batch_scalars = True  # False where an update needs each parameter on its own (LAMB, LBFGS)
    group_state: tuple[str, ...] = ()  # running values a group keeps beside its hyperparameters (Prodigy's d)

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Value, dict[str, Any]] = {}
        self._batches: list[_ScalarBatch | None] = []  # each group's scalars as arrays
        if callable(getattr(params, "parameters", None)):  # a model, not its parameters
            name = type(self).__name__
            raise TypeError(f"{name} needs the model's parameters, not the model ({type(params).__name__}): "
                            f"write {name}(model.parameters(), ...)")
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones from the defaults)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"a parameter group must be a dict with 'params', got {param_group!r:.60}")
        params = param_group["params"]
        params = [params] if isinstance(params, Value) else list(params)
        for p in params:
            if not isinstance(p, Value):
                raise TypeError(f"optimizer parameters must be Values, got {type(p).__name__}")
        self._check_no_repeats(params)
        unknown = set(param_group) - set(self.defaults) - {"params", "step"}
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)} for {type(self).__name__}")
        group = {**self.defaults, **param_group, "params": params}
        group["step"] = check_step(group.get("step", 0), f"step of group {len(self.param_groups)}")
        self._validate(group)
        self.param_groups.append(group)
        self._batches.append(None)

    def _check_no_repeats(self, params: list[Value]) -> None:
        """A parameter may sit in one place only: the error names both places and its shape."""
        places = {id(p): (number, position) for number, group in enumerate(self.param_groups)
                  for position, p in enumerate(group["params"])}
        number = len(self.param_groups)  # the number the new group will have
        for position, p in enumerate(params):
            if id(p) in places:
                first_group, first_position = places[id(p)]
                label = f" {p.label!r}" if p.label else ""
                raise ValueError(f"parameter{label} of shape {np.shape(p.data)} appears more than once "
                                 f"in the optimizer's groups: group {first_group} position "
                                 f"{first_position}, and group {number} position {position}")
            places[id(p)] = (number, position)

    def _validate(self, group: dict[str, Any]) -> None:
        """Check a group's hyperparameters; each optimizer raises ValueError naming a bad one."""
        group["lr"] = check_lr(group["lr"])

    @property
    def lr(self) -> Any:
        """The learning rate of every group (a number or a schedule), when they share one.

        `opt.lr = 0.5` sets it in every group (checked like the constructor's lr); to change one
        group's, write `opt.param_groups[i]["lr"] = ...`.
        """
        rates = [group["lr"] for group in self.param_groups]
        if any(rate is not rates[0] and rate != rates[0] for rate in rates):
            raise AttributeError(f"the {len(rates)} parameter groups have different learning rates: read "
                                 "opt.param_groups[i]['lr'] (or opt.lrs, the rates of the next step)")
        return rates[0]

    @lr.setter
    def lr(self, value: Any) -> None:
        rate = check_lr(value)
        for group in self.param_groups:
            group["lr"] = rate

    @property
    def lrs(self) -> list[float]:
        """The learning rate each group uses at its next step."""
        return [self._lr_at(group) for group in self.param_groups]

    @staticmethod
    def _lr_at(group: dict[str, Any]) -> float:
        return rate_at(group["lr"], group["step"])

    # -------------------------------------------------------------------- step
    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (in place for tensors)."""
        for group in self.param_groups:
            for p in group["params"]:
                if type(p.data) is float:
                    p.grad = 0.0
                elif isinstance(p.grad, np.ndarray) and p.grad.shape == p.data.shape:
                    p.grad.fill(0.0)
                else:  # no gradient yet (None)
                    p.grad = np.zeros_like(p.data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter once from its `.grad`; return `closure()` if one is given.

        The closure (zero the gradients, compute the loss, call backward, return the
        loss) is evaluated before the update, as in PyTorch. Every gradient and
        learning rate is checked before anything changes: a missing gradient or one
        of the wrong shape raises and leaves the optimizer and the parameters as they were.
        """
        loss = closure() if closure is not None else None
        lrs = self.lrs
        plans = [self._gather(number, group) for number, group in enumerate(self.param_groups)]
        for group, lr, (batch, alone, tensors) in zip(self.param_groups, lrs, plans, strict=True):
            group["step"] += 1
            if batch is not None:
                scalars, theta, grad, state = batch
                self._update(theta, grad, state, group, lr)
                for p, x in zip(scalars, theta.tolist(), strict=True):
                    p.data = x
            for p in alone:  # a scalar on its own: a one-element array with views of its state
                theta = np.array([p.data])
                state = self._param_state(p, np.array(p.data), group)
                self._update(theta, np.array([float(p.grad)]), {name: buffer.reshape(1)
                             for name, buffer in state.items()}, group, lr)
                p.data = float(theta[0])
            for p in tensors:
                state = self._param_state(p, p.data, group)
                if p.data.ndim == 0:  # a 0-d array as a one-element one, so `m[:] = ...` works
                    state = {name: buffer.reshape(1) for name, buffer in state.items()}
                    self._update(p.data.reshape(1), np.reshape(p.grad, 1), state, group, lr)
                else:
                    self._update(p.data, p.grad, state, group, lr)
        return loss

    def _gather(self, number: int, group: dict[str, Any]) -> tuple[Any, list[Value], list[Value]]:
        """Check group `number`'s gradients and sort its parameters: (the batch of scalars with
        their values and gradients copied in, or None; scalars updated alone; tensors)."""
        scalars, tensors = [], []
        for p in group["params"]:
            if type(p.data) is float:
                scalars.append(p)
            else:
                self._check_parameter(number, group, p)
                tensors.append(p)
        if not (scalars and self.batch_scalars):
            for p in scalars:
                self._check_parameter(number, group, p)
            return None, scalars, tensors
        batch = self._scalar_batch(number, scalars)
        _, theta, grad, _ = batch
        for i, p in enumerate(scalars):  # item by item: for a few scalars, cheaper than np.array
            g = p.grad
            if type(g) is not float and not _is_scalar_grad(g):
                self._bad_grad(number, group, p)
            theta[i] = p.data
            grad[i] = g
        return batch, [], tensors

    def _check_gradients(self) -> None:
        """Check every parameter and gradient of every group (for a step written on its own,
        such as Prodigy's), before anything changes."""
        for number, group in enumerate(self.param_groups):
            for p in group["params"]:
                self._check_parameter(number, group, p)

    def _check_parameter(self, number: int, group: dict[str, Any], p: Value) -> None:
        """A tensor parameter must be a writeable floating-point array, and every `.grad` a
        gradient of its parameter: else a ValueError naming its place, and nothing changed."""
        if type(p.data) is not float and (p.data.dtype.kind != "f" or not p.data.flags.writeable):
            position = next(i for i, q in enumerate(group["params"]) if q is p)
            raise ValueError(f"parameter at position {position} of group {number} holds a "
                             f"{'read-only ' if not p.data.flags.writeable else ''}array of "
                             f"dtype {p.data.dtype}: an optimizer updates writeable floating-point "
                             "arrays in place; nothing was updated")
        if not self._grad_fits(p):
            self._bad_grad(number, group, p)

    @staticmethod
    def _grad_fits(p: Value) -> bool:
        """Whether `p.grad` is a gradient of `p`: one number for a scalar, an array of p's shape."""
        if type(p.data) is float:
            return _is_scalar_grad(p.grad)
        grad = p.grad
        return isinstance(grad, np.ndarray) and grad.shape == p.data.shape and grad.dtype.kind in "fiu"

    @staticmethod
    def _bad_grad(number: int, group: dict[str, Any], p: Value, nothing_changed: bool = True) -> None:
        position = next(i for i, q in enumerate(group["params"]) if q is p)
        label = f" {p.label!r}" if p.label else ""
        shape = np.shape(p.data)
        if p.grad is None:
            problem = "has no gradient (grad is None): call backward() on a loss that depends on it"
        else:
            dtype = f" {p.grad.dtype}" if isinstance(p.grad, np.ndarray) else ""
            problem = (f"has a gradient of shape {np.shape(p.grad)} ({type(p.grad).__name__}{dtype}), "
                       f"expected real numbers of its own shape {shape}")
        consequence = "; nothing was updated" if nothing_changed else ""
        raise ValueError(f"parameter{label} at position {position} of group {number} (shape {shape}) "
                         f"{problem}{consequence}")

    def _init_state(self, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        """The named state buffers of a parameter with data `theta` (zeros unless said otherwise)."""
        return {}

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                group: dict[str, Any], lr: float) -> None:
        """Update `theta` in place; `group["step"]` is t, the 1-based number of this update."""
        raise NotImplementedError

    def _param_state(self, p: Value, theta: np.ndarray, group: dict[str, Any]) -> dict[str, np.ndarray]:
        state = self.state.get(p)
        if state is None:
            state = self.state[p] = self._init_state(theta, group)
        return state

    def _scalar_batch(self, number: int, scalars: list[Value]) -> _ScalarBatch:
        """Arrays for group `number`'s scalars: (the scalars, theta, grad, state).

        Made again whenever the group's scalars differ from the last step's (compared by
        identity, in order), each filled from the parameters' own state; `self.state[p]`
        then holds 0-d views of p's entries."""
        batch = self._batches[number]
        if batch is not None and len(batch[0]) == len(scalars) and all(map(operator.is_, batch[0], scalars)):
            return batch
        theta = np.zeros(len(scalars))
        state = self._init_state(theta, self.param_groups[number])
        for i, p in enumerate(scalars):
            own = self.state.get(p, {})
            # 0-d views of each scalar's entry; a 0-d buffer (one number for all) is shared
            views = {name: buffer[i, ...] if buffer.ndim else buffer for name, buffer in state.items()}
            for name, value in own.items():
                views[name][...] = value
            self.state[p] = views
        batch = self._batches[number] = (tuple(scalars), theta, np.zeros(len(scalars)), state)
        return batch

    # --------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, Any]:
        """A copy of the state and groups; parameters are named by their position across groups.

        `"optimizer"` names the class, so a dict is not loaded into another kind of optimizer."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = [index.setdefault(p, len(index)) for p in group["params"]]
            # a schedule is kept by reference: an object like ReduceOnPlateau has its own state_dict
            settings = {k: v if callable(v) else copy.deepcopy(v) for k, v in group.items() if k != "params"}
            groups.append({**settings, "params": ids})
        state = {index[p]: {name: np.copy(value) for name, value in s.items()}
                 for p, s in self.state.items() if p in index}
        return {"optimizer": type(self).__name__, "state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict()`: the run continues exactly as if it had never stopped.

        Hyperparameters and step counts come from the dict; a schedule given to this
        optimizer as `lr` is kept (a plain function needs nothing restored). Everything
        is checked before anything changes: a dict that does not fit (another
        optimizer's, other groups, a step count that is not a whole number >= 0, state
        of other names or shapes) raises and leaves the optimizer as it was.
        """
        new_groups, new_state = self._checked_state(state_dict)
        for group, new_group in zip(self.param_groups, new_groups, strict=True):
            group.update(new_group)
        self._batches = [None] * len(self.param_groups)
        self.state = new_state

    def _checked_state(self, state_dict: Any) -> tuple[list[dict[str, Any]], dict[Value, dict[str, Any]]]:
        """The groups and state `state_dict` would give this optimizer, after checking all of it."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise TypeError(f"{name}.load_state_dict expects the dict of a state_dict(), with 'state' and "
                            f"'param_groups', got {type(state_dict).__name__} {state_dict!r:.80}")
        saved_name = state_dict.get("optimizer", name)
        if saved_name != name:
            raise ValueError(f"state dict was saved by {saved_name!r}, cannot load it into {name}")
        saved_groups = state_dict["param_groups"]
        if not isinstance(saved_groups, (list, tuple)) or len(saved_groups) != len(self.param_groups):
            count = len(saved_groups) if isinstance(saved_groups, (list, tuple)) else saved_groups
            raise ValueError(f"state dict has {count!r} parameter groups, the optimizer has "
                             f"{len(self.param_groups)}")
        new_groups = []
        owners = []  # (group number, parameter) for each position across groups
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
                raise ValueError(f"saved group {number} is not a dict with a 'params' list: {saved!r:.80}")
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"saved group {number} has {len(saved['params'])} parameters, "
                                 f"the optimizer's has {len(group['params'])}")
            names = set(saved) - {"params", "step"} - set(self.group_state)
            if names != set(self.defaults):
                raise ValueError(f"saved group {number} has hyperparameters {sorted(names)}, {name} has "
                                 f"{sorted(self.defaults)}: the dict is another optimizer's")
            new_group = dict(group)
            for key, value in saved.items():
                if key == "params" or (callable(value) and callable(group.get(key))):
                    continue  # keep this optimizer's own schedule object
                new_group[key] = value if callable(value) else copy.deepcopy(value)
            new_group["step"] = check_step(saved.get("step", 0), f"step of saved group {number}")
            self._validate(new_group)
            new_groups.append(new_group)
            owners.extend((number, p) for p in group["params"])
        new_state = {}
        if not isinstance(state_dict["state"], dict):
            raise TypeError(f"state dict's 'state' must be a dict, got {type(state_dict['state']).__name__}")
        for i, saved_state in state_dict["state"].items():
            is_index = isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))
            if not is_index or not 0 <= i < len(owners):
                raise ValueError(f"saved state names parameter {i!r}, but the optimizer has parameters "
                                 f"0 .. {len(owners) - 1}")
            number, p = owners[i]
            new_state[p] = self._loaded_state(i, p, saved_state, new_groups[number])
        return new_groups, new_state

    def _loaded_state(self, i: int, p: Value, saved_state: dict[str, Any],
                      group: dict[str, Any]) -> dict[str, np.ndarray]:
        """Parameter `i`'s saved buffers as arrays of its dtype, after checking their names and shapes."""
        dtype = np.float64 if type(p.data) is float else p.data.dtype
        expected = {name: buffer.shape for name, buffer in
                    self._init_state(np.zeros(np.shape(p.data), dtype), group).items()}
        if not isinstance(saved_state, dict):
            raise TypeError(f"saved state of parameter {i} must be a dict of buffers, got "
                            f"{type(saved_state).__name__}")
        if set(saved_state) != set(expected):
            raise ValueError(f"saved state of parameter {i} (shape {np.shape(p.data)}) has buffers "
                             f"{sorted(saved_state)}, expected {sorted(expected)}")
        for name, value in saved_state.items():
            if np.shape(value) != expected[name]:
                raise ValueError(f"saved state {name!r} of parameter {i} has shape {np.shape(value)}, "
                                 f"expected {expected[name]} (the parameter's shape is {np.shape(p.data)})")
        return {name: np.array(value, dtype=dtype) for name, value in saved_state.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} parameters, {settings}")
        return "\n".join(lines) + "\n)"
