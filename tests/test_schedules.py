"""optim.schedules against their closed forms, the deliberate differences from PyTorch,
composition, use as an optimizer's lr, and validation. The comparison with PyTorch's and
optax's schedulers themselves is in tests/test_golden.py (fixtures in tests/golden/)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_opt import Value, optim
from tinygrad_opt.optim import schedules


def values(schedule, n):
    return [schedule(step) for step in range(n)]


def test_constant():
    assert values(schedules.constant(0.3), 4) == [0.3] * 4


def test_step_decay_closed_form():
    s = schedules.step_decay(0.1, step_size=3, gamma=0.5)
    assert values(s, 20) == pytest.approx([0.1 * 0.5 ** (k // 3) for k in range(20)], rel=1e-15)


def test_exponential_closed_form():
    s = schedules.exponential(0.1, gamma=0.9)
    assert values(s, 30) == pytest.approx([0.1 * 0.9**k for k in range(30)], rel=1e-14)


def test_cosine_closed_form_and_floor_after_the_end():
    s = schedules.cosine(0.1, total_steps=10, floor=0.001)
    assert s(0) == 0.1 and s(10) == pytest.approx(0.001, rel=1e-14)
    assert s(5) == pytest.approx(0.0505, rel=1e-14)
    for k in range(11):
        assert s(k) == pytest.approx(0.001 + 0.099 * (1 + math.cos(math.pi * k / 10)) / 2, rel=1e-14)
    # deliberate difference: PyTorch rises again after T_max (step 11: 0.00342...); we stay at the floor
    assert s(11) == s(50) == pytest.approx(0.001, rel=1e-14)


def test_linear_warmup_from_zero_changes_nothing_at_step_zero():
    assert values(schedules.linear_warmup(2.0, 4), 6) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]


def test_join_gives_each_schedule_its_own_step_count():
    s = schedules.join([schedules.constant(1.0), schedules.exponential(0.5, 0.5), schedules.constant(7.0)],
                       [2, 5])
    assert values(s, 7) == [1.0, 1.0, 0.5, 0.25, 0.125, 7.0, 7.0]


def test_warmup_cosine_is_warmup_then_cosine():
    s = schedules.warmup_cosine(1.0, warmup_steps=4, total_steps=14, floor=0.1)
    assert values(s, 5) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0], abs=1e-15)
    for k in range(4, 20):
        decay_step = min(k - 4, 10)
        assert s(k) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * decay_step / 10)) / 2, rel=1e-14)


def test_one_cycle_starts_at_max_over_div_and_ends_at_its_final_rate():
    s = schedules.one_cycle(0.1, total_steps=10, pct_start=0.3, div_factor=25, final_div_factor=1e4)
    assert s(0) == pytest.approx(0.1 / 25) and s(9) == pytest.approx(0.1 / 25 / 1e4)
    assert max(values(s, 10)) == pytest.approx(0.1) and s(50) == s(9)


def test_cyclical_symmetric_triangle():
    symmetric = schedules.cyclical(0.0, 1.0, step_size_up=2)
    assert values(symmetric, 9) == [0.0, 0.5, 1.0, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0]


def test_reduce_on_plateau_drives_an_optimizer_and_survives_its_state_dict():
    plateau = schedules.ReduceOnPlateau(0.5, patience=0)
    p = Value(np.array([1.0]))
    opt = optim.SGD([p], lr=plateau)
    assert opt.lrs == [0.5]
    plateau.update(1.0)
    plateau.update(1.0)  # no improvement, patience 0: drop
    assert opt.lrs == [0.05]
    saved = opt.state_dict()
    opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] is plateau  # still the live object
    copy = schedules.ReduceOnPlateau(0.5, patience=0)
    copy.load_state_dict(plateau.state_dict())
    assert copy.update(1.0) == pytest.approx(0.005) and plateau.update(1.0) == pytest.approx(0.005)


def test_an_optimizer_uses_schedule_of_step_zero_first():
    seen = []
    p = Value(1.0)
    opt = optim.SGD([p], lr=lambda step: seen.append(step) or 0.1)
    for _ in range(3):
        opt.step()
    assert seen == [0, 1, 2]


@pytest.mark.parametrize(("make", "message"), [
    (lambda: schedules.constant(-1.0), "-1.0"),
    (lambda: schedules.step_decay(0.1, step_size=0), "step_size: 0"),
    (lambda: schedules.exponential(0.1, gamma=-0.5), "gamma: -0.5"),
    (lambda: schedules.cosine(0.1, total_steps=2.5), "total_steps: 2.5"),
    (lambda: schedules.cosine(0.1, 10, floor=-0.1), "floor: -0.1"),
    (lambda: schedules.linear_warmup(0.1, warmup_steps=-3), "warmup_steps: -3"),
    (lambda: schedules.warmup_cosine(0.1, warmup_steps=10, total_steps=10), "warmup_steps: 10"),
    (lambda: schedules.join([schedules.constant(1.0)], [3]), "boundary"),
    (lambda: schedules.join([schedules.constant(1.0)] * 3, [5, 2]), r"\[5, 2\]"),
    (lambda: schedules.one_cycle(0.1, total_steps=2), "room"),
    (lambda: schedules.one_cycle(0.1, 100, pct_start=1.5), "pct_start: 1.5"),
    (lambda: schedules.cyclical(0.1, 0.2, step_size_up=0), "step_size_up: 0"),
    (lambda: schedules.ReduceOnPlateau(0.1, factor=1.0), "factor: 1.0"),
    (lambda: schedules.ReduceOnPlateau(0.1, mode="maximum"), "maximum"),
    (lambda: schedules.ReduceOnPlateau(0.1, patience=-1), "patience: -1"),
])
def test_invalid_arguments_raise_value_error_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()
