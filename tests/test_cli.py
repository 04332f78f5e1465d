"""Tests for tinygrad_opt/cli.py and tinygrad_opt/tour.py: both entry points, and the demo."""

import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_opt
from tinygrad_opt import race, tour
from tinygrad_opt.cli import build_parser, main


def test_python_dash_m_and_the_console_script_are_one_command_line():
    module = subprocess.run([sys.executable, "-m", "tinygrad_opt", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and "demo" in module.stdout
    # The script pip installed beside this Python (in a virtual environment, its bin/ folder).
    script = Path(sys.executable).with_name("tinygrad-opt")
    if not script.exists():
        pytest.skip(f"no tinygrad-opt script beside {sys.executable} (pip install -e .)")
    where = subprocess.run([sys.executable, "-c", "import tinygrad_opt; print(tinygrad_opt.__file__)"],
                           capture_output=True, text=True, cwd=script.parent).stdout.strip()
    if Path(where).resolve().parent != Path(tinygrad_opt.__file__).resolve().parent:
        pytest.skip(f"the tinygrad-opt script runs another copy of the package ({where})")
    console = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert console.returncode == 0 and console.stdout == module.stdout


def test_no_command_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage: tinygrad-opt" in capsys.readouterr().err


@pytest.mark.parametrize("command, limit", [(["demo"], tour.MAX_STEPS), (["race"], race.MAX_STEPS)])
def test_step_counts_are_bounded(capsys, command, limit):
    lowest = 1 if command == ["demo"] else 0
    for steps in (lowest - 1, limit + 1, 10**9):
        assert main([*command, "--steps", str(steps)]) == 2
        expected = f"--steps must be from {lowest} to {limit:,}, got {steps:,}"
        assert capsys.readouterr().err == f"tinygrad-opt {command[0]}: {expected}\n"
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    assert f"at most {limit:,}" in " ".join(capsys.readouterr().out.split())  # the help says the same limit


@pytest.mark.parametrize("command", ["demo", "race"])
def test_a_huge_step_count_is_refused_by_the_real_command_line(command):
    result = subprocess.run([sys.executable, "-m", "tinygrad_opt", command, "--steps", "1000000000"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"tinygrad-opt {command}: --steps must be from")
    assert "1,000,000,000" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_race_refuses_a_start_outside_the_escape_box(capsys):
    assert main(["race", "--landscape", "rastrigin", "--start", "1e308", "0"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("tinygrad-opt race: start (1e+308, 0) is outside rastrigin's escape box: x from")
    assert len(error.splitlines()) == 1


def test_run_tour_refuses_a_huge_step_count(tmp_path):
    message = r"steps must be a whole number from 1 to MAX_STEPS = 10,000, got 10001"
    with pytest.raises(ValueError, match=message):
        tour.run_tour(tmp_path, steps=tour.MAX_STEPS + 1)
    assert list(tmp_path.iterdir()) == []  # refused before writing anything


@pytest.mark.parametrize("command", [["graph", "--out"],
                                     ["race", "--landscape", "bowl", "--steps", "3", "--out"]])
def test_an_unwritable_output_is_an_error_naming_it(tmp_path, capsys, command):
    missing = str(tmp_path / "no such folder" / "picture.svg")
    assert main([*command, missing]) == 1
    assert f"cannot write {missing!r}: No such file or directory" in capsys.readouterr().err


def test_the_demo_refuses_a_file_as_its_folder(tmp_path, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("")
    assert main(["demo", "--quick", "--no-page", "--out", str(a_file)]) == 1
    assert f"cannot write {str(a_file)!r}" in capsys.readouterr().err


def test_seed_is_a_hidden_alias_of_post(capsys):
    listed = build_parser().format_help()
    assert "post" in listed and "seed" not in listed
    assert main(["seed", "--no-tuned"]) == 0
    via_alias = capsys.readouterr().out
    assert main(["post", "--no-tuned"]) == 0
    assert capsys.readouterr().out == via_alias and "showdown" in via_alias.lower()
