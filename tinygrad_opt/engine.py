"""The autograd engine: a `Value` builds a computation graph as you compute, and
`backward()` walks it in reverse, applying the chain rule one node at a time.

A Value holds either a Python float (a *scalar*, as in micrograd) or a NumPy array
(a *tensor*). Every operation is one short method: compute the output, then define
the local backward rule right beside it. A backward rule receives the gradient of
the output and adds (`+=`) its share into each input's `.grad`.

Two choices keep graphs cheap:

* a backward rule captures the inputs but never its own output, so there are no
  reference cycles and a graph is freed by reference counting the moment its
  output is dropped (micrograd's closures capture `out`, which leaves every graph
  to the cyclic garbage collector);
* `backward()` is iterative, so a chain of a million operations is fine.

Domain errors are errors: `log` of a negative number and `sqrt` of a negative
number raise `ValueError` naming the first bad element (scalars and tensors
alike). `log(0)` is `-inf`, as in NumPy and PyTorch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

_grad_enabled = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block results record no parents: nothing to backpropagate, nothing kept alive."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def _as_data(data: Any) -> float | np.ndarray:
    """A Python number becomes a float (a scalar); anything array-like becomes a float array."""
    if isinstance(data, np.floating) and type(data) is not np.float64:
        return np.asarray(data)  # a float32 number stays float32
    if isinstance(data, (int, float, np.integer)):
        return float(data)
    if isinstance(data, np.ndarray) and np.issubdtype(data.dtype, np.floating):
        return data  # float32 stays float32
    if isinstance(data, (list, tuple, np.ndarray, np.generic)):
        try:
            array = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"Value needs numbers, got {type(data).__name__} {data!r:.80}") from error
        return array
    raise TypeError(
        f"Value needs a number, a list/tuple of numbers or a NumPy array, got {type(data).__name__}"
    )


def _sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum `grad` over the axes that broadcasting added or stretched."""
    if np.shape(grad) == shape:
        return grad
    grad = np.sum(grad, axis=tuple(range(np.ndim(grad) - len(shape))))  # added leading axes
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return np.sum(grad, axis=stretched, keepdims=True) if stretched else grad


def _check_domain(x: Any, name: str, lowest: str) -> None:
    if np.any(x < 0):
        bad = x if np.ndim(x) == 0 else x[np.nonzero(x < 0)][0]
        raise ValueError(f"{name} needs inputs {lowest}, got {float(bad)!r}")


class Value:
    """A node of the computation graph: `data`, its gradient `grad`, and how it was made.

    `_prev` (the inputs) and `_op` (the operation's name) keep micrograd's names, so
    graph-drawing code written for micrograd works unchanged.
    """

    __slots__ = ("data", "grad", "label", "_prev", "_op", "_backward")
    __array_ufunc__ = None  # `ndarray + Value` defers to Value.__radd__ instead of looping

    def __init__(self, data: Any, label: str = "", _children: tuple = (), _op: str = "") -> None:
        self.data = _as_data(data)
        self.grad = 0.0 if type(self.data) is float else np.zeros_like(self.data)
        self.label = label
        self._prev = _children
        self._op = _op
        self._backward: Callable[[Any], None] | None = None

    @classmethod
    def _result(cls, data: Any, children: tuple, op: str, backward: Callable[[Any], None]) -> Value:
        """The output node of an operation: no parents and no backward rule under `no_grad`."""
        out = cls.__new__(cls)
        if type(data) is not float:
            data = np.asarray(data)
            if data.ndim == 0 and all(type(child.data) is float for child in children):
                data = float(data)  # a reduction of scalars is a scalar
        out.data = data
        out.grad = 0.0 if type(data) is float else np.zeros_like(data)
        out.label = ""
        if _grad_enabled:
            out._prev, out._op, out._backward = children, op, backward
        else:
            out._prev, out._op, out._backward = (), op, None
        return out

    def _accumulate(self, grad: Any) -> None:
        """Add an incoming gradient, summed back to this node's shape if it was broadcast."""
        if type(self.data) is float:
            self.grad += float(np.sum(grad)) if type(grad) is not float else grad
        else:
            self.grad += _sum_to_shape(grad, self.data.shape)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Value:
        other = _lift(other)

        def backward(grad: Any) -> None:
            self._accumulate(grad)
            other._accumulate(grad)
        return Value._result(_broadcast(np.add, self, other), (self, other), "+", backward)

    def __sub__(self, other: Any) -> Value:
        other = _lift(other)

        def backward(grad: Any) -> None:
            self._accumulate(grad)
            other._accumulate(-grad)
        return Value._result(_broadcast(np.subtract, self, other), (self, other), "-", backward)

    def __mul__(self, other: Any) -> Value:
        other = _lift(other)

        def backward(grad: Any) -> None:
            self._accumulate(grad * other.data)
            other._accumulate(grad * self.data)
        return Value._result(_broadcast(np.multiply, self, other), (self, other), "*", backward)

    def __truediv__(self, other: Any) -> Value:
        other = _lift(other)

        def backward(grad: Any) -> None:
            self._accumulate(_divide(grad, other.data))
            other._accumulate(_divide(-grad * self.data, other.data * other.data))
        return Value._result(_broadcast(np.divide, self, other), (self, other), "/", backward)

    def __pow__(self, exponent: float) -> Value:
        if not isinstance(exponent, (int, float, np.integer, np.floating)) or isinstance(exponent, bool):
            raise TypeError(f"** takes a number exponent, got {type(exponent).__name__}")
        if not float(exponent).is_integer():
            _check_domain(self.data, f"** {exponent}", ">= 0 (a fractional power of a negative number)")

        def backward(grad: Any) -> None:
            self._accumulate(grad * exponent * _power(self.data, exponent - 1))
        return Value._result(_power(self.data, exponent), (self,), f"**{exponent}", backward)

    def __neg__(self) -> Value:
        def backward(grad: Any) -> None:
            self._accumulate(-grad)
        return Value._result(-self.data, (self,), "neg", backward)

    def __radd__(self, other: Any) -> Value:  # other + self
        return self + other

    def __rsub__(self, other: Any) -> Value:  # other - self
        return _lift(other) - self

    def __rmul__(self, other: Any) -> Value:  # other * self
        return self * other

    def __rtruediv__(self, other: Any) -> Value:  # other / self
        return _lift(other) / self

    # ------------------------------------------------------ elementwise functions
    def relu(self) -> Value:
        x = self.data
        mask = x > 0

        def backward(grad: Any) -> None:
            self._accumulate(grad * mask)
        out = (x if mask else 0.0) if type(x) is float else np.where(mask, x, 0)
        return Value._result(out, (self,), "ReLU", backward)

    def tanh(self) -> Value:
        t = math.tanh(self.data) if type(self.data) is float else np.tanh(self.data)

        def backward(grad: Any) -> None:
            self._accumulate(grad * (1 - t * t))
        return Value._result(t, (self,), "tanh", backward)

    def sigmoid(self) -> Value:
        s = _sigmoid(self.data)

        def backward(grad: Any) -> None:
            self._accumulate(grad * s * (1 - s))
        return Value._result(s, (self,), "sigmoid", backward)

    def exp(self) -> Value:
        e = _exp(self.data)

        def backward(grad: Any) -> None:
            self._accumulate(grad * e)
        return Value._result(e, (self,), "exp", backward)

    def log(self) -> Value:
        x = self.data
        _check_domain(x, "log", ">= 0")
        if type(x) is float:
            out = math.log(x) if x > 0 else -math.inf  # log(0) = -inf, as in NumPy and PyTorch
        else:
            with np.errstate(divide="ignore"):
                out = np.log(x)

        def backward(grad: Any) -> None:
            self._accumulate(_divide(grad, x))
        return Value._result(out, (self,), "log", backward)

    def sqrt(self) -> Value:
        _check_domain(self.data, "sqrt", ">= 0")
        r = math.sqrt(self.data) if type(self.data) is float else np.sqrt(self.data)

        def backward(grad: Any) -> None:
            self._accumulate(_divide(grad, 2 * r))
        return Value._result(r, (self,), "sqrt", backward)

    def abs(self) -> Value:
        x = self.data
        sign = float((x > 0) - (x < 0)) if type(x) is float else np.sign(x)

        def backward(grad: Any) -> None:
            self._accumulate(grad * sign)
        return Value._result(abs(x), (self,), "abs", backward)

    __abs__ = abs

    # ------------------------------------------------------------- linear algebra
    def __matmul__(self, other: Any) -> Value:
        other = _lift(other)
        a, b = self.data, other.data
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(f"@ needs at least 1-D operands, got shapes {np.shape(a)} and {np.shape(b)}")
        try:
            out = a @ b
        except ValueError:
            raise ValueError(f"@ cannot multiply shapes {a.shape} and {b.shape}") from None

        def backward(grad: Any) -> None:
            # Work with matrices: a 1-D left operand is a row, a 1-D right operand a column.
            a2 = a[None, :] if a.ndim == 1 else a
            b2 = b[:, None] if b.ndim == 1 else b
            g = grad
            if b.ndim == 1:
                g = np.expand_dims(g, -1)
            if a.ndim == 1:
                g = np.expand_dims(g, -2)
            grad_a = g @ np.swapaxes(b2, -1, -2)
            grad_b = np.swapaxes(a2, -1, -2) @ g
            self._accumulate(grad_a[..., 0, :] if a.ndim == 1 else grad_a)
            other._accumulate(grad_b[..., 0] if b.ndim == 1 else grad_b)
        return Value._result(out, (self, other), "@", backward)

    def __rmatmul__(self, other: Any) -> Value:  # other @ self
        return _lift(other) @ self

    # ----------------------------------------------------------------- reductions
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        def backward(grad: Any) -> None:
            self._accumulate(np.broadcast_to(_restore_axes(grad, axis, keepdims), np.shape(self.data)))
        return Value._result(np.sum(self.data, axis=axis, keepdims=keepdims), (self,), "sum", backward)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        out = np.mean(self.data, axis=axis, keepdims=keepdims)
        count = np.size(self.data) // max(np.size(out), 1)  # elements averaged into each output

        def backward(grad: Any) -> None:
            share = _restore_axes(grad, axis, keepdims) / count
            self._accumulate(np.broadcast_to(share, np.shape(self.data)))
        return Value._result(out, (self,), "mean", backward)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        """Maximum; where several elements tie, the gradient is shared equally among them."""
        if np.size(self.data) == 0:
            raise ValueError("max of an empty Value")
        peak = np.max(self.data, axis=axis, keepdims=True)

        def backward(grad: Any) -> None:
            winners = self.data == peak
            share = winners / np.sum(winners, axis=axis, keepdims=True)
            self._accumulate(share * _restore_axes(grad, axis, keepdims))
        out = peak if keepdims else np.squeeze(peak, axis=axis)
        return Value._result(out, (self,), "max", backward)

    # -------------------------------------------------------------------- shapes
    def reshape(self, *shape: Any) -> Value:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        old = np.shape(self.data)
        try:
            out = np.reshape(self.data, shape)
        except ValueError:
            raise ValueError(f"cannot reshape a Value of shape {old} into {tuple(shape)}") from None

        def backward(grad: Any) -> None:
            self._accumulate(np.reshape(grad, old))
        return Value._result(out, (self,), "reshape", backward)

    def transpose(self, *axes: int) -> Value:
        axes_or_none = (axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes) or None
        inverse = None if axes_or_none is None else np.argsort(axes_or_none)

        def backward(grad: Any) -> None:
            self._accumulate(np.transpose(grad, inverse))
        return Value._result(np.transpose(self.data, axes_or_none), (self,), "transpose", backward)

    @property
    def T(self) -> Value:  # noqa: N802 (NumPy's name)
        return self.transpose()

    def __getitem__(self, index: Any) -> Value:
        if type(self.data) is float:
            raise TypeError("a scalar Value cannot be indexed")
        index = index.data if isinstance(index, Value) else index
        if isinstance(index, np.ndarray) and np.issubdtype(index.dtype, np.floating):
            raise TypeError(f"indices must be integers, got an array of {index.dtype}")
        try:
            out = self.data[index]
        except IndexError as error:
            raise IndexError(f"{error} (Value of shape {self.data.shape})") from None

        def backward(grad: Any) -> None:
            full = np.zeros_like(self.data)
            np.add.at(full, index, grad)  # repeated indices add up
            self._accumulate(full)
        return Value._result(out, (self,), "getitem", backward)

    # ------------------------------------------------------------------ softmax
    def log_softmax(self, axis: int = -1) -> Value:
        """log(softmax(x)) computed as (x - max) - log(sum(exp(x - max))): finite for any logits."""
        shifted = self.data - np.max(self.data, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

        def backward(grad: Any) -> None:
            self._accumulate(grad - np.exp(out) * np.sum(grad, axis=axis, keepdims=True))
        return Value._result(out, (self,), "log_softmax", backward)

    def softmax(self, axis: int = -1) -> Value:
        shifted = np.exp(self.data - np.max(self.data, axis=axis, keepdims=True))
        probs = shifted / np.sum(shifted, axis=axis, keepdims=True)

        def backward(grad: Any) -> None:
            self._accumulate(probs * (grad - np.sum(grad * probs, axis=axis, keepdims=True)))
        return Value._result(probs, (self,), "softmax", backward)

    # ---------------------------------------------------------------- backward
    def backward(self, grad: Any = None) -> None:
        """Backpropagate from this node: fill `.grad` of every node it depends on.

        Gradients *accumulate* (`+=`), as in micrograd and PyTorch: the leaves (parameters,
        inputs) keep adding up across calls, so call `zero_grad` between training steps.
        Intermediate nodes start from zero on each call. A non-scalar output needs
        `grad`, the gradient of the final loss with respect to this node.
        """
        if grad is None:
            if np.size(self.data) != 1:
                raise ValueError(
                    f"backward() without grad needs a single-element output, got shape {self.shape}; "
                    "pass grad= (same shape) or reduce with .sum() or .mean() first"
                )
            grad = 1.0 if type(self.data) is float else np.ones_like(self.data)
        elif np.shape(grad) != self.shape:
            raise ValueError(f"backward grad has shape {np.shape(grad)}, expected {self.shape}")
        # 1. Count, for every node, how many times the graph uses it, and clear old
        #    gradients of intermediate nodes (leaves keep accumulating).
        uses: dict[Value, int] = {self: 0}
        stack = [self]
        while stack:
            node = stack.pop()
            for parent in node._prev:
                if parent in uses:
                    uses[parent] += 1
                else:
                    uses[parent] = 1
                    if parent._prev:
                        parent.grad = 0.0 if type(parent.data) is float else np.zeros_like(parent.data)
                    stack.append(parent)
        # 2. Visit a node once all of its uses have sent their gradient (reverse topological order).
        if self._prev:
            self.grad = 0.0 if type(self.data) is float else np.zeros_like(self.data)
        self._accumulate(grad)
        ready = [self]
        while ready:
            node = ready.pop()
            if node._backward is not None:
                node._backward(node.grad)
            for parent in node._prev:
                uses[parent] -= 1
                if uses[parent] == 0:
                    ready.append(parent)

    def zero_grad(self) -> None:
        self.grad = 0.0 if type(self.data) is float else np.zeros_like(self.data)

    def draw(self, **options: Any) -> Any:
        """This Value's graph as a `graphviz.Digraph`: `draw_graph(self, **options)` from
        `tinygrad_opt.viz` (needs the graphviz package, the `viz` extra)."""
        from tinygrad_opt.viz.graph import draw_graph  # imported here: the engine needs no graphviz

        return draw_graph(self, **options)

    def detach(self) -> Value:
        """The same data as a new leaf: no history, so nothing flows back through it."""
        return Value(self.data, label=self.label)

    # --------------------------------------------------------------- inspection
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.data)

    @property
    def ndim(self) -> int:
        return np.ndim(self.data)

    @property
    def size(self) -> int:
        return int(np.size(self.data))

    @property
    def dtype(self) -> np.dtype:
        return np.asarray(self.data).dtype

    def item(self) -> float:
        if np.size(self.data) != 1:
            raise ValueError(f"item() needs a single-element Value, got shape {self.shape}")
        return float(np.asarray(self.data).reshape(()))

    def __repr__(self) -> str:
        name = f", label={self.label!r}" if self.label else ""
        if type(self.data) is float:
            return f"Value(data={self.data}, grad={self.grad}{name})"
        if self.data.size <= 6:
            data = np.array2string(self.data, separator=", ").replace("\n", "")
            grad = np.array2string(np.asarray(self.grad), separator=", ").replace("\n", "")
            return f"Value(data={data}, grad={grad}{name})"
        return f"Value(shape={self.data.shape}, dtype={self.data.dtype}{name})"


# ------------------------------------------------------------------------ helpers
def _lift(other: Any) -> Value:
    """Wrap a number or an array as a constant Value, so `x * 2` and `x + array` work."""
    if isinstance(other, Value):
        return other
    if isinstance(other, (int, float, list, tuple, np.ndarray, np.generic)):
        return Value(other)
    raise TypeError(f"cannot combine a Value with {type(other).__name__} {other!r:.40}")


def _broadcast(ufunc: np.ufunc, a: Value, b: Value) -> Any:
    """Apply a binary ufunc; Python floats stay Python floats (fast scalars)."""
    x, y = a.data, b.data
    if type(x) is float and type(y) is float:
        if ufunc is np.add:
            return x + y
        if ufunc is np.subtract:
            return x - y
        if ufunc is np.multiply:
            return x * y
        return _divide(x, y)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            return ufunc(x, y)
    except ValueError:
        raise ValueError(
            f"cannot broadcast shapes {np.shape(x)} and {np.shape(y)} for {ufunc.__name__}"
        ) from None


def _divide(x: Any, y: Any) -> Any:
    """x / y with IEEE results (inf, nan) for a zero divisor, for floats as for arrays."""
    if type(y) is float and y:
        return x / y
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(x, y)
    return float(out) if type(x) is float and type(y) is float else out


def _power(x: Any, p: float) -> Any:
    """x ** p with IEEE results (inf) for 0 to a negative power, for floats as for arrays."""
    if type(x) is float:
        return x**p if x or p >= 0 else math.inf
    with np.errstate(divide="ignore"):
        return np.power(x, p)


def _sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x)), written so neither branch overflows."""
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _exp(x: Any) -> Any:
    if type(x) is float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    with np.errstate(over="ignore"):
        return np.exp(x)


def _restore_axes(grad: Any, axis: int | tuple[int, ...] | None, keepdims: bool) -> Any:
    """Put back the axes a reduction removed, so the gradient broadcasts to the input."""
    if keepdims or axis is None:
        return grad
    return np.expand_dims(grad, axis)


def stack(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values (or numbers/arrays) along a new axis, like `np.stack`."""
    values = [v if isinstance(v, Value) else Value(v) for v in values]
    if not values:
        raise ValueError("stack needs at least one Value")
    try:
        out = np.stack([np.asarray(v.data) for v in values], axis=axis)
    except ValueError:
        raise ValueError(f"stack needs equal shapes, got {[v.shape for v in values]}") from None

    def backward(grad: Any) -> None:
        for i, v in enumerate(values):
            v._accumulate(np.take(grad, i, axis=axis))
    return Value._result(out, tuple(values), "stack", backward)


def concatenate(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values (or arrays) end to end along an existing axis, like `np.concatenate`."""
    values = [v if isinstance(v, Value) else Value(v) for v in values]
    if not values:
        raise ValueError("concatenate needs at least one Value")
    try:
        out = np.concatenate([v.data for v in values], axis=axis)
    except ValueError:
        shapes = [v.shape for v in values]
        raise ValueError(f"concatenate cannot join shapes {shapes} on axis {axis}") from None
    ends = np.cumsum([v.shape[axis] for v in values])[:-1]

    def backward(grad: Any) -> None:
        for v, piece in zip(values, np.split(grad, ends, axis=axis), strict=True):
            v._accumulate(piece)
    return Value._result(out, tuple(values), "concat", backward)


def gradcheck(
    f: Callable[..., Value],
    *values: Value,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Compare `backward()` with central differences (f(x + eps) - f(x - eps)) / 2eps.

    `f(*values)` should return a Value; a non-scalar output is checked through
    `sum(out * r)` for a fixed random `r`, which tests the whole vector-Jacobian
    product. Returns True, or raises `GradcheckError` naming the worst element.
    Use float64 data: float32 differences are too coarse to compare.
    """
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"gradcheck takes Values, argument {i} is {type(v).__name__}")
    weights = None

    def scalar_output() -> Value:
        nonlocal weights
        out = f(*values)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: f must return a Value, got {type(out).__name__}")
        if out.size == 1:
            return out.sum() if out.ndim else out
        if weights is None:
            weights = np.random.default_rng(0).standard_normal(out.shape)
        return (out * weights).sum()

    for v in values:
        v.zero_grad()
    scalar_output().backward()
    analytic = [np.array(v.grad, dtype=np.float64).reshape(-1) for v in values]

    worst_excess, worst = 0.0, ""
    for i, v in enumerate(values):
        for j in range(v.size):
            numeric = _central_difference(scalar_output, v, j, eps)
            got = analytic[i][j]
            excess = abs(got - numeric) - (atol + rtol * abs(numeric))
            if not np.isfinite(excess):
                excess = math.inf  # a nan or inf on either side is a mismatch
            if excess > worst_excess:
                where = f"input {i}" + (f" ({v.label!r})" if v.label else "")
                where += f" at index {tuple(int(k) for k in np.unravel_index(j, v.shape))}" if v.ndim else ""
                worst_excess = excess
                worst = f"{where}: backward gives {got!r}, central differences {numeric!r}"
    if worst:
        raise GradcheckError(f"gradient mismatch for {worst}")
    return True


def _central_difference(output: Callable[[], Value], v: Value, j: int, eps: float) -> float:
    """(f(x + eps) - f(x - eps)) / 2eps, moving element j of v."""
    original = v.data
    results = []
    for step in (eps, -eps):
        if type(original) is float:
            v.data = original + step
        else:
            v.data = original.copy()
            v.data.reshape(-1)[j] += step
        with no_grad():
            results.append(output().item())
    v.data = original
    return (results[0] - results[1]) / (2 * eps)


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when backward disagrees with central differences."""
