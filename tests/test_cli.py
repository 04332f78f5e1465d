"""Tests for tinygrad_opt/cli.py and tinygrad_opt/tour.py: both entry points, and the demo."""

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
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


def page_data(path):
    return json.loads(re.search(r"const DATA = (\{.*?\});\n", path.read_text(encoding="utf-8")).group(1))


def test_the_page_races_with_the_tables_settings(tmp_path, capsys):
    page = tmp_path / "race.html"
    argv = ["race", "--landscape", "ravine", "--steps", "40", "--start", "2", "-7", "--clip", "5",
            "--lr", "0.02", "Adam=0.3", "lion=0.05", "--out", str(page)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "from (2, -7), 40 steps, lr: SGD 0.02, Momentum 0.02, RMSProp 0.02, Adam 0.3, Lion 0.05" in out
    assert "gradients clipped to 5" in out
    data = page_data(page)
    entry = next(e for e in data["landscapes"] if e["name"] == "ravine")
    assert data["steps"] == 40 and data["clip"] == 5.0 and entry["start"] == [2.0, -7.0]
    assert data["on"] == ["SGD", "Momentum", "RMSProp", "Adam", "Lion"]
    at = entry["lr_index"]
    assert {name: entry["lrs"][name][at] for name in data["on"]} == {
        "SGD": 0.02, "Momentum": 0.02, "RMSProp": 0.02, "Adam": 0.3, "Lion": 0.05}
    # the page's Adam path is the table's Adam row
    adam_row = next(line for line in out.splitlines() if line.startswith("Adam "))
    positions = np.frombuffer(base64.b64decode(entry["races"]["Adam"][at]["p"]), dtype="<i2").reshape(-1, 2)
    xmin, xmax, ymin, ymax = entry["view"]
    end = positions[-1] / 4000 * [xmax - xmin, ymax - ymin] + [xmin, ymin]
    shown = [float(v) for v in adam_row.split("(")[1].split(")")[0].split(",")]
    np.testing.assert_allclose(end, shown, atol=0.005)
    other = next(e for e in data["landscapes"] if e["name"] == "bowl")
    assert other["start"] == [4.0, 3.0]  # the other landscapes keep their own start


def test_serve_gets_the_same_settings(monkeypatch, capsys):
    from tinygrad_opt.race import serve

    seen = {}
    monkeypatch.setattr(serve, "serve", lambda port, **options: seen.update(options, port=port))
    argv = ["race", "--serve", "--port", "0", "--landscape", "bowl", "--steps", "30", "--start", "1", "1",
            "--clip", "2", "--lr", "Nesterov=0.05"]
    assert main(argv) == 0
    assert seen == {"port": 0, "first": "bowl", "steps": 30, "start": [1.0, 1.0], "clip_value": 2.0,
                    "rates": {"SGD": 0.1, "Momentum": 0.1, "RMSProp": 0.1, "Adam": 0.1, "Nesterov": 0.05}}


@pytest.mark.parametrize("item, message", [
    ("LAMB=0.1", "--lr LAMB=0.1: LAMB cannot race: LAMB scales each parameter's step by |p|"),
    ("muon=0.02", "--lr muon=0.02: Muon cannot race: Muon orthogonalises"),
    ("Lion King=0.1", "--lr Lion King=0.1: unknown racer 'Lion King'; racers: SGD,"),
])
def test_racers_that_cannot_race_say_why_in_one_line(capsys, item, message):
    assert main(["race", "--landscape", "bowl", "--steps", "3", "--lr", item]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"tinygrad-opt race: {message}") and len(error.splitlines()) == 1


def test_every_racer_name_is_accepted_by_lr(capsys):
    from tinygrad_opt.race import ALL_RACERS

    rates = [f"{name}=0.01" for name in ALL_RACERS]
    assert main(["race", "--landscape", "bowl", "--steps", "5", "--lr", *rates]) == 0
    table = capsys.readouterr().out.split("Diverged\n")[1]
    assert [line.split()[0] for line in table.splitlines()[1:]] == list(ALL_RACERS)


def test_race_writes_an_animated_gif_with_a_legend(tmp_path, capsys):
    from PIL import Image

    gif = tmp_path / "race.gif"
    assert main(["race", "--landscape", "himmelblau", "--steps", "100", "--out", str(gif)]) == 0
    assert f"wrote {gif}: 60 frames" in capsys.readouterr().out
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 60
        image.seek(0)
        first = np.asarray(image.convert("RGB"), dtype=float)
        image.seek(59)
        last = np.asarray(image.convert("RGB"), dtype=float)
    assert np.abs(first - last).mean() > 0.5  # the racers moved
    short = tmp_path / "short.gif"
    assert main(["race", "--landscape", "bowl", "--steps", "3", "--out", str(short)]) == 0
    with Image.open(short) as image:
        assert image.n_frames >= 20  # a short race still gets enough frames to be seen


def test_the_legend_of_the_animation_names_every_racer(tmp_path):
    from matplotlib.animation import PillowWriter

    from tinygrad_opt.race import race, standard_racers
    from tinygrad_opt.viz import animate

    figures = []
    real_saving = PillowWriter.saving

    def saving(self, fig, *args, **kwargs):
        figures.append(fig)
        return real_saving(self, fig, *args, **kwargs)

    result = race("bowl", standard_racers({"SGD": 0.1, "Lion": 0.05}), steps=10)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PillowWriter, "saving", saving)
        assert animate.animate_race(result.landscape, result, tmp_path / "legend.gif") == 20
    legend = [text.get_text() for text in figures[0].axes[0].get_legend().get_texts()]
    assert legend == ["known minimum", "SGD", "Lion"]


def test_mp4_is_written_with_ffmpeg_or_refused_in_one_line(tmp_path, capsys):
    movie = tmp_path / "race.mp4"
    status = main(["race", "--landscape", "bowl", "--steps", "10", "--out", str(movie)])
    captured = capsys.readouterr()
    if shutil.which("ffmpeg"):
        assert status == 0 and movie.stat().st_size > 1000
    else:
        assert status == 1 and not movie.exists()
        assert captured.err == (
            "tinygrad-opt race: writing an .mp4 needs the ffmpeg program, which is missing: "
            "install it with 'sudo apt-get install ffmpeg' (or 'brew install ffmpeg'), or write a .gif\n")


def test_without_ffmpeg_the_mp4_message_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["race", "--landscape", "bowl", "--steps", "10", "--out", str(tmp_path / "race.mp4")]) == 1
    error = capsys.readouterr().err
    assert "needs the ffmpeg program, which is missing: install it with 'sudo apt-get install" in error
    assert len(error.splitlines()) == 1 and not (tmp_path / "race.mp4").exists()
