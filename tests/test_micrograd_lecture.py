"""micrograd's lecture ("The spelled-out intro to neural networks and backpropagation") runs
unchanged on this engine: its constructor order, its own ops written with closures, its hand
calls of `_backward()` node by node, its hand-written topological sort, and its training loop.

The expected numbers are the lecture's (worked by hand in the comments); they were also
cross-checked against micrograd 0.1.0, which the suite does not need.
"""

import gc
import math
import random
import weakref

import pytest

from tinygrad_opt import Value, gradcheck
from tinygrad_opt.nn.scalar import MLP


# ------------------------------------------------------- the lecture's own class
class LectureValue(Value):
    """The lecture's Value, written on top of ours: the ops it adds, micrograd's way."""

    def tanh(self):
        x = self.data
        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
        out = LectureValue(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = LectureValue(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def cube(self):
        out = LectureValue(self.data**3, (self,), "cube")

        def _backward():
            self.grad += 3 * self.data**2 * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):  # the lecture's division: self * other**-1
        return self * other**-1


def lecture_neuron(value_type):
    """The lecture's neuron: o = tanh(x1 w1 + x2 w2 + b), every node labelled."""
    x1 = value_type(2.0, label="x1")
    x2 = value_type(0.0, label="x2")
    w1 = value_type(-3.0, label="w1")
    w2 = value_type(1.0, label="w2")
    b = value_type(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [n, b, x1w1x2w2, x2w2, x1w1, x1, x2, w1, w2]


# do/dn = 1 - tanh(n)^2 = 0.5; then dx1 = w1 * 0.5, dw1 = x1 * 0.5, dx2 = w2 * 0.5, dw2 = x2 * 0.5
NEURON_GRADS = {"n": 0.5, "b": 0.5, "x1*w1 + x2*w2": 0.5, "x2*w2": 0.5, "x1*w1": 0.5,
                "x1": -1.5, "x2": 0.5, "w1": 1.0, "w2": 0.0}


def grads_by_label(nodes):
    return {node.label: pytest.approx(node.grad, abs=1e-12) for node in nodes}


@pytest.mark.parametrize("value_type", [Value, LectureValue], ids=["engine tanh", "lecture tanh"])
def test_backward_by_hand_node_by_node(value_type):
    o, nodes = lecture_neuron(value_type)
    assert round(o.data, 4) == 0.7071
    o.grad = 1.0
    o._backward()
    assert nodes[0].grad == pytest.approx(0.5)  # n, after one step
    for node in nodes[:5]:  # the lecture's order: n, b, x1w1x2w2, x2w2, x1w1
        node._backward()
    assert grads_by_label(nodes) == NEURON_GRADS


@pytest.mark.parametrize("value_type", [Value, LectureValue], ids=["engine tanh", "lecture tanh"])
def test_the_lectures_hand_written_topological_sort(value_type):
    o, nodes = lecture_neuron(value_type)
    topo, visited = [], set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)
    build_topo(o)
    o.grad = 1.0
    for node in reversed(topo):
        node._backward()  # a leaf's _backward does nothing, as micrograd's `lambda: None`
    assert grads_by_label(nodes) == NEURON_GRADS


@pytest.mark.parametrize("value_type", [Value, LectureValue], ids=["engine tanh", "lecture tanh"])
def test_backward_gives_the_same_gradients(value_type):
    o, nodes = lecture_neuron(value_type)
    o.backward()
    assert grads_by_label(nodes) == NEURON_GRADS


def test_the_lectures_tanh_spelled_out_with_exp_and_division():
    # o = (e^{2n} - 1) / (e^{2n} + 1), built from the lecture's exp and its division
    x1, x2 = LectureValue(2.0, label="x1"), LectureValue(0.0, label="x2")
    w1, w2 = LectureValue(-3.0, label="w1"), LectureValue(1.0, label="w2")
    b = LectureValue(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    e = (2 * n).exp()
    o = (e - 1) / (e + 1)
    assert type(o) is LectureValue  # operations keep the subclass, numbers on either side
    o.backward()
    assert round(o.data, 4) == 0.7071
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0))


def test_the_lectures_first_expression_and_its_hand_gradients():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f  # noqa: N806 (the lecture's name)
    L.label = "L"
    assert L.data == -8.0 and L._op == "*" and set(L._prev) == {d, f}
    L.backward()
    # dL/dd = f = -2, dL/df = d = 4, dL/dc = dL/de = -2, dL/da = -2 * b = 6, dL/db = -2 * a = -4
    assert (a.grad, b.grad, c.grad, d.grad, e.grad, f.grad) == (6.0, -4.0, -2.0, -2.0, -2.0, 4.0)


def test_a_node_used_twice_accumulates_the_lectures_bug_fix():
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    b.backward()
    assert a.grad == 2.0  # with `=` instead of `+=` it would be 1
    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    d, e = a * b, a + b
    f = d * e
    f.backward()  # df/da = b e + d = 3 - 6 = -3, df/db = a e + d = -2 - 6 = -8
    assert (a.grad, b.grad) == (-3.0, -8.0)


def test_a_closure_op_on_the_engines_own_value():
    def cube(self):  # the lecture's pattern, on the engine's class itself
        out = Value(self.data**3, (self,), "cube")

        def _backward():
            self.grad += 3 * self.data**2 * out.grad
        out._backward = _backward
        return out

    x = Value(2.0, label="x")
    y = cube(x) * x  # x^4: dy/dx = 4 x^3
    y.backward()
    assert (y.data, x.grad) == (16.0, 32.0)
    assert cube(x)._op == "cube"
    assert gradcheck(lambda v: cube(v.tanh()) + v, Value(0.3))


def test_a_subclass_op_keeps_its_class_and_mixes_with_the_engines_ops():
    x = LectureValue(0.5)
    y = (x * 2 + 1).cube().relu() - 3 / x  # engine ops, then the subclass's own, then the engine's
    assert type(y) is LectureValue
    y.backward()
    assert x.grad == pytest.approx(3 * 2.0**2 * 2 + 3 / 0.25)  # d/dx (2x+1)^3 - 3/x
    assert gradcheck(lambda v: (v * 2 + 1).cube().tanh() / (v * v + 1), LectureValue(0.3))


def test_backward_reads_and_replaces():
    x = Value(2.0)
    y = x * x
    assert callable(y._backward) and x._backward() is None  # a leaf's rule does nothing

    def _backward():
        x.grad += 100.0
    y._backward = _backward
    assert y._backward is _backward  # what was assigned is what is read back
    y.backward()
    assert x.grad == 100.0
    with pytest.raises(TypeError, match="_backward must be a function of no arguments, got float"):
        y._backward = 1.0


def test_the_engines_own_graphs_hold_no_closures():
    gc.collect()
    gc.disable()
    try:
        o, _ = lecture_neuron(Value)
        o._backward()  # reading _backward makes no lasting closure
        o.backward()
        root, middle = weakref.ref(o), weakref.ref(o._prev[0])
        del o, _
        assert root() is None and middle() is None  # freed by reference counting alone
    finally:
        gc.enable()


def test_the_lectures_training_loop_with_micrograds_zero_grad_habit():
    random.seed(1337)
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    n = MLP(3, [4, 4, 1])
    losses = []
    for _ in range(20):
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred, strict=True))
        for p in n.parameters():
            p.grad = 0  # micrograd's zero_grad writes an int
        loss.backward()
        for p in n.parameters():
            p.data += -0.05 * p.grad
        losses.append(loss.data)
    assert all(type(p.data) is float and type(p.grad) is float for p in n.parameters())
    # micrograd 0.1.0's numbers for the same network (same seed, same draws) and the same loop:
    assert losses[0] == pytest.approx(18.432196474034008, rel=1e-12)
    assert losses[-1] == pytest.approx(2.7108855776855307, rel=1e-12)
    assert n.parameters()[0].data == pytest.approx(-0.7493764130885621, rel=1e-12)


def test_the_old_positional_label_is_a_clear_error():
    with pytest.raises(TypeError, match="second argument is _children.*label="):
        Value(2.0, "x")
    assert Value(2.0, label="x").label == "x"
    assert Value(2.0, (), "", "x").label == "x"  # micrograd's order, positionally
