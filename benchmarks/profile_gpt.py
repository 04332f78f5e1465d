"""Where the time of one GPT training step goes: a profile, no peer needed.

The model is nanoGPT's CPU configuration (4 layers, 4 heads, 128 wide, context 64, batch 12,
vocabulary 65, no biases) in float32, and a step is what a training loop does: forward,
cross-entropy, zero_grad, backward, one AdamW step. One BLAS thread (set below, before
NumPy loads). The script first times `--steps` steps (median CPU time and wall clock), then
measures the peak of the memory NumPy allocates during one step (tracemalloc sees NumPy's
arrays; the model's weights and the optimizer's state, allocated before, are not counted),
then runs the steps again under cProfile and prints the functions that took the most time
of their own (`tottime`), as a share of the profiled total.

    python benchmarks/profile_gpt.py [--steps 10] [--top 15] [--float64] [--keep-blas-pin] [--malloc-as-is]

A pin of NumPy's OpenBLAS to older kernels (OPENBLAS_CORETYPE) is removed for the run, as in
the benchmarks beside PyTorch, unless --keep-blas-pin (benchmarks/blas_note.py). The script
calls `memory.keep_freed_memory()` first, as a training script should; --malloc-as-is leaves
malloc as the process found it, to see what that costs (the page faults a step).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # one BLAS thread, set before NumPy starts its pool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # time this checkout, not an installed copy

from blas_note import KEEP_PIN, settle_blas_kernels  # noqa: E402  (beside this file)

BLAS_KERNELS = settle_blas_kernels(with_pytorch=False)  # before NumPy loads its BLAS

import numpy as np  # noqa: E402

from tinygrad_opt import nn, optim  # noqa: E402
from tinygrad_opt.memory import keep_freed_memory  # noqa: E402

VOCAB, BLOCK, LAYERS, HEADS, WIDTH, BATCH = 65, 64, 4, 4, 128, 12  # nanoGPT's shakespeare_char on a CPU


def make_step(dtype: type) -> Callable[[], None]:
    model = nn.GPT(VOCAB, BLOCK, LAYERS, HEADS, WIDTH, bias=False, seed=0).to(dtype)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    optimizer = optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCAB, (BATCH, BLOCK))
    targets = rng.integers(0, VOCAB, (BATCH, BLOCK))

    def step() -> None:
        logits = model(ids)
        loss = nn.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--float64", action="store_true", help="the model in float64 instead of float32")
    parser.add_argument(KEEP_PIN, action="store_true", help="keep this machine's OPENBLAS_CORETYPE pin")
    parser.add_argument("--malloc-as-is", action="store_true",
                        help="leave malloc as the process found it (no memory.keep_freed_memory())")
    args = parser.parse_args()
    print(BLAS_KERNELS)
    kept = False if args.malloc_as_is else keep_freed_memory()
    print("malloc: freed memory kept for the next step (memory.keep_freed_memory)" if kept else
          "malloc: as the process found it")
    step = make_step(np.float64 if args.float64 else np.float32)
    step()  # the first step allocates the optimizer's state
    cpu, wall = [], []
    faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(args.steps):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        step()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / args.steps
    print(f"one step, median of {args.steps}: {1e3 * statistics.median(cpu):.1f} ms CPU, "
          f"{1e3 * statistics.median(wall):.1f} ms wall clock (load average {os.getloadavg()[0]:.1f}); "
          f"{faults:.0f} page faults a step (memory malloc handed back to the system and took again)")

    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak of the memory allocated during one step (tracemalloc): {peak / 2**20:.1f} MiB")

    profile = cProfile.Profile()
    profile.runcall(lambda: [step() for _ in range(args.steps)])
    stats = pstats.Stats(profile)
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # by own time
    per_step = stats.total_tt / args.steps * 1e3
    print(f"\nunder cProfile, {per_step:.1f} ms a step; own time of the top {args.top}:\n")
    print("| function | calls a step | ms a step | share |")
    print("|---|---|---|---|")
    for (filename, line, name), (_, calls, own, _, _) in rows[:args.top]:
        where = f"{Path(filename).name}:{line} {name}" if line else name
        share = own / stats.total_tt
        print(f"| `{where}` | {calls / args.steps:g} | {own / args.steps * 1e3:.1f} | {share:.0%} |")


if __name__ == "__main__":
    main()
