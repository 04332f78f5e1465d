"""Plots of training: loss curves, decision boundaries, paths on loss landscapes, attention patterns.

Every function returns a matplotlib `Figure` and, given `path=`, also writes it there
(PNG, SVG or PDF, chosen by the file's suffix). The figures are made without pyplot,
on matplotlib's headless Agg canvas: they never open a window, never change the
backend you chose, and are freed like any object. In Jupyter a returned figure shows
inline as a picture, in a fresh kernel too (`viz.display`). To draw into a figure of your own, for example
next to other plots or to `plt.show()` it, pass `ax=` one of its axes: the function
draws there and returns that axes' figure.

matplotlib is imported when a function is first called: it is the `viz` extra, and
importing this module costs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from tinygrad_opt.engine import Value, check_count, no_grad
from tinygrad_opt.viz.style import COLORS, line_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SAVE_SUFFIXES = (".png", ".svg", ".pdf")
# The paths' colours (viz.style: none white or pale); a white halo keeps each visible on viridis's dark end.
PATH_COLORS = COLORS


class Landscape(Protocol):
    """What `plot_landscape` needs of a loss landscape (see tinygrad_opt.race.landscapes)."""

    name: str
    minima: tuple[tuple[float, float], ...]
    start: tuple[float, float]
    view: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax

    def __call__(self, x: Any, y: Any) -> Any: ...


class Trajectory(Protocol):
    """What `plot_landscape` needs of an optimizer's path: points (n, 2), losses (n,)."""

    points: np.ndarray
    losses: np.ndarray
    diverged: bool


# --------------------------------------------------------------------------- losses
def plot_losses(
    histories: Mapping[str, Sequence[float]],
    *,
    log_scale: bool | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike | None = None,
) -> Figure:
    """One loss curve per run, `histories` mapping a name to its losses (one a step:
    numbers, or the loss Values themselves).

    The legend gives each run's final loss, or the step where it stopped being finite.
    log_scale: a log y axis; by default one is used when all losses are positive and
    span more than two decades.
    """
    _require_matplotlib()
    _check_path(path)
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("plot_losses needs a non-empty dict name -> sequence of losses")
    curves = {name: _as_vector(losses, f"losses of {name!r}") for name, losses in histories.items()}
    fig, ax = _figure_and_axes(ax, figsize=(6.4, 4.0))
    for i, (name, losses) in enumerate(curves.items()):
        finite = np.isfinite(losses)
        if finite.all():
            label = f"{name}: final {losses[-1]:.4g}"
        else:
            label = f"{name}: not finite from step {int(np.argmin(finite))}"
        ax.plot(np.arange(len(losses)), np.where(finite, losses, np.nan), label=label, linewidth=1.8,
                **line_style(i))  # 13 colours, 4 dashes: no two of 52 curves alike
    if log_scale is None:
        finite_values = np.concatenate([c[np.isfinite(c)] for c in curves.values()])
        log_scale = bool(
            finite_values.size and finite_values.min() > 0 and finite_values.max() / finite_values.min() > 100
        )
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if not ax.get_title():
        ax.set_title("loss per step")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


# ----------------------------------------------------------------- decision boundary
def plot_decision_boundary(
    model: Callable[[Any], Any],
    X: Any,  # noqa: N803 (the usual name for a data matrix)
    y: Any,
    *,
    per_point: bool = False,
    resolution: int | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike | None = None,
) -> Figure:
    """The regions where `model` predicts each class, with the points (X, y) on top.

    model: by default called once, as `model(Value(points))`, on a Value of shape (n, 2)
        holding all grid points; it returns scores as a Value or ndarray of shape (n,) or
        (n, k). With `per_point=True` it is called on one point at a time as a list of two
        scalar Values, `model([Value(x1), Value(x2)])`, as micrograd's scalar MLP is, and
        returns one Value (or a list of k). Either way it runs under `no_grad()`.
    scores: one score per point is a margin or logit: class 1 where it is > 0, and the
        labels y must be 1 and -1 (micrograd's convention) or 1 and 0. k scores per point
        pick the class with the highest one, and y must hold classes 0 .. k-1.
    resolution: grid points per axis; by default 100, or 40 for a per-point model, which runs
        one forward pass per grid point (resolution**2 of them).
    The title gives the model's accuracy on (X, y).
    """
    _require_matplotlib()
    _check_path(path)
    X = np.asarray(X, dtype=np.float64)  # noqa: N806
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ValueError(f"X must be an array of 2-D points, shape (n, 2), got shape {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"y must hold one label per point, shape ({len(X)},), got shape {y.shape}")
    if resolution is None:
        resolution = 40 if per_point else 100
    resolution = check_count(resolution, "resolution", least=2)

    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-9) + 0.25
    xx, yy = np.meshgrid(
        np.linspace(low[0] - pad[0], high[0] + pad[0], resolution),
        np.linspace(low[1] - pad[1], high[1] + pad[1], resolution),
    )
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    grid_scores = _scores(model, grid, per_point)
    n_classes = 2 if grid_scores.ndim == 1 else grid_scores.shape[1]
    y_index = _class_index(y, n_classes)
    predicted = _predict(grid_scores).reshape(xx.shape)
    accuracy = np.mean(_predict(_scores(model, X, per_point)) == y_index)

    from matplotlib.colors import ListedColormap

    fig, ax = _figure_and_axes(ax, figsize=(5.6, 5.0))
    colors = _class_colors(n_classes)
    regions = ListedColormap(colors)
    ax.pcolormesh(
        xx, yy, predicted, cmap=regions, vmin=-0.5, vmax=n_classes - 0.5, alpha=0.3, shading="nearest"
    )
    if grid_scores.ndim == 1 and grid_scores.min() < 0 < grid_scores.max():
        ax.contour(xx, yy, grid_scores.reshape(xx.shape), levels=[0.0], colors="black", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=[colors[i] for i in y_index], s=24, edgecolors="black", linewidths=0.5)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"accuracy {accuracy:.1%} on {len(X)} points")
    return _save(fig, path)


def _scores(model: Callable[[Any], Any], points: np.ndarray, per_point: bool) -> np.ndarray:
    """The model's scores for `points`, as a float array of shape (n,) or (n, k)."""
    with no_grad():
        if per_point:
            rows = [_score_row(model([Value(float(a)), Value(float(b))])) for a, b in points]
            scores = np.array(rows)
        else:
            out = model(Value(points))
            scores = np.asarray(out.data if isinstance(out, Value) else out, dtype=np.float64)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.shape[:1] != (len(points),) or scores.ndim > 2:
        raise ValueError(
            f"the model must return one score or one row of scores per point, shape ({len(points)},) "
            f"or ({len(points)}, k), got shape {scores.shape}"
        )
    if scores.ndim == 2 and scores.shape[1] < 2:
        raise ValueError(f"the model returned {scores.shape[1]} scores per point, expected 1 or at least 2")
    return scores


def _score_row(out: Any) -> np.ndarray:
    """One point's score(s): a Value, a number, or a list of them."""
    items = out if isinstance(out, (list, tuple)) else [out]
    return np.array([float(np.asarray(v.data if isinstance(v, Value) else v)) for v in items])


def _predict(scores: np.ndarray) -> np.ndarray:
    """Class indices: 1 where a single score is > 0, else the highest of k scores."""
    return (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)


def _class_index(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Labels as class indices 0 .. n_classes-1 (for two classes -1/0 -> 0 and 1 -> 1)."""
    labels = set(np.unique(y).tolist())
    if n_classes == 2 and labels <= {-1, 1}:
        return (y > 0).astype(int)
    if labels <= set(range(n_classes)):
        return y.astype(int)
    expected = "1 and -1, or 1 and 0" if n_classes == 2 else f"the integers 0 .. {n_classes - 1}"
    raise ValueError(f"for {n_classes} classes the labels y must be {expected}, got {sorted(labels)}")


def _class_colors(n_classes: int) -> list[str]:
    from matplotlib import colormaps

    palette = colormaps["tab10"] if n_classes <= 10 else colormaps["tab20"]
    return [palette(i % palette.N) for i in range(n_classes)]


# ----------------------------------------------------------------------- landscapes
def plot_landscape(
    landscape: Landscape,
    trajectories: Mapping[str, Trajectory],
    *,
    resolution: int = 300,
    levels: int = 30,
    ax: Axes | None = None,
    path: str | os.PathLike | None = None,
) -> Figure:
    """Optimizers' paths over a loss landscape.

    Filled contours of the loss on a log colour scale over `landscape.view`; each
    trajectory as a line from a round marker at its start; a star on every known
    minimum; a legend giving each trajectory's final loss (or that it diverged).
    When the landscape's lowest value is not positive, the colours show
    loss - lowest + delta, with delta a millionth of the range, so the log scale
    still resolves the bottom of the valley; the colour bar says so.
    """
    _require_matplotlib()
    _check_path(path)
    resolution = check_count(resolution, "resolution", least=2)
    levels = check_count(levels, "levels", least=2)
    if not isinstance(trajectories, Mapping):
        raise TypeError(f"trajectories must be a dict name -> trajectory, got {type(trajectories).__name__}")
    for name in ("name", "minima", "view"):
        if not hasattr(landscape, name):
            raise TypeError(f"plot_landscape needs a landscape with .{name}, got {type(landscape).__name__}")
    xmin, xmax, ymin, ymax = (float(v) for v in landscape.view)
    if not (xmin < xmax and ymin < ymax):
        raise ValueError(
            f"landscape.view must be (xmin, xmax, ymin, ymax) with min < max, got {landscape.view}"
        )
    paths = {name: _as_path(name, trajectory) for name, trajectory in trajectories.items()}

    xx, yy = np.meshgrid(np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution))
    z = _evaluate(landscape, xx, yy)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise ValueError(f"landscape {landscape.name!r} has no finite value in its view")
    lowest = np.nanmin([finite.min(), *(_evaluate(landscape, mx, my) for mx, my in landscape.minima)])
    if lowest > 0:
        shown, colour_label = z, "loss (log scale)"
    else:
        delta = 1e-6 * max(finite.max() - lowest, 1e-12)
        shown = z - lowest + delta
        shift = f"loss + {delta:.2g}" if lowest == 0 else f"loss - ({lowest:.4g}) + {delta:.2g}"
        colour_label = f"{shift}  (log scale)"
    shown = np.where(np.isfinite(shown), shown, np.nan)
    bottom, top = np.nanmin(shown), np.nanmax(shown)
    contour_levels = np.geomspace(bottom, top if top > bottom else bottom * 10, levels)

    from matplotlib.colors import LogNorm
    from matplotlib.patheffects import withStroke
    from matplotlib.ticker import LogLocator

    fig, ax = _figure_and_axes(ax, figsize=(6.4, 5.2))
    filled = ax.contourf(xx, yy, shown, levels=contour_levels, norm=LogNorm(), cmap="viridis", extend="both")
    fig.colorbar(filled, ax=ax, label=colour_label, ticks=LogLocator())
    for i, (name, (points, losses, diverged)) in enumerate(paths.items()):
        colour = PATH_COLORS[i % len(PATH_COLORS)]
        final = "diverged" if diverged or not np.isfinite(losses[-1]) else f"final loss {losses[-1]:.4g}"
        ax.plot(points[:, 0], points[:, 1], color=colour, linewidth=1.8, label=f"{name}: {final}",
                path_effects=[withStroke(linewidth=3.4, foreground="white", alpha=0.6)])
        ax.plot(*points[0], marker="o", markersize=7, color=colour, markeredgecolor="black")
    for k, (mx, my) in enumerate(landscape.minima):
        ax.plot(mx, my, marker="*", markersize=16, color="gold", markeredgecolor="black",
                linestyle="none", label="known minimum" if k == 0 else None)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(landscape.name)
    if paths or landscape.minima:
        ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    return _save(fig, path)


def _evaluate(landscape: Landscape, x: Any, y: Any) -> np.ndarray:
    out = landscape(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(out.data if isinstance(out, Value) else out, dtype=np.float64)


def _as_path(name: str, trajectory: Trajectory) -> tuple[np.ndarray, np.ndarray, bool]:
    points = np.asarray(getattr(trajectory, "points", None), dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"trajectory {name!r}: points must have shape (n, 2), got shape {points.shape}")
    losses = np.asarray(getattr(trajectory, "losses", None), dtype=np.float64)
    if losses.shape != (len(points),):
        raise ValueError(
            f"trajectory {name!r}: losses must have shape ({len(points)},) like its points, "
            f"got {losses.shape}"
        )
    finite = np.isfinite(points).all(axis=1)
    return np.where(finite[:, None], points, np.nan), losses, bool(trajectory.diverged)


# ------------------------------------------------------------------------ attention
def plot_attention(
    weights: Any,
    tokens: Sequence[str] | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
    path: str | os.PathLike | None = None,
) -> Figure:
    """One attention pattern as a heat map: row t shows the weights position t gives to each position.

    weights: a (T, T) array or Value of weights in [0, 1], such as one head of
        `GPT.attention_weights(ids)`: `weights[layer, b, head]`. The colours run from white (0)
        to dark blue (1) for every pattern, so two heads can be compared by eye.
    tokens: T labels for the positions, along both axes (a newline is shown as "\\n" and a space
        as "␣"); by default the positions' numbers.
    """
    _require_matplotlib()
    _check_path(path)
    pattern = np.asarray(weights.data if isinstance(weights, Value) else weights, dtype=np.float64)
    if pattern.ndim != 2 or pattern.shape[0] != pattern.shape[1]:
        raise ValueError(f"plot_attention needs one pattern of shape (T, T), got shape {pattern.shape}; "
                         f"from GPT.attention_weights pick one: weights[layer, b, head]")
    if not np.isfinite(pattern).all():
        bad = int(np.sum(~np.isfinite(pattern)))
        raise ValueError(f"attention weights must be finite, got {bad} that are not")
    if pattern.min() < 0 or pattern.max() > 1 + 1e-6:  # a float32 softmax may give 1 + 1e-7
        raise ValueError(f"attention weights must be in [0, 1], got values from {pattern.min():.4g} "
                         f"to {pattern.max():.4g}")
    size = len(pattern)
    if tokens is None:
        labels = [str(i) for i in range(size)]
    elif isinstance(tokens, str) or len(tokens) != size or not all(isinstance(t, str) for t in tokens):
        raise ValueError(f"tokens must be a sequence of {size} strings, one per position, got {tokens!r}")
    else:
        labels = [t.replace("\n", "\\n").replace("\t", "\\t").replace(" ", "␣") for t in tokens]

    fig, ax = _figure_and_axes(ax, figsize=(5.6, 5.0))
    image = ax.imshow(pattern, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="attention weight", fraction=0.046, pad=0.04)
    font_size = min(10.0, max(4.0, 240 / size))  # long sequences get smaller labels
    ax.set_xticks(range(size), labels, fontsize=font_size)
    ax.set_yticks(range(size), labels, fontsize=font_size)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("looked at (key position)")
    ax.set_ylabel("looking (query position)")
    if title is not None:
        ax.set_title(title, pad=12)
    return _save(fig, path)


# ----------------------------------------------------------- internal functions
def _as_vector(values: Any, what: str) -> np.ndarray:
    if isinstance(values, (list, tuple)):
        values = [v.item() if isinstance(v, Value) else v for v in values]  # losses kept as Values
    try:
        vector = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a sequence of numbers, got {type(values).__name__}") from None
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D sequence of numbers, got shape {vector.shape}")
    return vector


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The given axes and its figure, or a new figure on the headless Agg canvas (no pyplot)."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from tinygrad_opt.viz.display import shown_in_jupyter

    fig = shown_in_jupyter(Figure(figsize=figsize, layout="constrained"))  # a picture in Jupyter
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _require_matplotlib() -> None:
    """Plots need matplotlib (the `viz` extra): one line with the command that installs it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install matplotlib (or 'tinygrad-opt[viz]')",
                          name="matplotlib") from error


def _check_path(path: str | os.PathLike | None) -> None:
    """Checked before any work: the format comes from the suffix."""
    if path is not None and os.path.splitext(os.fspath(path))[1].lower() not in SAVE_SUFFIXES:
        raise ValueError(f"path must end in {', '.join(SAVE_SUFFIXES)}, got {os.fspath(path)!r}")


def _save(fig: Figure, path: str | os.PathLike | None) -> Figure:
    if path is not None:
        fig.savefig(path)
    return fig
