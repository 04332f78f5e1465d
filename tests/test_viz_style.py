"""Plots for a projector: every curve its own colour and dash, no pale path on the light end of a map."""

import numpy as np
from matplotlib.colors import to_rgb

from tinygrad_opt.race import ALL_RACERS, race, standard_racers, suggested_lr
from tinygrad_opt.viz import plot_decision_boundary, plot_landscape, plot_losses
from tinygrad_opt.viz.style import COLORS, line_style


def luminance(colour):
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_thirteen_loss_curves_are_told_apart_by_colour_and_by_dash():
    histories = {f"optimizer {k}": list(np.geomspace(1.0, 0.01 * (k + 1), 20)) for k in range(13)}
    ax = plot_losses(histories).axes[0]
    lines = [line for line in ax.get_lines() if line.get_label().startswith("optimizer")]
    colours = [to_rgb(line.get_color()) for line in lines]
    assert len(set(colours)) == 13  # no colour twice
    assert len({line.get_linestyle() for line in lines}) == 4  # and the dashes tell neighbours apart
    for a in range(13):
        for b in range(a + 1, 13):
            assert np.abs(np.subtract(colours[a], colours[b])).sum() > 0.3, (a, b)  # clearly different
    assert ax.get_title() == "loss per step" and ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"


def test_no_path_is_white_or_pale_on_the_light_end_of_the_map():
    assert all(luminance(colour) < 0.75 for colour in COLORS)  # viridis's yellow end is about 0.85
    rates = {name: suggested_lr(name, "himmelblau") for name in ALL_RACERS}
    result = race("himmelblau", standard_racers(rates), steps=20)
    ax = plot_landscape(result.landscape, result).axes[0]
    paths = [line for line in ax.get_lines() if ":" in str(line.get_label())]
    assert len(paths) == len(ALL_RACERS)
    assert all(luminance(line.get_color()) < 0.75 for line in paths)
    assert len({to_rgb(line.get_color()) for line in paths}) == 13  # 14 racers: the 14th repeats one
    assert ax.get_title() == "himmelblau" and ax.get_xlabel() == "x" and ax.get_ylabel() == "y"


def test_decision_boundaries_have_axis_labels():
    X = np.array([[-1.0, 0.5], [0.5, -1.0]])
    ax = plot_decision_boundary(lambda p: p[:, 0] - p[:, 1], X, np.array([-1, 1])).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2") and ax.get_title().startswith("accuracy")


def test_line_styles_cycle_colours_and_dashes_apart():
    styles = [tuple(line_style(i).values()) for i in range(52)]
    assert len(set(styles)) == 52
