"""Tests for tinygrad_opt/tour.py: the tour behind `make demo` runs and writes what it says."""

import xml.etree.ElementTree as ET

import pytest

from tinygrad_opt.cli import main
from tinygrad_opt.data import make_moons
from tinygrad_opt.tour import OPTIMIZERS, Run, comparison_table, train

pytest.importorskip("matplotlib")
pytest.importorskip("graphviz")


def test_every_optimizer_learns_the_moons():
    X, y = make_moons(100, noise=0.1, seed=1)
    for name, make_optimizer in OPTIMIZERS.items():
        run = train(X, y, 2, make_optimizer, steps=150)
        assert run.losses[-1] < 0.5 * run.losses[0], name
        assert run.accuracies[-1] >= 0.95, name


def test_comparison_table_counts_steps_to_95_percent():
    run = Run(losses=[1.0, 0.5, 0.2], accuracies=[0.5, 0.96, 1.0], model=None, seconds=0.0)
    never = Run(losses=[1.0, 0.9], accuracies=[0.5, 0.6], model=None, seconds=0.0)
    table = comparison_table({"moons": {"SGD": run, "Adam": never}})
    sgd = next(line for line in table.splitlines() if line.startswith("SGD"))
    adam = next(line for line in table.splitlines() if line.startswith("Adam"))
    assert sgd.split()[-1] == "1" and "100.0%" in sgd and "0.2000" in sgd
    assert adam.split()[-1] == "never"


def test_the_tour_writes_its_pictures_and_page(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    svg = ET.parse(tmp_path / "neuron.svg").getroot()
    assert svg.tag.endswith("svg") and "0.7071" in ET.tostring(svg, encoding="unicode")
    for name in ["losses_moons", "boundaries_moons", "losses_spirals", "boundaries_spirals"]:
        image = plt_image(tmp_path / f"{name}.png")
        assert image.std() > 0.05, f"{name}.png is blank"
        assert f"{name}.png" in printed
    page = (tmp_path / "race.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "race.html" in printed
    assert all(name in printed for name in OPTIMIZERS)
    assert "Open " in printed and "in a web browser" in printed


def plt_image(path):
    from matplotlib.image import imread

    return imread(path)
