"""Tests for tinygrad_opt/cli.py and tinygrad_opt/tour.py: both entry points, and the demo."""

import shutil
import subprocess
import sys

import pytest

from tinygrad_opt.cli import main
from tinygrad_opt.tour import first_steps


def test_python_dash_m_and_the_console_script_are_one_command_line():
    module = subprocess.run([sys.executable, "-m", "tinygrad_opt", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and "demo" in module.stdout
    script = shutil.which("tinygrad-opt")
    if script is None:
        pytest.skip("the tinygrad-opt script is not installed (pip install -e .)")
    console = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert console.returncode == 0 and console.stdout == module.stdout


def test_no_command_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage: tinygrad-opt" in capsys.readouterr().err


def test_demo_prints_a_falling_loss(capsys):
    assert main(["demo", "--steps", "20"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step")]
    losses = [float(line.split("loss")[1].split()[0]) for line in lines]
    assert len(losses) >= 3 and losses[-1] < losses[0] / 10


def test_first_steps_finds_the_line():
    losses = first_steps(steps=60)
    assert losses[-1] < 0.02  # the noise alone gives 0.01
    assert all(later <= earlier + 1e-12 for earlier, later in zip(losses, losses[1:], strict=False))
