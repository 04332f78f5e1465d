"""The teaching demos, run with --quick as a user would: their printed numbers against the
closed forms they claim, their tables complete, their pictures written and not blank."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.image import imread  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
OPTIMIZER_NAMES = ["SGD", "SGD+momentum", "SGD+nesterov", "RMSProp", "Adagrad", "Adam", "AdamW", "NAdam",
                   "RAdam", "Lion", "LAMB", "Muon", "L-BFGS"]


def run_demo(name: str, out: Path, *extra: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(ROOT / "demos" / name), "--quick", "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=300, cwd=out, env=environment, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def assert_picture(path: Path) -> None:
    """Written, a real PNG, and not one flat colour."""
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(path)[..., :3]
    assert pixels.shape[0] > 200 and pixels.shape[1] > 200
    assert pixels.std() > 0.05, f"{path} is blank"
    assert (pixels.min(axis=2) < 0.5).mean() > 0.005, f"{path} has almost nothing drawn on it"


def adam_uncorrected_step(t: int, beta1: float = 0.9, beta2: float = 0.999) -> float:
    """Step / lr of Adam without bias correction under a constant gradient: m_t / sqrt(v_t)."""
    m, v = 0.0, 0.0
    for _ in range(t):
        m = beta1 * m + (1 - beta1) * 1.0
        v = beta2 * v + (1 - beta2) * 1.0
    return m / math.sqrt(v)


# ---------------------------------------------------------------------------- bias correction
@pytest.fixture(scope="module")
def bias_correction(tmp_path_factory):
    out = tmp_path_factory.mktemp("bias")
    return run_demo("bias_correction.py", out), out


def test_bias_correction_first_step_is_the_closed_form(bias_correction):
    text, _ = bias_correction
    found = re.search(rf"first step / lr: corrected ({NUMBER}), uncorrected ({NUMBER})", text)
    assert found, text
    corrected, uncorrected = map(float, found.groups())
    assert corrected == pytest.approx(1.0, abs=1e-4)
    assert uncorrected == pytest.approx((1 - 0.9) / math.sqrt(1 - 0.999), abs=1e-4)  # 3.1623: too LARGE
    assert uncorrected > 3  # not "10x too small", as the post says


def test_bias_correction_step_table_follows_the_moments(bias_correction):
    text, _ = bias_correction
    row = rf"^ +(\d+) +({NUMBER}) +({NUMBER}) +({NUMBER}) +({NUMBER}) +({NUMBER})$"
    rows = re.findall(row, text, re.MULTILINE)
    assert len(rows) >= 8
    for step, corrected, _small_g, unit_g, large_g, _formula in rows:
        expected = adam_uncorrected_step(int(step))  # a NumPy-free transcription of m and v
        assert float(corrected) == pytest.approx(1.0, abs=1e-4)
        assert float(unit_g) == pytest.approx(expected, abs=1e-4)
        assert float(large_g) == pytest.approx(expected, abs=1e-4)  # independent of the gradient's scale
    peak = re.search(rf"largest uncorrected step: ({NUMBER}) lr at step (\d+)", text)
    assert peak
    peak_step = max(range(1, 301), key=adam_uncorrected_step)
    assert int(peak.group(2)) == peak_step
    assert float(peak.group(1)) == pytest.approx(adam_uncorrected_step(peak_step), abs=1e-4)


def test_bias_correction_other_beta2(bias_correction):
    text, _ = bias_correction
    rows = re.findall(rf"^ +(0\.\d+) +({NUMBER}) +({NUMBER})  (too small|too large|about right)$", text,
                      re.MULTILINE)
    assert [row[0] for row in rows] == ["0.9", "0.99", "0.999", "0.9999"]
    for beta2, measured, _, verdict in rows:
        expected = adam_uncorrected_step(1, beta2=float(beta2))
        assert float(measured) == pytest.approx(expected, abs=1e-4)
        assert verdict == ("too small" if expected < 0.999 else
                           "too large" if expected > 1.001 else "about right")


def test_bias_correction_mlp_and_picture(bias_correction):
    text, out = bias_correction
    row = rf"^ +({NUMBER}) +(with|without) +({NUMBER}) +({NUMBER}) +({NUMBER}) +({NUMBER})$"
    rows = re.findall(row, text, re.MULTILINE)
    assert len(rows) == 4
    sizes = {(lr, flag): float(size) for lr, flag, _, _, _, size in rows}
    for lr in ("0.01", "0.1"):  # the first MLP update: the uncorrected one is about 3.16 times larger
        assert sizes[lr, "without"] / sizes[lr, "with"] == pytest.approx(3.16, rel=0.01)
    assert_picture(out / "bias_correction.png")


# ------------------------------------------------------------------------ weight decay vs L2
def test_weight_decay_vs_l2(tmp_path):
    text = run_demo("weight_decay_vs_l2.py", tmp_path)
    header = re.search(rf"lr ({NUMBER}), weight_decay ({NUMBER}), (\d+) steps", text)
    assert header
    lr, weight_decay, steps = float(header.group(1)), float(header.group(2)), int(header.group(3))
    rows = re.findall(rf"^ +({NUMBER}) +({NUMBER}) +({NUMBER}) +({NUMBER}) +({NUMBER})$", text, re.MULTILINE)
    sigmas = [float(row[0]) for row in rows]
    assert len(rows) >= 4 and max(sigmas) / min(sigmas) >= 1e3
    l2_rates = np.array([float(row[3]) for row in rows])
    adamw_rates = np.array([float(row[4]) for row in rows])
    adamw_means = np.array([float(row[2]) for row in rows])
    # AdamW: every weight decays by lr * lambda a step, whatever its gradient scale
    assert adamw_rates == pytest.approx(lr * weight_decay, rel=0.1)
    assert adamw_means == pytest.approx((1 - lr * weight_decay) ** steps, abs=0.03)
    # Adam + L2: the decay falls as the gradient scale grows (divided by sqrt(v_hat))
    assert np.all(np.diff(l2_rates) <= 1e-12)
    assert l2_rates.max() / l2_rates.min() > 30
    assert l2_rates[-1] == pytest.approx(lr * weight_decay / sigmas[-1], rel=0.3)  # lr lambda / sigma
    assert_picture(tmp_path / "weight_decay_vs_l2.png")


# ------------------------------------------------------------------------ optimizers compared
def test_optimizers_compared(tmp_path):
    text = run_demo("optimizers_compared.py", tmp_path)
    sweep_part, best_part = text.split("each at its best learning rate")
    grid_line = re.search(r"^optimizer((?: +[\d.e+-]+)+)$", sweep_part, re.MULTILINE)
    assert grid_line
    grid = [float(lr) for lr in grid_line.group(1).split()]
    assert len(grid) >= 3 and grid == sorted(grid)
    sweep = {}
    for name in OPTIMIZER_NAMES:  # one row per optimizer, one entry per learning rate
        row = re.search(rf"^{re.escape(name)} +((?:(?:{NUMBER}|-) *)+)$", sweep_part, re.MULTILINE)
        assert row, f"no sweep row for {name}"
        entries = row.group(1).split()
        assert len(entries) == len(grid)
        sweep[name] = [math.nan if e == "-" else float(e) for e in entries]
    row = (rf"^(\S+) +({NUMBER}) +(\d+|never) +({NUMBER}) +({NUMBER})%"
           rf"  (\d+) of (\d+): ({NUMBER}(?:, {NUMBER})*)$")
    best_rows = re.findall(row, best_part, re.MULTILINE)
    assert [row[0] for row in best_rows] == OPTIMIZER_NAMES
    for name, best_lr, _reached, final, _accuracy, good, total, listed in best_rows:
        finals = np.array(sweep[name])
        within = np.array(grid)[finals <= 2 * np.nanmin(finals)]  # the sensitivity column, recounted
        assert (int(good), int(total)) == (len(within), len(grid))
        assert [float(lr) for lr in listed.split(", ")] == pytest.approx(list(within), rel=0.05)
        assert float(best_lr) == pytest.approx(grid[int(np.nanargmin(finals))], rel=0.05)  # its row's best
        assert float(final) == pytest.approx(np.nanmin(finals), rel=0.01, abs=1e-3)
        assert float(final) < 1.0  # below the start (about ln 3 = 1.10): every optimizer makes progress
    assert any(row[2] != "never" for row in best_rows)  # someone reaches 95 % even on the quick budget
    assert_picture(tmp_path / "optimizers_losses.png")
    assert_picture(tmp_path / "optimizers_lr_sweep.png")


# ------------------------------------------------------------------------------------ warmup
def test_warmup(tmp_path):
    text = run_demo("warmup.py", tmp_path)
    widths = re.findall(rf"^ +(\d+) +({NUMBER}) +({NUMBER})$", text, re.MULTILINE)
    assert len(widths) >= 3
    moved = [float(row[1]) for row in widths]
    jumps = [float(row[2]) for row in widths]
    # Adam's first step moves each weight by lr (a weight with gradient 0 not at all)
    assert all(0.8 < m <= 1.0 for m in moved)
    assert jumps == sorted(jumps) and jumps[-1] > 10 * jumps[0]  # and the logits' jump grows with the width
    rows = re.findall(rf"^(.+?) +({NUMBER}) +({NUMBER}) +({NUMBER}) +({NUMBER})%$", text, re.MULTILINE)
    table = {name: tuple(map(float, numbers)) for name, *numbers in rows}
    assert set(table) == {"constant (no warmup)", "linear warmup", "cosine (no warmup)", "warmup + cosine"}
    for name, (start, highest, final, accuracy) in table.items():
        if "no warmup" in name:
            assert highest > 2 * start, f"{name}: no jump above the start"
        else:
            assert highest <= start + 1e-12, f"{name}: the loss rose above its start"
        assert final < start and accuracy >= 90
    assert_picture(tmp_path / "warmup.png")
    assert_picture(tmp_path / "schedules.png")
