"""Runs demos/moons.py --quick as a user would and reads what it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_moons_demo_quick(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, str(ROOT / "demos" / "moons.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert len(out.splitlines()) <= 20  # a few lines, not one a step
    assert "scalar MLP: 337 parameters, one Value each; 1 steps (shortened from micrograd's 100)" in out
    progress = r"step +0 +loss \d+\.\d+ +accuracy +\d+\.\d% +graph [\d,]+ nodes +[\d.]+ s, +[\d.]+ s left"
    assert re.search(progress, out)  # with the time left
    batched_steps = re.findall(r"^  step +(\d+) +loss (\d+\.\d+) +accuracy +(\d+\.\d)%$", out, re.MULTILINE)
    steps = [int(step) for step, _, _ in batched_steps]
    assert steps[:-1] == list(range(0, 20 * len(steps) - 20, 20))  # every 20th step ...
    assert steps[-1] > steps[-2]  # ... and the last
    assert float(batched_steps[-1][1]) < float(batched_steps[0][1])  # the loss fell
    assert float(batched_steps[-1][2]) == 100.0
    assert re.search(rf"batched MLP: 100% train accuracy at step {steps[-1]}", out)
    picture = tmp_path / "moons_boundaries.png"
    assert f"wrote {picture}: both decision boundaries" in out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

