"""Tests for tinygrad_opt/cli.py and tinygrad_opt/tour.py: both entry points, and the demo."""

import shutil
import subprocess
import sys

import pytest

from tinygrad_opt.cli import main


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


def test_demo_rejects_a_bad_step_count(capsys):
    assert main(["demo", "--steps", "0"]) == 2
    assert "--steps must be at least 1, got 0" in capsys.readouterr().err
