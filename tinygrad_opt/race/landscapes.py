"""Loss landscapes for racing optimizers: functions of two parameters, x and y.

Each landscape is written once, with ordinary arithmetic, so the same code runs on
three kinds of input:

* scalar `Value`s, so autograd supplies the gradient the optimizers follow;
* Python floats, for a quick look at one point;
* NumPy grids, for contour plots (`landscape(X, Y)` with `X, Y = np.meshgrid(...)`).

Every landscape here is >= 0 with minimum value 0, so a log scale draws its contours.
It carries its global minima (the stars of a race), a default start and a view box
`(xmin, xmax, ymin, ymax)` that frames the interesting part.

>>> from tinygrad_opt.race import landscapes
>>> bowl = landscapes.get("bowl")
>>> bowl(4.0, 3.0)
25.0
>>> bowl.minima
((0.0, 0.0),)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value

__all__ = ["Landscape", "get", "names", "LANDSCAPES"]


@dataclass(frozen=True)
class Landscape:
    """A named function f(x, y) with its global minima, a default start and a view box."""

    name: str
    formula: str  # the function in plain text, for tables, pictures and the page
    function: Callable[[Any, Any], Any]
    minima: tuple[tuple[float, float], ...]
    start: tuple[float, float]
    view: tuple[float, float, float, float]  # (xmin, xmax, ymin, ymax)
    about: str  # one sentence: what this landscape tests

    def __call__(self, x: Any, y: Any) -> Any:
        """f(x, y) on Values (a graph node), floats (a float) or NumPy arrays (an array)."""
        return self.function(x, y)

    def __repr__(self) -> str:
        return f"Landscape({self.name!r}: {self.formula})"


# ----------------------------------------------------------------- the functions
def _bowl(x: Any, y: Any) -> Any:
    return x**2 + y**2


def _ravine(x: Any, y: Any) -> Any:
    return 50 * x**2 + y**2


def _beale_like(x: Any, y: Any) -> Any:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2


def _beale(x: Any, y: Any) -> Any:
    # the terms share their products, x y^2 = (x y) y and x y^3 = (x y^2) y: on Values that
    # is two graph nodes fewer than x * y**2 and x * y**3, and a race builds the graph 800 times
    xy = x * y
    xy2 = xy * y
    return (1.5 - x + xy) ** 2 + (2.25 - x + xy2) ** 2 + (2.625 - x + xy2 * y) ** 2


def _rosenbrock(x: Any, y: Any) -> Any:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _saddle(x: Any, y: Any) -> Any:
    # (0, 0) is a saddle point (f = 1): a valley in x, a ridge in y between two minima at y = +-1.
    return x**2 + (y**2 - 1) ** 2


def _himmelblau(x: Any, y: Any) -> Any:
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _rastrigin(x: Any, y: Any) -> Any:
    two_pi = 2 * math.pi
    return x**2 + y**2 - 10 * (cos(two_pi * x) + cos(two_pi * y)) + 20


def cos(t: Any) -> Any:
    """cos t for a Value (a graph node), a float or a NumPy grid."""
    if isinstance(t, Value):
        return t.cos()
    return np.cos(t) if isinstance(t, np.ndarray) else math.cos(t)


# Minima of Himmelblau's function other than (3, 2) have no closed form: Newton's method
# on the gradient, to full float64 precision (tests check that the gradient vanishes there).
_HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.283185991286169),
    (3.5844283403304917, -1.8481265269644034),
)

LANDSCAPES: dict[str, Landscape] = {
    landscape.name: landscape
    for landscape in (
        Landscape("bowl", "x² + y²", _bowl, ((0.0, 0.0),), (4.0, 3.0), (-5.0, 5.0, -5.0, 5.0),
                  "the easiest problem: every optimizer should get there"),
        Landscape("ravine", "50x² + y²", _ravine, ((0.0, 0.0),), (1.0, 8.0), (-3.0, 3.0, -9.0, 9.0),
                  "steep across x, gentle along y: one learning rate cannot suit both"),
        Landscape("beale_like", "(1.5 − x + xy)² + (2.25 − x + xy²)²", _beale_like, ((3.0, 0.5),),
                  (0.5, 3.5), (-1.5, 4.5, -1.0, 4.0),
                  "the post's showdown surface: Beale's function without its third term"),
        Landscape("beale", "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²", _beale,
                  ((3.0, 0.5),), (1.0, 1.5), (-4.5, 4.5, -4.5, 4.5),
                  "flat plateaus and sharp walls around a curved valley"),
        Landscape("rosenbrock", "(1 − x)² + 100(y − x²)²", _rosenbrock, ((1.0, 1.0),), (-1.5, 2.0),
                  (-2.0, 2.0, -1.0, 3.0), "a long curved banana valley: easy to enter, slow to follow"),
        Landscape("saddle", "x² + (y² − 1)²", _saddle, ((0.0, -1.0), (0.0, 1.0)), (-2.5, 0.001),
                  (-3.0, 3.0, -2.0, 2.0), "starts on the ridge of a saddle point: who escapes first?"),
        Landscape("himmelblau", "(x² + y − 11)² + (x + y² − 7)²", _himmelblau, _HIMMELBLAU_MINIMA,
                  (-0.3, -0.9), (-5.0, 5.0, -5.0, 5.0),
                  "four equal valleys: where you land depends on how you move"),
        Landscape("rastrigin", "20 + x² − 10cos 2πx + y² − 10cos 2πy", _rastrigin, ((0.0, 0.0),),
                  (3.2, 2.7), (-4.0, 4.0, -4.0, 4.0), "a bowl covered in local minima: easy to get stuck"),
    )
}


def names() -> list[str]:
    """The names of all landscapes, in a fixed order (easiest first)."""
    return list(LANDSCAPES)


def get(name: str) -> Landscape:
    """The landscape called `name`; an unknown name is a ValueError listing the known ones."""
    if not isinstance(name, str):
        raise TypeError(f"a landscape name must be a string, got {type(name).__name__}")
    try:
        return LANDSCAPES[name]
    except KeyError:
        raise ValueError(f"unknown landscape {name!r}; known landscapes: {', '.join(LANDSCAPES)}") from None
