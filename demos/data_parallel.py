"""Data-parallel training on MPI: N processes, each on 1/N of every batch, gradients averaged.

Four lessons, each measured on the 8x8 digits with a small MLP:

1. Data parallelism is a bigger batch: N ranks with batch b each, averaging gradients, take the
   same steps as one process with batch N*b, to rounding.
2. Scaling the batch: from 32 to 32x that, SGD with momentum at a fixed learning rate, with the
   linear scaling rule (with and without warmup; Goyal et al. 2017), LAMB (You et al. 2020) and
   LARS (You, Gitman & Ginsburg 2017): steps and seconds to a target loss.
3. Local SGD: each rank steps on its own and the parameters are averaged every 1, 4 or 16
   steps; communication saved against the loss reached.
4. Time per step and communication per step for 1, 2 and 4 ranks on this machine.

    mpiexec -n 4 python demos/data_parallel.py          # the four lessons on 4 processes
    mpiexec -n 2 python demos/data_parallel.py --quick  # fewer batch sizes and steps (for the tests)
    mpiexec -n 4 python demos/data_parallel.py --lessons 4   # only lesson 4
    python demos/data_parallel.py                       # one process: a world of one

Use the mpiexec installed with the `mpich` package, next to the Python that runs the script
(`.venv/bin/mpiexec` in a clone set up with `make test`). Only rank 0 prints.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread per rank: the ranks are the parallelism

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import distributed, nn, optim  # noqa: E402
from tinygrad_opt.data import load_digits, train_test_split  # noqa: E402
from tinygrad_opt.optim import schedules  # noqa: E402

# ----------------------------------------------------------------- configuration
HIDDEN = [64]  # the model: MLP(64, [64, 10]) on the digits (1347 training images, 450 held out)
SEED = 0  # the initial weights and the order the batches are drawn in, the same on every rank
BASE_BATCH = 32  # the batch the learning rates below were tuned for
BASE_LR = 0.05  # SGD with momentum 0.9 at batch 32
MOMENTUM = 0.9
EXACT_STEPS = 30  # lesson 1: steps of the N-rank and the one-process run, side by side
BATCHES = [32, 64, 128, 256, 512, 1024]  # lesson 2: global batch sizes, 32 to 32x that
TARGET_LOSS = 0.1  # lesson 2: cross-entropy over all training images to reach
MAX_STEPS = 600  # lesson 2: a run still above the target after this many steps did not make it
WARMUP_STEPS = 20  # lesson 2: the learning rate rises linearly from its batch-32 value over these steps
LAMB_LR = 0.01  # lesson 2: LAMB's learning rate at batch 32, scaled by sqrt(batch / 32)
LARS_LR = 0.25  # lesson 2: LARS's learning rate at batch 32, scaled by sqrt(batch / 32) ...
LARS_TRUST = 0.04  # ... and its trust coefficient eta: each matrix moves by about lr * eta of its norm
LOCAL_BATCH = 32  # lesson 3: images per rank per step
LOCAL_LR = 0.1  # lesson 3: SGD with momentum, every rank
LOCAL_STEPS = 192  # lesson 3: steps per rank, a multiple of every period
SYNC_EVERY = [1, 4, 16]  # lesson 3: average the parameters every H steps
TIMING_BATCH = 1024  # lesson 4: the global batch, split over the ranks
TIMING_HIDDEN = [256, 256]  # lesson 4: a wider model, 85 002 parameters
TIMING_STEPS = 40  # lesson 4: steps timed at each world size (after 5 not timed)
TIMING_RANKS = [1, 2, 4]
QUICK = dict(EXACT_STEPS=10, BATCHES=[256], MAX_STEPS=100, LOCAL_STEPS=32, SYNC_EVERY=[1, 16],
             TIMING_STEPS=10, TIMING_RANKS=[1, 2])  # with --quick


def load() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits()
    X_train, _, y_train, _ = train_test_split(X / 16, y, test_size=0.25, seed=SEED)
    return X_train, y_train


def my_share(rows: np.ndarray, comm) -> np.ndarray:
    """This rank's equal slice of a global batch (every rank draws the same `rows`)."""
    share = len(rows) // comm.Get_size()
    return rows[comm.Get_rank() * share : (comm.Get_rank() + 1) * share]


def training_loss(model: nn.Module, X: np.ndarray, y: np.ndarray, comm) -> float:
    """Mean cross-entropy over all of X: each rank sums its slice of the rows, MPI adds the sums."""
    rows = np.array_split(np.arange(len(X)), comm.Get_size())[comm.Get_rank()]
    mine = nn.cross_entropy(model(X[rows]), y[rows], reduction="sum").item() if len(rows) else 0.0
    return comm.allreduce(mine) / len(X)


def wait_for_everyone(comm) -> None:
    """A barrier that sleeps: MPICH's waits spin on a core, which would slow the ranks still working."""
    request = comm.Ibarrier()
    while not request.Test():
        time.sleep(0.002)


def train_step(model: nn.Module, opt: optim.Optimizer, X: np.ndarray, y: np.ndarray,
               comm) -> tuple[float, float]:
    """One data-parallel step on this rank's rows: (its loss, seconds spent averaging gradients)."""
    loss = nn.cross_entropy(model(X), y)
    opt.zero_grad()
    loss.backward()
    start = time.perf_counter()
    if comm is not None:
        distributed.average_gradients(model.parameters(), comm)
    communication = time.perf_counter() - start
    opt.step()
    return loss.item(), communication


# ----------------------------------------------------------------- lesson 1
def lesson_1(X: np.ndarray, y: np.ndarray, comm, steps: int) -> None:
    """N ranks with BASE_BATCH each against one process with N * BASE_BATCH."""
    n = comm.Get_size()
    batch = BASE_BATCH * n

    def run(alone: bool) -> tuple[list[float], list[np.ndarray], float]:
        model = nn.MLP(64, HIDDEN + [10], seed=SEED)
        opt = optim.SGD(model.parameters(), lr=BASE_LR * n, momentum=MOMENTUM)
        sampler = np.random.default_rng(SEED)
        losses, weights, start = [], [], time.perf_counter()
        for _ in range(steps):
            rows = sampler.choice(len(X), batch, replace=False)  # the same batch on every rank
            rows = rows if alone else my_share(rows, comm)
            loss, _ = train_step(model, opt, X[rows], y[rows], None if alone else comm)
            losses.append(loss)
            weights.append(np.concatenate([p.data.ravel() for p in model.parameters()]))
        return losses, weights, (time.perf_counter() - start) / steps

    ranks_losses, ranks_weights, ranks_seconds = run(alone=False)
    ranks_losses = comm.gather(ranks_losses)  # each rank's loss is over its own rows: show their mean
    if comm.Get_rank() == 0:
        alone_losses, alone_weights, alone_seconds = run(alone=True)
        print(f"\n1. Data parallelism is a bigger batch: {n} ranks x batch {BASE_BATCH} against 1 process "
              f"x batch {batch} (SGD, momentum {MOMENTUM}, lr {BASE_LR * n:g}, the same batches)\n")
        print(f"{'step':>5}  {f'loss, {n} ranks':>16}  {'loss, 1 process':>16}  {'max |weights differ|':>20}")
        for step in sorted({0, 1, 2, steps // 2, steps - 1}):
            mean_loss = float(np.mean([losses[step] for losses in ranks_losses]))
            difference = float(np.max(np.abs(ranks_weights[step] - alone_weights[step])))
            print(f"{step + 1:>5}  {mean_loss:>16.12f}  {alone_losses[step]:>16.12f}  {difference:>20.1e}")
        print(f"\ntime per step: {ranks_seconds * 1e3:.2f} ms on {n} ranks, "
              f"{alone_seconds * 1e3:.2f} ms alone")
    wait_for_everyone(comm)


# ----------------------------------------------------------------- lesson 2
def warmup(peak: float, start: float) -> schedules.Schedule:
    """Goyal et al.'s gradual warmup: from the batch-32 rate to the scaled one over WARMUP_STEPS."""
    return schedules.linear_warmup(peak, WARMUP_STEPS, start=start)


# name -> make(params, batch): each a rule for the learning rate at `batch`
OPTIMIZERS = {
    "SGD, lr fixed": lambda params, batch: optim.SGD(params, lr=BASE_LR, momentum=MOMENTUM),
    "SGD, linear": lambda params, batch: optim.SGD(
        params, lr=BASE_LR * batch / BASE_BATCH, momentum=MOMENTUM),
    "SGD, linear+warmup": lambda params, batch: optim.SGD(
        params, lr=warmup(BASE_LR * batch / BASE_BATCH, start=BASE_LR), momentum=MOMENTUM),
    "LAMB, sqrt+warmup": lambda params, batch: optim.LAMB(
        params, lr=warmup(LAMB_LR * math.sqrt(batch / BASE_BATCH), start=LAMB_LR)),
    "LARS, sqrt+warmup": lambda params, batch: optim.LARS(
        params, lr=warmup(LARS_LR * math.sqrt(batch / BASE_BATCH), start=LARS_LR), momentum=MOMENTUM,
        trust_coefficient=LARS_TRUST),
}


def steps_to_target(make_optimizer, batch: int, X: np.ndarray, y: np.ndarray, comm,
                    max_steps: int) -> tuple[int | None, float, float]:
    """Train data-parallel until the training loss is below TARGET_LOSS:
    (steps, or None if it never got there; seconds training, not evaluating; the last loss)."""
    model = nn.MLP(64, HIDDEN + [10], seed=SEED)
    distributed.broadcast_parameters(model.parameters(), comm=comm)
    opt = make_optimizer(model.parameters(), batch)
    sampler = np.random.default_rng(SEED)
    seconds, loss = 0.0, math.inf
    for step in range(1, max_steps + 1):
        rows = my_share(sampler.choice(len(X), batch, replace=False), comm)
        start = time.perf_counter()
        train_step(model, opt, X[rows], y[rows], comm)
        seconds += time.perf_counter() - start
        loss = training_loss(model, X, y, comm)  # the same number on every rank: they stop together
        if not math.isfinite(loss):
            return None, seconds, loss
        if loss < TARGET_LOSS:
            return step, seconds, loss
    return None, seconds, loss


def lesson_2(X: np.ndarray, y: np.ndarray, comm, batches: list[int], max_steps: int) -> None:
    rank0 = comm.Get_rank() == 0
    if rank0:
        print(f"\n2. Scaling the batch: steps (and seconds) to a training loss below {TARGET_LOSS} on "
              f"{comm.Get_size()} rank(s), at most {max_steps} steps; '-' did not get there (last loss)\n")
        print(f"{'batch':>6}" + "".join(f"  {name:>20}" for name in OPTIMIZERS))
    for batch in batches:
        cells = []
        for make_optimizer in OPTIMIZERS.values():
            steps, seconds, loss = steps_to_target(make_optimizer, batch, X, y, comm, max_steps)
            cells.append(f"{steps:>5} ({seconds:5.2f} s)" if steps else f"- ({loss:.3g})")
        if rank0:
            print(f"{batch:>6}" + "".join(f"  {cell:>20}" for cell in cells), flush=True)


# ----------------------------------------------------------------- lesson 3
def local_sgd(period: int | None, X: np.ndarray, y: np.ndarray, comm, steps: int) -> dict:
    """Every rank steps on its own LOCAL_BATCH rows; every `period` steps the parameters are
    averaged (period None: the gradients are averaged every step instead, data parallelism)."""
    model = nn.MLP(64, HIDDEN + [10], seed=SEED)
    opt = optim.SGD(model.parameters(), lr=LOCAL_LR, momentum=MOMENTUM)
    sampler = np.random.default_rng(SEED)
    communication, messages, start = 0.0, 0, time.perf_counter()
    for step in range(1, steps + 1):
        rows = my_share(sampler.choice(len(X), LOCAL_BATCH * comm.Get_size(), replace=False), comm)
        _, seconds = train_step(model, opt, X[rows], y[rows], comm if period is None else None)
        communication += seconds
        if period is None or step % period == 0:
            messages += 1
            if period is not None:
                started = time.perf_counter()
                distributed.average_parameters(model.parameters(), comm)
                communication += time.perf_counter() - started
    seconds = time.perf_counter() - start
    nbytes = sum(p.size for p in model.parameters()) * 8 if comm.Get_size() > 1 else 0  # alone: nothing sent
    return dict(loss=training_loss(model, X, y, comm), syncs=messages, megabytes=messages * nbytes / 1e6,
                communication=communication, seconds=seconds)


def lesson_3(X: np.ndarray, y: np.ndarray, comm, steps: int, periods: list[int]) -> None:
    runs = {"gradients, every step": local_sgd(None, X, y, comm, steps)}
    for period in periods:
        runs[f"parameters, every {period}"] = local_sgd(period, X, y, comm, steps)
    if comm.Get_rank() == 0:
        print(f"\n3. Local SGD on {comm.Get_size()} rank(s): {steps} steps of batch {LOCAL_BATCH} on each "
              f"(SGD, momentum {MOMENTUM}, lr {LOCAL_LR}), averaging ...\n")
        print(f"{'averaging':<24} {'syncs':>6} {'MB sent':>8} {'comm s':>7} {'total s':>8} "
              f"{'final loss':>13}")
        for name, run in runs.items():
            print(f"{name:<24} {run['syncs']:>6} {run['megabytes']:>8.2f} {run['communication']:>7.3f} "
                  f"{run['seconds']:>8.3f} {run['loss']:>13.10f}")
        print("(MB sent: the parameters or gradients each rank hands to the all-reduce, 8 bytes a number)")


# ----------------------------------------------------------------- lesson 4
def timed_steps(comm, X: np.ndarray, y: np.ndarray, steps: int) -> np.ndarray:
    """Median milliseconds per step of: the whole step, computing (forward and backward) by the
    clock and in CPU time, waiting for the other ranks, and the all-reduce.

    A barrier before the all-reduce separates the two parts of communication: waiting for the
    slowest rank to finish its backward pass, and moving the gradients. CPU time counts only
    the time this process really ran: on a busy machine, the clock also counts the turns of others."""
    model = nn.MLP(64, TIMING_HIDDEN + [10], seed=SEED)
    opt = optim.SGD(model.parameters(), lr=BASE_LR, momentum=MOMENTUM)
    times = []
    for step in range(5 + steps):  # 5 steps to warm up, not timed
        start, cpu_start = time.perf_counter(), time.process_time()
        loss = nn.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        computed, cpu = time.perf_counter(), time.process_time() - cpu_start
        comm.Barrier()
        waited = time.perf_counter()
        distributed.average_gradients(model.parameters(), comm)
        averaged = time.perf_counter()
        opt.step()
        if step >= 5:
            finished = time.perf_counter()
            times.append((finished - start, computed - start, cpu, waited - computed, averaged - waited))
    return np.median(times, axis=0) * 1e3


def lesson_4(X: np.ndarray, y: np.ndarray, world, steps: int, world_sizes: list[int]) -> None:
    rows = np.random.default_rng(SEED).choice(len(X), TIMING_BATCH, replace=True)
    X_big, y_big = X[rows], y[rows]  # one fixed global batch of TIMING_BATCH images
    results = {}
    for n in [n for n in world_sizes if n <= world.Get_size()]:
        comm = world.Split(0 if world.Get_rank() < n else 1, world.Get_rank())
        if world.Get_rank() < n:
            mine = my_share(np.arange(TIMING_BATCH), comm)
            results[n] = timed_steps(comm, X_big[mine], y_big[mine], steps)
        comm.Free()
        wait_for_everyone(world)  # the ranks left out sleep meanwhile, so they take no core
    if world.Get_rank() == 0:
        parameters = sum(p.size for p in nn.MLP(64, TIMING_HIDDEN + [10]).parameters())
        print(f"\n4. Time per step, global batch {TIMING_BATCH} split over the ranks, "
              f"MLP(64, {TIMING_HIDDEN + [10]}) ({parameters} parameters, {parameters * 8 / 1e6:.2f} MB "
              f"of gradients), median of {steps} steps on rank 0\n")
        print(f"{'ranks':>5} {'batch/rank':>10} {'ms/step':>8} {'compute ms':>10} {'(CPU ms)':>9} "
              f"{'waiting ms':>10} {'all-reduce ms':>13} {'speed-up':>8}")
        for n, (step, compute, cpu, waiting, all_reduce) in results.items():
            print(f"{n:>5} {TIMING_BATCH // n:>10} {step:>8.2f} {compute:>10.2f} {cpu:>9.2f} "
                  f"{waiting:>10.2f} {all_reduce:>13.2f} {results[1][0] / step:>7.2f}x")
        print(f"(this machine has {os.cpu_count()} cores, and a load average of {os.getloadavg()[0]:.1f} "
              "while measuring: ranks, and other programs, take turns on them)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batch sizes and steps (for the tests)")
    parser.add_argument("--lessons", type=int, nargs="+", choices=[1, 2, 3, 4], default=[1, 2, 3, 4],
                        help="which lessons to run (default: all four)")
    args = parser.parse_args()
    config = {**globals(), **(QUICK if args.quick else {})}
    comm = distributed.world()
    n = comm.Get_size()
    if any(batch % n for batch in [BASE_BATCH, *config["BATCHES"], TIMING_BATCH]):
        raise SystemExit(f"{n} ranks cannot share the batches {config['BATCHES']} equally: "
                         "use 1, 2, 4, 8, 16 or 32 ranks")
    X, y = load()
    if comm.Get_rank() == 0:
        print(f"Data-parallel training on {n} rank(s): the digits, {len(X)} training images, "
              f"MLP(64, {HIDDEN + [10]})")
    if 1 in args.lessons:
        lesson_1(X, y, comm, config["EXACT_STEPS"])
    if 2 in args.lessons:
        lesson_2(X, y, comm, config["BATCHES"], config["MAX_STEPS"])
    if 3 in args.lessons:
        lesson_3(X, y, comm, config["LOCAL_STEPS"], config["SYNC_EVERY"])
    if 4 in args.lessons:
        lesson_4(X, y, comm, config["TIMING_STEPS"], config["TIMING_RANKS"])


if __name__ == "__main__":
    main()
