"""optim.schedules against their closed forms, and against values PyTorch's schedulers
produced (torch 2.13, written here as literal numbers: the tests do not need torch)."""

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


def test_step_decay_closed_form_and_torch():
    s = schedules.step_decay(0.1, step_size=3, gamma=0.5)
    assert values(s, 20) == pytest.approx([0.1 * 0.5 ** (k // 3) for k in range(20)], rel=1e-15)
    # torch.optim.lr_scheduler.StepLR(SGD(lr=0.1), step_size=3, gamma=0.5), lr before each step
    assert values(s, 8) == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], rel=1e-15)


def test_exponential_closed_form_and_torch():
    s = schedules.exponential(0.1, gamma=0.9)
    assert values(s, 30) == pytest.approx([0.1 * 0.9**k for k in range(30)], rel=1e-14)
    # ExponentialLR(SGD(lr=0.1), gamma=0.9)
    assert values(s, 5) == pytest.approx([0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002,
                                          0.06561000000000002], rel=1e-14)


def test_cosine_closed_form_floor_and_torch():
    s = schedules.cosine(0.1, total_steps=10, floor=0.001)
    assert s(0) == 0.1 and s(10) == pytest.approx(0.001, rel=1e-14)
    assert s(5) == pytest.approx(0.0505, rel=1e-14)
    for k in range(11):
        assert s(k) == pytest.approx(0.001 + 0.099 * (1 + math.cos(math.pi * k / 10)) / 2, rel=1e-14)
    # CosineAnnealingLR(SGD(lr=0.1), T_max=10, eta_min=0.001), steps 0..10
    torch_values = [0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599,
                    0.0505, 0.03520365877844011, 0.02140463001152259, 0.010453658778440109,
                    0.0034227024433899004, 0.001]
    assert values(s, 11) == pytest.approx(torch_values, rel=1e-12)
    # deliberate difference: PyTorch rises again after T_max (step 11: 0.00342...); we stay at the floor
    assert s(11) == s(50) == pytest.approx(0.001, rel=1e-14)


def test_linear_warmup_closed_form_and_torch():
    s = schedules.linear_warmup(0.1, warmup_steps=4, start=0.025)
    # LinearLR(SGD(lr=0.1), start_factor=0.25, end_factor=1.0, total_iters=4)
    assert values(s, 6) == pytest.approx([0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1], rel=1e-14)
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


def test_one_cycle_matches_torch():
    s = schedules.one_cycle(0.1, total_steps=10, pct_start=0.3, div_factor=25, final_div_factor=1e4)
    # OneCycleLR(SGD(lr=0.1), max_lr=0.1, total_steps=10, pct_start=0.3, div_factor=25, final_div_factor=1e4)
    torch_values = [0.0040000000000000036, 0.052000000000000005, 0.1, 0.09504846320134738, 0.0811745653949763,
                    0.06112620219362893, 0.03887419780637107, 0.0188258346050237, 0.004951936798652629, 4e-07]
    assert values(s, 10) == pytest.approx(torch_values, rel=1e-12)
    assert s(0) == pytest.approx(0.1 / 25) and s(9) == pytest.approx(0.1 / 25 / 1e4)


def test_cyclical_triangular_closed_form_and_torch():
    s = schedules.cyclical(0.01, 0.1, step_size_up=3, step_size_down=5)
    # CyclicLR(SGD(lr=0.1), base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5, mode="triangular",
    #          cycle_momentum=False)
    torch_values = [0.01, 0.04, 0.07, 0.1, 0.082, 0.064, 0.046000000000000006, 0.028000000000000004, 0.01,
                    0.04, 0.07, 0.1]
    assert values(s, 12) == pytest.approx(torch_values, rel=1e-12)
    symmetric = schedules.cyclical(0.0, 1.0, step_size_up=2)
    assert values(symmetric, 9) == [0.0, 0.5, 1.0, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0]


def test_reduce_on_plateau_matches_torch():
    plateau = schedules.ReduceOnPlateau(0.1, factor=0.5, patience=2, cooldown=1, threshold=0.1, min_lr=0.02)
    metrics = [1.0, 0.95, 0.95, 0.96, 0.5, 0.49, 0.48, 0.47, 0.47, 0.47, 0.47, 0.47, 0.47]
    # ReduceLROnPlateau(SGD(lr=0.1), factor=0.5, patience=2, cooldown=1, threshold=0.1, min_lr=0.02),
    # lr after each scheduler.step(metric)
    torch_values = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.02, 0.02]
    assert [plateau.update(m) for m in metrics] == pytest.approx(torch_values, rel=1e-15)
    # ReduceLROnPlateau(SGD(lr=0.1), mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs")
    rising = schedules.ReduceOnPlateau(0.1, mode="max", factor=0.5, patience=1, threshold=0.1,
                                       threshold_mode="abs")
    got = [rising.update(m) for m in [-2.0, -1.95, -1.85, -1.0, -1.0, -1.0]]
    assert got == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.1, 0.05], rel=1e-15)


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
