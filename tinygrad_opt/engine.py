"""The autograd engine: a `Value` records the computation graph as you compute, and
`backward()` walks it in reverse, applying the chain rule one node at a time.

A Value holds either a Python float (a *scalar*, as in micrograd) or a NumPy array
(a *tensor*); one definition of each operation serves both. Every operation is a
forward method followed right away by its local backward rule, `_<op>_backward(out,
grad)`, which reads the inputs from `out._prev` and adds (`+=`) each input's share of
`grad` into its `.grad`.

The backward rules are plain functions (static methods) that receive the output node,
rather than closures created per operation. That keeps each node to two small objects, and a
graph has no reference cycles: it is freed by reference counting the moment its
output is dropped. (micrograd's closures capture their own output, which leaves
every graph to the cyclic garbage collector.) `backward()` is iterative, so a chain
of a million operations backpropagates.

Domain errors are errors: `log` or `sqrt` of a negative number, and a fractional
power of one, raise `ValueError` naming the first bad element, for scalars and
tensors alike. At the edge of the domain results follow IEEE arithmetic, as in
NumPy and PyTorch: `log(0) = -inf`, `1 / 0 = inf`, and the gradients there are inf.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

Axis = int | tuple[int, ...] | None

_grad_enabled = True
_new_node = object.__new__  # makes a Value without running __init__'s checks


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block results record no parents: nothing to backpropagate, nothing kept alive."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


class Value:
    """A node of the computation graph: `data`, its gradient `grad`, and how it was made.

    `Value(3.0)` is a scalar (`data` is a Python float); `Value([1, 2])` or
    `Value(array)` is a tensor (`data` is an ndarray: float64 unless the array is
    already floating, so float32 stays float32; an ndarray is used as is, not
    copied). `_prev` (the inputs) and `_op` (the operation's name) keep micrograd's
    names, so graph-drawing code written for micrograd works unchanged.
    """

    __slots__ = ("data", "grad", "label", "_prev", "_op", "_backward", "_ctx", "__weakref__")
    __array_ufunc__ = None  # `ndarray + Value` defers to Value.__radd__ instead of looping

    def __init__(self, data: Any, label: str = "", _children: tuple = (), _op: str = "") -> None:
        self.data = data if type(data) is float else _as_data(data)
        self.grad = _zeros(self.data)
        self.label = label
        self._prev = _children if type(_children) is tuple else tuple(_children)
        self._op = _op
        self._backward: Callable[[Value, Any], None] | None = None
        self._ctx: Any = None

    @staticmethod
    def _result(data: Any, inputs: tuple, op: str, backward: Callable, ctx: Any = None) -> Value:
        """The output node of an operation (under `no_grad`: no inputs, no backward rule)."""
        out = _new_node(Value)
        if type(data) is float:
            out.grad = 0.0
        else:
            data = np.asarray(data)
            if data.ndim == 0 and all(type(v.data) is float for v in inputs):
                data = float(data)  # an operation on scalars gives a scalar
            out.grad = _zeros(data)
        out.data = data
        out.label = ""
        out._op = op
        if _grad_enabled:
            out._prev, out._backward, out._ctx = inputs, backward, ctx
        else:
            out._prev, out._backward, out._ctx = (), None, None
        return out

    def _accumulate(self, grad: Any) -> None:
        """Add an incoming gradient, summed back to this node's shape if it was broadcast."""
        if type(grad) is float and type(self.data) is float:
            self.grad += grad
        elif type(self.data) is float:
            self.grad += float(np.sum(grad))
        else:
            self.grad += _sum_to_shape(grad, self.data.shape)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Value:
        other = other if type(other) is Value else _lift(other)
        try:
            out = self.data + other.data
        except ValueError:
            raise _shape_error("+", self, other) from None
        return Value._result(out, (self, other), "+", Value._add_backward)

    @staticmethod
    def _add_backward(out: Value, grad: Any) -> None:  # d(a+b)/da = 1, d(a+b)/db = 1
        a, b = out._prev
        a._accumulate(grad)
        b._accumulate(grad)

    def __sub__(self, other: Any) -> Value:
        other = other if type(other) is Value else _lift(other)
        try:
            out = self.data - other.data
        except ValueError:
            raise _shape_error("-", self, other) from None
        return Value._result(out, (self, other), "-", Value._sub_backward)

    @staticmethod
    def _sub_backward(out: Value, grad: Any) -> None:  # d(a-b)/da = 1, d(a-b)/db = -1
        a, b = out._prev
        a._accumulate(grad)
        b._accumulate(-grad)

    def __mul__(self, other: Any) -> Value:
        other = other if type(other) is Value else _lift(other)
        try:
            out = self.data * other.data
        except ValueError:
            raise _shape_error("*", self, other) from None
        return Value._result(out, (self, other), "*", Value._mul_backward)

    @staticmethod
    def _mul_backward(out: Value, grad: Any) -> None:  # d(ab)/da = b, d(ab)/db = a
        a, b = out._prev
        a._accumulate(grad * b.data)
        b._accumulate(grad * a.data)

    def __truediv__(self, other: Any) -> Value:
        other = other if type(other) is Value else _lift(other)
        try:
            out = _divide(self.data, other.data)
        except ValueError:
            raise _shape_error("/", self, other) from None
        return Value._result(out, (self, other), "/", Value._div_backward)

    @staticmethod
    def _div_backward(out: Value, grad: Any) -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        a, b = out._prev
        a._accumulate(_divide(grad, b.data))
        b._accumulate(-_divide(grad * out.data, b.data))

    def __pow__(self, exponent: float) -> Value:
        if not isinstance(exponent, (int, float, np.integer, np.floating)) or isinstance(exponent, bool):
            raise TypeError(f"** takes a number exponent, got {type(exponent).__name__}")
        if not float(exponent).is_integer():
            _check_domain(self.data, f"** {exponent}", ">= 0 (a fractional power of a negative number)")
        out = _power(self.data, exponent)
        return Value._result(out, (self,), f"**{exponent}", Value._pow_backward, exponent)

    @staticmethod
    def _pow_backward(out: Value, grad: Any) -> None:  # d(x^p)/dx = p x^(p-1), and 0 for p = 0
        (x,) = out._prev
        p = out._ctx
        if p != 0:  # x^0 is constant; p x^(p-1) would be 0 * inf = nan at x = 0
            x._accumulate(grad * p * _power(x.data, p - 1))

    def __neg__(self) -> Value:
        return Value._result(-self.data, (self,), "neg", Value._neg_backward)

    @staticmethod
    def _neg_backward(out: Value, grad: Any) -> None:  # d(-x)/dx = -1
        out._prev[0]._accumulate(-grad)

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
        out = (x if x > 0 else 0.0) if type(x) is float else np.maximum(x, 0)
        return Value._result(out, (self,), "ReLU", Value._relu_backward)

    @staticmethod
    def _relu_backward(out: Value, grad: Any) -> None:  # 1 where x > 0, else 0
        out._prev[0]._accumulate(grad * (out.data > 0))

    def tanh(self) -> Value:
        x = self.data
        out = math.tanh(x) if type(x) is float else np.tanh(x)
        return Value._result(out, (self,), "tanh", Value._tanh_backward)

    @staticmethod
    def _tanh_backward(out: Value, grad: Any) -> None:  # d tanh(x)/dx = 1 - tanh(x)^2
        out._prev[0]._accumulate(grad * (1 - out.data * out.data))

    def sigmoid(self) -> Value:
        return Value._result(_sigmoid(self.data), (self,), "sigmoid", Value._sigmoid_backward)

    @staticmethod
    def _sigmoid_backward(out: Value, grad: Any) -> None:  # d s(x)/dx = s(x) (1 - s(x))
        out._prev[0]._accumulate(grad * out.data * (1 - out.data))

    def exp(self) -> Value:
        return Value._result(_exp(self.data), (self,), "exp", Value._exp_backward)

    @staticmethod
    def _exp_backward(out: Value, grad: Any) -> None:  # d e^x/dx = e^x
        out._prev[0]._accumulate(grad * out.data)

    def log(self) -> Value:
        x = self.data
        _check_domain(x, "log", ">= 0")
        if type(x) is float:
            out = math.log(x) if x > 0 else -math.inf
        else:
            with np.errstate(divide="ignore"):
                out = np.log(x)
        return Value._result(out, (self,), "log", Value._log_backward)

    @staticmethod
    def _log_backward(out: Value, grad: Any) -> None:  # d log(x)/dx = 1/x
        (x,) = out._prev
        x._accumulate(_divide(grad, x.data))

    def sqrt(self) -> Value:
        x = self.data
        _check_domain(x, "sqrt", ">= 0")
        out = math.sqrt(x) if type(x) is float else np.sqrt(x)
        return Value._result(out, (self,), "sqrt", Value._sqrt_backward)

    @staticmethod
    def _sqrt_backward(out: Value, grad: Any) -> None:  # d sqrt(x)/dx = 1 / (2 sqrt(x))
        out._prev[0]._accumulate(_divide(grad, 2 * out.data))

    def abs(self) -> Value:
        return Value._result(abs(self.data), (self,), "abs", Value._abs_backward)

    @staticmethod
    def _abs_backward(out: Value, grad: Any) -> None:  # d|x|/dx = sign(x), 0 at 0
        x = out._prev[0].data
        out._prev[0]._accumulate(grad * (float((x > 0) - (x < 0)) if type(x) is float else np.sign(x)))

    __abs__ = abs

    def sin(self) -> Value:
        x = self.data
        out = math.sin(x) if type(x) is float else np.sin(x)
        return Value._result(out, (self,), "sin", Value._sin_backward)

    @staticmethod
    def _sin_backward(out: Value, grad: Any) -> None:  # d sin(x)/dx = cos(x)
        x = out._prev[0].data
        out._prev[0]._accumulate(grad * (math.cos(x) if type(x) is float else np.cos(x)))

    def cos(self) -> Value:
        x = self.data
        out = math.cos(x) if type(x) is float else np.cos(x)
        return Value._result(out, (self,), "cos", Value._cos_backward)

    @staticmethod
    def _cos_backward(out: Value, grad: Any) -> None:  # d cos(x)/dx = -sin(x)
        x = out._prev[0].data
        out._prev[0]._accumulate(-grad * (math.sin(x) if type(x) is float else np.sin(x)))

    # ------------------------------------------------------------- linear algebra
    def __matmul__(self, other: Any) -> Value:
        other = _lift(other)
        if self.ndim == 0 or other.ndim == 0:
            shapes = f"{self.shape} and {other.shape}"
            raise ValueError(f"@ needs operands of 1 or more dimensions, got shapes {shapes}")
        try:
            out = self.data @ other.data
        except ValueError:
            raise ValueError(f"@ cannot multiply shapes {self.shape} and {other.shape}") from None
        return Value._result(out, (self, other), "@", Value._matmul_backward)

    @staticmethod
    def _matmul_backward(out: Value, grad: Any) -> None:  # C = AB: dA = G B^T, dB = A^T G
        a, b = out._prev
        # A 1-D left operand acts as a row (1, n), a 1-D right operand as a column (n, 1).
        left = a.data[None, :] if a.ndim == 1 else a.data
        right = b.data[:, None] if b.ndim == 1 else b.data
        g = np.expand_dims(grad, -1) if b.ndim == 1 else grad
        g = np.expand_dims(g, -2) if a.ndim == 1 else g
        grad_a = g @ np.swapaxes(right, -1, -2)
        grad_b = np.swapaxes(left, -1, -2) @ g
        a._accumulate(grad_a[..., 0, :] if a.ndim == 1 else grad_a)  # batch axes sum in _accumulate
        b._accumulate(grad_b[..., 0] if b.ndim == 1 else grad_b)

    def __rmatmul__(self, other: Any) -> Value:  # other @ self
        return _lift(other) @ self

    # ----------------------------------------------------------------- reductions
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Value:
        out = np.sum(self.data, axis=axis, keepdims=keepdims)
        return Value._result(out, (self,), "sum", Value._sum_backward, (axis, keepdims))

    @staticmethod
    def _sum_backward(out: Value, grad: Any) -> None:  # every input element gets the gradient of its sum
        x = out._prev[0]
        x._accumulate(np.broadcast_to(_restore_axes(grad, *out._ctx), x.shape))

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Value:
        out = np.mean(self.data, axis=axis, keepdims=keepdims)
        return Value._result(out, (self,), "mean", Value._mean_backward, (axis, keepdims))

    @staticmethod
    def _mean_backward(out: Value, grad: Any) -> None:  # ... divided by how many were averaged
        x = out._prev[0]
        count = x.size // max(np.size(out.data), 1)
        x._accumulate(np.broadcast_to(_restore_axes(grad, *out._ctx) / count, x.shape))

    def max(self, axis: Axis = None, keepdims: bool = False) -> Value:
        """The largest element(s); where several tie, they share the gradient equally."""
        if self.size == 0:
            raise ValueError("max of an empty Value")
        out = np.max(self.data, axis=axis, keepdims=keepdims)
        return Value._result(out, (self,), "max", Value._max_backward, (axis, keepdims))

    @staticmethod
    def _max_backward(out: Value, grad: Any) -> None:  # only the winners, sharing ties equally
        x = out._prev[0]
        axis, keepdims = out._ctx
        winners = x.data == _restore_axes(out.data, axis, keepdims)
        share = winners / np.sum(winners, axis=axis, keepdims=True)
        x._accumulate(share * _restore_axes(grad, axis, keepdims))

    # -------------------------------------------------------------------- shapes
    def reshape(self, *shape: int | tuple[int, ...]) -> Value:
        new_shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        try:
            out = np.reshape(self.data, new_shape)
        except ValueError:
            message = f"cannot reshape a Value of shape {self.shape} into {tuple(new_shape)}"
            raise ValueError(message) from None
        return Value._result(out, (self,), "reshape", Value._reshape_backward)

    @staticmethod
    def _reshape_backward(out: Value, grad: Any) -> None:
        x = out._prev[0]
        x._accumulate(np.reshape(grad, x.shape))

    def transpose(self, *axes: int | tuple[int, ...]) -> Value:
        order = (axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes) or None
        out = np.transpose(self.data, order)
        if order is not None:
            order = tuple(axis % self.ndim for axis in order)  # (0, -1, -2) -> (0, 2, 1): invertible
        return Value._result(out, (self,), "transpose", Value._transpose_backward, order)

    @staticmethod
    def _transpose_backward(out: Value, grad: Any) -> None:  # transpose back
        order = out._ctx
        out._prev[0]._accumulate(np.transpose(grad, None if order is None else np.argsort(order)))

    @property
    def T(self) -> Value:  # NumPy's name  # noqa: N802
        return self.transpose()

    def __getitem__(self, index: Any) -> Value:
        if type(self.data) is float:
            raise TypeError("a scalar Value cannot be indexed")
        index = index.data if isinstance(index, Value) else index
        if isinstance(index, np.ndarray) and index.dtype.kind not in "iub":
            raise TypeError(f"indices must be integers or booleans, got an array of {index.dtype}")
        try:
            out = self.data[index]
        except IndexError as error:
            raise IndexError(f"{error} (indexing a Value of shape {self.shape})") from None
        return Value._result(out, (self,), "getitem", Value._getitem_backward, index)

    @staticmethod
    def _getitem_backward(out: Value, grad: Any) -> None:  # scatter back; repeated indices add up
        x = out._prev[0]
        full = _zeros(x.data)
        np.add.at(full, out._ctx, grad)
        x._accumulate(full)

    # ------------------------------------------------------------------ softmax
    def softmax(self, axis: int = -1) -> Value:
        """exp(x) / sum(exp(x)), computed on x - max(x) so no logit overflows."""
        shifted = np.exp(self.data - np.max(self.data, axis=axis, keepdims=True))
        out = shifted / np.sum(shifted, axis=axis, keepdims=True)
        return Value._result(out, (self,), "softmax", Value._softmax_backward, axis)

    @staticmethod
    def _softmax_backward(out: Value, grad: Any) -> None:  # s * (g - sum(g * s))
        s, axis = out.data, out._ctx
        out._prev[0]._accumulate(s * (grad - np.sum(grad * s, axis=axis, keepdims=True)))

    def log_softmax(self, axis: int = -1) -> Value:
        """x - log(sum(exp(x))), computed as (x - max) - log(sum(exp(x - max))): finite for any logits."""
        shifted = self.data - np.max(self.data, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        return Value._result(out, (self,), "log_softmax", Value._log_softmax_backward, axis)

    @staticmethod
    def _log_softmax_backward(out: Value, grad: Any) -> None:  # g - softmax * sum(g)
        axis = out._ctx
        out._prev[0]._accumulate(grad - np.exp(out.data) * np.sum(grad, axis=axis, keepdims=True))

    # ---------------------------------------------------------------- backward
    def backward(self, grad: Any = None) -> None:
        """Backpropagate from this node: fill the `.grad` of every node it depends on.

        Gradients *accumulate* (`+=`), as in micrograd and PyTorch: leaves (parameters,
        inputs) keep adding up across calls, so call `zero_grad` between training steps.
        Intermediate nodes start from zero on each call. A non-scalar output needs
        `grad`: the gradient of the final loss with respect to this node.
        """
        if grad is None:
            if self.size != 1:
                raise ValueError(
                    f"backward() without grad needs a single-element output, got shape {self.shape}: "
                    "pass grad= of that shape, or reduce with .sum() or .mean() first"
                )
            grad = 1.0 if type(self.data) is float else np.ones_like(self.data)
        elif np.shape(grad) != self.shape:
            raise ValueError(f"backward(grad) needs grad of shape {self.shape}, got {np.shape(grad)}")
        # 1. Order the graph so that every node comes after all of its inputs (a depth-first
        #    walk with an explicit stack, so any depth works), and clear the old gradients of
        #    intermediate nodes on the way (leaves keep accumulating).
        order: list[Value] = []
        seen = {self}
        stack = [(self, iter(self._prev))]
        while stack:
            node, inputs = stack[-1]
            for parent in inputs:
                if parent not in seen:
                    seen.add(parent)
                    if parent._prev:
                        parent.grad = _zeros(parent.data)
                    stack.append((parent, iter(parent._prev)))
                    break
            else:  # every input is ordered: so is this node
                stack.pop()
                order.append(node)
        # 2. Walk the order backwards from the output: a node has received the gradient of
        #    every use of it before it passes its own on.
        if self._prev:
            self.zero_grad()
        self._accumulate(grad if type(self.data) is float else np.asarray(grad, dtype=self.data.dtype))
        for node in reversed(order):
            if node._backward is not None:
                node._backward(node, node.grad)

    def zero_grad(self) -> None:
        self.grad = _zeros(self.data)

    def detach(self) -> Value:
        """The same data as a new leaf: no history, so nothing flows back through it."""
        return Value(self.data, label=self.label)

    # --------------------------------------------------------------- inspection
    @property
    def shape(self) -> tuple[int, ...]:
        return () if type(self.data) is float else self.data.shape

    @property
    def ndim(self) -> int:
        return 0 if type(self.data) is float else self.data.ndim

    @property
    def size(self) -> int:
        return 1 if type(self.data) is float else self.data.size

    @property
    def dtype(self) -> np.dtype:
        return np.asarray(self.data).dtype

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item() needs a single-element Value, got shape {self.shape}")
        return float(np.asarray(self.data).reshape(()))

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        if type(self.data) is float:
            return f"Value(data={self.data}, grad={self.grad}{label})"
        if self.data.size <= 8:
            data = np.array2string(self.data, separator=", ").replace("\n", "")
            grad = np.array2string(np.asarray(self.grad), separator=", ").replace("\n", "")
            return f"Value(data={data}, grad={grad}{label})"
        return f"Value(shape={self.data.shape}, dtype={self.data.dtype}{label})"


# --------------------------------------------------------------- joining Values
def stack(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values (or numbers, or arrays) along a new axis, like `np.stack`."""
    values = tuple(_lift(v) for v in values)
    if not values:
        raise ValueError("stack needs at least one Value")
    try:
        out = np.stack([np.asarray(v.data) for v in values], axis=axis)
    except ValueError:
        raise ValueError(f"stack needs Values of one shape, got shapes {[v.shape for v in values]}") from None
    return Value._result(out, values, "stack", _stack_backward, axis)


def _stack_backward(out: Value, grad: Any) -> None:
    for i, v in enumerate(out._prev):
        v._accumulate(np.take(grad, i, axis=out._ctx))


def concatenate(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values (or arrays) end to end along an existing axis, like `np.concatenate`."""
    values = tuple(_lift(v) for v in values)
    if not values:
        raise ValueError("concatenate needs at least one Value")
    try:
        out = np.concatenate([v.data for v in values], axis=axis)
    except ValueError:
        shapes = [v.shape for v in values]
        raise ValueError(f"concatenate cannot join shapes {shapes} along axis {axis}") from None
    return Value._result(out, values, "concat", _concatenate_backward, axis)


def _concatenate_backward(out: Value, grad: Any) -> None:
    axis = out._ctx
    ends = np.cumsum([v.shape[axis] for v in out._prev])[:-1]
    for v, piece in zip(out._prev, np.split(grad, ends, axis=axis), strict=True):
        v._accumulate(piece)


# ----------------------------------------------------------- internal functions
def _as_data(data: Any) -> float | np.ndarray:
    """A Python number becomes a float (a scalar); anything array-like becomes a float array."""
    if isinstance(data, np.floating) and type(data) is not np.float64:
        return np.asarray(data)  # a float32 number stays float32
    if isinstance(data, (int, float, np.integer)):
        return float(data)
    if isinstance(data, np.ndarray) and np.issubdtype(data.dtype, np.floating):
        return data
    if isinstance(data, (list, tuple, np.ndarray)):
        try:
            return np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"Value needs numbers, got {type(data).__name__} {data!r:.60}") from None
    raise TypeError(f"Value needs a number, a list of numbers or a NumPy array, got {type(data).__name__}")


def _lift(other: Any) -> Value:
    """Wrap a number or an array as a constant Value, so `x * 2` and `x + array` work."""
    return other if isinstance(other, Value) else Value(other)


def _shape_error(op: str, a: Value, b: Value) -> ValueError:
    return ValueError(f"{op} cannot broadcast shapes {a.shape} and {b.shape}")


def _sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum `grad` over the axes that broadcasting added or stretched."""
    if getattr(grad, "shape", ()) == shape:
        return grad
    grad = np.sum(grad, axis=tuple(range(np.ndim(grad) - len(shape))))  # added leading axes
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return np.sum(grad, axis=stretched, keepdims=True) if stretched else grad


def _zeros(data: Any) -> Any:
    """A zero gradient shaped like `data`: 0.0 for a scalar, an array of zeros for a tensor."""
    return 0.0 if type(data) is float else np.zeros(data.shape, data.dtype)


def _restore_axes(grad: Any, axis: Axis, keepdims: bool) -> Any:
    """Put back the axes a reduction removed, so the result broadcasts against its input."""
    return grad if keepdims or axis is None else np.expand_dims(grad, axis)


def _check_domain(x: Any, name: str, expected: str) -> None:
    if np.any(x < 0):
        bad = x if np.ndim(x) == 0 else x[x < 0][0]
        raise ValueError(f"{name} needs inputs {expected}, got {float(bad)!r}")


def _divide(x: Any, y: Any) -> Any:
    """x / y with IEEE results (inf, nan) for a zero divisor, for floats as for arrays."""
    if type(y) is float and y:
        return x / y
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(x, y)
    return float(out) if type(x) is float and type(y) is float else out


def _power(x: Any, p: float) -> Any:
    """x ** p with IEEE results (inf) for 0 to a negative power and for overflow, for floats
    as for arrays."""
    if type(x) is float:
        try:
            return x**p if x or p >= 0 else math.inf
        except OverflowError:  # Python's float power raises where NumPy's gives +-inf
            with np.errstate(over="ignore"):
                return float(np.power(x, p))
    with np.errstate(divide="ignore", over="ignore"):
        return np.power(x, p)


def _sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x)), written so that neither branch overflows."""
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _exp(x: Any) -> Any:
    if type(x) is float:
        return math.exp(x) if x < 709.78 else math.inf  # math.exp raises past float's range
    with np.errstate(over="ignore"):
        return np.exp(x)
