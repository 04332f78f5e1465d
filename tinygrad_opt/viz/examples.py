"""Graphs worth drawing, built with scalar Values: `tinygrad-opt graph --example ...`."""

from __future__ import annotations

import math
import random

from tinygrad_opt.engine import Value
from tinygrad_opt.nn.scalar import MLP


def neuron() -> Value:
    """A 2-input tanh neuron, o = tanh(x1*w1 + x2*w2 + b), after `backward()`.

    The numbers of micrograd's lecture: b is chosen so that n = 0.8814 and
    o = tanh(n) = 1/sqrt(2), hence do/dn = 1 - o**2 = 0.5.
    """
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
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
    o.backward()
    return o


def micrograd_expression() -> Value:
    """The expression of micrograd's README, after `backward()`: g = 24.7041,
    dg/da = 138.8338, dg/db = 645.5773 (the numbers the README prints)."""
    a = Value(-4.0, label="a")
    b = Value(2.0, label="b")
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + (1 + c + (-a))
    d = d + (d * 2 + (b + a).relu())
    d = d + (3 * d + (b - a).relu())
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    for value, name in ((c, "c"), (d, "d"), (e, "e"), (f, "f"), (g, "g")):
        value.label = name
    g.backward()
    return g


def mlp_training_graph(n_points: int = 100, seed: int = 0) -> Value:
    """The loss graph of one training step of micrograd's demo: an MLP(2, [16, 16, 1]) of
    scalar Values on `n_points` 2-D points, SVM max-margin loss plus L2 regularisation
    (about 65,000 Values for 100 points). Returned before `backward()`."""
    rng = random.Random(seed)
    saved = random.getstate()  # nn.scalar draws its weights from `random`, as micrograd does
    random.seed(seed)
    model = MLP(2, [16, 16, 1])
    random.setstate(saved)
    points = []
    for _ in range(n_points):  # two noisy half circles, as in sklearn's make_moons
        angle = rng.uniform(0, math.pi)
        label = rng.choice((-1, 1))
        x = math.cos(angle) if label < 0 else 1 - math.cos(angle)
        y = math.sin(angle) if label < 0 else 0.5 - math.sin(angle)
        points.append(([x + rng.gauss(0, 0.1), y + rng.gauss(0, 0.1)], label))
    losses = []
    for (x, y), label in points:
        score = model([Value(x), Value(y)])
        losses.append((1 + -label * score).relu())
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss
