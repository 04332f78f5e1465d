"""How fast is one optimizer step on a large parameter, and how close to the memory limit?

    python benchmarks/bench_optim.py [--size 10000000] [--repeats 15]

One float32 parameter of `size` elements with a random gradient. For each update
it prints the best time over `repeats` steps, compared in the same run with

* PyTorch's `torch.optim.Adam()` / `SGD(momentum=0.9)` with default settings,
  when torch is importable;
* the memory-traffic bound: the bytes a step must move divided by the stream
  bandwidth measured here (see `stream_bandwidth`).
  Adam reads theta, g, m, v and writes theta, m, v: 7 x 4 = 28 bytes per element;
  SGD with momentum reads theta, g, b and writes theta, b: 20 bytes.

It also checks with tracemalloc that a step allocates no parameter-sized memory
(the optimizer's scratch arrays are allocated once, at its first step).
Timings on a shared machine vary by 10-20% between runs; the ratios are what to read.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from tinygrad_opt import Value, optim


def best_time(run: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` calls, in seconds, after one warm-up call."""
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def stream_bandwidth(size: int, repeats: int) -> float:
    """Bytes per second of the fastest of STREAM's copy `b = a` (8 bytes per float32
    element), add `c = a + b` (12 bytes) and an in-place add `a += b` (12 bytes), each
    one NumPy call on `size` elements. (Copy and add also read the output's cache
    lines before writing them, traffic STREAM does not count; the in-place add, like
    an optimizer step, has none, so it is usually the fastest.)"""
    a, b, c = (np.full(size, 1.0, dtype=np.float32) for _ in range(3))
    copy = 8 * size / best_time(lambda: np.copyto(b, a), repeats)
    add = 12 * size / best_time(lambda: np.add(a, b, out=c), repeats)
    add_in_place = 12 * size / best_time(lambda: np.add(a, b, out=a), repeats)
    return max(copy, add, add_in_place)


def our_step(make: Callable[[list[Value]], optim.Optimizer], theta: np.ndarray,
             grad: np.ndarray) -> tuple[Callable[[], None], optim.Optimizer]:
    p = Value(theta.copy())
    p.grad = grad
    opt = make([p])
    return opt.step, opt


def torch_step(make: Callable[..., object], theta: np.ndarray, grad: np.ndarray) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # NumPy's ufuncs use one core: compare like with like
    p = torch.from_numpy(theta.copy()).requires_grad_()
    p.grad = torch.from_numpy(grad.copy())
    opt = make(torch, [p])
    return opt.step


def allocated_during_step(step: Callable[[], None]) -> int:
    """Peak bytes allocated during one step (after a warm-up step); NumPy reports its
    array allocations to tracemalloc, so a parameter-sized temporary would show."""
    step()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    size, repeats = args.size, args.repeats
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(size, dtype=np.float32)
    grad = rng.standard_normal(size, dtype=np.float32)
    bandwidth = stream_bandwidth(size, repeats)
    print(f"{size:,} float32 elements; stream bandwidth {bandwidth / 1e9:.1f} GB/s; "
          f"best of {repeats} steps\n")

    cases = [
        ("Adam", 28, lambda ps: optim.Adam(ps), lambda torch, ps: torch.optim.Adam(ps)),
        ("SGD momentum 0.9", 20, lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9),
         lambda torch, ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9)),
    ]
    print("| step | tinygrad_opt | torch.optim (default) | ours / torch | bandwidth bound | bound / ours "
          "| allocated per step |")
    print("|---|---|---|---|---|---|---|")
    for name, bytes_per_element, ours, theirs in cases:
        step, _ = our_step(ours, theta, grad)
        ours_time = best_time(step, repeats)
        bound = bytes_per_element * size / bandwidth
        peak = allocated_during_step(step)
        reference = torch_step(theirs, theta, grad)
        if reference is None:
            torch_cell, ratio_cell = "not installed", "-"
        else:
            torch_time = best_time(reference, repeats)
            torch_cell, ratio_cell = f"{torch_time * 1e3:.1f} ms", f"{ours_time / torch_time:.2f}"
        print(f"| {name} | {ours_time * 1e3:.1f} ms | {torch_cell} | {ratio_cell} | {bound * 1e3:.1f} ms "
              f"({bytes_per_element} B/element) | {bound / ours_time:.0%} | {peak / 1e3:.1f} kB "
              f"(parameter: {4 * size / 1e6:.0f} MB) |")


if __name__ == "__main__":
    main()
