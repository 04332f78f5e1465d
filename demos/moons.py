"""micrograd's two-moons demo, as micrograd runs it, then batched: the same model twice.

First micrograd's own loop: the scalar network (`tinygrad_opt.nn.scalar`, micrograd's
Neuron/Layer/MLP, one graph node per multiplication, about 66,000 nodes a step) for micrograd's
100 steps, with its loss (max-margin plus L2), its learning rate falling from 1.0 to 0.1 and a
plain SGD step written out: p <- p - lr * grad. Then the batched network (`tinygrad_opt.nn.MLP`,
one matrix product per layer) with the same loss and schedule, until every point is right.
A line every 20 steps, and each network's decision boundary drawn to a picture.

    python demos/moons.py                 # the full demo: 100 scalar steps (about half a minute)
    python demos/moons.py --quick         # shortened to 1 scalar step, for the tests (it says so)
    python demos/moons.py --out pictures  # where the two decision boundaries go (default out)
"""

import argparse
import random
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
SCALAR_STEPS = 100  # micrograd's demo runs 100 steps ...
SCHEDULE = 100  # ... while its learning rate falls from 1.0 to 0.1
BATCHED_MAX_STEPS = 500  # the batched network trains until every point is right, or this many steps
QUICK_SCALAR_STEPS = 1  # with --quick
PRINT_EVERY = 20  # a progress line every this many steps (and at the last)


def learning_rate(step: int, total: int) -> float:
    """micrograd's schedule: 1.0 falling linearly to 0.1 over `total` steps (100 in micrograd)."""
    return 1.0 - 0.9 * step / total


def train_scalar(X: np.ndarray, y: np.ndarray, steps: int) -> nn.scalar.MLP:
    """micrograd's loop, unchanged but for the imports: one Value per number."""
    random.seed(SEED)
    model = nn.scalar.MLP(2, SIZES)
    shortened = "" if steps == SCALAR_STEPS else f" (shortened from micrograd's {SCALAR_STEPS})"
    print(f"scalar {model.__class__.__name__}: {len(model.parameters())} parameters, one Value each; "
          f"{steps} steps{shortened}")
    start = time.perf_counter()
    for step in range(steps):
        inputs = [list(map(Value, row)) for row in X]
        scores = [model(row) for row in inputs]
        losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        loss = data_loss + reg_loss
        accuracy = np.mean([(yi > 0) == (score.data > 0) for yi, score in zip(y, scores, strict=True)])

        model.zero_grad()
        loss.backward()
        lr = learning_rate(step, SCHEDULE)
        for p in model.parameters():
            p.data -= lr * p.grad  # a scalar's data is a float: this assigns a new float
        if step % PRINT_EVERY == 0 or step == steps - 1:
            elapsed = time.perf_counter() - start
            left = elapsed / (step + 1) * (steps - step - 1)
            print(f"  step {step:3d}  loss {loss.data:.4f}  accuracy {accuracy:6.1%}  "
                  f"graph {len(topological_order(loss)):,} nodes  {elapsed:5.1f} s, {left:4.1f} s left",
                  flush=True)
    return model


def train_batched(X: np.ndarray, y: np.ndarray, max_steps: int) -> nn.MLP:
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
        if step % PRINT_EVERY == 0 or accuracy == 1.0:
            print(f"  step {step:3d}  loss {loss.item():.4f}  accuracy {accuracy:6.1%}")
        if accuracy == 1.0:
            print(f"batched MLP: 100% train accuracy at step {step} ({time.perf_counter() - start:.2f} s)")
            return model

        model.zero_grad()
        loss.backward()
        lr = learning_rate(step, max_steps)
        for p in model.parameters():
            p.data -= lr * p.grad  # in place on the array
    print(f"batched MLP: not 100% after {max_steps} steps ({time.perf_counter() - start:.2f} s)")
    return model


def draw_boundaries(scalar: nn.scalar.MLP, batched: nn.MLP, X: np.ndarray, y: np.ndarray, path: Path) -> None:
    """Both networks' decision boundaries side by side, as micrograd's demo ends."""
    from matplotlib.figure import Figure

    from tinygrad_opt.viz import plot_decision_boundary

    fig = Figure(figsize=(10, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot_decision_boundary(scalar, X, y, per_point=True, ax=left)
    left.set_title(f"scalar MLP (micrograd's): {left.get_title()}")
    plot_decision_boundary(batched, X, y, ax=right)
    right.set_title(f"batched MLP: {right.get_title()}")
    fig.savefig(path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one scalar step (for the tests)")
    parser.add_argument("--out", default="out", help="folder for the decision boundaries (default out)")
    args = parser.parse_args()

    X, labels = make_moons(N_SAMPLES, noise=NOISE, seed=SEED)
    y = 2.0 * labels - 1  # classes 0/1 -> targets -1/+1 for the max-margin loss
    print(f"two moons: {len(X)} points, noise {NOISE}")
    scalar = train_scalar(X, y, QUICK_SCALAR_STEPS if args.quick else SCALAR_STEPS)
    batched = train_batched(X, y, BATCHED_MAX_STEPS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "moons_boundaries.png"
    draw_boundaries(scalar, batched, X, y, path)
    print(f"wrote {path}: both decision boundaries")


if __name__ == "__main__":
    main()
