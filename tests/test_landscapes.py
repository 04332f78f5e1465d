"""Landscapes: autograd gradients against hand-derived ones, minima, grids and names."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_opt import Value, gradcheck, no_grad
from tinygrad_opt.race import landscapes
from tinygrad_opt.race.landscapes import cos

TWO_PI = 2 * math.pi


# Gradients derived by hand, independently of the code under test.
def _beale_terms(x, y, n):
    constants = (1.5, 2.25, 2.625)[:n]
    dx = dy = 0.0
    for k, c in enumerate(constants, start=1):
        r = c - x + x * y**k
        dx += 2 * r * (y**k - 1)
        dy += 2 * r * k * x * y ** (k - 1)
    return dx, dy


ANALYTIC_GRADIENTS = {
    "bowl": lambda x, y: (2 * x, 2 * y),
    "ravine": lambda x, y: (100 * x, 2 * y),
    "beale_like": lambda x, y: _beale_terms(x, y, 2),
    "beale": lambda x, y: _beale_terms(x, y, 3),
    "rosenbrock": lambda x, y: (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)),
    "saddle": lambda x, y: (2 * x, 4 * y * (y * y - 1)),
    "himmelblau": lambda x, y: (
        4 * x * (x * x + y - 11) + 2 * (x + y * y - 7),
        2 * (x * x + y - 11) + 4 * y * (x + y * y - 7),
    ),
    "rastrigin": lambda x, y: (
        2 * x + 10 * TWO_PI * math.sin(TWO_PI * x),
        2 * y + 10 * TWO_PI * math.sin(TWO_PI * y),
    ),
}


def autograd_gradient(landscape, x, y):
    vx, vy = Value(x), Value(y)
    landscape(vx, vy).backward()
    return vx.grad, vy.grad


def test_names_include_every_required_landscape():
    required = {"bowl", "ravine", "beale_like", "beale", "rosenbrock", "saddle", "himmelblau", "rastrigin"}
    assert required <= set(landscapes.names())
    assert set(ANALYTIC_GRADIENTS) == set(landscapes.names())  # every landscape is checked below


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown landscape 'bole'") as error:
        landscapes.get("bole")
    for name in landscapes.names():
        assert name in str(error.value)
    with pytest.raises(TypeError, match="string"):
        landscapes.get(3)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(ANALYTIC_GRADIENTS)), u=st.floats(0, 1), v=st.floats(0, 1))
def test_autograd_gradient_matches_the_analytic_one(name, u, v):
    landscape = landscapes.get(name)
    xmin, xmax, ymin, ymax = landscape.view
    x, y = xmin + u * (xmax - xmin), ymin + v * (ymax - ymin)
    got = autograd_gradient(landscape, x, y)
    expected = ANALYTIC_GRADIENTS[name](x, y)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", landscapes.names())
def test_gradcheck_at_the_start(name):
    landscape = landscapes.get(name)
    assert gradcheck(landscape, Value(landscape.start[0] + 0.1), Value(landscape.start[1] - 0.2))


@pytest.mark.parametrize("name", landscapes.names())
def test_minima_are_zero_flat_and_global_over_the_view(name):
    landscape = landscapes.get(name)
    xmin, xmax, ymin, ymax = landscape.view
    for x, y in landscape.minima:
        assert xmin < x < xmax and ymin < y < ymax
        assert landscape(x, y) == pytest.approx(0.0, abs=1e-20)
        np.testing.assert_allclose(ANALYTIC_GRADIENTS[name](x, y), (0.0, 0.0), atol=1e-12)
    grid_x, grid_y = np.meshgrid(np.linspace(xmin, xmax, 401), np.linspace(ymin, ymax, 401))
    assert landscape(grid_x, grid_y).min() >= 0.0  # nothing on the map is lower than the stars


@pytest.mark.parametrize("name", landscapes.names())
def test_start_and_view(name):
    landscape = landscapes.get(name)
    xmin, xmax, ymin, ymax = landscape.view
    assert xmin < xmax and ymin < ymax
    assert xmin <= landscape.start[0] <= xmax and ymin <= landscape.start[1] <= ymax
    assert landscape(*landscape.start) > 0  # the race does not start at the finish


@pytest.mark.parametrize("name", landscapes.names())
def test_floats_values_and_grids_agree(name):
    landscape = landscapes.get(name)
    xs = np.array([[0.3, -1.2], [2.5, 0.0]])
    ys = np.array([[1.7, 0.4], [-0.9, 2.2]])
    on_grid = landscape(xs, ys)
    assert on_grid.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            as_float = landscape(float(xs[i, j]), float(ys[i, j]))
            as_value = landscape(Value(float(xs[i, j])), Value(float(ys[i, j])))
            assert type(as_value.data) is float
            assert as_float == pytest.approx(on_grid[i, j], rel=1e-12)
            assert as_value.data == pytest.approx(on_grid[i, j], rel=1e-12)


def test_post_surfaces_at_known_points():
    # The post's own formulas, evaluated by hand.
    assert landscapes.get("bowl")(4.0, 3.0) == 25.0
    assert landscapes.get("ravine")(1.0, 8.0) == 114.0
    expected = (1.5 - 0.5 + 0.5 * 3.5) ** 2 + (2.25 - 0.5 + 0.5 * 3.5**2) ** 2
    assert landscapes.get("beale_like")(0.5, 3.5) == pytest.approx(expected)


def test_himmelblau_has_four_distinct_valleys():
    minima = landscapes.get("himmelblau").minima
    assert len(minima) == 4
    quadrants = {(x > 0, y > 0) for x, y in minima}
    assert len(quadrants) == 4


def test_saddle_is_a_saddle_at_the_origin():
    saddle = landscapes.get("saddle")
    assert autograd_gradient(saddle, 0.0, 0.0) == (0.0, 0.0)
    assert saddle(0.1, 0.0) > saddle(0.0, 0.0) > saddle(0.0, 0.1)  # up along x, down along y


def test_rastrigin_has_many_local_minima():
    rastrigin = landscapes.get("rastrigin")
    xs = np.linspace(-4, 4, 8001)
    row = rastrigin(xs, np.zeros_like(xs))
    local_minima = np.sum((row[1:-1] < row[:-2]) & (row[1:-1] < row[2:]))
    assert local_minima >= 7  # along y = 0 alone


def test_cos_node():
    t = Value(0.7)
    out = cos(t)
    out.backward()
    assert out.data == pytest.approx(math.cos(0.7))
    assert t.grad == pytest.approx(-math.sin(0.7))
    assert out._op == "cos" and out._prev == (t,)
    assert gradcheck(lambda a: cos(a * 3.0), Value(np.array([0.1, -2.0, 5.0])))
    with no_grad():
        assert cos(Value(1.0))._prev == ()
    assert cos(np.array([0.0, math.pi])).tolist() == pytest.approx([1.0, -1.0])
