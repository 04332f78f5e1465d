"""tinygrad_opt.memory: a training step reuses the memory the last one freed.

The checks of glibc's behaviour each run in a new Python process, since malloc's settings
belong to the process.
"""

import os
import subprocess
import sys

import pytest

from tinygrad_opt import memory

GLIBC = sys.platform.startswith("linux") and bool(memory._glibc_version())
glibc_only = pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")

# Sixty arrays of 1.5 MB made and freed, as a small GPT's step makes its activations and
# gradients; the page faults of five such steps after two warm-up steps.
PROBE = """
import resource, numpy as np
{setup}
def step():
    arrays = [np.ones(393_216, np.float32) for _ in range(60)]
    del arrays
step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 5)
"""
KEEP = "from tinygrad_opt.memory import keep_freed_memory; kept = keep_freed_memory()"


def run(code: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**env, **environment})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@glibc_only
def test_kept_memory_spares_a_step_its_page_faults():
    as_found = int(run(PROBE.format(setup="")))
    imported = int(run(PROBE.format(setup="import tinygrad_opt")))
    kept = int(run(PROBE.format(setup=KEEP + "; assert kept")))
    assert as_found > 5_000  # glibc hands the 90 MB back at every step and faults it in again
    assert imported > 5_000  # importing the package changes nothing: the call is the script's
    assert kept < 100  # measured 0


@glibc_only
@pytest.mark.parametrize("variable, value", [("MALLOC_TRIM_THRESHOLD_", "1000000"),
                                             ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1000000")])
def test_a_process_that_sets_malloc_itself_is_left_alone(variable, value):
    code = "from tinygrad_opt.memory import keep_freed_memory; print(keep_freed_memory())"
    assert run(code, **{variable: value}) == "False"
    assert run(code) == "True"


def test_another_c_library_is_left_alone(monkeypatch):
    def no_glibc(name: str) -> str:
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(os, "confstr", no_glibc)  # as on musl
    monkeypatch.setattr(memory.ctypes, "CDLL", None)  # calling the C library would fail
    assert memory.keep_freed_memory() is False
    monkeypatch.undo()
    monkeypatch.setattr(sys, "platform", "darwin")  # with this system's own confstr
    monkeypatch.setattr(memory.ctypes, "CDLL", None)
    assert memory.keep_freed_memory() is False
