"""Runs demos/moons.py --quick as a user would and reads what it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_moons_demo_quick():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, str(ROOT / "demos" / "moons.py"), "--quick"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "scalar MLP: 337 parameters" in out
    assert re.search(r"step +0 +loss \d+\.\d+ +accuracy +\d+\.\d% +graph [\d,]+ nodes", out)
    batched_steps = re.findall(r"^  step +(\d+) +loss (\d+\.\d+) +accuracy +(\d+\.\d)%$", out, re.MULTILINE)
    assert len(batched_steps) >= 2
    assert [int(step) for step, _, _ in batched_steps] == list(range(len(batched_steps)))  # every step
    assert float(batched_steps[-1][1]) < float(batched_steps[0][1])  # the loss fell
    assert float(batched_steps[-1][2]) == 100.0
    assert re.search(r"batched MLP: 100% train accuracy at step \d+", out)
