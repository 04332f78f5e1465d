"""The autograd engine: a `Value` records the computation graph as you compute, and
`backward()` walks it in reverse, applying the chain rule one node at a time.

A Value holds either a Python float (a *scalar*, as in micrograd) or a NumPy array
(a *tensor*); one definition of each operation serves both. Every operation is a
forward method followed right away by its local backward rule, `_<op>_backward(out,
grad)`, which reads the inputs (`out._a`, `out._b`) and adds (`+=`) each input's share of
`grad` into its `.grad`.

The backward rules are plain functions (static methods) that receive the output node,
rather than closures created per operation. That keeps each node to one object (its
inputs sit in its own fields, not in a tuple beside it), and a graph has no reference
cycles: it is freed by reference counting the moment its output is dropped. (micrograd's
closures capture their own output, which leaves every graph to the cyclic garbage
collector.) `backward()` is iterative, so a chain of a million operations
backpropagates.

micrograd's own ways work too: `Value(data, (a, b), 'op')` makes a node, a zero-argument
closure assigned to `out._backward` is its backward rule, and `node._backward()` runs one
node's rule by hand. `operation(...)` is the engine's public way to add an op without a
closure (see docs/engine.md, "Adding your own op").

Domain errors are errors: `log` or `sqrt` of a negative number, and a fractional
power of one, raise `ValueError` naming the first bad element, for scalars and
tensors alike. At the edge of the domain results follow IEEE arithmetic, as in
NumPy and PyTorch: `log(0) = -inf`, `1 / 0 = inf`, and the gradients there are inf.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

Axis = int | tuple[int, ...] | None
Seed = int | np.random.Generator | None

# Whether operations record their inputs. A context variable, so each thread (and each
# asyncio task) has its own: one thread inside `no_grad` leaves the others recording.
_grad_mode = contextvars.ContextVar("grad_mode", default=True)
_grad_enabled = _grad_mode.get
_new_node = object.__new__  # makes a Value without running __init__'s checks


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block results record no parents: nothing to backpropagate, nothing kept alive.

    It applies to the thread that enters it (as in PyTorch): other threads keep recording.
    """
    token = _grad_mode.set(False)
    try:
        yield
    finally:
        _grad_mode.reset(token)


class Value:
    """A node of the computation graph: `data`, its gradient `grad`, and how it was made.

    `Value(3.0)` is a scalar (`data` is a Python float); `Value([1, 2])` or
    `Value(array)` is a tensor (`data` is an ndarray: float64 unless the array is
    already floating, so float32 stays float32; an ndarray is used as is, not
    copied). The arguments are micrograd's, in micrograd's order: `_children` (the
    inputs) and `_op` (the operation's name) are set by operations and kept as `_prev`
    and `_op`, so graph-drawing code written for micrograd works unchanged.

    Anything assigned to `data` later is converted the same way (`p.data = 0` makes
    the float 0.0), so a micrograd habit cannot leave an int behind for the engine to trip on.
    """

    # The inputs are kept in three fields, `_a` and `_b` (the first two, or None) and `_rest`
    # (any after the second, usually the empty tuple), not in a tuple of their own: a step of
    # micrograd's demo makes some 65,000 nodes, and a tuple per node doubled the objects that
    # Python's cyclic garbage collector walks while they are alive (a third of the step's time).
    # `_prev`, micrograd's tuple of inputs, is made from them when it is read.
    __slots__ = ("_data", "grad", "label", "_a", "_b", "_rest", "_op", "_rule", "_ctx", "__weakref__")

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy's hook for a ufunc given a Value: arithmetic (`ndarray + Value`) is the Value's own
        operator; any other ufunc (`np.cos(v)`) would compute past the graph, so it is refused with
        the Value method to use instead (`v.cos()`)."""
        return _numpy_ufunc(ufunc, method, inputs, kwargs)

    def __init__(self, data: Any, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        self._data = data if type(data) is float else _as_data(data)
        self.grad = _zeros(self._data)
        self.label = label
        if type(_children) is tuple and not _children:  # a leaf: a parameter, an input, a constant
            self._a, self._b, self._rest = None, None, ()
        else:  # a node made by hand, micrograd's way (an empty list or set, or None, makes a leaf too)
            self._prev = () if _children is None else _children
        self._op = _op
        self._rule: Callable | None = None  # the backward rule; see `_backward` and `operation`
        self._ctx: Any = None

    # `data` is a property, so that an assignment is converted like the constructor's
    # argument (and the gradient kept in step with it). The number itself lives in `_data`;
    # the engine's own operations read `_data` directly, which saves them the property's
    # function call on the hot path. Code outside the engine reads and writes `data`.
    def _set_data(self, data: Any) -> None:
        if type(data) is not float:
            data = _as_data(data)
            self.grad = _grad_like(self.grad, data)
        elif type(self.grad) is not float:
            self.grad = _grad_like(self.grad, data)
        self._data = data

    data = property(operator.attrgetter("_data"), _set_data, doc="The number or array this node holds.")

    @staticmethod
    def _result(data: Any, op: str, backward: Callable, a: Value, b: Value | None = None, *rest: Value,
                ctx: Any = None) -> Value:
        """The output node of an operation on the inputs `a` (`b`, `*rest`); under `no_grad`
        it records no inputs and no backward rule.

        It has the class of the first input, so operations on a subclass of Value give
        that subclass. Its gradient starts as the number 0.0, scalar or tensor: no array of
        zeros is made for a node until (unless) `backward` reaches it, see `_accumulate`.
        """
        out = _new_node(a.__class__)
        if type(data) is not float:
            data = np.asarray(data)
            if data.ndim == 0 and all(type(v._data) is float for v in (a, b, *rest) if v is not None):
                data = float(data)  # an operation on scalars gives a scalar
        if not _grad_enabled():  # under no_grad the node records nothing
            a, b, rest, backward, ctx = None, None, (), None, None
        out.grad = 0.0
        out._data = data
        out.label = ""
        out._op = op
        out._a = a
        out._b = b
        out._rest = rest
        out._rule = backward
        out._ctx = ctx
        return out

    @property
    def _prev(self) -> tuple[Value, ...]:
        """micrograd's name for the inputs (a tuple here, a set in micrograd); () for a leaf."""
        if self._b is None:
            return () if self._a is None else (self._a,)
        return (self._a, self._b, *self._rest)

    @_prev.setter
    def _prev(self, children: Iterable[Value]) -> None:  # micrograd's `out._prev = set(...)` too
        problem = ("Value's second argument is _children (assigned later: `_prev`), the Values an "
                   "operation read, as a tuple, list or set (micrograd's order); got {!r:.60}. To name "
                   "a Value, write label=...")
        if isinstance(children, Value) or not isinstance(children, Iterable):  # not a Value's elements
            raise TypeError(problem.format(children))
        children = tuple(children)
        if not all(isinstance(child, Value) for child in children):
            raise TypeError(problem.format(children))
        self._a, self._b, self._rest = _split_inputs(*children)

    def _accumulate(self, grad: Any) -> None:
        """Add an incoming gradient, summed back to this node's shape if it was broadcast.

        A leaf (a parameter, an input) adds into its own array, in place. An intermediate
        node keeps the first gradient it gets as it is, instead of adding it into an array
        of zeros made for the purpose (in a GPT that was a fifth of the backward pass). That
        array may also be another node's (`a + b` hands one gradient to both), so a second
        gradient is added out of place: no node ever writes into an array it did not make.
        """
        if type(grad) is float and type(self._data) is float:
            self.grad += grad
        elif type(self._data) is float:
            self.grad += float(np.sum(grad))
        elif self._a is None:  # a leaf
            if self._ctx is not _CONSTANT:  # a constant (see as_value) keeps no gradient
                self.grad += _sum_to_shape(grad, self._data.shape)
        elif type(self.grad) is float:  # the first gradient to reach this node (backward set 0.0)
            self.grad = _gradient_like(grad, self._data)
        else:
            self.grad = self.grad + _gradient_like(grad, self._data)

    # micrograd's `_backward`: a zero-argument function that runs this node's backward rule.
    # Reading it gives one (for the engine's ops, made on the spot, so no node keeps a
    # closure); assigning a closure to it, as micrograd's lessons do, makes that closure the rule.
    @property
    def _backward(self) -> Callable[[], None]:
        rule = self._rule
        if rule is None:
            return _nothing
        if type(rule) is _Closure:
            return rule.closure
        return functools.partial(_run_rule, self)

    @_backward.setter
    def _backward(self, closure: Callable[[], None] | None) -> None:
        if closure is not None and not callable(closure):
            raise TypeError(f"_backward must be a function of no arguments, got {type(closure).__name__}")
        self._rule = None if closure is None else _Closure(closure)

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The Values this node was computed from (micrograd's `_prev`); () for a leaf."""
        return self._prev

    @property
    def saved(self) -> Any:
        """What the operation that made this node saved for its backward rule (see `operation`)."""
        return self._ctx

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Value:
        other = other if type(other) is Value else as_value(other)
        try:
            out = self._data + other._data
        except ValueError:
            raise _shape_error("+", self, other) from None
        return Value._result(out, "+", Value._add_backward, self, other)

    @staticmethod
    def _add_backward(out: Value, grad: Any) -> None:  # d(a+b)/da = 1, d(a+b)/db = 1
        a, b = out._a, out._b
        a._accumulate(grad)
        b._accumulate(grad)

    def __sub__(self, other: Any) -> Value:
        other = other if type(other) is Value else as_value(other)
        try:
            out = self._data - other._data
        except ValueError:
            raise _shape_error("-", self, other) from None
        return Value._result(out, "-", Value._sub_backward, self, other)

    @staticmethod
    def _sub_backward(out: Value, grad: Any) -> None:  # d(a-b)/da = 1, d(a-b)/db = -1
        a, b = out._a, out._b
        a._accumulate(grad)
        b._accumulate(-grad)

    def __mul__(self, other: Any) -> Value:
        other = other if type(other) is Value else as_value(other)
        try:
            out = self._data * other._data
        except ValueError:
            raise _shape_error("*", self, other) from None
        return Value._result(out, "*", Value._mul_backward, self, other)

    @staticmethod
    def _mul_backward(out: Value, grad: Any) -> None:  # d(ab)/da = b, d(ab)/db = a
        a, b = out._a, out._b
        a._accumulate(grad * b._data)
        b._accumulate(grad * a._data)

    def __truediv__(self, other: Any) -> Value:
        other = other if type(other) is Value else as_value(other)
        try:
            out = _divide(self._data, other._data)
        except ValueError:
            raise _shape_error("/", self, other) from None
        return Value._result(out, "/", Value._div_backward, self, other)

    @staticmethod
    def _div_backward(out: Value, grad: Any) -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        a, b = out._a, out._b
        a._accumulate(_divide(grad, b._data))
        b._accumulate(-_divide(grad * out._data, b._data))

    def __pow__(self, exponent: float) -> Value:
        if not isinstance(exponent, (int, float, np.integer, np.floating)) or isinstance(exponent, bool):
            raise TypeError(f"** takes a number exponent, got {type(exponent).__name__}")
        if not float(exponent).is_integer():
            _check_domain(self._data, f"** {exponent}", ">= 0 (a fractional power of a negative number)")
        out = _power(self._data, exponent)
        return Value._result(out, f"**{exponent}", Value._pow_backward, self, ctx=exponent)

    @staticmethod
    def _pow_backward(out: Value, grad: Any) -> None:  # d(x^p)/dx = p x^(p-1), and 0 for p = 0
        x = out._a
        p = out._ctx
        if p != 0:  # x^0 is constant; p x^(p-1) would be 0 * inf = nan at x = 0
            x._accumulate(grad * p * _power(x._data, p - 1))

    def __neg__(self) -> Value:
        return Value._result(-self._data, "neg", Value._neg_backward, self)

    @staticmethod
    def _neg_backward(out: Value, grad: Any) -> None:  # d(-x)/dx = -1
        out._a._accumulate(-grad)

    def __radd__(self, other: Any) -> Value:  # other + self
        return self + other

    def __rsub__(self, other: Any) -> Value:  # other - self
        return _constant_like(self, other) - self

    def __rmul__(self, other: Any) -> Value:  # other * self
        return self * other

    def __rtruediv__(self, other: Any) -> Value:  # other / self
        return _constant_like(self, other) / self

    # ------------------------------------------------------ elementwise functions
    def relu(self) -> Value:
        x = self._data
        out = (x if x > 0 else 0.0) if type(x) is float else np.maximum(x, 0)
        return Value._result(out, "ReLU", Value._relu_backward, self)

    @staticmethod
    def _relu_backward(out: Value, grad: Any) -> None:  # 1 where x > 0, else 0
        out._a._accumulate(grad * (out._data > 0))

    def tanh(self) -> Value:
        x = self._data
        out = math.tanh(x) if type(x) is float else np.tanh(x)
        return Value._result(out, "tanh", Value._tanh_backward, self)

    @staticmethod
    def _tanh_backward(out: Value, grad: Any) -> None:  # d tanh(x)/dx = 1 - tanh(x)^2
        out._a._accumulate(grad * (1 - out._data * out._data))

    def sigmoid(self) -> Value:
        return Value._result(_sigmoid(self._data), "sigmoid", Value._sigmoid_backward, self)

    @staticmethod
    def _sigmoid_backward(out: Value, grad: Any) -> None:  # d s(x)/dx = s(x) (1 - s(x))
        out._a._accumulate(grad * out._data * (1 - out._data))

    def exp(self) -> Value:
        return Value._result(_exp(self._data), "exp", Value._exp_backward, self)

    @staticmethod
    def _exp_backward(out: Value, grad: Any) -> None:  # d e^x/dx = e^x
        out._a._accumulate(grad * out._data)

    def log(self) -> Value:
        x = self._data
        _check_domain(x, "log", ">= 0")
        if type(x) is float:
            out = math.log(x) if x > 0 else -math.inf
        else:
            with np.errstate(divide="ignore"):
                out = np.log(x)
        return Value._result(out, "log", Value._log_backward, self)

    @staticmethod
    def _log_backward(out: Value, grad: Any) -> None:  # d log(x)/dx = 1/x
        x = out._a
        x._accumulate(_divide(grad, x._data))

    def sqrt(self) -> Value:
        x = self._data
        _check_domain(x, "sqrt", ">= 0")
        out = math.sqrt(x) if type(x) is float else np.sqrt(x)
        return Value._result(out, "sqrt", Value._sqrt_backward, self)

    @staticmethod
    def _sqrt_backward(out: Value, grad: Any) -> None:  # d sqrt(x)/dx = 1 / (2 sqrt(x))
        out._a._accumulate(_divide(grad, 2 * out._data))

    def abs(self) -> Value:
        return Value._result(abs(self._data), "abs", Value._abs_backward, self)

    @staticmethod
    def _abs_backward(out: Value, grad: Any) -> None:  # d|x|/dx = sign(x), 0 at 0
        x = out._a._data
        out._a._accumulate(grad * (float((x > 0) - (x < 0)) if type(x) is float else np.sign(x)))

    __abs__ = abs

    def sin(self) -> Value:
        x = self._data
        out = math.sin(x) if type(x) is float else np.sin(x)
        return Value._result(out, "sin", Value._sin_backward, self)

    @staticmethod
    def _sin_backward(out: Value, grad: Any) -> None:  # d sin(x)/dx = cos(x)
        x = out._a._data
        out._a._accumulate(grad * (math.cos(x) if type(x) is float else np.cos(x)))

    def cos(self) -> Value:
        x = self._data
        out = math.cos(x) if type(x) is float else np.cos(x)
        return Value._result(out, "cos", Value._cos_backward, self)

    @staticmethod
    def _cos_backward(out: Value, grad: Any) -> None:  # d cos(x)/dx = -sin(x)
        x = out._a._data
        out._a._accumulate(-grad * (math.sin(x) if type(x) is float else np.sin(x)))

    # ------------------------------------------------------------- linear algebra
    def __matmul__(self, other: Any) -> Value:
        other = as_value(other)
        if self.ndim == 0 or other.ndim == 0:
            shapes = f"{self.shape} and {other.shape}"
            raise ValueError(f"@ needs operands of 1 or more dimensions, got shapes {shapes}")
        try:
            out = self._data @ other._data
        except ValueError:
            raise ValueError(f"@ cannot multiply shapes {self.shape} and {other.shape}") from None
        return Value._result(out, "@", Value._matmul_backward, self, other)

    @staticmethod
    def _matmul_backward(out: Value, grad: Any) -> None:  # C = AB: dA = G B^T, dB = A^T G
        a, b = out._a, out._b
        if a.ndim > 2 and b.ndim == 2:
            # (..., n, k) @ (k, m), a Linear on a batch of sequences: B's gradient is one
            # product over the rows of every batch at once, not one product per batch summed.
            k, m = b.shape
            if a._ctx is not _CONSTANT:  # a batch of inputs gets no gradient: skip its product
                a._accumulate(grad @ b._data.T)
            if b._ctx is not _CONSTANT:
                rows, grad_rows = a._data.reshape(-1, k), np.reshape(grad, (-1, m))
                b._accumulate(_product_laid_out_as(b._data, rows.T, grad_rows))
            return
        # A 1-D left operand acts as a row (1, n), a 1-D right operand as a column (n, 1).
        left = a._data[None, :] if a.ndim == 1 else a._data
        right = b._data[:, None] if b.ndim == 1 else b._data
        g = np.expand_dims(grad, -1) if b.ndim == 1 else grad
        g = np.expand_dims(g, -2) if a.ndim == 1 else g
        if a._ctx is not _CONSTANT:  # a batch of inputs gets no gradient: skip its product
            grad_a = g @ np.swapaxes(right, -1, -2)
            a._accumulate(grad_a[..., 0, :] if a.ndim == 1 else grad_a)  # batch axes sum in _accumulate
        if b._ctx is not _CONSTANT:
            grad_b = _product_laid_out_as(right, np.swapaxes(left, -1, -2), g)
            b._accumulate(grad_b[..., 0] if b.ndim == 1 else grad_b)

    def __rmatmul__(self, other: Any) -> Value:  # other @ self
        return _constant_like(self, other) @ self

    # ----------------------------------------------------------------- reductions
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Value:
        if axis is not None and self.ndim == 0:
            axis = _zero_d_axis(axis, "sum")
        out = np.sum(self._data, axis=axis, keepdims=keepdims)
        return Value._result(out, "sum", Value._sum_backward, self, ctx=(axis, keepdims))

    @staticmethod
    def _sum_backward(out: Value, grad: Any) -> None:  # every input element gets the gradient of its sum
        x = out._a
        x._accumulate(np.broadcast_to(_restore_axes(grad, *out._ctx), x.shape))

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Value:
        if axis is not None and self.ndim == 0:
            axis = _zero_d_axis(axis, "mean")
        out = np.mean(self._data, axis=axis, keepdims=keepdims)
        return Value._result(out, "mean", Value._mean_backward, self, ctx=(axis, keepdims))

    @staticmethod
    def _mean_backward(out: Value, grad: Any) -> None:  # ... divided by how many were averaged
        x = out._a
        count = x.size // max(np.size(out._data), 1)
        x._accumulate(np.broadcast_to(_restore_axes(grad, *out._ctx) / count, x.shape))

    def max(self, axis: Axis = None, keepdims: bool = False) -> Value:
        """The largest element(s); where several tie, they share the gradient equally.

        Equal shares is what PyTorch's `amax` and full `max()` do (`torch.max(x, dim)`, which
        also returns indices, gives it all to one of them instead).
        """
        if self.size == 0:
            raise ValueError("max of an empty Value")
        if axis is not None and self.ndim == 0:
            axis = _zero_d_axis(axis, "max")
        out = np.max(self._data, axis=axis, keepdims=keepdims)
        return Value._result(out, "max", Value._max_backward, self, ctx=(axis, keepdims))

    @staticmethod
    def _max_backward(out: Value, grad: Any) -> None:  # only the winners, sharing ties equally
        x = out._a
        axis, keepdims = out._ctx
        winners = x._data == _restore_axes(out._data, axis, keepdims)
        share = winners / np.sum(winners, axis=axis, keepdims=True)
        x._accumulate(share * _restore_axes(grad, axis, keepdims))

    # -------------------------------------------------------------------- shapes
    def reshape(self, *shape: int | tuple[int, ...]) -> Value:
        new_shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        try:
            out = np.reshape(self._data, new_shape)
        except ValueError:
            message = f"cannot reshape a Value of shape {self.shape} into {tuple(new_shape)}"
            raise ValueError(message) from None
        return Value._result(out, "reshape", Value._reshape_backward, self)

    @staticmethod
    def _reshape_backward(out: Value, grad: Any) -> None:
        x = out._a
        x._accumulate(np.reshape(grad, x.shape))

    def transpose(self, *axes: int | tuple[int, ...]) -> Value:
        order = (axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes) or None
        out = np.transpose(self._data, order)
        if order is not None:
            order = tuple(axis % self.ndim for axis in order)  # (0, -1, -2) -> (0, 2, 1): invertible
        return Value._result(out, "transpose", Value._transpose_backward, self, ctx=order)

    @staticmethod
    def _transpose_backward(out: Value, grad: Any) -> None:  # transpose back
        order = out._ctx
        out._a._accumulate(np.transpose(grad, None if order is None else np.argsort(order)))

    @property
    def T(self) -> Value:  # NumPy's name  # noqa: N802
        return self.transpose()

    def __getitem__(self, index: Any) -> Value:
        if type(self._data) is float:
            raise TypeError("a scalar Value cannot be indexed")
        index = index.data if isinstance(index, Value) else index
        if isinstance(index, np.ndarray) and index.dtype.kind not in "iub":
            raise TypeError(f"indices must be integers or booleans, got an array of {index.dtype}")
        try:
            out = self._data[index]
        except IndexError as error:
            raise IndexError(f"{error} (indexing a Value of shape {self.shape})") from None
        return Value._result(out, "getitem", Value._getitem_backward, self, ctx=index)

    @staticmethod
    def _getitem_backward(out: Value, grad: Any) -> None:  # scatter back; repeated indices add up
        x, index = out._a, out._ctx
        if _names_each_element_once(index):  # ints, slices, masks: a plain assignment scatters
            full = np.zeros(x._data.shape, x._data.dtype)
            full[index] = grad
        else:  # integer arrays may name an element twice (an embedding's repeated ids)
            full = _scatter_add(x._data, index, grad)
        x._accumulate(full)

    # ------------------------------------------------------------------ softmax
    def softmax(self, axis: int = -1) -> Value:
        """exp(x) / sum(exp(x)), computed on x - max(x) so no logit overflows."""
        shifted = np.exp(self._data - np.max(self._data, axis=axis, keepdims=True))
        out = shifted / np.sum(shifted, axis=axis, keepdims=True)
        return Value._result(out, "softmax", Value._softmax_backward, self, ctx=axis)

    @staticmethod
    def _softmax_backward(out: Value, grad: Any) -> None:  # s * (g - sum(g * s))
        s, axis = out._data, out._ctx
        out._a._accumulate(s * (grad - np.sum(grad * s, axis=axis, keepdims=True)))

    def log_softmax(self, axis: int = -1) -> Value:
        """x - log(sum(exp(x))), computed as (x - max) - log(sum(exp(x - max))): finite for any logits."""
        shifted = self._data - np.max(self._data, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        return Value._result(out, "log_softmax", Value._log_softmax_backward, self, ctx=axis)

    @staticmethod
    def _log_softmax_backward(out: Value, grad: Any) -> None:  # g - softmax * sum(g)
        axis = out._ctx
        out._a._accumulate(grad - np.exp(out._data) * np.sum(grad, axis=axis, keepdims=True))

    # ------------------------------------------------------------------ clipping
    def clip(self, lo: float | None = None, hi: float | None = None) -> Value:
        """x limited to [lo, hi], elementwise, as `np.clip` (PyTorch's `clamp`); None leaves
        that side open.

        The gradient passes where lo <= x <= hi, bounds included, and is 0 outside, as in
        PyTorch. (With lo > hi every element becomes hi and gets no gradient, as in both.)
        For bounds that are Values, with gradients of their own, use `maximum` and `minimum`.
        """
        for name, bound in (("lo", lo), ("hi", hi)):
            is_number = isinstance(bound, (int, float, np.number)) and not isinstance(bound, bool)
            if bound is not None and not is_number:
                raise TypeError(f"clip needs {name} to be a number or None, got {bound!r:.40}")
        lo = -math.inf if lo is None else float(lo)  # Python floats, so float32 stays float32
        hi = math.inf if hi is None else float(hi)
        x = self._data
        out = min(max(x, lo), hi) if type(x) is float else np.minimum(np.maximum(x, lo), hi)
        return Value._result(out, "clip", Value._clip_backward, self, ctx=(lo, hi))

    @staticmethod
    def _clip_backward(out: Value, grad: Any) -> None:  # 1 where lo <= x <= hi, 0 outside
        x = out._a
        lo, hi = out._ctx
        x._accumulate(grad * ((x._data >= lo) & (x._data <= hi)))

    # ------------------------------------------------------------ more reductions
    def min(self, axis: Axis = None, keepdims: bool = False) -> Value:
        """The smallest element(s); where several tie, they share the gradient equally.

        Equal shares is what PyTorch's `amin` and full `min()` do (`torch.min(x, dim)`, which
        also returns indices, gives it all to one of them instead).
        """
        if self.size == 0:
            raise ValueError("min of an empty Value")
        if axis is not None and self.ndim == 0:
            axis = _zero_d_axis(axis, "min")
        out = np.min(self._data, axis=axis, keepdims=keepdims)
        return Value._result(out, "min", Value._min_backward, self, ctx=(axis, keepdims))

    # The rule of max serves min as it is: the elements equal to the result share its gradient.
    _min_backward = _max_backward

    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Value:
        """sum((x - mean)^2) / (n - ddof) over `axis`, as `np.var`.

        ddof=0 (NumPy's default) is the population variance; ddof=1 the sample variance,
        PyTorch's default (`torch.var(x, correction=1)`). n - ddof must be > 0.
        """
        axis = self._checked_spread(axis, ddof, "var")
        out = np.var(self._data, axis=axis, keepdims=keepdims, ddof=ddof)
        return Value._result(out, "var", Value._var_backward, self, ctx=(axis, keepdims, ddof))

    @staticmethod
    def _var_backward(out: Value, grad: Any) -> None:  # d var/dx_i = 2 (x_i - mean) / (n - ddof)
        x = out._a
        axis, keepdims, ddof = out._ctx
        centered = x._data - np.mean(x._data, axis=axis, keepdims=True)
        n = x.size // max(np.size(out._data), 1)
        x._accumulate(_restore_axes(grad, axis, keepdims) * 2 * centered / (n - ddof))

    def std(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Value:
        """sqrt(var(axis, keepdims, ddof)), the standard deviation, as `np.std`.

        Where the deviation is 0 (all elements equal) its gradient is 0, as in PyTorch (the
        square root's own derivative would be 1/0 there).
        """
        axis = self._checked_spread(axis, ddof, "std")
        out = np.std(self._data, axis=axis, keepdims=keepdims, ddof=ddof)
        return Value._result(out, "std", Value._std_backward, self, ctx=(axis, keepdims, ddof))

    @staticmethod
    def _std_backward(out: Value, grad: Any) -> None:  # d std/dx_i = (x_i - mean) / ((n - ddof) std)
        x = out._a
        axis, keepdims, ddof = out._ctx
        centered = x._data - np.mean(x._data, axis=axis, keepdims=True)
        n = x.size // max(np.size(out._data), 1)
        std = np.asarray(_restore_axes(out._data, axis, keepdims))
        g = np.asarray(_restore_axes(grad, axis, keepdims))
        per_std = np.zeros(np.broadcast_shapes(g.shape, std.shape), g.dtype)
        np.divide(g, std, out=per_std, where=std > 0)
        x._accumulate(per_std * centered / (n - ddof))

    def _checked_spread(self, axis: Axis, ddof: Any, op: str) -> Axis:
        """The axis of var or std, after checking that n - ddof > 0 elements remain."""
        if isinstance(ddof, bool) or not isinstance(ddof, (int, float, np.integer, np.floating)) or ddof < 0:
            raise ValueError(f"{op} needs ddof >= 0, got {ddof!r}")
        if axis is not None and self.ndim == 0:
            axis = _zero_d_axis(axis, op)
        axes = range(self.ndim) if axis is None else np.atleast_1d(axis)
        n = math.prod(self.shape[a] for a in axes)
        if n - ddof <= 0:
            raise ValueError(f"{op} with ddof={ddof} needs more than {ddof} elements along axis {axis}, "
                             f"got {n}")
        return axis

    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Value:
        """log(sum(exp(x))) over `axis`, computed as m + log(sum(exp(x - m))) with m = max(x).

        No exp overflows, so logits of 1000 (or 1e300) give finite results. Its gradient is
        softmax(x): exp(x - logsumexp(x)).
        """
        if axis is not None and self.ndim == 0:
            axis = _zero_d_axis(axis, "logsumexp")
        x = self._data
        peak = np.max(x, axis=axis, keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0)  # all -inf (or an inf): nothing to shift by
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
        if not keepdims:
            out = out.reshape(()) if axis is None else np.squeeze(out, axis)
        return Value._result(out, "logsumexp", Value._logsumexp_backward, self, ctx=(axis, keepdims))

    @staticmethod
    def _logsumexp_backward(out: Value, grad: Any) -> None:  # d/dx_i = exp(x_i - logsumexp(x)) = softmax(x)_i
        x = out._a
        axis, keepdims = out._ctx
        softmax = np.exp(x._data - _restore_axes(out._data, axis, keepdims))
        x._accumulate(_restore_axes(grad, axis, keepdims) * softmax)

    def cumsum(self, axis: int | None = None) -> Value:
        """Running sums along `axis`, as `np.cumsum` (axis=None: over the flattened elements)."""
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))):
            raise TypeError(f"cumsum takes one int axis or None, got {axis!r}")
        out = np.cumsum(self._data, axis=axis)
        return Value._result(out, "cumsum", Value._cumsum_backward, self, ctx=axis)

    @staticmethod
    def _cumsum_backward(out: Value, grad: Any) -> None:  # x_i feeds every later sum: reversed running sums
        x, axis = out._a, out._ctx
        if axis is None:
            x._accumulate(np.cumsum(grad[::-1])[::-1].reshape(x.shape))
        else:
            x._accumulate(np.flip(np.cumsum(np.flip(grad, axis), axis=axis), axis))

    # ------------------------------------------------------------ more shapes
    def expand_dims(self, axis: int | tuple[int, ...]) -> Value:
        """A new axis of length 1 at `axis`, as `np.expand_dims` (PyTorch's `unsqueeze`): a reshape."""
        return self.reshape(np.expand_dims(self._data, axis).shape)

    def squeeze(self, axis: Axis = None) -> Value:
        """The axes of length 1 removed (only `axis`, if given), as `np.squeeze`: a reshape.

        As in NumPy (not PyTorch, which leaves it alone), naming an axis longer than 1 is an error.
        """
        try:
            shape = np.squeeze(self._data, axis).shape
        except ValueError:
            message = f"squeeze: axis {axis} of a Value of shape {self.shape} is not of length 1"
            raise ValueError(message) from None
        return self.reshape(shape)

    def flatten(self) -> Value:
        """The elements in one axis, in row-major order, as `ndarray.flatten`: a reshape."""
        return self.reshape(-1)

    def broadcast_to(self, shape: int | tuple[int, ...]) -> Value:
        """This Value repeated to `shape` by NumPy's broadcasting rules, as `np.broadcast_to`
        (PyTorch's `expand`). The result is a read-only view: no copy is made."""
        try:
            out = np.broadcast_to(self._data, shape)
        except ValueError:
            raise ValueError(f"broadcast_to cannot broadcast shape {self.shape} to {shape}") from None
        return Value._result(out, "broadcast_to", Value._broadcast_to_backward, self)

    @staticmethod
    def _broadcast_to_backward(out: Value, grad: Any) -> None:  # every copy's gradient adds up
        out._a._accumulate(grad)  # _accumulate sums a broadcast gradient back to the shape

    def take_along_axis(self, indices: Any, axis: int = -1) -> Value:
        """Elements picked by an index array along `axis`, as `np.take_along_axis` (PyTorch's
        `gather`): out[i, j] = x[i, indices[i, j]] for axis=1. An index picked twice gets the
        sum of both gradients."""
        if type(self._data) is float:
            raise TypeError("take_along_axis needs a Value with at least one axis, got a scalar")
        index = np.asarray(indices.data if isinstance(indices, Value) else indices)
        if index.dtype.kind == "f" and np.all(index == np.round(index)):
            index = index.astype(np.int64)  # a Value holds floats: 2.0 is index 2
        if index.dtype.kind not in "iu":
            raise TypeError(f"take_along_axis needs integer indices, got {index.dtype}")
        if index.ndim != self.ndim:
            raise ValueError(
                f"take_along_axis needs indices with as many axes as the Value ({self.ndim}), "
                f"got shape {index.shape}"
            )
        _check_axis(axis, self.ndim, "take_along_axis", f"a Value of shape {self.shape}")
        try:
            out = np.take_along_axis(self._data, index, axis)
        except (IndexError, ValueError) as error:
            raise IndexError(f"take_along_axis: {error} (indices of shape {index.shape}, Value of shape "
                             f"{self.shape})") from None
        return Value._result(out, "take_along_axis", Value._take_along_axis_backward, self, ctx=(index, axis))

    @staticmethod
    def _take_along_axis_backward(out: Value, grad: Any) -> None:  # scatter back; repeated indices add up
        x = out._a
        index, axis = out._ctx
        where = list(np.ix_(*[np.arange(n) for n in grad.shape]))  # every position of the output...
        where[axis] = index  # ...with the picked index along `axis`
        full = _zeros(x._data)
        np.add.at(full, tuple(where), grad)
        x._accumulate(full)

    def pad(self, pad_width: Any, constant: float = 0.0) -> Value:
        """`constant` added around the edges, as `np.pad(x, pad_width, constant_values=constant)`.

        `pad_width` is NumPy's: an int (that many on both sides of every axis), a pair
        (before, after) for every axis, or one pair per axis. (PyTorch's `F.pad` lists the
        last axis first.) The padding is constant, so only the original elements get gradients.
        """
        widths = np.asarray(pad_width)
        if widths.dtype.kind not in "iu":
            raise TypeError(f"pad needs integer pad widths, got {pad_width!r}")
        try:
            widths = np.broadcast_to(widths, (self.ndim, 2))
        except ValueError:
            raise ValueError(
                f"pad needs pad_width as an int, a pair (before, after) or one pair per axis of a "
                f"Value of shape {self.shape}, got {pad_width!r}"
            ) from None
        if np.any(widths < 0):
            raise ValueError(f"pad needs pad widths >= 0, got {pad_width!r}")
        out = np.pad(self._data, widths, constant_values=constant)
        inside = tuple(slice(before, before + n) for (before, _), n in zip(widths, self.shape, strict=True))
        return Value._result(out, "pad", Value._pad_backward, self, ctx=inside)

    @staticmethod
    def _pad_backward(out: Value, grad: Any) -> None:  # the inside gets its gradient, the padding none
        out._a._accumulate(grad[out._ctx])

    # ----------------------------------------------------------------- comparisons
    # `<`, `<=`, `>`, `>=` compare the data and give masks: a bool for scalars, a NumPy bool array
    # for tensors, with no gradient (a comparison is flat almost everywhere). Use them with `where`.
    # `==` is not among them: Values compare (and hash) by identity, so they can be dict keys, as
    # an optimizer's state is keyed by its parameters.
    def __lt__(self, other: Any) -> Any:
        return _compare(operator.lt, "<", self, other)

    def __le__(self, other: Any) -> Any:
        return _compare(operator.le, "<=", self, other)

    def __gt__(self, other: Any) -> Any:
        return _compare(operator.gt, ">", self, other)

    def __ge__(self, other: Any) -> Any:
        return _compare(operator.ge, ">=", self, other)

    def __float__(self) -> float:
        """float(v): the number of a one-element Value, as `float(tensor)` in PyTorch."""
        if self.size != 1:
            raise ValueError(f"float() needs a single-element Value, got shape {self.shape}")
        return float(np.asarray(self._data).reshape(()))

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
            grad = 1.0 if type(self._data) is float else np.ones_like(self._data)
        elif np.shape(grad) != self.shape:
            raise ValueError(f"backward(grad) needs grad of shape {self.shape}, got {np.shape(grad)}")
        # 1. Order the graph so that every node comes after all of its inputs, and clear the
        #    old gradients of intermediate nodes (leaves keep accumulating). 0.0 stands for
        #    zero for tensors too: a node's first incoming gradient replaces it (`_accumulate`).
        order = topological_order(self)
        for node in order:
            if node._a is not None:
                node.grad = 0.0
        # 2. Walk the order backwards from the output: a node has received the gradient of
        #    every use of it before it passes its own on.
        self._accumulate(grad if type(self._data) is float else np.asarray(grad, dtype=self._data.dtype))
        for node in reversed(order):
            rule = node._rule
            if rule is not None:
                input_grads = rule(node, node.grad)
                if input_grads is not None:  # an `operation`'s rule returns its inputs' gradients
                    _add_input_grads(node, input_grads)

    def zero_grad(self) -> None:
        self.grad = _zeros(self._data)

    def detach(self) -> Value:
        """The same data as a new leaf: no history, so nothing flows back through it."""
        return Value(self._data, label=self.label)

    # --------------------------------------------------------------- inspection
    @property
    def shape(self) -> tuple[int, ...]:
        return () if type(self._data) is float else self._data.shape

    @property
    def ndim(self) -> int:
        return 0 if type(self._data) is float else self._data.ndim

    @property
    def size(self) -> int:
        return 1 if type(self._data) is float else self._data.size

    @property
    def dtype(self) -> np.dtype:
        return np.asarray(self._data).dtype

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item() needs a single-element Value, got shape {self.shape}")
        return float(np.asarray(self._data).reshape(()))

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        if type(self._data) is float:
            return f"Value(data={self._data}, grad={self.grad}{label})"
        if self._data.size <= 8:
            data = np.array2string(self._data, separator=", ").replace("\n", "")
            grad = np.array2string(np.asarray(self.grad), separator=", ").replace("\n", "")
            return f"Value(data={data}, grad={grad}{label})"
        return f"Value(shape={self._data.shape}, dtype={self._data.dtype}{label})"


# ------------------------------------------------------------ walking the graph
# NumPy's arithmetic ufuncs and the Value operators they stand for: (forward, reflected).
_UFUNC_OPERATORS = {
    "add": ("__add__", "__radd__"), "subtract": ("__sub__", "__rsub__"), "multiply": ("__mul__", "__rmul__"),
    "divide": ("__truediv__", "__rtruediv__"), "true_divide": ("__truediv__", "__rtruediv__"),
    "matmul": ("__matmul__", "__rmatmul__"), "power": ("__pow__", None),
    "less": ("__lt__", "__gt__"), "less_equal": ("__le__", "__ge__"),  # `ndarray < v` is `v > ndarray`
    "greater": ("__gt__", "__lt__"), "greater_equal": ("__ge__", "__le__"),
}
_UFUNC_METHODS = {"absolute": "abs"}  # ufunc -> Value method, where their names differ


def _numpy_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    """`ndarray + Value` as `Value.__radd__`; a helpful TypeError for a ufunc Values do not take."""
    name = ufunc.__name__
    if method == "__call__" and not kwargs and len(inputs) == 2 and name in _UFUNC_OPERATORS:
        forward, reflected = _UFUNC_OPERATORS[name]
        a, b = inputs
        if isinstance(a, Value):
            return getattr(a, forward)(b)
        if reflected is not None:
            return getattr(b, reflected)(a)
    if name in ("equal", "not_equal") and len(inputs) == 2:  # `ndarray == Value`: identity, as for any object
        return (inputs[0] is inputs[1]) == (name == "equal")
    if name == "negative":
        hint = "write -value"
    elif name in _UFUNC_METHODS or hasattr(Value, name):
        hint = f"write value.{_UFUNC_METHODS.get(name, name)}()"
    else:
        hint = "write it with Value operations"
    raise TypeError(f"np.{name} cannot follow a Value through its graph, so backward() could not reach "
                    f"past it: {hint}; or apply np.{name} to value.data, a plain array without gradient")


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, `root` included, each once, each after all of its inputs.

    A depth-first walk with an explicit stack, so a graph of any depth works (a recursive
    walk stops near a depth of 1,000). `backward()` runs the backward rules in the reverse
    of this order; counting or drawing a graph can use it as well.
    """
    order: list[Value] = []
    seen = {root}
    stack = [root]
    rest_to_visit: dict[Value, Iterator[Value]] = {}  # for a node of three or more inputs
    while stack:
        node = stack[-1]
        # Go down into the first input not seen yet; once there is none, the node is ordered.
        # The inputs are read from the node's fields one by one, and the walk goes on as soon
        # as one is found: this loop runs some 150,000 times in a step of micrograd's demo, and
        # making a tuple of inputs at each turn (`_prev`) or reading both before testing cost
        # several milliseconds a step.
        a = node._a
        if a is not None and a not in seen:
            seen.add(a)
            stack.append(a)
            continue
        b = node._b
        if b is not None and b not in seen:
            seen.add(b)
            stack.append(b)
            continue
        if node._rest:  # an operation of three or more inputs: go on where the last visit stopped
            if node not in rest_to_visit:
                rest_to_visit[node] = iter(node._rest)
            unseen = next((v for v in rest_to_visit[node] if v not in seen), None)
            if unseen is not None:
                seen.add(unseen)
                stack.append(unseen)
                continue
        stack.pop()  # every input is ordered: so is this node
        order.append(node)
    return order


# ------------------------------------------------------------- your own operations
def operation(
    data: Any,
    inputs: Sequence[Value],
    name: str,
    backward: Callable[[Value, Any], Sequence[Any]],
    saved: Any = None,
) -> Value:
    """A new op's output: `data` computed from `inputs`, with the backward rule `backward`.

    `backward(out, grad)` gets this output node and d(loss)/d(out), and returns one gradient
    per input, in the order of `inputs`: d(loss)/d(input) = grad * d(out)/d(input) (None
    for an input that gets none). The engine adds each into its input's `.grad`, summed
    back to the input's shape where it was broadcast. Inside the rule, `out.inputs` are
    the inputs, `out._data` the output and `out.saved` whatever was passed as `saved`.
    Write the rule as a plain function, not a closure, and the graph stays free of
    reference cycles. Under `no_grad()` the result records nothing.
    """
    inputs = tuple(inputs)
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"operation {name!r}: inputs must be Values, input {i} is {type(v).__name__}")
    if not callable(backward):
        raise TypeError(f"operation {name!r}: backward must be a function (out, grad), got {backward!r:.40}")
    data = data if type(data) is float else _as_data(data)
    if not inputs:
        return Value(data, _op=name)
    return Value._result(data, name, backward, *inputs, ctx=saved)


def _add_input_grads(out: Value, input_grads: Sequence[Any]) -> None:
    """Add the gradients an `operation`'s rule returned into its inputs, one for each."""
    if len(input_grads) != len(out._prev):
        raise ValueError(
            f"the backward rule of {out._op!r} returned {len(input_grads)} gradients for "
            f"{len(out._prev)} inputs: return one per input (None for none)"
        )
    for v, g in zip(out._prev, input_grads, strict=True):
        if g is not None:
            v._accumulate(g)


def _run_rule(node: Value) -> None:
    """Run one node's backward rule by hand, as micrograd's `node._backward()` does."""
    input_grads = node._rule(node, node.grad)
    if input_grads is not None:
        _add_input_grads(node, input_grads)


def _nothing() -> None:  # micrograd's `_backward` of a leaf
    return None


class _Closure:
    """A micrograd-style zero-argument closure, held as a backward rule `(out, grad)`."""

    __slots__ = ("closure",)

    def __init__(self, closure: Callable[[], None]) -> None:
        self.closure = closure

    def __call__(self, out: Value, grad: Any) -> None:
        # A closure adds with `+=`, in place for an array: first give each input an array
        # of its own, as the gradient it holds may be shared with another node (`_accumulate`).
        for v in out._prev:
            if v._a is not None and type(v.grad) is np.ndarray:
                v.grad = v.grad.copy()
        self.closure()


# --------------------------------------------------------------- joining Values
def stack(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values (or numbers, or arrays) along a new axis, like `np.stack`."""
    values = tuple(as_value(v) for v in values)
    if not values:
        raise ValueError("stack needs at least one Value")
    ndim = values[0].ndim
    _check_axis(axis, ndim + 1, "stack", f"Values of {ndim} dimensions")  # the new axis may go last
    try:
        out = np.stack([np.asarray(v._data) for v in values], axis=axis)
    except ValueError:
        raise ValueError(f"stack needs Values of one shape, got shapes {[v.shape for v in values]}") from None
    return Value._result(out, "stack", _stack_backward, *values, ctx=axis)


def _stack_backward(out: Value, grad: Any) -> None:
    for i, v in enumerate(out._prev):
        v._accumulate(np.take(grad, i, axis=out._ctx))


def concatenate(values: Sequence[Any], axis: int = 0) -> Value:
    """Join Values (or arrays) end to end along an existing axis, like `np.concatenate`."""
    values = tuple(as_value(v) for v in values)
    if not values:
        raise ValueError("concatenate needs at least one Value")
    ndim = values[0].ndim
    if ndim == 0:
        raise ValueError("concatenate needs Values of at least one dimension, got a scalar: use stack")
    _check_axis(axis, ndim, "concatenate", f"Values of {ndim} dimensions")
    try:
        out = np.concatenate([v._data for v in values], axis=axis)
    except ValueError:
        shapes = [v.shape for v in values]
        raise ValueError(f"concatenate cannot join shapes {shapes} along axis {axis}") from None
    return Value._result(out, "concat", _concatenate_backward, *values, ctx=axis)


def _concatenate_backward(out: Value, grad: Any) -> None:
    axis = out._ctx
    ends = np.cumsum([v.shape[axis] for v in out._prev])[:-1]
    for v, piece in zip(out._prev, np.split(grad, ends, axis=axis), strict=True):
        v._accumulate(piece)


# ------------------------------------------------------- choosing and combining
def where(cond: Any, a: Any, b: Any) -> Value:
    """`a` where `cond` holds, `b` elsewhere, elementwise with broadcasting, as `np.where`.

    `cond` is a boolean mask, such as `x > 0`, and gets no gradient; `a` gets the gradient
    where `cond` holds and `b` where it does not.
    """
    if isinstance(cond, Value):
        raise TypeError("where needs a boolean mask for cond (x > 0 gives one), got a Value")
    mask = np.asarray(cond)
    if mask.dtype != bool:
        raise TypeError(f"where needs a boolean mask for cond (x > 0 gives one), got dtype {mask.dtype}")
    a, b = as_value(a), as_value(b)
    try:
        out = np.where(mask, a._data, b._data)
    except ValueError:
        shapes = f"{mask.shape} (cond), {a.shape} and {b.shape}"
        raise ValueError(f"where cannot broadcast shapes {shapes}") from None
    return Value._result(out, "where", _where_backward, a, b, ctx=mask)


def _where_backward(out: Value, grad: Any) -> None:  # d/da = 1 where cond holds, d/db = 1 elsewhere
    a, b = out._a, out._b
    mask = out._ctx
    a._accumulate(np.where(mask, grad, 0.0))
    b._accumulate(np.where(mask, 0.0, grad))


def maximum(a: Any, b: Any) -> Value:
    """The larger of `a` and `b`, elementwise with broadcasting, as `np.maximum`.

    The larger one gets the gradient; where they tie, each gets half of it, as in PyTorch.
    """
    a, b = as_value(a), as_value(b)
    try:
        out = np.maximum(a._data, b._data)
    except ValueError:
        raise _shape_error("maximum", a, b) from None
    return Value._result(out, "maximum", _maximum_backward, a, b)


def _maximum_backward(out: Value, grad: Any) -> None:  # 1 to the larger, 1/2 to each on a tie
    a, b = out._a, out._b
    half_on_ties = 0.5 * grad * (a._data == b._data)
    a._accumulate(grad * (a._data > b._data) + half_on_ties)
    b._accumulate(grad * (b._data > a._data) + half_on_ties)


def minimum(a: Any, b: Any) -> Value:
    """The smaller of `a` and `b`, elementwise with broadcasting, as `np.minimum`.

    The smaller one gets the gradient; where they tie, each gets half of it, as in PyTorch.
    """
    a, b = as_value(a), as_value(b)
    try:
        out = np.minimum(a._data, b._data)
    except ValueError:
        raise _shape_error("minimum", a, b) from None
    return Value._result(out, "minimum", _minimum_backward, a, b)


def _minimum_backward(out: Value, grad: Any) -> None:  # 1 to the smaller, 1/2 to each on a tie
    a, b = out._a, out._b
    half_on_ties = 0.5 * grad * (a._data == b._data)
    a._accumulate(grad * (a._data < b._data) + half_on_ties)
    b._accumulate(grad * (b._data < a._data) + half_on_ties)


def einsum(subscripts: str, *operands: Any) -> Value:
    """Sums of products over labelled axes, as `np.einsum`: `'ij,jk->ik'` is a matrix product,
    `'ii->'` a trace, `'bij->bji'` a transpose, `'...ij,...jk'` a batched product.

    The gradient of each operand is an einsum too: the output's gradient times the other
    operands, summed down to that operand's labels (and put back on the diagonal for a
    repeated label such as `'ii'`).
    """
    values = tuple(as_value(v) for v in operands)
    inputs, output = _einsum_labels(subscripts, values)
    try:
        out = np.einsum(",".join(inputs) + "->" + output, *(v._data for v in values))
    except ValueError as error:
        shapes = [v.shape for v in values]
        raise ValueError(f"einsum {subscripts!r} cannot take shapes {shapes}: {error}") from None
    return Value._result(out, "einsum", _einsum_backward, *values, ctx=(inputs, output))


def _einsum_backward(out: Value, grad: Any) -> None:
    inputs, output = out._ctx
    for k, x in enumerate(out._prev):
        labels = inputs[k]
        unique = "".join(dict.fromkeys(labels))  # each label once, in order
        size = {label: n for label, n in zip(labels, x.shape, strict=True)}
        # 1. d(out)/d(x) by the chain rule: grad times every other operand, summed to x's labels
        #    (those the other terms have; a label only x has was summed away in the forward pass)
        terms = [output] + inputs[:k] + inputs[k + 1:]
        data = [grad] + [v._data for v in out._prev[:k] + out._prev[k + 1:]]
        kept = "".join(label for label in unique if any(label in term for term in terms))
        g = np.einsum(",".join(terms) + "->" + kept, *data)
        # 2. A label only x has: every element along it got the same gradient. A label x has
        #    with length 1 where the others are longer: x was broadcast, so add up.
        g = np.expand_dims(g, tuple(i for i, label in enumerate(unique) if label not in kept))
        stretched = tuple(i for i, label in enumerate(unique) if size[label] == 1 and g.shape[i] != 1)
        g = np.sum(g, axis=stretched, keepdims=True) if stretched else g
        g = np.broadcast_to(g, tuple(size[label] for label in unique))
        # 3. A repeated label ('ii') read only the diagonal: the gradient goes back there.
        if len(unique) < len(labels):
            grid = np.ix_(*[np.arange(size[label]) for label in unique])
            full = _zeros(x._data)
            full[tuple(grid[unique.index(label)] for label in labels)] = g
            g = full
        x._accumulate(g)


def _einsum_labels(subscripts: str, values: tuple[Value, ...]) -> tuple[list[str], str]:
    """The input labels (one string per operand) and the output labels of an einsum, with
    every `...` written out as letters and NumPy's implicit output (no `->`) made explicit."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum needs subscripts as a string such as 'ij,jk->ik', got {subscripts!r:.40}")
    spec = subscripts.replace(" ", "")
    left, arrow, right = spec.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(values):
        raise ValueError(f"einsum {subscripts!r} names {len(inputs)} operands, got {len(values)}")
    if not all(c.isalpha() for c in spec.replace("...", "").replace(",", "").replace("->", "")):
        raise ValueError(f"einsum subscripts are letters, ',', '->' and '...', got {subscripts!r}")
    # `...` stands for the leading axes a term does not label, aligned at the right as in broadcasting
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in spec]
    dots = [v.ndim - len(term.replace("...", "")) if "..." in term else 0
            for term, v in zip(inputs, values, strict=True)]  # how many axes each `...` stands for
    broadcast = "".join(spare[: max(dots, default=0)])
    inputs = [term.replace("...", broadcast[len(broadcast) - n:])
              for term, n in zip(inputs, dots, strict=True)]
    if arrow:
        output = right.replace("...", broadcast)
    else:  # NumPy's implicit output: the broadcast axes, then every label used once, alphabetically
        counts = {label: left.count(label) for label in left.replace("...", "").replace(",", "")}
        output = broadcast + "".join(sorted(label for label, n in counts.items() if n == 1))
    return inputs, output


# ----------------------------------------------------------- internal functions
def _compare(compare: Callable, symbol: str, a: Value, b: Any) -> Any:
    """A comparison of data as a mask: a bool for two scalars, else a NumPy bool array."""
    b = b if isinstance(b, Value) else as_value(b)
    try:
        return compare(a._data, b._data)
    except ValueError:
        raise _shape_error(symbol, a, b) from None


def _check_axis(axis: Any, ndim: int, op: str, what: str) -> None:
    """An int axis in [-ndim, ndim), else an error naming it and the range."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op} needs an int axis, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for {what} (expected {-ndim} to {ndim - 1})")


def _zero_d_axis(axis: Axis, op: str) -> None:
    """On a 0-d Value, axis 0 or -1 names its one element, as in PyTorch: reduce over all (None)."""
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(a in (0, -1) and not isinstance(a, bool) for a in axes):
        raise ValueError(f"{op}: axis {axis} is out of range for a 0-d Value (expected 0 or -1)")
    return None


def _as_data(data: Any) -> float | np.ndarray:
    """A Python number becomes a float (a scalar); anything array-like becomes a float array.

    Real numbers only: complex numbers (which would lose their imaginary part), strings and
    arrays of objects are refused with a TypeError naming what was given.
    """
    if isinstance(data, np.floating) and type(data) is not np.float64:
        return np.asarray(data)  # a float32 number stays float32
    if isinstance(data, (int, float, np.integer, np.bool_)):
        return float(data)
    if isinstance(data, np.ndarray) and np.issubdtype(data.dtype, np.floating):
        return data
    if isinstance(data, (list, tuple, np.ndarray, complex, np.complexfloating)):
        try:
            array = np.asarray(data)
        except ValueError:  # ragged nested lists
            raise TypeError(f"Value needs a rectangular list of numbers, got {data!r:.60}") from None
        if array.dtype.kind == "c":
            raise TypeError(
                f"Value holds real numbers, got complex {data!r:.60}: take .real, .imag or abs() first"
            )
        if array.dtype.kind not in "biuf":
            what = "Values (use stack to join Values)" if _holds_values(array) else f"dtype {array.dtype}"
            raise TypeError(f"Value needs numbers, got an array of {what}: {data!r:.60}")
        return array.astype(np.float64)
    raise TypeError(f"Value needs a number, a list of numbers or a NumPy array, got {type(data).__name__}")


def _holds_values(array: np.ndarray) -> bool:
    return array.dtype == object and any(isinstance(item, Value) for item in array.reshape(-1))


def _grad_like(grad: Any, data: Any) -> Any:
    """A gradient fitted to newly assigned `data`: kept (as data's kind) if the shape is the
    same, zeros if the shape changed."""
    if np.shape(grad) != np.shape(data):
        return _zeros(data)
    if type(data) is float:
        return float(grad)
    return grad if type(grad) is np.ndarray and grad.dtype == data.dtype else np.array(grad, data.dtype)


# The `_ctx` of a constant: a tensor that `as_value` wrapped. A leaf has no saved context
# otherwise, so this marks it without another field on every node.
_CONSTANT = "a constant: it gets no gradient"


def as_value(x: Any) -> Value:
    """`x` as a Value: a Value as it is, a list of Values (a micrograd model's outputs)
    stacked into one, and a number, list or array wrapped as a constant.

    A wrapped array is a constant: it gets no gradient, so `x @ w` on a batch of inputs does
    not compute the gradient of the inputs (PyTorch's `requires_grad=False`). To
    backpropagate into an array, make it a Value first: `Value(array)`.
    """
    if isinstance(x, Value):
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(item, Value) for item in x):
        return stack(x)
    constant = Value(x)
    if type(constant._data) is not float:
        constant._ctx = _CONSTANT
    return constant


def _constant_like(model: Value, x: Any) -> Value:
    """`x` as a Value of `model`'s class (for `2 - v` on a subclass of Value)."""
    if isinstance(x, Value) or type(model) is Value:
        return as_value(x)
    constant = _new_node(type(model))
    Value.__init__(constant, x)
    return constant


def _shape_error(op: str, a: Value, b: Value) -> ValueError:
    return ValueError(f"{op} cannot broadcast shapes {a.shape} and {b.shape}")


def _sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum `grad` over the axes that broadcasting added or stretched."""
    if getattr(grad, "shape", ()) == shape:
        return grad
    grad = np.sum(grad, axis=tuple(range(np.ndim(grad) - len(shape))))  # added leading axes
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return np.sum(grad, axis=stretched, keepdims=True) if stretched else grad


def _product_laid_out_as(operand: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x @ y, in the memory order of `operand`, whose gradient it is. A transposed matrix
    (Linear's `weight.T`) gets (y^T x^T)^T: the same numbers, for the same work in BLAS,
    but laid out so that the transpose's backward rule hands the weight a gradient in its
    own row order; adding a transposed array into it would read memory by strides."""
    if operand.ndim == 2 and x.ndim == 2 and operand.flags.f_contiguous and not operand.flags.c_contiguous:
        return (y.T @ x.T).T
    return x @ y


def _names_each_element_once(index: Any) -> bool:
    """Whether an index (ints, slices, None, ..., boolean masks) can select no element twice;
    an integer array or list can."""
    for item in index if type(index) is tuple else (index,):
        if isinstance(item, (np.ndarray, list)) and np.asarray(item).dtype != bool:
            return False
    return True


def _scatter_add(data: np.ndarray, index: Any, grad: np.ndarray) -> np.ndarray:
    """An array like `data`, zero except `full[index] += grad`, with repeated entries adding up.

    `np.add.at` does this for any index, one element at a time. For the common case, integer
    arrays picking rows of the leading axes (an embedding's ids, `x[rows, cols]`), the rows
    are sorted instead, each run of equal rows summed by one `np.add.reduceat` and written once.
    """
    arrays = index if type(index) is tuple else (index,)
    if not all(isinstance(a, (np.ndarray, list)) for a in arrays):
        full = np.zeros(data.shape, data.dtype)
        np.add.at(full, index, grad)
        return full
    lead = data.shape[:len(arrays)]
    # the flat number of each picked row of the leading axes; "wrap" counts -1 as the last
    rows = np.ravel_multi_index(np.broadcast_arrays(*arrays), lead, mode="wrap").reshape(-1)
    row_size = math.prod(data.shape[len(arrays):])
    grad_rows = np.reshape(grad, (rows.size, row_size))  # one row of the trailing axes per index
    full = np.zeros((math.prod(lead), row_size), data.dtype)
    if rows.size:
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_rows[1:] != sorted_rows[:-1])))
        full[sorted_rows[starts]] = np.add.reduceat(grad_rows[order], starts, axis=0)
    return full.reshape(data.shape)


def _gradient_like(grad: Any, data: np.ndarray) -> np.ndarray:
    """`grad` as an array of data's shape and dtype: summed where broadcasting stretched
    `data`, spread (a read-only view) where `grad` is smaller, cast only if its dtype differs."""
    grad = np.asarray(_sum_to_shape(grad, data.shape), dtype=data.dtype)
    return grad if grad.shape == data.shape else np.broadcast_to(grad, data.shape)


def _split_inputs(a: Value | None = None, b: Value | None = None, *rest: Value) -> tuple:
    """A node's inputs as its fields hold them: the first, the second (None where absent), the rest."""
    return a, b, rest


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
    z = np.exp(-np.abs(x))  # in (0, 1]: no overflow
    # numerator 1 where x >= 0, z where x < 0, picked by arithmetic on the sign's mask:
    # np.where branches on every element, ten times slower on random signs
    negative = x < 0
    return (z * negative + ~negative) / (1 + z)


def _exp(x: Any) -> Any:
    if type(x) is float:
        return math.exp(x) if x < 709.78 else math.inf  # math.exp raises past float's range
    with np.errstate(over="ignore"):
        return np.exp(x)


# ------------------------------------- seeds and counts: the helpers nn and data share
# They live here because the engine is the one module every package may import.
def rng_from(seed: Seed) -> np.random.Generator:
    """A NumPy Generator from an int seed (the same int, the same numbers), an existing
    Generator (returned as is, so draws continue from it) or None (fresh randomness)."""
    is_seed = seed is None or isinstance(seed, (int, np.integer, np.random.Generator))
    if isinstance(seed, bool) or not is_seed:
        raise TypeError(f"seed must be an int, a numpy.random.Generator or None, got {type(seed).__name__}")
    return np.random.default_rng(seed)


def check_count(n: Any, name: str, least: int = 1) -> int:
    """`n` as an int if it is a whole number >= `least`, else a ValueError naming it."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        raise ValueError(f"{name} must be an int >= {least}, got {n!r}")
    return int(n)
