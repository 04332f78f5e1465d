"""What tests/test_distributed.py runs under `mpiexec -n 2`: one scenario per command-line name.

Rank 0 prints the scenario's findings as one JSON line; the test reads and checks them.

    mpiexec -n 2 python tests/distributed_worker.py exact
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinygrad_opt import Value, distributed, nn, optim  # noqa: E402
from tinygrad_opt.nn import scalar  # noqa: E402

RANK, SIZE = distributed.rank(), distributed.world_size()
COMM = distributed.world()


def report(**findings) -> None:
    if RANK == 0:
        print(json.dumps(findings), flush=True)


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1)
    return X, y


def train(model: nn.Module, X: np.ndarray, y: np.ndarray, steps: int, average: bool) -> list[float]:
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(steps):
        loss = nn.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        if average:
            distributed.average_gradients(model.parameters())
        opt.step()
        losses.append(loss.item())
    return losses


def flat(params: list[Value]) -> np.ndarray:
    return np.concatenate([np.ravel(p.data) for p in params])


def exact() -> None:
    """Each rank trains on its 1/N of the batch, averaging gradients; rank 0 then trains one model
    on the whole batch alone. Same start, same steps: the weights must agree to rounding."""
    steps, batch = 30, 64
    X, y = data(batch)
    mine = slice(RANK * batch // SIZE, (RANK + 1) * batch // SIZE)
    model = nn.MLP(4, [16, 16, 3], seed=RANK)  # different on each rank: the broadcast must fix that
    distributed.broadcast_parameters(model.parameters())
    start = flat(model.parameters())
    loss = nn.cross_entropy(model(X[mine]), y[mine])
    loss.backward()
    own_gradient = np.concatenate([p.grad.ravel() for p in model.parameters()])
    gradients = COMM.gather(own_gradient)
    model.zero_grad()
    train(model, X[mine], y[mine], steps, average=True)
    every_rank = COMM.gather(flat(model.parameters()))
    if RANK == 0:
        alone = nn.MLP(4, [16, 16, 3], seed=0)
        losses = train(alone, X, y, steps, average=False)
        report(max_difference=float(np.max(np.abs(flat(alone.parameters()) - every_rank[0]))),
               ranks_identical=all(np.array_equal(w, every_rank[0]) for w in every_rank),
               moved=float(np.max(np.abs(every_rank[0] - start))),
               shard_gradients_differ=float(np.max(np.abs(gradients[0] - gradients[1]))),
               first_loss=losses[0], last_loss=losses[-1])


def local_sgd() -> None:
    """Each rank steps alone on its own data; every H steps the parameters are averaged."""
    H, rounds = 4, 3
    X, y = data(32, seed=1 + RANK)  # each rank its own data: the models drift apart between syncs
    model = nn.MLP(4, [8, 3], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    spread_before, mean_error, spread_after = [], [], []
    for _ in range(rounds):
        for _ in range(H):
            loss = nn.cross_entropy(model(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        before = COMM.allgather(flat(model.parameters()))
        distributed.average_parameters(model.parameters())
        after = COMM.allgather(flat(model.parameters()))
        spread_before.append(float(np.max(np.abs(before[0] - before[1]))))
        mean_error.append(float(np.max(np.abs(after[RANK] - np.mean(before, axis=0)))))
        spread_after.append(float(max(np.max(np.abs(w - after[0])) for w in after)))
    mean_error = COMM.gather(max(mean_error))
    report(spread_before=spread_before, spread_after=spread_after, mean_error=max(mean_error or [0.0]))


def dtypes() -> None:
    """float32 gradients stay float32, in the same arrays; float64 and scalar Values beside them."""
    params = [Value(np.zeros((3, 2), np.float32)), Value(np.zeros(5)), Value(0.0)]
    params += scalar.MLP(2, [3, 1]).parameters()
    for p in params:
        p.grad = np.full(p.shape, RANK + 1.0, np.asarray(p.grad).dtype) if p.shape else float(RANK + 1)
    arrays = [p.grad for p in params[:2]]
    distributed.average_gradients(params)
    for p in params:
        p.data = np.full(p.shape, 10.0 * RANK, np.asarray(p.data).dtype) if p.shape else 10.0 * RANK
    distributed.average_parameters(params)
    report(dtypes=[str(np.asarray(p.grad).dtype) for p in params[:3]],
           same_arrays=all(p.grad is a for p, a in zip(params, arrays, strict=False)),
           grads=sorted({float(np.max(p.grad)) for p in params} | {float(np.min(p.grad)) for p in params}),
           scalar_types=sorted({type(p.grad).__name__ for p in params[2:]}),
           datas=sorted({float(np.max(p.data)) for p in params} | {float(np.min(p.data)) for p in params}))


def buckets() -> None:
    """Tiny buckets: many messages, mixed dtypes, one array larger than a bucket; the mean is still exact."""
    distributed.BUCKET_BYTES = 64
    rng = np.random.default_rng(RANK)
    shapes = [(3,), (40,), (2, 2), (1,), (7, 3), (5,)]
    dtypes = [np.float64, np.float32] * 3
    params = [Value(rng.normal(size=s).astype(dtype)) for s, dtype in zip(shapes, dtypes, strict=True)]
    everyone = COMM.allgather([p.data.copy() for p in params])
    distributed.average_parameters(params)
    expected = [np.mean([theirs[i] for theirs in everyone], axis=0) for i in range(len(params))]
    differences = [float(np.max(np.abs(p.data - e))) for p, e in zip(params, expected, strict=True)]
    report(max_difference=max(differences),
           dtypes=[str(p.data.dtype) for p in params])


def broadcast() -> None:
    """Every rank ends with the weights of the root, rank 1 here."""
    model = nn.MLP(4, [8, 3], seed=RANK)
    roots = COMM.allgather(flat(model.parameters()))[1]
    distributed.broadcast_parameters(model.parameters(), root=1)
    every_rank = COMM.gather(flat(model.parameters()))
    if RANK == 0:
        report(equal_to_root=all(np.array_equal(w, roots) for w in every_rank))


def explicit_comm() -> None:
    """`comm` given: MPI.COMM_SELF is a world of one on each rank, and a split of the world
    into one group per rank averages nothing either."""
    from mpi4py import MPI

    params = [Value(np.full(3, float(RANK)))]
    params[0].grad = np.full(3, RANK + 1.0)
    distributed.average_gradients(params, comm=MPI.COMM_SELF)
    own_grad = params[0].grad.tolist()
    alone = COMM.Split(color=RANK, key=0)
    distributed.average_parameters(params, comm=alone)
    sizes = (distributed.world_size(MPI.COMM_SELF), distributed.rank(alone), distributed.world_size(alone))
    distributed.average_gradients(params, comm=COMM)  # and the world averages them
    found = COMM.gather((sizes, own_grad, params[0].data.tolist(), params[0].grad.tolist()))
    report(found=found)


def mismatch() -> None:
    """Rank 1 built a different model: both ranks must stop with a ValueError naming the shapes."""
    model = nn.MLP(4, [8 if RANK == 0 else 9, 3], seed=0)
    distributed.average_gradients(model.parameters())


def failing_rank() -> None:
    """Rank 1 fails in the middle of training while rank 0 waits for its gradients."""
    X, y = data(16)
    model = nn.MLP(4, [8, 3], seed=0)
    loss = nn.cross_entropy(model(X), y)
    loss.backward()
    if RANK == 1:
        raise RuntimeError("rank 1 fails on purpose before averaging")
    distributed.average_gradients(model.parameters())


def alone() -> None:
    """No mpiexec: a world of one, where averaging and broadcasting change nothing; bad input named."""
    model = nn.MLP(4, [8, 3], seed=0)
    X, y = data(16)
    nn.cross_entropy(model(X), y).backward()
    grads = [p.grad.copy() for p in model.parameters()]
    weights = flat(model.parameters())
    distributed.broadcast_parameters(model.parameters())
    distributed.average_gradients(model.parameters())
    distributed.average_parameters(model.parameters())
    errors = []
    for call in (lambda: distributed.average_gradients([np.zeros(3)]),
                 lambda: distributed.broadcast_parameters(model.parameters(), root=1)):
        try:
            call()
        except (TypeError, ValueError) as error:
            errors.append(f"{type(error).__name__}: {error}")
    report(rank=RANK, size=SIZE,
           unchanged=bool(np.array_equal(weights, flat(model.parameters())) and all(
               np.array_equal(g, p.grad) for g, p in zip(grads, model.parameters(), strict=True))),
           errors=errors)


if __name__ == "__main__":
    {"exact": exact, "local_sgd": local_sgd, "dtypes": dtypes, "buckets": buckets, "broadcast": broadcast,
     "explicit_comm": explicit_comm,
     "mismatch": mismatch, "failing_rank": failing_rank, "alone": alone}[sys.argv[1]]()
