"""The `Optimizer` base class: parameter groups, named per-parameter state, `step`,
`zero_grad`, state dicts and learning-rate schedules. Each algorithm (`sgd.py`,
`adam.py`, ...) only writes `_init_state` and `_update`: the math of one step on
NumPy arrays.

Two things make one code path serve scalars and tensors, and stay fast for both:

* A scalar `Value` holds an immutable Python float, so its update cannot happen in
  place. Every NumPy call costs about a microsecond whatever its size, so instead
  of updating scalars one at a time, the scalars of a group are copied into one
  array, updated together by the same `_update` as a tensor, and written back.
  These arrays (values, gradients, state) are made once, at the group's first
  step. The per-parameter state is a set of 0-d views into the group's state
  arrays, so `opt.state[p]["exp_avg"]` works for scalars too.
* Elementwise updates of large arrays are memory-bound. `chunks` walks them in
  cache-sized pieces, so the handful of ufuncs of one step read each element from
  main memory once instead of once per ufunc, and the scratch arrays they write
  into are allocated once per optimizer, not once per step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value

Schedule = Callable[[int], float]
CHUNK = 1 << 18  # elements per piece (1 MiB of float32): the fastest of 2^13 .. 2^24 on the benchmark
SCRATCH_ROWS = 3  # most temporaries any update needs at once
_ScalarBatch = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]  # a group's scalars: theta, grad, state


def check_number(name: str, value: Any, low: float = 0.0, high: float | None = None,
                 high_inclusive: bool = False) -> float:
    """Return `value` as a float if low <= value (< or <= high), else raise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if not value >= low or too_high:  # `not >=` also rejects nan
        upper = "" if high is None else f" and {'<=' if high_inclusive else '<'} {high}"
        raise ValueError(f"Invalid {name}: {value!r} (expected >= {low}{upper})")
    return value


def check_betas(betas: Any) -> tuple[float, float]:
    """Both coefficients of `betas` must lie in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2))")
    return (check_number("beta1 (betas[0])", betas[0], 0.0, 1.0),
            check_number("beta2 (betas[1])", betas[1], 0.0, 1.0))


def check_lr(lr: Any) -> float | Schedule:
    """A learning rate is a number >= 0 or a schedule: a function of the step count."""
    return lr if callable(lr) else check_number("learning rate (lr)", lr)


class Optimizer:
    """Base class of all optimizers: holds parameter groups and per-parameter state.

    `params` is an iterable of `Value`s, or of dicts `{"params": [...], "lr": ...}`
    (parameter groups) whose entries override the optimizer's defaults. Each group
    counts its updates in `group["step"]` (0 before the first), and `lr` may be a
    schedule `step -> lr`: the first update uses `schedule(0)`. `lrs` gives the
    learning rate each group uses at its next step.
    """

    batch_scalars = True  # False where an update needs each parameter on its own (LAMB, LBFGS)

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Value, dict[str, Any]] = {}
        self._batches: list[_ScalarBatch | None] = []  # each group's scalars as arrays
        self._scratch: dict[np.dtype, np.ndarray] = {}
        self._scratch_views: dict[tuple[np.dtype, tuple[int, ...]], list[np.ndarray]] = {}
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
        group.setdefault("step", 0)
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
    def lrs(self) -> list[float]:
        """The learning rate each group uses at its next step."""
        return [self._lr_at(group) for group in self.param_groups]

    @staticmethod
    def _lr_at(group: dict[str, Any]) -> float:
        lr = group["lr"]
        if callable(lr):
            lr = lr(group["step"])
            if not lr >= 0:
                raise ValueError(f"the learning-rate schedule returned {lr!r} at step {group['step']}")
        return lr

    # -------------------------------------------------------------------- step
    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (in place for tensors)."""
        for group in self.param_groups:
            for p in group["params"]:
                if type(p.grad) is float:
                    p.grad = 0.0
                else:
                    p.grad.fill(0.0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter once from its `.grad`; return `closure()` if one is given.

        The closure (zero the gradients, compute the loss, call backward, return the
        loss) is evaluated before the update, as in PyTorch.
        """
        loss = closure() if closure is not None else None
        for index, group in enumerate(self.param_groups):
            lr = self._lr_at(group)
            group["step"] += 1
            scalars = [p for p in group["params"] if type(p.data) is float]
            if scalars and self.batch_scalars:
                theta, grad, state = self._scalar_batch(index, scalars)
                for i, p in enumerate(scalars):  # item by item: for a few scalars, cheaper than np.array
                    theta[i] = p.data
                    grad[i] = p.grad
                self._update(theta, grad, state, group, lr)
                for p, x in zip(scalars, theta.tolist(), strict=True):
                    p.data = x
            elif scalars:
                for p in scalars:
                    theta = np.array(p.data)
                    self._update(theta, np.array(p.grad), self._param_state(p, theta, group), group, lr)
                    p.data = float(theta)
            for p in group["params"]:
                if type(p.data) is not float:
                    self._update(p.data, p.grad, self._param_state(p, p.data, group), group, lr)
        return loss

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

    def _scalar_batch(self, index: int, scalars: list[Value]) -> _ScalarBatch:
        """Arrays for group `index`'s scalars: (theta, grad, state); `self.state[p]` holds 0-d views."""
        batch = self._batches[index]
        if batch is None:
            theta = np.zeros(len(scalars))
            state = self._init_state(theta, self.param_groups[index])
            batch = self._batches[index] = (theta, np.zeros(len(scalars)), state)
            for i, p in enumerate(scalars):
                loaded = self.state.get(p, {})
                # 0-d views of each scalar's entry; a 0-d buffer (one number for all) is shared
                self.state[p] = {name: buffer[i, ...] if buffer.ndim else buffer
                                 for name, buffer in state.items()}
                for name, value in loaded.items():
                    self.state[p][name][...] = value
        return batch

    # ------------------------------------------------------ chunks and scratch
    def chunks(self, *arrays: np.ndarray, scratch: int = 1) -> Iterator[list[np.ndarray]]:
        """Yield `arrays` (same shape) piece by piece, followed by `scratch` temporary arrays.

        Small arrays come back whole, large ones as flat views of `CHUNK` elements,
        so an elementwise update written once works on both. Updating a piece in
        place updates the array. A large array in another layout (a transpose, a
        strided slice, Fortran order) has no flat view: it comes back whole, with
        scratch arrays of its shape allocated for this step.
        """
        dtype, size, shape = arrays[0].dtype, arrays[0].size, arrays[0].shape
        if size <= CHUNK:
            views = self._scratch_views.get((dtype, shape))
            if views is None:  # made once per shape: a step on a few scalars is mostly such overhead
                buffer = self._scratch_buffer(dtype, size)
                views = self._scratch_views[dtype, shape] = [buffer[k, :size].reshape(shape)
                                                             for k in range(SCRATCH_ROWS)]
            yield [*arrays, *views[:scratch]]
            return
        if not all(a.flags.c_contiguous for a in arrays):
            yield [*arrays, *(np.empty(shape, dtype) for _ in range(scratch))]
            return
        buffer = self._scratch_buffer(dtype, CHUNK)
        flat = [a.reshape(-1) for a in arrays]  # views, since the arrays are contiguous
        for start in range(0, size, CHUNK):
            stop = min(start + CHUNK, size)
            yield [*(f[start:stop] for f in flat), *(buffer[k, :stop - start] for k in range(scratch))]

    def _scratch_buffer(self, dtype: np.dtype, size: int) -> np.ndarray:
        """SCRATCH_ROWS rows of at least `size` elements of `dtype`; grows to at most CHUNK, once."""
        buffer = self._scratch.get(dtype)
        if buffer is None or buffer.shape[1] < size:
            buffer = self._scratch[dtype] = np.empty((SCRATCH_ROWS, size), dtype)
            # views into the old buffer stay valid; dropping them lets it be freed
            self._scratch_views = {key: views for key, views in self._scratch_views.items()
                                   if key[0] != dtype}
        return buffer

    # --------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, Any]:
        """A copy of the state and groups; parameters are named by their position across groups."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = [index.setdefault(p, len(index)) for p in group["params"]]
            # a schedule is kept by reference: an object like ReduceOnPlateau has its own state_dict
            settings = {k: v if callable(v) else copy.deepcopy(v) for k, v in group.items() if k != "params"}
            groups.append({**settings, "params": ids})
        state = {index[p]: {name: np.copy(value) for name, value in s.items()}
                 for p, s in self.state.items() if p in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a `state_dict()`: the run continues exactly as if it had never stopped.

        Hyperparameters and step counts come from the dict; a schedule given to this
        optimizer as `lr` is kept (a plain function needs nothing restored). Everything
        is checked before anything changes: a dict that does not fit leaves the
        optimizer as it was.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"state dict has {len(saved_groups)} parameter groups, the optimizer has "
                             f"{len(self.param_groups)}")
        new_groups = []
        owners = []  # (group number, parameter) for each position across groups
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"saved group {number} has {len(saved['params'])} parameters, "
                                 f"the optimizer's has {len(group['params'])}")
            new_group = dict(group)
            for key, value in saved.items():
                if key == "params" or (callable(value) and callable(group.get(key))):
                    continue  # keep this optimizer's own schedule object
                new_group[key] = value if callable(value) else copy.deepcopy(value)
            self._validate(new_group)
            new_groups.append(new_group)
            owners.extend((number, p) for p in group["params"])
        new_state = {}
        for i, saved_state in state_dict["state"].items():
            if not isinstance(i, (int, np.integer)) or not 0 <= i < len(owners):
                raise ValueError(f"saved state names parameter {i!r}, but the optimizer has parameters "
                                 f"0 .. {len(owners) - 1}")
            number, p = owners[i]
            new_state[p] = self._loaded_state(i, p, saved_state, new_groups[number])
        for group, new_group in zip(self.param_groups, new_groups, strict=True):
            group.update(new_group)
        self._batches = [None] * len(self.param_groups)
        self.state = new_state

    def _loaded_state(self, i: int, p: Value, saved_state: dict[str, Any],
                      group: dict[str, Any]) -> dict[str, np.ndarray]:
        """Parameter `i`'s saved buffers as arrays of its dtype, after checking their names and shapes."""
        dtype = np.float64 if type(p.data) is float else p.data.dtype
        expected = {name: buffer.shape for name, buffer in
                    self._init_state(np.zeros(np.shape(p.data), dtype), group).items()}
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
