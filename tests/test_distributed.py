"""tinygrad_opt.distributed on a real MPI: `mpiexec -n 2` runs tests/distributed_worker.py, whose
rank 0 prints what it found as JSON. Every run has a timeout: a hang is a failure, not a wait.

mpiexec is the one installed beside this Python (the `mpich` package puts it in the virtual
environment's bin/), so the tests use the MPI that mpi4py was installed with. Under CI=true a
missing MPI is a failure; elsewhere those tests skip, saying why.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import skips_are_failures

from tinygrad_opt import Value, distributed

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "distributed_worker.py"
TIMEOUT = 120  # seconds for one run: a second or two on an idle machine, the demo about ten


def find_mpiexec() -> str | None:
    beside_python = Path(sys.executable).parent / "mpiexec"
    return str(beside_python) if beside_python.is_file() else shutil.which("mpiexec")


MPIEXEC = find_mpiexec()
try:
    import mpi4py  # noqa: F401
    MISSING = None if MPIEXEC else "no mpiexec beside this Python or on PATH"
except ImportError:
    MISSING = "mpi4py is not installed (pip install -e '.[dev]')"

if MISSING and skips_are_failures():
    raise RuntimeError(f"tests/test_distributed.py needs MPI under CI: {MISSING}")
needs_mpi = pytest.mark.skipif(MISSING is not None, reason=f"MPI: {MISSING}")


def run(command: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `command` in its own process group; past TIMEOUT kill the whole group and fail."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment, cwd=ROOT, start_new_session=True)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{' '.join(command)} hung for {TIMEOUT} s; stderr: {err[-2000:]}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def mpirun(scenario: str, n: int = 2) -> subprocess.CompletedProcess:
    return run([MPIEXEC, "-n", str(n), sys.executable, str(WORKER), scenario])


def findings(scenario: str, n: int = 2) -> dict:
    done = mpirun(scenario, n)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ correctness
@needs_mpi
def test_two_ranks_with_half_a_batch_each_follow_the_full_batch_run():
    found = findings("exact")
    assert found["max_difference"] < 1e-12, found
    assert found["ranks_identical"]
    assert found["moved"] > 0.1  # the weights really trained ...
    assert found["last_loss"] < 0.7 * found["first_loss"]  # ... and the loss fell
    assert found["shard_gradients_differ"] > 1e-3  # each half alone gives another gradient


@needs_mpi
def test_local_sgd_leaves_every_rank_identical_at_each_sync():
    found = findings("local_sgd")
    assert min(found["spread_before"]) > 1e-3  # between syncs the ranks drift apart ...
    assert max(found["spread_after"]) == 0.0  # ... and after one they hold the same weights
    assert found["mean_error"] < 1e-15  # which are the mean of what they held


@needs_mpi
def test_float32_stays_float32_in_the_same_arrays_and_scalars_average_too():
    found = findings("dtypes")
    assert found["dtypes"] == ["float32", "float64", "float64"]
    assert found["same_arrays"]  # averaged in place
    assert found["grads"] == [1.5]  # mean of 1 and 2, for every element of every parameter
    assert found["scalar_types"] == ["float"]
    assert found["datas"] == [5.0]  # mean of 0 and 10


@needs_mpi
def test_many_small_buckets_of_mixed_dtypes_give_the_exact_mean():
    found = findings("buckets")
    assert found["max_difference"] < 1e-6  # float32 rounding of the mean at most
    assert found["dtypes"] == ["float64", "float32"] * 3


@needs_mpi
def test_broadcast_copies_the_roots_weights_to_every_rank():
    assert findings("broadcast")["equal_to_root"]


@needs_mpi
def test_a_communicator_given_is_the_one_used():
    found = findings("explicit_comm")["found"]
    # per rank: (sizes and rank seen, grad after COMM_SELF, data after the split, grad after the world)
    assert found == [[[1, 0, 1], [1.0] * 3, [0.0] * 3, [1.5] * 3],
                     [[1, 0, 1], [2.0] * 3, [1.0] * 3, [1.5] * 3]]


# ------------------------------------------------------------------ failures end, clearly
@needs_mpi
def test_ranks_with_different_models_stop_with_a_clear_error():
    done = mpirun("mismatch")
    assert done.returncode != 0
    assert "ValueError: average_gradients: the ranks hold different parameters" in done.stderr
    assert "(8, 4)" in done.stderr and "(9, 4)" in done.stderr


@needs_mpi
def test_a_failing_rank_ends_every_rank_instead_of_a_hang():
    done = mpirun("failing_rank")  # without the abort, rank 0 would wait for rank 1 forever
    assert done.returncode != 0
    assert "RuntimeError: rank 1 fails on purpose before averaging" in done.stderr
    assert "rank 1 of 2 stopped on RuntimeError: ending every rank" in done.stderr


# ------------------------------------------------------------------ one process, no mpiexec
@needs_mpi
def test_without_mpiexec_a_script_is_a_world_of_one():
    done = run([sys.executable, str(WORKER), "alone"])
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert (found["rank"], found["size"]) == (0, 1)
    assert found["unchanged"]
    assert found["errors"] == [
        "TypeError: average_gradients: params[0] is a ndarray, expected a Value (pass model.parameters())",
        "ValueError: Invalid root: 1 (expected a rank 0 .. 0)"]


@needs_mpi
def test_an_mpiexec_of_another_mpi_is_named():
    code = "from tinygrad_opt import distributed; distributed.world_size()"
    done = run([sys.executable, "-c", code], env={"OMPI_COMM_WORLD_SIZE": "2"})  # as Open MPI's mpiexec sets
    assert done.returncode != 0
    assert "mpiexec started 2 processes, but MPI sees a world of 1" in done.stderr
    assert str(Path(sys.executable).parent / "mpiexec") in done.stderr


def test_without_mpi4py_the_error_says_what_to_install():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import tinygrad_opt, tinygrad_opt.nn, tinygrad_opt.optim, tinygrad_opt.distributed\n"
            "try:\n"
            "    tinygrad_opt.distributed.rank()\n"
            "except ImportError as error:\n"
            "    print(error)\n")
    done = run([sys.executable, "-c", code])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tinygrad_opt.distributed needs MPI: pip install 'tinygrad-opt[distributed]'" in done.stdout


def test_the_rest_of_the_package_never_imports_mpi():
    code = ("import sys, pkgutil, importlib, tinygrad_opt\n"
            "for info in pkgutil.walk_packages(tinygrad_opt.__path__, 'tinygrad_opt.'):\n"
            "    if info.name not in ('tinygrad_opt.distributed', 'tinygrad_opt.__main__'):\n"
            "        importlib.import_module(info.name)\n"
            "import tinygrad_opt.distributed\n"  # importing it does not start MPI either
            "print(sorted(name for name in sys.modules if name.startswith('mpi4py')))\n")
    done = run([sys.executable, "-c", code])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------ buckets, in this process
def test_buckets_group_by_dtype_in_order_and_hold_at_most_the_limit(monkeypatch):
    monkeypatch.setattr(distributed, "BUCKET_BYTES", 100)
    arrays = [np.ones(5), np.ones(3, np.float32), np.ones(8), np.ones(20), np.ones(2),
              np.ones(30, np.float32)]
    buckets = [(indices, flat) for indices, flat in distributed._buckets(arrays)]
    assert [indices for indices, _ in buckets] == [[0], [2], [3], [4], [1], [5]]
    # 40 + 64 bytes > 100: arrays 0 and 2 go apart; 160 bytes alone: a bucket of its own
    assert [flat.dtype for _, flat in buckets] == [np.float64] * 4 + [np.float32] * 2
    monkeypatch.setattr(distributed, "BUCKET_BYTES", 1000)
    assert [indices for indices, _ in distributed._buckets(arrays)] == [[0, 2, 3, 4], [1, 5]]


def test_unflatten_writes_back_in_place():
    params = [Value(np.zeros((2, 3))), Value(0.0), Value(np.zeros(2))]
    arrays = [p.data for p in params]
    distributed._unflatten(np.arange(9.0), [0, 1, 2], params, "data")
    assert params[0].data is arrays[0]
    assert params[0].data.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert params[1].data == 6.0 and type(params[1].data) is float
    assert params[2].data.tolist() == [7, 8]


# ------------------------------------------------------------------ the demo
@needs_mpi
def test_the_demo_on_two_ranks_prints_its_four_lessons():
    done = run([MPIEXEC, "-n", "2", sys.executable, str(ROOT / "demos" / "data_parallel.py"), "--quick"])
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    # 1: the two columns of losses agree, and so do the weights
    lesson_1 = [line.split() for line in lines if line.strip()[:2].strip().isdigit() and "e-" in line]
    assert len(lesson_1) == 5
    for _, loss_ranks, loss_alone, difference in lesson_1:
        assert abs(float(loss_ranks) - float(loss_alone)) < 1e-11 and float(difference) < 1e-12
    # 2: at batch 256 the linear scaling rule (with warmup) gets there, a fixed rate does not (100 steps)
    row = next(line for line in lines if line.strip().startswith("256 "))
    fixed, linear, warmup, lamb, lars = re.split(r"\s{2,}", row.strip())[1:]
    assert fixed.startswith("- (") and float(fixed[3:-1]) > 0.1, row
    assert re.fullmatch(r"\d+ \(\s*[\d.]+ s\)", warmup) and int(warmup.split()[0]) < 100, row
    assert re.fullmatch(r"\d+ \(\s*[\d.]+ s\)", lars) and int(lars.split()[0]) < 100, row  # LARS gets there
    # 3: averaging the parameters every step is averaging the gradients (momentum included)
    runs = {line[:24].strip(): line[24:].split() for line in lines if line.startswith(("gradients", "param"))}
    gradients, parameters = runs["gradients, every step"], runs["parameters, every 1"]
    assert gradients[0] == parameters[0] == "32" and runs["parameters, every 16"][0] == "2"  # syncs
    assert abs(float(gradients[-1]) - float(parameters[-1])) < 1e-9
    # 4: one row per world size
    timing = [line.split() for line in lines if line.split()[:2] in (["1", "1024"], ["2", "512"])]
    assert len(timing) == 2 and all(float(row[2]) > 0 for row in timing)


# ------------------------------------------------------------------ the docs' example, on two ranks
@needs_mpi
def test_the_docs_training_loop_on_two_ranks_prints_what_the_page_says(tmp_path):
    page = (ROOT / "docs" / "distributed.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", page, re.DOTALL) if "average_gradients" in b)
    script = tmp_path / "train.py"
    script.write_text("".join(example.source for example in doctest.DocTestParser().get_examples(block)))
    done = run([MPIEXEC, "-n", "2", sys.executable, str(script)])
    assert done.returncode == 0, done.stderr[-3000:]
    claimed = re.findall(r"^- `(rank \d of 2: [^`]*)`", page, re.MULTILINE)
    printed = re.findall(r"rank \d of 2: loss [\d.]+, accuracy [\d.]+%", done.stdout)  # lines may interleave
    assert len(claimed) == 2 and sorted(printed) == claimed, done.stdout
