"""Plots: written to PNG/SVG, read back, and checked pixel by pixel where their content should be."""

from __future__ import annotations

import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from tinygrad_opt import Value  # noqa: E402
from tinygrad_opt.nn.scalar import MLP  # noqa: E402
from tinygrad_opt.viz import plot_decision_boundary, plot_landscape, plot_losses  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class TwoWells:
    """A stand-in landscape: f(x, y) = (x^2 - 1)^2 + y^2, minima at (-1, 0) and (1, 0)."""

    name: str = "two wells"
    minima: tuple[tuple[float, float], ...] = ((-1.0, 0.0), (1.0, 0.0))
    start: tuple[float, float] = (0.2, 1.5)
    view: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0)

    def __call__(self, x, y):
        return (x * x - 1) ** 2 + y * y


@dataclass(frozen=True)
class Path2D:
    points: np.ndarray
    losses: np.ndarray
    diverged: bool = False


def straight_path(landscape: TwoWells, end: tuple[float, float], n: int = 60, start=None) -> Path2D:
    t = np.linspace(0, 1, n)[:, None]
    points = (1 - t) * np.array(start or landscape.start) + t * np.array(end)
    return Path2D(points, landscape(points[:, 0], points[:, 1]))


def pixels(path: Path) -> np.ndarray:
    """The PNG as an (height, width, 3) float RGB array."""
    return imread(path)[..., :3]


def to_pixel(fig: Figure, ax, x: float, y: float) -> tuple[int, int]:
    """(row, column) in the saved image of the data point (x, y); rows count from the top."""
    px, py = ax.transData.transform((x, y))
    return int(round(fig.bbox.height - py)), int(round(px))


def has_colour_near(image: np.ndarray, row: int, col: int, colour, radius: int = 3, tol: float = 0.1) -> bool:
    patch = image[max(row - radius, 0): row + radius + 1, max(col - radius, 0): col + radius + 1]
    return bool((np.abs(patch - np.array(to_rgb(colour))).max(axis=-1) < tol).any())


def line_labelled(ax, start: str):
    return next(line for line in ax.get_lines() if line.get_label().startswith(start))


# ---------------------------------------------------------------------- landscape
def test_landscape_paths_start_and_minima_are_where_their_points_map(tmp_path):
    landscape = TwoWells()
    paths = {"to the right": straight_path(landscape, (1.0, 0.0)),
             "to the left": straight_path(landscape, (-1.0, 0.0), n=30, start=(-1.5, 1.5))}
    fig = plot_landscape(landscape, paths, path=tmp_path / "wells.png")
    image = pixels(tmp_path / "wells.png")
    ax = fig.axes[0]
    assert image.shape[:2] == (round(fig.bbox.height), round(fig.bbox.width))

    right = line_labelled(ax, "to the right")
    colour = right.get_color()
    for x, y in paths["to the right"].points[5:-5:5]:  # along the path, clear of the star at its end
        assert has_colour_near(image, *to_pixel(fig, ax, x, y), colour)
    for x, y in [(-1.5, -1.5), (1.5, 1.0), (-0.5, 1.0)]:  # where no path goes
        assert not has_colour_near(image, *to_pixel(fig, ax, x, y), colour, radius=2)
    assert has_colour_near(image, *to_pixel(fig, ax, *landscape.start), colour, radius=4)  # start marker
    for minimum in landscape.minima:
        assert has_colour_near(image, *to_pixel(fig, ax, *minimum), "gold", radius=2)

    # Filled contours: darker (lower loss) in the wells than in the corners.
    well = image[to_pixel(fig, ax, 1.0, 0.4)]
    corner = image[to_pixel(fig, ax, -1.9, 1.9)]
    assert well.sum() < corner.sum() - 0.5
    assert ax.get_title() == "two wells"
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-2.0, 2.0)


def test_landscape_legend_gives_final_losses_and_divergence():
    landscape = TwoWells()
    good = straight_path(landscape, (1.0, 0.5))
    blown = Path2D(np.array([[0.2, 1.5], [5.0, 9.0], [np.inf, np.nan]]), np.array([2.3, 1e3, np.inf]), True)
    fig = plot_landscape(landscape, {"sgd": good, "big step": blown})
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == [f"sgd: final loss {0.25:.4g}", "big step: diverged", "known minimum"]
    assert len(fig.axes) == 2  # the plot and its colour bar
    assert "log scale" in fig.axes[1].get_ylabel()


def test_landscape_saves_svg(tmp_path):
    plot_landscape(TwoWells(), {"sgd": straight_path(TwoWells(), (1.0, 0.0))}, path=tmp_path / "wells.svg")
    text = (tmp_path / "wells.svg").read_text()
    svg = ET.fromstring(text)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<!-- two wells -->" in text and "<!-- sgd: final loss 0 -->" in text


@pytest.mark.parametrize(
    ("trajectories", "error", "message"),
    [
        ([1, 2], TypeError, "trajectories must be a dict"),
        ({"p": Path2D(np.zeros((3, 3)), np.zeros(3))}, ValueError, "points must have shape (n, 2)"),
        ({"p": Path2D(np.zeros((3, 2)), np.zeros(4))}, ValueError, "losses must have shape (3,)"),
    ],
)
def test_landscape_bad_trajectories_are_named(trajectories, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        plot_landscape(TwoWells(), trajectories)


# -------------------------------------------------------------------------- losses
def test_loss_curves_go_through_their_points(tmp_path):
    histories = {"adam": [1.0, 0.5, 0.2, 0.01, 0.001], "sgd": [2.0, 1.8, 1.6, 1.4, 1.2]}
    fig = plot_losses(histories, path=tmp_path / "losses.png")
    image = pixels(tmp_path / "losses.png")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"  # the losses span three decades
    for name, losses in histories.items():
        colour = line_labelled(ax, name).get_color()
        for step, loss in enumerate(losses):
            assert has_colour_near(image, *to_pixel(fig, ax, step, loss), colour), (name, step)
    adam = line_labelled(ax, "adam").get_color()
    assert not has_colour_near(image, *to_pixel(fig, ax, 1, 0.01), adam)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["adam: final 0.001", "sgd: final 1.2"]


def test_losses_may_be_the_loss_values_themselves():
    fig = plot_losses({"kept as Values": [Value(2.0), Value(0.5)], "as an array": np.array([1.0, 0.25])})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "kept as Values: final 0.5", "as an array: final 0.25",
    ]
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == [2.0, 0.5]


def test_loss_scale_is_linear_for_a_narrow_range_and_names_non_finite_runs():
    ax = plot_losses({"a": [3.0, 2.0, 1.5]}).axes[0]
    assert ax.get_yscale() == "linear"
    ax = plot_losses({"blew up": [1.0, 2.0, float("nan"), float("inf")]}, log_scale=True).axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_legend().get_texts()[0].get_text() == "blew up: not finite from step 2"


@pytest.mark.parametrize(
    ("histories", "error"),
    [({}, ValueError), ({"a": []}, ValueError), ({"a": ["x"]}, TypeError), ([1.0], ValueError)],
)
def test_losses_bad_input(histories, error):
    with pytest.raises(error):
        plot_losses(histories)


def test_losses_bad_path_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"path must end in \.png, \.svg, \.pdf"):
        plot_losses({"a": [1.0]}, path=tmp_path / "losses.jpeg")


# --------------------------------------------------------------- decision boundary
X = np.array([[-1.5, -0.5], [-1.0, 1.0], [0.5, 1.5], [1.5, 0.5], [1.0, -1.0], [-0.5, -1.5]])
Y = np.where(X[:, 0] > X[:, 1], 1, -1)  # the line x1 = x2 separates them


def region_colour(fig: Figure, index: int) -> np.ndarray:
    """A class colour at alpha 0.3 over the white background."""
    colour = np.array(to_rgb(matplotlib.colormaps["tab10"](index)))
    return 0.3 * colour + 0.7


def test_decision_regions_and_points_are_where_the_model_puts_them(tmp_path):
    fig = plot_decision_boundary(lambda p: p[:, 0] - p[:, 1], X, Y, path=tmp_path / "regions.png")
    image = pixels(tmp_path / "regions.png")
    ax = fig.axes[0]
    for (x, y), cls in [((1.2, -0.2), 1), ((0.2, -1.2), 1), ((-1.2, 0.2), 0), ((-0.2, 1.2), 0)]:
        assert np.abs(image[to_pixel(fig, ax, x, y)] - region_colour(fig, cls)).max() < 0.03, (x, y)
    for (x, y), label in zip(X, Y, strict=True):
        assert has_colour_near(image, *to_pixel(fig, ax, x, y), matplotlib.colormaps["tab10"](int(label > 0)))
    assert ax.get_title() == "accuracy 100.0% on 6 points"
    wrong = Y.copy()
    wrong[0] = -wrong[0]
    assert plot_decision_boundary(lambda p: p[:, 0] - p[:, 1], X, wrong).axes[0].get_title() == (
        "accuracy 83.3% on 6 points"
    )


def test_a_per_point_scalar_model_draws_the_same_regions(tmp_path):
    plot_decision_boundary(lambda p: p[:, 0] - p[:, 1], X, Y, resolution=30, path=tmp_path / "array.png")
    plot_decision_boundary(lambda p: p[0] - p[1], X, Y, per_point=True, resolution=30,
                           path=tmp_path / "scalar.png")
    assert np.array_equal(pixels(tmp_path / "array.png"), pixels(tmp_path / "scalar.png"))


def test_micrograd_style_scalar_mlp_runs_per_point():
    random.seed(1)
    model = MLP(2, [4, 1])  # micrograd's MLP: one scalar Value per number
    fig = plot_decision_boundary(model, X, (Y > 0).astype(int), per_point=True, resolution=12)
    scores = [model([Value(a), Value(b)]).data for a, b in X]
    accuracy = np.mean((np.array(scores) > 0) == (Y > 0))
    assert fig.axes[0].get_title() == f"accuracy {accuracy:.1%} on 6 points"


def test_k_scores_per_point_pick_the_highest(tmp_path):
    centres = np.array([[1.0, 0.0], [-1.0, 1.0], [-1.0, -1.0]])
    labels = np.array([0, 1, 2, 0, 1, 2])
    points = centres[labels] * 1.2

    def model(p):  # minus the squared distance to each centre, as a Value of shape (n, 3)
        return -(((p.reshape(-1, 1, 2) - centres) ** 2).sum(axis=2))

    fig = plot_decision_boundary(model, points, labels, path=tmp_path / "three.png")
    image = pixels(tmp_path / "three.png")
    ax = fig.axes[0]
    for (x, y), cls in [((1.5, -0.8), 0), ((-1.5, 0.5), 1), ((-0.5, -1.5), 2)]:
        assert np.abs(image[to_pixel(fig, ax, x, y)] - region_colour(fig, cls)).max() < 0.03, (x, y)
    assert ax.get_title() == "accuracy 100.0% on 6 points"


@pytest.mark.parametrize(
    ("model", "X", "y", "message"),
    [
        (lambda p: p[:, 0], np.zeros((4, 3)), np.zeros(4), r"X must be an array of 2-D points"),
        (lambda p: p[:, 0], X, Y[:3], r"y must hold one label per point"),
        (lambda p: p[:, 0], X, Y + 5, r"labels y must be 1 and -1, or 1 and 0"),
        (lambda p: p.sum(), X, Y, r"one score or one row of scores per point"),
        (lambda p: p @ np.ones((2, 3)), X, Y, r"labels y must be the integers 0 \.\. 2"),
    ],
)
def test_decision_boundary_bad_input_is_named(model, X, y, message):  # noqa: N803
    with pytest.raises(ValueError, match=message):
        plot_decision_boundary(model, X, y)


# --------------------------------------------------------------------- the interface
def test_plots_draw_into_a_given_axes():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_losses({"a": [1.0, 0.5]}, ax=left) is fig
    assert plot_landscape(TwoWells(), {}, ax=right, resolution=20) is fig
    assert len(left.get_lines()) == 1 and right.get_title() == "two wells"


def test_plots_leave_pyplot_and_the_backend_alone():
    code = (
        "import matplotlib; matplotlib.use('svg')\n"
        "import sys\n"
        "from tinygrad_opt.viz import plot_losses\n"
        "plot_losses({'a': [1.0, 0.5]})\n"
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["svg", "False"]


def test_grid_resolution_defaults_to_100_or_40_per_point_and_is_checked():
    array_model = plot_decision_boundary(lambda p: p[:, 0] - p[:, 1], X, Y).axes[0]
    scalar_model = plot_decision_boundary(lambda p: p[0] - p[1], X, Y, per_point=True).axes[0]
    assert array_model.collections[0].get_array().size == 100 * 100
    assert scalar_model.collections[0].get_array().size == 40 * 40
    for bad in (0, 1, 2.5, True):
        with pytest.raises(ValueError, match=f"resolution must be an int >= 2, got {bad}"):
            plot_decision_boundary(lambda p: p[:, 0], X, Y, resolution=bad)
    with pytest.raises(ValueError, match="levels must be an int >= 2, got 1"):
        plot_landscape(TwoWells(), {}, levels=1)


def test_a_bad_path_is_refused_before_any_work(tmp_path):
    calls = []
    with pytest.raises(ValueError, match=r"path must end in \.png, \.svg, \.pdf, got '.*regions\.gif'"):
        plot_decision_boundary(lambda p: calls.append(p) or p[:, 0], X, Y, path=tmp_path / "regions.gif")
    assert calls == [] and not (tmp_path / "regions.gif").exists()
