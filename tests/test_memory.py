"""tinygrad_opt.memory: a training step reuses the memory the last one freed.

Each check runs in a new Python process, since malloc's settings belong to the process.
"""

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")

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


def run(code: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**env, **environment})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_after_import_a_step_takes_its_memory_without_page_faults():
    without = int(run(PROBE.format(setup="")))
    with_package = int(run(PROBE.format(setup="import tinygrad_opt")))
    assert without > 5_000  # glibc hands the 90 MB back at every step and faults it in again
    assert with_package < 100  # measured 0


@pytest.mark.parametrize("variable, value", [("MALLOC_TRIM_THRESHOLD_", "1000000"),
                                             ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1000000")])
def test_a_process_that_sets_malloc_itself_is_left_alone(variable, value):
    code = "from tinygrad_opt.memory import keep_freed_memory; print(keep_freed_memory())"
    assert run(code, **{variable: value}) == "False"
    assert run(code) == "True"
