"""demos/cnn_digits.py run as a user would run it, asserting on the numbers it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cnn_digits_quick_sweeps_trains_and_reports_each_optimizer():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "demos" / "cnn_digits.py"), "--quick"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    sweeps = re.findall(r"^sweep (\S+) +validation accuracy (.*)  -> lr (\S+)", out, re.MULTILINE)
    assert [name for name, _, _ in sweeps] == ["SGD+momentum", "Adam", "AdamW"]
    for _, scores, chosen in sweeps:  # the chosen rate is the one with the best validation accuracy
        pairs = dict(re.findall(r"([\d.e-]+): ([\d.]+)%", scores))
        assert pairs[chosen] == max(pairs.values(), key=float)
    rows = re.findall(r"^(\S+) +(\S+) +([\d.]+)% ± [\d.]+% +([\d.]+)% ± [\d.]+%$", out, re.MULTILINE)
    assert [row[0] for row in rows] == ["SGD+momentum", "Adam", "AdamW"]
    for _, _, train, test in rows:
        assert float(train) > 85 and float(test) > 85  # 4 epochs: well past chance (10 %)
    assert "one seed only: no verdict" in out
