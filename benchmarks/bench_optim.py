"""How fast is one optimizer step on a large parameter, beside PyTorch's three paths and the memory bound?

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_optim.py [--size 10000000] [--rounds 15]
                                                           [--chunk-bytes 131072]

One float32 parameter of `size` elements with a random gradient. Each round takes
one step with every contender, in turn, so the machine's noise falls on all of
them alike; the table gives each contender's median over the rounds (after one
warm-up step each), in CPU time (the steadier measure on a shared machine; every
contender runs on one thread) and on the clock. The contenders:

* tinygrad_opt's `optim.Adam()` / `optim.SGD(lr=1e-3, momentum=0.9)`;
* PyTorch's `torch.optim.Adam` / `SGD` on the same data, on each of its CPU paths:
  the default (on the CPU, a for-loop over parameters: `foreach=None, fused=None`),
  `foreach=True` (one multi-tensor call per operation) and `fused=True` (one C++
  kernel for the whole step). PyTorch is no dependency of the project: run the
  script with a Python that has torch and can import tinygrad_opt (for example
  `PYTHONPATH=.` from the repository root) to get its rows; without torch it says so;
* the memory-traffic bound: the bytes a step must move divided by the bandwidth
  measured in the same rounds (see `bandwidth_kernels`). Adam reads theta, g, m, v
  and writes theta, m, v: 7 x 4 = 28 bytes per element; SGD with momentum reads
  theta, g, b and writes theta, b: 20 bytes.

Both sides use one thread: NumPy's ufuncs run on one core, `OPENBLAS_NUM_THREADS=1`
is set before NumPy loads, and `torch.set_num_threads(1)`. The script also reports,
with tracemalloc, the most memory one of our steps allocates, and the page faults
it takes (a sign that freed temporaries went back to the system).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy is imported

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

try:
    from tinygrad_opt import Value, optim
except ImportError:  # run from a checkout by a Python where the project is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tinygrad_opt import Value, optim
from tinygrad_opt.optim import optimizer  # noqa: E402

Step = Callable[[], Any]


def load_torch() -> Any:
    """torch with one thread, or None when this Python has no torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def bandwidth_kernels(size: int) -> dict[str, tuple[int, Step]]:
    """STREAM-like kernels on `size` float32 elements: name -> (bytes moved, step).

    Copy `b = a` moves 8 bytes per element, add `c = a + b` and the in-place add
    `a += b` move 12. Copy and add also read the output's cache lines before writing
    them, traffic STREAM does not count; the in-place add, like an optimizer step,
    has none, so it is usually the fastest."""
    a, b, c = (np.full(size, 1.0, dtype=np.float32) for _ in range(3))
    return {"copy": (8 * size, lambda: np.copyto(b, a)),
            "add": (12 * size, lambda: np.add(a, b, out=c)),
            "add in place": (12 * size, lambda: np.add(a, b, out=a))}


def our_step(make: Callable[[list[Value]], optim.Optimizer], theta: np.ndarray, grad: np.ndarray) -> Step:
    p = Value(theta.copy())
    p.grad = grad.copy()
    return make([p]).step


def torch_step(torch: Any, make: Callable[..., Any], theta: np.ndarray, grad: np.ndarray,
               **path: bool) -> Step | str:
    """One step of PyTorch's optimizer on its own copy of the data, or why it cannot run."""
    p = torch.from_numpy(theta.copy()).requires_grad_()
    p.grad = torch.from_numpy(grad.copy())
    try:
        opt = make(torch, [p], **path)
        opt.step()
    except (RuntimeError, ValueError, TypeError) as error:
        return f"unavailable: {str(error).splitlines()[0]}"
    return opt.step


def allocated_during_step(step: Step) -> int:
    """Peak bytes allocated during one step (after a warm-up step); NumPy reports its
    array allocations to tracemalloc, so a parameter-sized temporary would show."""
    step()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def page_faults_per_step(step: Step, steps: int = 3) -> float:
    """Minor page faults per step (after a warm-up step): memory the step had to get
    from the system again."""
    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps


def median_times(steps: dict[str, Step], rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median seconds per call of each step, on the clock and in CPU time (this process's:
    on a machine others share, the CPU time is the steadier of the two), the steps taken
    in turn in every round."""
    for step in steps.values():
        step()  # warm up: first-step allocations, caches
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            step()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
    return ({name: statistics.median(values) for name, values in wall.items()},
            {name: statistics.median(values) for name, values in cpu.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--chunk-bytes", type=int, default=optimizer.CHUNK_BYTES,
                        help="bytes of each array in one piece of optim.optimizer.chunks")
    args = parser.parse_args()
    size, rounds = args.size, args.rounds
    optimizer.CHUNK_BYTES = args.chunk_bytes
    torch = load_torch()
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(size, dtype=np.float32)
    grad = rng.standard_normal(size, dtype=np.float32)

    cases = [
        ("Adam", 28, lambda ps: optim.Adam(ps), lambda torch, ps, **path: torch.optim.Adam(ps, **path)),
        ("SGD momentum 0.9", 20, lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9),
         lambda torch, ps, **path: torch.optim.SGD(ps, lr=1e-3, momentum=0.9, **path)),
    ]
    paths = {"default (for-loop)": {}, "foreach=True": {"foreach": True}, "fused=True": {"fused": True}}
    kernels = bandwidth_kernels(size)
    torch_name = f"PyTorch {torch.__version__}" if torch is not None else "PyTorch"
    print(f"{size:,} float32 elements; pieces of {optimizer.CHUNK_BYTES:,} bytes; "
          f"median of {rounds} interleaved rounds; one thread; "
          f"NumPy {np.__version__}; " + (torch_name if torch is not None else
                                         "torch is NOT installed in this Python: its rows are missing"))
    for name, bytes_per_element, ours, theirs in cases:
        steps: dict[str, Step] = {"tinygrad_opt": our_step(ours, theta, grad)}
        unavailable = {}
        for path_name, path in paths.items():
            if torch is None:
                unavailable[path_name] = "torch not installed"
                continue
            step = torch_step(torch, theirs, theta, grad, **path)
            if isinstance(step, str):
                unavailable[path_name] = step
            else:
                steps[path_name] = step
        steps.update({kernel: run for kernel, (_, run) in kernels.items()})
        wall, cpu = median_times(steps, rounds)
        bandwidth = max(kernels[kernel][0] / cpu[kernel] for kernel in kernels)
        bound = bytes_per_element * size / bandwidth
        ours = cpu["tinygrad_opt"]
        peak = allocated_during_step(steps["tinygrad_opt"])
        faults = page_faults_per_step(steps["tinygrad_opt"])
        print(f"\n{name}: bandwidth {bandwidth / 1e9:.1f} GB/s (fastest kernel, CPU time); "
              f"our step allocates at most {peak / 1e3:.0f} kB (the parameter is {4 * size / 1e6:.0f} MB) "
              f"and takes {faults:,.0f} page faults\n")
        print("| contender | CPU ms per step | time / ours | wall-clock ms |")
        print("|---|---|---|---|")
        print(f"| tinygrad_opt `optim.{name.split()[0]}` | {ours * 1e3:.1f} | 1.00 "
              f"| {wall['tinygrad_opt'] * 1e3:.1f} |")
        for path_name in paths:
            label = f"torch.optim.{name.split()[0]}, {path_name}"
            if path_name in unavailable:
                print(f"| {label} | {unavailable[path_name]} | - | - |")
            else:
                print(f"| {label} | {cpu[path_name] * 1e3:.1f} | {cpu[path_name] / ours:.2f} "
                      f"| {wall[path_name] * 1e3:.1f} |")
        print(f"| memory bound ({bytes_per_element} B/element) | {bound * 1e3:.1f} | {bound / ours:.2f} | |")

if __name__ == "__main__":
    main()
