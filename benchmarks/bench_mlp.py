"""An MNIST-size MLP training step, beside PyTorch on the CPU in the same run.

Workload: an MLP 784-256-256-10 with ReLU, float32, a batch of 128 images of 28 x 28 pixels
(random pixels in [0, 1) and random labels: the arithmetic of a step does not depend on
what the pixels show), cross-entropy, zero_grad, backward and one Adam step (lr 1e-3).
Both models start from the same weights (PyTorch's are copied from ours) and see the same
batch; the first steps are checked to give the same loss on both sides.

PyTorch runs its three Adam paths: the default (on the CPU a for-loop over the
parameters), `foreach=True` and `fused=True`; the ratio is against the fastest of them.
Each step is timed in its two parts, forward + backward (with zero_grad) and the
optimizer's update, and the step is their sum.
One thread on both sides: `OPENBLAS_NUM_THREADS=1` (and OMP, MKL) is set before NumPy
loads, and `torch.set_num_threads(1)`. BLAS kernels: a pin of NumPy's OpenBLAS to older
kernels (OPENBLAS_CORETYPE) is removed for the run, or with --keep-blas-pin kept and
matched on PyTorch's side (benchmarks/blas_note.py).

The contenders take turns, a block of `--block` steps each a round, as a training loop
runs one model step after step; the table gives the median CPU time of a step (which other
work on a shared machine moves less than the clock). Turns of a single step would time
every step with the model's arrays pushed out of the processor's caches by the other
three models', a cost no training loop pays: `--block 1` measures that case.

    python benchmarks/bench_mlp.py [--rounds 30] [--block 10] [--keep-blas-pin]

Run it with a Python that has torch installed (this checkout is put first on the path).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # one BLAS thread, set before NumPy (or PyTorch) starts its pool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # time this checkout, not an installed copy

from blas_note import KEEP_PIN, KEEP_PIN_HELP, settle_blas_kernels  # noqa: E402  (beside this file)

BLAS_KERNELS = settle_blas_kernels()  # before NumPy and PyTorch load their BLAS

import numpy as np  # noqa: E402

from tinygrad_opt import nn, optim  # noqa: E402

SIZES, BATCH, LR = [784, 256, 256, 10], 128, 1e-3


Parts = tuple[Callable[[], float], Callable[[], object]]  # forward + backward (returns the loss), update


def ours(x: np.ndarray, labels: np.ndarray) -> tuple[nn.MLP, Parts]:
    model = nn.MLP(SIZES[0], SIZES[1:], seed=0).to(np.float32)
    optimizer = optim.Adam(model.parameters(), lr=LR)

    def forward_backward() -> float:
        loss = nn.cross_entropy(model(x), labels)
        optimizer.zero_grad()
        loss.backward()
        return loss.item()

    return model, (forward_backward, optimizer.step)


def pytorch(model: nn.MLP, x: np.ndarray, labels: np.ndarray, path: str) -> Parts:
    import torch

    layers = []
    for i, linear in enumerate(model.layers[::2]):
        twin = torch.nn.Linear(*reversed(linear.weight.shape))
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(linear.weight.data))
            twin.bias.copy_(torch.from_numpy(linear.bias.data))
        layers += [twin, torch.nn.ReLU()] if i < len(SIZES) - 2 else [twin]
    twin_model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(twin_model.parameters(), lr=LR, **{path: True} if path != "default" else {})
    inputs, targets = torch.from_numpy(x), torch.from_numpy(labels)

    def forward_backward() -> float:
        loss = torch.nn.functional.cross_entropy(twin_model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        return loss.item()

    return forward_backward, optimizer.step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--rounds", type=int, default=30, help="rounds of turns (default 30)")
    parser.add_argument("--block", type=int, default=10, help="steps of a contender in a turn (default 10)")
    parser.add_argument(KEEP_PIN, action="store_true", help=KEEP_PIN_HELP)
    args = parser.parse_args()
    for option in ("rounds", "block"):
        if not 1 <= getattr(args, option) <= 10_000:
            parser.error(f"--{option} must be between 1 and 10000, got {getattr(args, option)}")
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    contenders: dict[str, Parts] = {}
    model, contenders["tinygrad_opt, optim.Adam"] = ours(x, labels)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed here: only our own time is measured")
    else:
        torch.set_num_threads(1)
        for path in ("default", "foreach", "fused"):
            contenders[f"PyTorch {torch.__version__}, Adam {path}"] = pytorch(model, x, labels, path)
    first = {}  # the first three losses of each (the steps also warm up)
    for name, (forward_backward, update) in contenders.items():
        first[name] = [(forward_backward(), update())[0] for _ in range(3)]
    reference = first["tinygrad_opt, optim.Adam"]
    for name, losses in first.items():
        if not np.allclose(losses, reference, rtol=1e-4):
            raise SystemExit(f"{name} gives the losses {losses}, ours {reference}: not the same work")
    parts: dict[str, list[list[float]]] = {name: [[], []] for name in contenders}
    for _ in range(args.rounds):
        for name, pair in contenders.items():
            for _ in range(args.block):
                for part, times in zip(pair, parts[name], strict=True):
                    start = time.process_time()
                    part()
                    times.append(time.process_time() - start)
    median_parts = {name: [statistics.median(times) for times in both] for name, both in parts.items()}
    median = {name: sum(both) for name, both in median_parts.items()}
    peers = [name for name in contenders if name.startswith("PyTorch")]
    best = min(peers, key=median.get) if peers else None
    print(BLAS_KERNELS)
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, Adam; one thread each side; "
          f"median step of {args.rounds} rounds of {args.block} steps each "
          f"(load average {os.getloadavg()[0]:.1f})\n")
    print("| contender | forward + backward | optimizer step | CPU ms per step | time / PyTorch's fastest |")
    print("|---|---|---|---|---|")
    for name in contenders:
        ratio = f"{median[name] / median[best]:.2f}" if best else ""
        forward_backward, update = (f"{1e3 * t:.2f}" for t in median_parts[name])
        print(f"| {name} | {forward_backward} | {update} | {1e3 * median[name]:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
