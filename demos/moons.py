"""micrograd's two-moons demo, twice: first with the scalar MLP, then with the batched one.

The scalar network (`tinygrad_opt.nn.scalar`, micrograd's Neuron/Layer/MLP) builds one graph
node per multiplication: every step's loss graph has tens of thousands of nodes, each of which
could be drawn, so it runs only a few steps. The batched network (`tinygrad_opt.nn.MLP`) computes
the same kind of model with one matrix product per layer and trains until every point is right
(benchmarks/bench_engine.py times a step of each). Both use micrograd's loss (max-margin plus L2)
and its learning-rate schedule, with a plain SGD step written out: p <- p - lr * grad.

    python demos/moons.py            # the full demo
    python demos/moons.py --quick    # one scalar step, for the tests
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import Value, nn, topological_order  # noqa: E402
from tinygrad_opt.data import make_moons  # noqa: E402

# ----------------------------------------------------------------- configuration
N_SAMPLES = 100  # points in the two-moons data set, as in micrograd's demo
NOISE = 0.1  # standard deviation of the Gaussian noise on each coordinate
SEED = 1337  # seeds the data, both networks' initialisation
SIZES = [16, 16, 1]  # layer sizes after the 2 inputs: MLP(2, [16, 16, 1]), 337 parameters
ALPHA = 1e-4  # L2 regularisation strength: loss = hinge + ALPHA * sum(p^2)
SCALAR_STEPS = 5  # steps of the scalar network (each one a graph of about 66,000 nodes)
SCALAR_SCHEDULE = 100  # the scalar network's learning rate falls over 100 steps, as micrograd's
BATCHED_MAX_STEPS = 500  # the batched network trains until every point is right, or this many steps
QUICK_SCALAR_STEPS = 1  # with --quick


def learning_rate(step: int, total: int) -> float:
    """micrograd's schedule: 1.0 falling linearly to 0.1 over `total` steps (100 in micrograd)."""
    return 1.0 - 0.9 * step / total


def train_scalar(X: np.ndarray, y: np.ndarray, steps: int) -> None:
    """micrograd's loop, unchanged but for the imports: one Value per number."""
    import random

    random.seed(SEED)
    model = nn.scalar.MLP(2, SIZES)
    print(f"scalar {model.__class__.__name__}: {len(model.parameters())} parameters, one Value each")
    for step in range(steps):
        start = time.perf_counter()
        inputs = [list(map(Value, row)) for row in X]
        scores = [model(row) for row in inputs]
        losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        loss = data_loss + reg_loss
        accuracy = np.mean([(yi > 0) == (score.data > 0) for yi, score in zip(y, scores, strict=True)])

        model.zero_grad()
        loss.backward()
        lr = learning_rate(step, SCALAR_SCHEDULE)
        for p in model.parameters():
            p.data -= lr * p.grad  # a scalar's data is a float: this assigns a new float
        seconds = time.perf_counter() - start
        print(f"  step {step:3d}  loss {loss.data:.4f}  accuracy {accuracy:6.1%}  "
              f"graph {len(topological_order(loss)):,} nodes  {seconds:.2f} s")


def train_batched(X: np.ndarray, y: np.ndarray, max_steps: int) -> None:
    """The same model and loss on the whole batch at once: (100, 2) in, (100, 1) out.

    PyTorch's initialisation starts with smaller weights than micrograd's uniform(-1, 1), so
    this network takes a little longer than 100 steps: the schedule is stretched over
    `max_steps` and training stops at the first step where every point is classified right.
    """
    model = nn.MLP(2, SIZES, seed=SEED)
    print(f"batched {model!r}: {sum(p.size for p in model.parameters())} parameters in "
          f"{len(model.parameters())} arrays")
    start = time.perf_counter()
    for step in range(max_steps):
        scores = model(X).reshape(-1)
        data_loss = nn.hinge_loss(scores, y)
        reg_loss = ALPHA * sum((p * p).sum() for p in model.parameters())
        loss = data_loss + reg_loss
        accuracy = np.mean((scores.data > 0) == (y > 0))
        print(f"  step {step:3d}  loss {loss.item():.4f}  accuracy {accuracy:6.1%}")
        if accuracy == 1.0:
            print(f"batched MLP: 100% train accuracy at step {step} ({time.perf_counter() - start:.2f} s)")
            return

        model.zero_grad()
        loss.backward()
        lr = learning_rate(step, max_steps)
        for p in model.parameters():
            p.data -= lr * p.grad  # in place on the array
    print(f"batched MLP: not 100% after {max_steps} steps ({time.perf_counter() - start:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one scalar step (for the tests)")
    args = parser.parse_args()

    X, labels = make_moons(N_SAMPLES, noise=NOISE, seed=SEED)
    y = 2.0 * labels - 1  # classes 0/1 -> targets -1/+1 for the max-margin loss
    print(f"two moons: {len(X)} points, noise {NOISE}")
    train_scalar(X, y, QUICK_SCALAR_STEPS if args.quick else SCALAR_STEPS)
    train_batched(X, y, BATCHED_MAX_STEPS)


if __name__ == "__main__":
    main()
