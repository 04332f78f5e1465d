"""demos/optimizers_frontier.py run as a user would run it (--quick), asserting on the tables it prints."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METHODS = ["AdamW", "ScheduleFreeAdamW", "Prodigy", "SOAP", "SophiaG", "Lion", "Muon"]


def test_frontier_quick_sweeps_every_method_and_reports_its_best_rate(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(ROOT / "demos" / "optimizers_frontier.py"), "--quick",
                           "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    start = float(re.search(r"held-out loss at the start: ([\d.]+)", out).group(1))
    assert abs(start - math.log(69)) < 0.1  # an untrained model guesses about uniformly over 69 characters
    # the sweep: one row per method, rate: held-out loss
    sweeps = {name: dict(re.findall(r"([\d.e-]+): ([\d.]+|-)", cells))
              for name, cells in re.findall(r"^sweep (\S+) +(.*)$", out, re.MULTILINE)}
    assert list(sweeps) == METHODS
    assert list(sweeps["Prodigy"]) == ["1"]  # no learning rate to sweep
    assert all(len(sweeps[name]) == 3 for name in METHODS if name != "Prodigy")
    # the summary: method, chosen lr, held-out loss, ms/step, the rates within 0.05 of the best
    rows = re.findall(r"^(\S+) +(\S+) +([\d.]+) +([\d.]+)  (\d) of (\d): (.*)$", out, re.MULTILINE)
    assert [row[0] for row in rows] == METHODS
    for name, lr, loss, ms, n_good, n_rates, good in rows:
        finals = {rate: float(value) for rate, value in sweeps[name].items() if value != "-"}
        assert lr in finals and finals[lr] == min(finals.values()), (name, lr, finals)  # its sweep's best
        assert f"{finals[lr]:.4f}" == loss and math.isfinite(float(loss)) and float(loss) < start + 0.05
        assert float(ms) > 0
        within = [rate for rate, value in finals.items() if value <= finals[lr] + 0.05]
        assert good.split(" (")[0].split(", ") == within and int(n_good) == len(within), (name, good)
        assert int(n_rates) == len(sweeps[name])
    # a dozen steps are enough for the methods with a useful rate to move off the start
    assert min(float(row[2]) for row in rows) < start - 0.3
    assert (tmp_path / "optimizers_frontier.png").stat().st_size > 10_000
