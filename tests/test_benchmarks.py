"""The benchmarks' own machinery: which BLAS kernels a run uses, and that a run completes.

The timings themselves are never asserted (docs/performance.md has them, with the commands).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
TORCH_VARIABLES = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")


def blas_note():
    spec = importlib.util.spec_from_file_location("blas_note", BENCHMARKS / "blas_note.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def environment(monkeypatch):
    """The pin's and PyTorch's variables absent, and put back as they were after the test, even
    those the code under test sets (set first, so that monkeypatch knows to remove them)."""
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", *TORCH_VARIABLES):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return monkeypatch


def test_without_a_pin_nothing_changes(environment):
    line = blas_note().settle_blas_kernels(["bench"])
    assert "each pick theirs for this processor" in line
    assert not any(name in os.environ for name in TORCH_VARIABLES)


def test_a_pin_is_removed_for_the_run_by_default(environment):
    environment.setenv("OPENBLAS_CORETYPE", "Haswell")
    environment.setenv("OPENBLAS_L2_SIZE", "512")
    line = blas_note().settle_blas_kernels(["bench", "--rounds", "3"])
    assert "OPENBLAS_CORETYPE" not in os.environ and "OPENBLAS_L2_SIZE" not in os.environ
    assert "OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE=512 is removed" in line
    assert not any(name in os.environ for name in TORCH_VARIABLES)


def test_a_kept_avx2_pin_holds_pytorch_to_avx2_too(environment):
    environment.setenv("OPENBLAS_CORETYPE", "Haswell")
    line = blas_note().settle_blas_kernels(["bench", "--keep-blas-pin"])
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"
    assert [os.environ[name] for name in TORCH_VARIABLES] == ["avx2", "AVX2", "AVX2"]
    assert "kept, and PyTorch held to AVX2" in line


def test_a_script_without_pytorch_says_nothing_of_it(environment):
    environment.setenv("OPENBLAS_CORETYPE", "Haswell")
    assert "PyTorch" not in blas_note().settle_blas_kernels(["profile"], with_pytorch=False)
    assert "OPENBLAS_CORETYPE" not in os.environ
    assert "PyTorch" not in blas_note().settle_blas_kernels(["profile"], with_pytorch=False)


def test_a_kept_pin_without_pytorch_sets_none_of_its_variables(environment):
    environment.setenv("OPENBLAS_CORETYPE", "Haswell")
    line = blas_note().settle_blas_kernels(["profile", "--keep-blas-pin"], with_pytorch=False)
    assert line.endswith("kept") and "PyTorch" not in line
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"
    assert not any(name in os.environ for name in TORCH_VARIABLES)


def test_a_kept_pin_of_another_core_says_it_is_not_like_with_like(environment):
    environment.setenv("OPENBLAS_CORETYPE", "Sandybridge")
    line = blas_note().settle_blas_kernels(["bench", "--keep-blas-pin"])
    assert os.environ["OPENBLAS_CORETYPE"] == "Sandybridge"
    assert "not like with like" in line
    assert not any(name in os.environ for name in TORCH_VARIABLES)


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          timeout=300)


def test_the_mlp_benchmark_runs_and_prints_its_table():
    result = run("bench_mlp.py", "--rounds", "1", "--block", "2")
    assert result.returncode == 0, result.stderr
    assert "| tinygrad_opt, optim.Adam |" in result.stdout
    assert "BLAS kernels:" in result.stdout


def test_an_abbreviated_keep_blas_pin_is_refused_not_ignored():
    result = run("bench_mlp.py", "--keep", "--rounds", "1")
    assert result.returncode == 2 and "unrecognized arguments: --keep" in result.stderr


@pytest.mark.parametrize("args", [("--rounds", "0"), ("--block", "100000")])
def test_the_mlp_benchmark_refuses_counts_out_of_range(args):
    result = run("bench_mlp.py", *args)
    assert result.returncode == 2
    assert f"{args[0]} must be between 1 and 10000" in result.stderr
    assert "Traceback" not in result.stderr
