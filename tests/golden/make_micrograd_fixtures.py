"""Make tests/golden/micrograd.npz: micrograd's own MLP as the reference for nn.scalar.

Regenerate with a Python that has micrograd 0.1.0 and numpy (`pip install micrograd==0.1.0`),
from the repository root:

    python tests/golden/make_micrograd_fixtures.py

The fixture holds micrograd's MLP(2, [16, 16, 1]) built after `random.seed(1337)`: its
parameters in order, its repr, and on 20 two-moons points (the inputs are stored) micrograd's
SVM loss with L2 regularisation as its README demo computes it, the scores, and every
parameter's gradient after `loss.backward()`.
"""

import random

import numpy as np
from micrograd import nn as micrograd_nn
from micrograd.engine import Value


def main() -> None:
    rng = np.random.default_rng(0)  # 20 noisy points in two classes, labels -1 and 1
    X = rng.normal(size=(20, 2))
    y = np.where(X[:, 0] * X[:, 1] > 0, 1, -1)
    random.seed(1337)
    model = micrograd_nn.MLP(2, [16, 16, 1])
    params = [p.data for p in model.parameters()]
    scores = [model(list(map(Value, row))) for row in X]
    losses = [(1 + -float(yi) * score).relu() for yi, score in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    loss = data_loss + 1e-4 * sum(p * p for p in model.parameters())
    loss.backward()
    np.savez_compressed("tests/golden/micrograd.npz", X=X, y=y, params=np.array(params),
                        repr=np.array(repr(model)), scores=np.array([s.data for s in scores]),
                        loss=np.array(loss.data), grads=np.array([p.grad for p in model.parameters()]),
                        micrograd_version=np.array("0.1.0"))
    print(f"wrote tests/golden/micrograd.npz: loss {loss.data:.6f}")


if __name__ == "__main__":
    main()
