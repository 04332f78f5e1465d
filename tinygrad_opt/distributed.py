"""Data-parallel training over MPI: the same script runs as N processes, each on 1/N of every batch.

    mpiexec -n 4 python train.py

Each process (a *rank*, numbered 0 .. N-1) holds a whole copy of the model. They start from the
same weights (`broadcast_parameters`), each computes the gradient of the mean loss over its own
share of the batch, and `average_gradients` replaces every rank's gradients by their mean over
the ranks. With equal shares, that mean *is* the gradient of the whole batch, so every rank takes
the same step as one process on the whole batch would, and the copies never drift apart. For
local SGD, ranks step on their own for a few steps and then `average_parameters` pulls them
back together.

The messages go through MPI (mpi4py, with MPICH from `pip install 'tinygrad-opt[distributed]'`),
so the script that runs as 4 processes on a laptop runs as 64 on a cluster. `comm` is an mpi4py
communicator; it defaults to `MPI.COMM_WORLD`, every process `mpiexec` started. Run without
`mpiexec`, a script is one rank in a world of one, and averaging changes nothing.

MPI starts when a function here is first called, not on import. One more thing happens on
import: an uncaught exception on one rank of a run of several ends every rank (MPI_Abort), as
`python -m mpi4py` does, instead of leaving the others waiting forever for a message that
will not come.
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value

__all__ = ["BUCKET_BYTES", "average_gradients", "average_parameters", "broadcast_parameters", "rank", "world",
           "world_size"]

BUCKET_BYTES = 25 * 2**20  # at most this much in one message: PyTorch DDP's default bucket_cap_mb=25
_LAUNCHER_SIZES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")  # processes started by MPICH's / Open MPI's mpiexec


# ------------------------------------------------------------------- who am I
def world(comm: Any = None) -> Any:
    """`comm`, or `MPI.COMM_WORLD` (every process mpiexec started) when it is None.

    Raises ImportError when mpi4py is not installed, and RuntimeError when mpiexec started
    several processes but MPI sees only one (an mpiexec from another MPI than mpi4py's).
    """
    if comm is not None:
        return comm
    comm = _mpi().COMM_WORLD
    launched = _launched_size()
    if launched > 1 and comm.Get_size() == 1:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        raise RuntimeError(f"mpiexec started {launched} processes, but MPI sees a world of 1: that mpiexec "
                           f"belongs to another MPI than the one mpi4py uses. Launch with {mpiexec}")
    return comm


def rank(comm: Any = None) -> int:
    """This process's number in `comm`: 0 .. world_size - 1 (0 outside mpiexec)."""
    return world(comm).Get_rank()


def world_size(comm: Any = None) -> int:
    """How many processes `comm` holds (1 outside mpiexec)."""
    return world(comm).Get_size()


# --------------------------------------------------------- the three collectives
def broadcast_parameters(params: Iterable[Value], root: int = 0, comm: Any = None) -> None:
    """Copy rank `root`'s parameter values into every rank's parameters, in place.

    Call it once after building the model, so every rank starts from the same weights.
    """
    params = _check_params(params, "broadcast_parameters")
    comm = world(comm)
    size = comm.Get_size()
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) or not 0 <= root < size:
        raise ValueError(f"Invalid root: {root!r} (expected a rank 0 .. {size - 1})")
    if size == 1:
        return
    data = [np.asarray(p.data) for p in params]
    _check_same_layout(data, comm, "broadcast_parameters")
    for bucket, flat in _buckets(data):
        comm.Bcast(flat, root=root)
        _unflatten(flat, bucket, params, "data")


def average_gradients(params: Iterable[Value], comm: Any = None) -> None:
    """Replace every parameter's `.grad` by its mean over the ranks, in place.

        g <- (g_0 + g_1 + ... + g_{N-1}) / N

    Call it between `loss.backward()` and `opt.step()`. When each rank's loss is the mean over
    an equal share of the batch, the result is the gradient of the mean loss over the whole
    batch. The gradients travel in a few large messages (buckets of up to `BUCKET_BYTES` of one
    dtype, as PyTorch's DDP), summed by MPI and divided by N; float32 stays float32.
    """
    params = _check_params(params, "average_gradients")
    _average(params, "grad", world(comm), "average_gradients")


def average_parameters(params: Iterable[Value], comm: Any = None) -> None:
    """Replace every parameter's value by its mean over the ranks, in place: local SGD's sync.

        theta <- (theta_0 + theta_1 + ... + theta_{N-1}) / N

    Each rank steps on its own gradients for H steps, then all average. Optimizer state
    (momentum, Adam's moments) stays each rank's own.
    """
    params = _check_params(params, "average_parameters")
    _average(params, "data", world(comm), "average_parameters")


def _average(params: list[Value], field: str, comm: Any, caller: str) -> None:
    """Replace `field` ("grad" or "data") of every parameter by its mean over the ranks:
    an all-reduce sums each bucket, then each rank divides by N."""
    size = comm.Get_size()
    if size == 1:
        return  # the mean of one is itself
    arrays = [np.asarray(getattr(p, field)) for p in params]
    _check_same_layout(arrays, comm, caller)
    MPI = _mpi()
    for bucket, flat in _buckets(arrays):
        comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        flat /= size
        _unflatten(flat, bucket, params, field)


# ------------------------------------------------------------------- buckets
def _buckets(arrays: list[np.ndarray]) -> Iterator[tuple[list[int], np.ndarray]]:
    """Runs of arrays of one dtype, in order, each flattened into one buffer of at most
    BUCKET_BYTES (an array larger than that is a bucket of its own): (indices, buffer).

    One message per bucket instead of one per array: each message costs a fixed latency,
    so a model of 100 small tensors pays it a few times, not 100 times.
    """
    by_dtype: dict[np.dtype, list[int]] = {}
    for i, array in enumerate(arrays):
        by_dtype.setdefault(array.dtype, []).append(i)
    for indices in by_dtype.values():
        bucket: list[int] = []
        nbytes = 0
        for i in indices:
            if bucket and nbytes + arrays[i].nbytes > BUCKET_BYTES:
                yield bucket, np.concatenate([arrays[j].ravel() for j in bucket])
                bucket, nbytes = [], 0
            bucket.append(i)
            nbytes += arrays[i].nbytes
        if bucket:
            yield bucket, np.concatenate([arrays[j].ravel() for j in bucket])


def _unflatten(flat: np.ndarray, bucket: list[int], params: list[Value], field: str) -> None:
    """Write the pieces of `flat` back into `field` ("grad" or "data") of each parameter of `bucket`."""
    offset = 0
    for i in bucket:
        p = params[i]
        current = getattr(p, field)
        if type(current) is float:  # a scalar Value holds an immutable float: replace it
            setattr(p, field, float(flat[offset]))
            offset += 1
        else:
            current[...] = flat[offset : offset + current.size].reshape(current.shape)
            offset += current.size


# ------------------------------------------------------------------- checks
def _check_params(params: Iterable[Value], caller: str) -> list[Value]:
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"{caller}: params[{i}] is a {type(p).__name__}, expected a Value "
                            "(pass model.parameters())")
    return params


def _check_same_layout(arrays: list[np.ndarray], comm: Any, caller: str) -> None:
    """Every rank must pass the same shapes and dtypes in the same order, or the sums would mix
    unrelated numbers (or wait forever for a message of another size). One small all-reduce of a
    checksum of the layout (its min and max over the ranks) tells; only when they differ are the
    layouts gathered, to name the difference."""
    layout = [(a.shape, a.dtype.str) for a in arrays]
    checksum = zlib.crc32(repr(layout).encode())
    MPI = _mpi()
    extremes = np.array([checksum, -checksum], dtype=np.int64)
    comm.Allreduce(MPI.IN_PLACE, extremes, op=MPI.MAX)
    if extremes[0] == -extremes[1]:  # max == min: every rank has the same layout
        return
    layouts = comm.allgather(layout)
    other = next(r for r, theirs in enumerate(layouts) if theirs != layouts[0])
    raise ValueError(f"{caller}: the ranks hold different parameters: rank 0 has {_describe(layouts[0])}, "
                     f"rank {other} has {_describe(layouts[other])} (every rank needs the same model)")


def _describe(layout: list[tuple[tuple[int, ...], str]]) -> str:
    shapes = ", ".join(f"{shape}{'' if dtype == '<f8' else ' ' + np.dtype(dtype).name}"
                       for shape, dtype in layout[:6])
    more = f", ... ({len(layout)} in all)" if len(layout) > 6 else ""
    return f"{len(layout)} arrays [{shapes}{more}]"


# ------------------------------------------------------------------- MPI itself
def _mpi() -> ModuleType:
    """mpi4py's MPI module (importing it starts MPI), or a clear error when it is missing."""
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as error:  # RuntimeError: mpi4py found no MPI library
        raise ImportError("tinygrad_opt.distributed needs MPI: pip install 'tinygrad-opt[distributed]' "
                          f"(mpi4py and the MPICH runtime); importing mpi4py failed: {error}") from error
    return MPI


def _launched_size() -> int:
    """How many processes the launcher says it started (0 when not started by mpiexec)."""
    for name in _LAUNCHER_SIZES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


def _abort_every_rank(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    """sys.excepthook: print the traceback, then, in a run of several ranks, end them all."""
    _previous_excepthook(kind, error, tb)
    if _launched_size() <= 1 and "mpi4py.MPI" not in sys.modules:
        return  # a process on its own: nobody waits for it
    MPI = _mpi()  # under mpiexec but MPI not started yet: start it, to be able to abort
    if MPI.Is_finalized() or MPI.COMM_WORLD.Get_size() == 1:
        return
    sys.stderr.write(f"rank {MPI.COMM_WORLD.Get_rank()} of {MPI.COMM_WORLD.Get_size()} stopped on "
                     f"{kind.__name__}: ending every rank (MPI_Abort)\n")
    sys.stderr.flush()
    MPI.COMM_WORLD.Abort(1)


_previous_excepthook = sys.excepthook
sys.excepthook = _abort_every_rank
