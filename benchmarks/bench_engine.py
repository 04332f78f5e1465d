"""The engine on micrograd's own demo workload, beside micrograd and PyTorch in the same run.

Workload (micrograd's demo.ipynb): an MLP(2, [16, 16, 1]) with ReLU on 100 two-moons
points, max-margin loss + 1e-4 * sum(p^2), full batch, then backward and an SGD step.

* Scalar path (one Value a number): `tinygrad_opt.nn.scalar.MLP` against micrograd 0.1.0's
  own `micrograd.nn.MLP` with the same weights, both updated by the same manual loop
  `p.data -= lr * p.grad` (micrograd has no optimizer).
* Tensor path (one Value a matrix): against PyTorch on the CPU in float64, twice, each side
  doing the same work: the manual update (ours `p.data -= lr * p.grad`; PyTorch
  `p -= lr * p.grad` under no_grad, gradients set to None), and the optimizer (ours
  `optim.SGD`; `torch.optim.SGD`, PyTorch's default for-loop path on the CPU).

One BLAS thread on both sides (set below, before NumPy loads; `torch.set_num_threads(1)`).
Rounds are interleaved, every contender once a round, so machine noise hits all alike; the
tables give medians over the rounds.

The peers live outside this project: run it with a Python that has micrograd==0.1.0 and
torch installed (this checkout is put first on the path, so it need not be installed
there). A missing peer is named in the output and its comparison is left out.

    python benchmarks/bench_engine.py [--rounds 9]
    python benchmarks/bench_engine.py --deep [1000000]

`--deep N` measures instead the promise that any depth backpropagates: a chain of N
multiplications (a million by default), built, backpropagated and freed, with the time of
each part and the peak memory; micrograd's recursive sort is tried on the same chain.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # one BLAS thread, set before NumPy (or PyTorch) starts its pool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # time this checkout, not an installed copy

from blas_note import KEEP_PIN, KEEP_PIN_HELP, settle_blas_kernels  # noqa: E402  (beside this file)

BLAS_KERNELS = settle_blas_kernels()  # before NumPy and PyTorch load their BLAS

import numpy as np  # noqa: E402

from tinygrad_opt import optim  # noqa: E402
from tinygrad_opt.engine import Value  # noqa: E402
from tinygrad_opt.nn import scalar as scalar_nn  # noqa: E402

LR = 0.01  # both paths, both sides


def two_moons(n: int = 100, noise: float = 0.1, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, n)
    upper = np.arange(n) < n // 2
    x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    return points, np.where(upper, -1.0, 1.0)


def scalar_step(model: Any, value_type: type, points: np.ndarray, labels: np.ndarray) -> Callable[[], Any]:
    """One step of micrograd's demo, written once for either library's scalar MLP."""
    inputs = [[value_type(float(a)) for a in row] for row in points]

    def step() -> Any:
        scores = [model(x) for x in inputs]
        losses = [(1 + -float(yi) * si).relu() for yi, si in zip(labels, scores, strict=True)]
        loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= LR * p.grad
        return loss
    return step


def tensor_step(points: np.ndarray, labels: np.ndarray, use_optimizer: bool,
                seed: int = 1337) -> Callable[[], object]:
    """Our tensor path: the manual update, or `optim.SGD`."""
    rng = np.random.default_rng(seed)
    sizes = [2, 16, 16, 1]
    weights = [Value(rng.uniform(-1, 1, (a, b))) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [Value(np.zeros(b)) for b in sizes[1:]]
    params = weights + biases
    x_in = Value(points)
    optimizer = optim.SGD(params, lr=LR) if use_optimizer else None

    def step() -> Value:
        x = x_in
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            x = x @ w + b
            if i < len(weights) - 1:
                x = x.relu()
        margins = (1 - labels * x.reshape(-1)).relu()
        loss = margins.mean() + 1e-4 * sum((p * p).sum() for p in params)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            for p in params:
                p.zero_grad()
            loss.backward()
            for p in params:
                p.data -= LR * p.grad
        return loss
    return step


def torch_step(points: np.ndarray, labels: np.ndarray, use_optimizer: bool) -> Callable[[], object]:
    """PyTorch's tensor path, float64 on the CPU: the manual update, or `torch.optim.SGD`."""
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(1337)
    sizes = [2, 16, 16, 1]
    weights = [torch.empty(a, b, dtype=torch.float64).uniform_(-1, 1).requires_grad_()
               for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [torch.zeros(b, dtype=torch.float64, requires_grad=True) for b in sizes[1:]]
    params = weights + biases
    x_in, y = torch.from_numpy(points), torch.from_numpy(labels)
    optimizer = torch.optim.SGD(params, lr=LR) if use_optimizer else None

    def step() -> object:
        x = x_in
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            x = x @ w + b
            if i < len(weights) - 1:
                x = x.relu()
        loss = (1 - y * x.reshape(-1)).relu().mean() + 1e-4 * sum((p * p).sum() for p in params)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= LR * p.grad
        return loss
    return step


def interleaved(contenders: dict[str, Callable[[], object]], rounds: int, inner: int) -> dict[str, float]:
    """Median seconds per step of each contender, their runs taking turns."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, step in contenders.items():
            gc.collect()
            start = time.perf_counter()
            for _ in range(inner):
                step()
            times[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(t) for name, t in times.items()}


def deep_chain(depth: int) -> None:
    """Build x * c * c * ... (depth multiplications), backpropagate, free; time each part."""
    factor = 1.0 + 1.0 / depth
    start = time.perf_counter()
    x = Value(0.5)
    y = x
    for _ in range(depth):
        y = y * factor
    built = time.perf_counter()
    y.backward()
    done = time.perf_counter()
    del y
    freed = time.perf_counter()
    expected = factor**depth
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"a chain of {depth:,} multiplications (tinygrad_opt):")
    print(f"  build {built - start:.2f} s, backward {done - built:.2f} s, free {freed - done:.2f} s")
    print(f"  dx = {x.grad:.12g} (exact {expected:.12g}); peak memory of the process {peak_mib:.0f} MiB")
    try:
        from micrograd.engine import Value as MicrogradValue
    except ImportError:
        print("micrograd is not installed (pip install micrograd==0.1.0): left out")
        return
    z = MicrogradValue(0.5)
    for _ in range(depth):
        z = z * factor
    try:
        z.backward()
        print("micrograd 0.1.0: backpropagated")
    except RecursionError:
        print(f"micrograd 0.1.0: RecursionError (its recursive sort; Python's limit is "
              f"{sys.getrecursionlimit()} frames)")


def count_nodes(root: Any) -> int:
    """The nodes of a graph, read through `_prev`, which micrograd's Values and ours both have."""
    seen = {root}
    stack = [root]
    while stack:
        for parent in stack.pop()._prev:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return len(seen)


def ratio_text(peer_seconds: float | None, seconds: float) -> str:
    return "no peer" if peer_seconds is None else f"{peer_seconds / seconds:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds of each contender")
    parser.add_argument("--deep", type=int, nargs="?", const=1_000_000, default=None, metavar="N",
                        help="time a chain of N multiplications instead (default N: a million)")
    parser.add_argument(KEEP_PIN, action="store_true", help=KEEP_PIN_HELP)
    args = parser.parse_args()
    if args.deep is not None:
        if args.deep < 1:
            parser.error(f"--deep needs a positive number of multiplications, got {args.deep}")
        deep_chain(args.deep)
        return
    points, labels = two_moons()
    missing = []
    print(BLAS_KERNELS)
    print(f"micrograd's demo step: MLP(2, [16, 16, 1]), 100 points; median of {args.rounds} interleaved "
          f"rounds; one BLAS thread\n")

    # 1. One Value per number: our scalar path against micrograd, the same manual update.
    #    PyTorch is not imported yet: its many objects would slow every garbage collection here.
    random.seed(1337)
    scalar = {"tinygrad_opt scalar": scalar_step(scalar_nn.MLP(2, [16, 16, 1]), Value, points, labels)}
    try:
        from micrograd import nn as micrograd_nn
        from micrograd.engine import Value as MicrogradValue
    except ImportError:
        missing.append("micrograd (pip install micrograd==0.1.0): the scalar path is compared with nothing")
    else:
        random.seed(1337)  # the same weights: both draw them from random.uniform(-1, 1) in one order
        reference = micrograd_nn.MLP(2, [16, 16, 1])
        scalar["micrograd 0.1.0"] = scalar_step(reference, MicrogradValue, points, labels)
    # Warm-up, counting the nodes: micrograd's Values have the same `_prev`, so one count serves both.
    nodes = {name: count_nodes(step()) for name, step in scalar.items()}
    scalar_times = interleaved(scalar, args.rounds, inner=1)
    print(f"{'scalar path, manual update':<34}{'graph nodes':>12}{'ms / step':>12}{'micrograd / ours':>18}")
    for name, seconds in scalar_times.items():
        ratio = ratio_text(scalar_times.get("micrograd 0.1.0"), seconds)
        print(f"{name:<34}{nodes[name]:>12}{seconds * 1e3:>12.1f}{ratio:>18}")

    # 2. One Value per matrix: our tensor path against PyTorch, each way of updating on both sides.
    tensor = {"tinygrad_opt, manual update": tensor_step(points, labels, use_optimizer=False),
              "tinygrad_opt, optim.SGD": tensor_step(points, labels, use_optimizer=True)}
    try:
        import torch
    except ImportError:
        missing.append("PyTorch (pip install torch): the tensor path is compared with nothing")
    else:
        tensor["PyTorch, manual update"] = torch_step(points, labels, use_optimizer=False)
        tensor["PyTorch, torch.optim.SGD"] = torch_step(points, labels, use_optimizer=True)
        print(f"\nPyTorch {torch.__version__}, {torch.get_num_threads()} thread")
    for step in tensor.values():
        step()
    tensor_times = interleaved(tensor, args.rounds, inner=200)
    print(f"\n{'tensor path':<34}{'':>12}{'ms / step':>12}{'PyTorch / ours':>18}")
    for name, seconds in tensor_times.items():
        update = name.split(", ")[1]
        peer = "PyTorch, torch.optim.SGD" if "SGD" in update else "PyTorch, manual update"
        ratio = ratio_text(tensor_times.get(peer), seconds)
        print(f"{name:<34}{'':>12}{seconds * 1e3:>12.3f}{ratio:>18}")
    speedup = scalar_times["tinygrad_opt scalar"] / tensor_times["tinygrad_opt, manual update"]
    print(f"\nthe tensor path is {speedup:.0f}x faster than the scalar path on the same batch")
    print("(ratios are the peer's time / ours for the same work: above 1 we are faster)")
    for line in missing:
        print(f"MISSING PEER: {line}")


if __name__ == "__main__":
    main()
