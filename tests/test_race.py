"""The race: trajectories against the post's NumPy code, divergence, clipping, validation."""

import math

import numpy as np
import post_reference as post
import pytest

from tinygrad_opt import Value, optim
from tinygrad_opt.race import (
    ALL_RACERS,
    CANNOT_RACE,
    MAX_STEPS,
    MORE_RACERS,
    RACER_NAMES,
    RaceResult,
    Trajectory,
    escape_box,
    format_table,
    landscapes,
    race,
    standard_racers,
)


def sgd(lr):
    return lambda params: optim.SGD(params, lr=lr)


def test_trajectory_shapes_and_losses():
    result = race("himmelblau", standard_racers(0.005), steps=50)
    assert list(result) == list(RACER_NAMES)
    himmelblau = landscapes.get("himmelblau")
    for trajectory in result.values():
        assert isinstance(trajectory, Trajectory)
        assert trajectory.points.shape == (51, 2) and trajectory.losses.shape == (51,)
        assert not trajectory.diverged
        assert trajectory.points[0].tolist() == list(himmelblau.start)
        for (x, y), loss in zip(trajectory.points, trajectory.losses, strict=True):
            assert loss == pytest.approx(himmelblau(x, y), rel=1e-12)


def test_zero_steps_is_just_the_start():
    trajectory = race("bowl", {"SGD": sgd(0.1)}, start=(1.0, 2.0), steps=0)["SGD"]
    assert trajectory.points.tolist() == [[1.0, 2.0]] and trajectory.losses.tolist() == [5.0]


def test_bowl_matches_the_post_and_the_closed_form():
    trajectory = race("bowl", {"SGD": sgd(0.1)}, start=(4, 3), steps=15)["SGD"]
    expected = post.run(post.bowl_grad, post.SGD(lr=0.1), (4.0, 3.0), 15)
    np.testing.assert_allclose(trajectory.points, expected, rtol=1e-12)
    # Each SGD step on x² + y² multiplies the position by 1 - 2 lr = 0.8.
    np.testing.assert_allclose(trajectory.points[14], [4 * 0.8**14, 3 * 0.8**14], rtol=1e-12)


@pytest.mark.parametrize("name, reference", [("SGD", lambda: post.SGD(lr=0.01)),
                                             ("Momentum", lambda: post.SGDMomentum(lr=0.01, beta=0.9))])
def test_ravine_matches_the_post_code(name, reference):
    trajectory = race("ravine", standard_racers({name: 0.01}), start=(1, 8), steps=30)[name]
    expected = post.run(post.ravine_grad, reference(), (1.0, 8.0), 30)
    np.testing.assert_allclose(trajectory.points, expected, rtol=1e-10, atol=1e-12)


def test_showdown_matches_the_post_code_with_clipping():
    rates = {"SGD": 0.0005, "Momentum": 0.0005, "RMSProp": 0.005, "Adam": 0.01}
    result = race("beale_like", standard_racers(rates), start=(0.5, 3.5), steps=200, clip_value=10)
    for name, make in post.SHOWDOWN.items():
        expected = post.run(post.beale_like_grad, make(), (0.5, 3.5), 200, clip=10)
        np.testing.assert_allclose(result[name].points, expected, rtol=1e-9, atol=1e-12)
    # Without clipping the first SGD step is different: the gradient at the start is far beyond 10.
    unclipped = race("beale_like", standard_racers({"SGD": 0.0005}), start=(0.5, 3.5), steps=1)["SGD"]
    assert not np.allclose(unclipped.points[1], result["SGD"].points[1])


def test_a_racer_that_blows_up_stops_without_disturbing_the_others():
    # On 50x² + y², SGD with lr 1 multiplies x by 1 - 100 = -99 each step.
    result = race("ravine", {"wild": sgd(1.0), "calm": sgd(0.01)}, start=(1, 8), steps=100)
    wild, calm = result["wild"], result["calm"]
    assert wild.diverged and not calm.diverged
    assert len(wild.points) < 101 and len(wild.points) == len(wild.losses)
    assert np.all(np.isfinite(wild.points)) and np.all(np.isfinite(wild.losses))
    alone = race("ravine", {"calm": sgd(0.01)}, start=(1, 8), steps=100)["calm"]
    np.testing.assert_array_equal(calm.points, alone.points)


def test_a_nan_step_is_a_divergence():
    class Poison:
        def __init__(self, params):
            self.params = params

        def zero_grad(self):
            for p in self.params:
                p.zero_grad()

        def step(self):
            self.params[0].data = math.nan

    trajectory = race("bowl", {"poison": Poison}, steps=10)["poison"]
    assert trajectory.diverged and len(trajectory.points) == 1


def test_clip_value_bounds_every_step():
    # Clipped to 0.5, SGD with lr 1 moves at most 0.5 per coordinate per step.
    trajectory = race("ravine", {"SGD": sgd(1.0)}, start=(1, 8), steps=5, clip_value=0.5)["SGD"]
    steps = np.abs(np.diff(trajectory.points, axis=0))
    assert np.all(steps <= 0.5 + 1e-12) and np.any(steps == 0.5)


def test_standard_racers_use_the_post_hyperparameters():
    racers = standard_racers(0.01)
    assert list(racers) == list(RACER_NAMES)
    momentum = racers["Momentum"]([Value(1.0)])
    assert isinstance(momentum, optim.SGD) and momentum.param_groups[0]["momentum"] == 0.9
    rmsprop = racers["RMSProp"]([Value(1.0)])
    assert rmsprop.param_groups[0]["alpha"] == 0.9 and rmsprop.param_groups[0]["lr"] == 0.01
    with pytest.raises(ValueError, match="unknown racer 'Lion King'"):
        standard_racers({"Lion King": 0.1})
    with pytest.raises(ValueError, match="learning rate for SGD"):
        standard_racers({"SGD": -1.0})


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": -1}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"steps": MAX_STEPS + 1}, r"steps must be a whole number from 0 to MAX_STEPS = 100,000, got 100001"),
    ({"steps": 10**9}, "MAX_STEPS = 100,000"),
    ({"start": (1.0,)}, "start"),
    ({"start": (math.inf, 0.0)}, "finite"),
    ({"start": (1e308, 0.0)}, r"start \(1e\+308, 0\) is outside bowl's escape box: x from -55 to 55"),
    ({"clip_value": 0}, "clip_value"),
    ({"optimizers": {}}, "non-empty"),
    ({"landscape": "flatland"}, "unknown landscape"),
])
def test_bad_arguments_are_value_errors(kwargs, message):
    arguments = {"landscape": "bowl", "optimizers": {"SGD": sgd(0.1)}, **kwargs}
    with pytest.raises(ValueError, match=message):
        race(**arguments)


def test_a_factory_must_be_callable():
    with pytest.raises(TypeError, match="factory"):
        race("bowl", {"SGD": 0.1})


def test_format_table_has_the_post_columns():
    result = race("ravine", {"SGD": sgd(1.0), "Adam": lambda p: optim.Adam(p, lr=0.1)}, steps=20)
    table = format_table(result)
    lines = table.splitlines()
    assert lines[0].split() == ["Optimizer", "Final", "Loss", "Final", "Position", "Diverged"]
    assert lines[2].startswith("SGD") and lines[2].endswith("True")
    assert lines[3].startswith("Adam") and lines[3].endswith("False")
    x, y = result["Adam"].final_point
    assert f"({x:.4f}, {y:.4f})" in lines[3]


def test_module_examples_run():
    import doctest

    import tinygrad_opt.race
    import tinygrad_opt.race.landscapes

    for module in (tinygrad_opt.race.landscapes, tinygrad_opt.race):
        failures, tried = doctest.testmod(module)
        assert tried > 0 and failures == 0


def test_leaving_the_view_is_allowed_until_far_outside():
    # SGD with lr 1.05 on x² + y² multiplies the position by 1 - 2.1 = -1.1 each step.
    short = race("bowl", {"SGD": sgd(1.05)}, steps=20)["SGD"]
    assert not short.diverged and abs(short.points[-1, 0]) > 5  # outside the view (-5, 5), still racing
    np.testing.assert_allclose(short.points[-1], [4 * (-1.1) ** 20, 3 * (-1.1) ** 20], rtol=1e-9)
    long = race("bowl", {"SGD": sgd(1.05)}, steps=60)["SGD"]
    assert long.diverged and len(long.points) < 61
    # it stopped at the first step beyond five view widths past the view's edge (|x| > 55)
    assert abs(long.points[-1, 0]) <= 55 < abs(long.points[-1, 0]) * 1.1


def test_schedule_free_racers_are_shown_at_their_average_x():
    racers = standard_racers({"ScheduleFreeSGD": 0.01, "ScheduleFreeAdamW": 0.01})
    assert list(racers) == ["ScheduleFreeSGD", "ScheduleFreeAdamW"] and set(racers) <= set(MORE_RACERS)
    result = race("ravine", racers, steps=30)
    ravine = landscapes.get("ravine")
    x, y = Value(1.0), Value(8.0)
    opt = optim.ScheduleFreeSGD([x, y], lr=0.01)
    averages, training_points = [(1.0, 8.0)], [(1.0, 8.0)]
    for _ in range(30):
        opt.zero_grad()
        ravine(x, y).backward()
        opt.step()
        training_points.append((x.data, y.data))
        opt.eval()
        averages.append((x.data, y.data))
        opt.train()
    trajectory = result["ScheduleFreeSGD"]
    np.testing.assert_array_equal(trajectory.points, averages)
    np.testing.assert_array_equal(trajectory.losses, [ravine(*point) for point in averages])
    assert not np.allclose(trajectory.points, training_points)  # x trails y
    table = format_table(result)
    assert table.splitlines()[3].startswith("ScheduleFreeAdamW ")  # the name column fits the name


def test_a_start_far_outside_is_refused_on_every_landscape():
    # Rastrigin's cos(2 pi x) has no value at x = 1e308 * 2 pi = inf: refused before any step.
    for name in landscapes.names():
        low_x, high_x, low_y, high_y = escape_box(landscapes.get(name))
        for start in ((1e308, 0.0), (0.0, -1e308), (high_x * 1.01, low_y), (high_x, low_y * 1.01)):
            with pytest.raises(ValueError, match=f"outside {name}'s escape box"):
                race(name, standard_racers(0.01), start=start, steps=1)
        corner = race(name, standard_racers(0.01), start=(high_x, low_y), steps=1)  # the edge is inside
        assert all(trajectory.points[0].tolist() == [high_x, low_y] for trajectory in corner.values())


def test_every_racer_races_in_the_order_of_all_racers():
    rates = {name: 0.01 for name in reversed(ALL_RACERS)}
    racers = standard_racers(rates)
    assert list(racers) == list(ALL_RACERS) and set(ALL_RACERS) == set(RACER_NAMES + MORE_RACERS)
    result = race("bowl", racers, steps=3)
    assert all(len(trajectory.points) == 4 for trajectory in result.values())
    assert standard_racers({"adamw": 0.1, "lbfgs": 1.0}).keys() == {"AdamW", "L-BFGS"}  # any letter case


def test_lbfgs_gets_its_closure_from_the_race():
    # One L-BFGS iteration a step with a strong Wolfe line search: on the bowl x² + y² the first
    # step lands on the minimum (the line search finds the exact step along -g).
    trajectory = race("bowl", standard_racers({"L-BFGS": 1.0}), steps=5)["L-BFGS"]
    assert not trajectory.diverged and trajectory.losses[0] == 25.0
    assert trajectory.final_loss < 1e-12
    rosenbrock = race("rosenbrock", standard_racers({"L-BFGS": 1.0}), steps=100)["L-BFGS"]
    assert rosenbrock.final_loss < 1e-8  # measured 1.9e-10 in 100 steps; SGD at 0.001 ends at 5.3


@pytest.mark.parametrize("name, make, words", [
    ("Muon", lambda p: optim.Muon(p, lr=0.1), "never reads lr"),
    ("LAMB", lambda p: optim.LAMB(p, lr=0.1), "collapse towards 0"),
    ("LARS", lambda p: optim.LARS(p, lr=0.1), "race Momentum"),
])
def test_optimizers_that_cannot_race_say_why_before_any_step(name, make, words):
    started = []

    def recording(params):
        started.append(params)
        return sgd(0.1)(params)

    with pytest.raises(ValueError, match=f"racer 'mine' cannot race: {name}.*{words}"):
        race("bowl", {"first": recording, "mine": make}, steps=10)
    assert len(started) == 1 and started[0][0].data == 4.0  # the first racer was built, never stepped
    with pytest.raises(ValueError, match=f"{name} cannot race: .*{words}"):
        standard_racers({name.lower(): 0.1})
    assert name in CANNOT_RACE and "\n" not in CANNOT_RACE[name]


def test_a_race_prints_as_a_table_not_as_arrays():
    result = race("himmelblau", standard_racers(0.005), steps=200)
    assert isinstance(result, RaceResult) and isinstance(result, dict)
    text = repr(result)
    assert text.splitlines()[0] == "race on himmelblau, (x² + y − 11)² + (x + y² − 7)²"
    assert text.splitlines()[1:] == format_table(result).splitlines() and len(text.splitlines()) == 7
    one = repr(result["SGD"])
    assert one.startswith("Trajectory(200 steps, final loss ") and "\n" not in one


def test_a_racer_rate_must_be_finite_and_positive_and_the_error_names_the_racer():
    from tinygrad_opt.race.page import build_page

    for bad in (math.inf, 0.0, -1.0, float("nan"), True, "0.1"):
        with pytest.raises(ValueError, match=r"learning rate for SGD must be a finite number > 0"):
            standard_racers({"sgd": bad})
    with pytest.raises(ValueError, match=r"learning rate for Adam must be a finite number > 0, got inf"):
        build_page(landscapes=["bowl"], rates={"Adam": math.inf})
