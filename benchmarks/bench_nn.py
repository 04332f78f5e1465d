"""One training step of MLP(2, [16, 16, 1]) on 100 two-moons points, three ways, timed in one run:

    micrograd's scalar MLP (the peer; skipped when micrograd is not installed),
    tinygrad_opt.nn.scalar.MLP (the drop-in: the same graph of scalar Values),
    tinygrad_opt.nn.MLP (batched: one matrix product per layer).

A step is forward over all points, micrograd's max-margin loss plus L2, backward, and an SGD
update. Prints the median time of each and the ratios against micrograd.

    python benchmarks/bench_nn.py
"""

import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import Value, nn  # noqa: E402
from tinygrad_opt.data import make_moons  # noqa: E402

REPEATS = 5  # timed steps per contender; the median is reported
ALPHA = 1e-4  # L2 strength, as in micrograd's demo
LR = 0.1


def scalar_step(model, value_type, X, y):
    scores = [model([value_type(float(v)) for v in row]) for row in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores, strict=True)]
    loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in model.parameters())
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad


def batched_step(model, X, y):
    scores = model(X).reshape(-1)
    loss = nn.hinge_loss(scores, y) + ALPHA * sum((p * p).sum() for p in model.parameters())
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad


def median_seconds(step) -> float:
    step()  # warm up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    X, labels = make_moons(100, noise=0.1, seed=0)
    y = [float(v) for v in 2 * labels - 1]
    results = {}
    try:
        from micrograd.engine import Value as MicrogradValue
        from micrograd.nn import MLP as MicrogradMLP

        random.seed(0)
        peer = MicrogradMLP(2, [16, 16, 1])
        results["micrograd scalar MLP"] = median_seconds(lambda: scalar_step(peer, MicrogradValue, X, y))
    except ImportError:
        print("micrograd is not installed: no peer to compare with (pip install micrograd==0.1.0)")
    random.seed(0)
    drop_in = nn.scalar.MLP(2, [16, 16, 1])
    results["tinygrad_opt scalar MLP"] = median_seconds(lambda: scalar_step(drop_in, Value, X, y))
    batched = nn.MLP(2, [16, 16, 1], seed=0)
    y_array = np.array(y)
    results["tinygrad_opt batched MLP"] = median_seconds(lambda: batched_step(batched, X, y_array))

    peer_time = results.get("micrograd scalar MLP")
    print(f"one training step, MLP(2, [16, 16, 1]), 100 points, median of {REPEATS}")
    for name, seconds in results.items():
        ratio = f"  {peer_time / seconds:7.1f}x micrograd's speed" if peer_time else ""
        print(f"  {name:26s} {seconds * 1e3:9.2f} ms{ratio}")


if __name__ == "__main__":
    main()
