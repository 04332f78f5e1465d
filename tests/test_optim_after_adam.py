"""Adagrad, NAdam, RAdam, Lion and LAMB beyond the golden trajectories of
tests/test_golden.py: LAMB without bias correction (no reference library has it) and
tensors larger than one chunk against the NumPy transcriptions of tests/optim_rules.py,
hand-computed first steps, float32, convergence and validation."""

from __future__ import annotations

import functools

import numpy as np
import optim_rules as rules
import pytest
from test_optim import distance_to_rosenbrock_minimum, quadratic_steps, without_reference

from tinygrad_opt import Value, optim
from tinygrad_opt.optim.optimizer import CHUNK

CASES = [
    (optim.Adagrad, rules.adagrad, dict(lr=0.1)),
    (optim.Adagrad, rules.adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1)),
    (optim.Adagrad, rules.adagrad, dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3)),
    (optim.NAdam, rules.nadam, dict(lr=0.05)),
    (optim.NAdam, rules.nadam, dict(lr=0.05, betas=(0.8, 0.99), momentum_decay=0.1, weight_decay=0.1)),
    (optim.NAdam, rules.nadam, dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True)),
    (optim.RAdam, rules.radam, dict(lr=0.05)),
    (optim.RAdam, rules.radam, dict(lr=0.05, betas=(0.9, 0.9), eps=1e-4, weight_decay=0.1)),
    (optim.RAdam, rules.radam, dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.1,
                                    decoupled_weight_decay=True)),
    (optim.Lion, rules.lion, dict(lr=0.01)),
    (optim.Lion, rules.lion, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.5)),
    (optim.LAMB, rules.lamb, dict(lr=0.05)),
    (optim.LAMB, rules.lamb, dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1)),
    (optim.LAMB, rules.lamb, dict(lr=0.05, weight_decay=0.1, bias_correction=False)),
    (optim.RAdam, rules.radam, dict(lr=lambda step: 0.05 * 0.95**step, betas=(0.9, 0.9))),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("scalar", [False, True], ids=["tensor", "scalars"])
@pytest.mark.parametrize(("cls", "rule", "hyper"), without_reference(CASES, IDS)[0],
                         ids=without_reference(CASES, IDS)[1])
def test_without_bias_correction_matches_its_rule(cls, rule, hyper, scalar):
    got = rules.run_engine(lambda ps: cls(ps, **hyper), rules.X0, 25, scalar)
    if cls is optim.LAMB and scalar:
        rule = functools.partial(rule, per_element=True)  # each scalar is its own "layer"
    want = rules.run_rule(rule, rules.X0, 25, **hyper)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert not np.allclose(got[-1], rules.X0)


@pytest.mark.parametrize(("cls", "rule", "hyper"), CASES[1::3], ids=IDS[1::3])
def test_large_tensor_is_updated_chunk_by_chunk_with_the_same_rule(cls, rule, hyper):
    rng = np.random.default_rng(1)
    n = 2 * CHUNK + 3
    x0, c = rng.normal(size=n), rng.normal(size=n)
    got = rules.run_engine(lambda ps: cls(ps, **hyper), x0, 3, scalar=False, c=c)
    want = rules.run_rule(rule, x0, 3, c=c, **hyper)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_radam_is_momentum_sgd_until_rho_exceeds_five():
    # beta2 = 0.999: rho_1..rho_5 <= 5, so the first steps are lr * m_hat = lr * g on p^2 at step 1
    p = Value(1.0)
    assert quadratic_steps(optim.RAdam([p], lr=0.1), p, 1) == pytest.approx([1 - 0.1 * 2], abs=1e-15)


def test_adagrad_first_steps_by_hand():
    # g1 = 2, G = 4, p = 1 - 0.1*2/2 = 0.9; g2 = 1.8, G = 4 + 3.24 = 7.24, p = 0.9 - 0.1*1.8/sqrt(7.24)
    p = Value(1.0)
    got = quadratic_steps(optim.Adagrad([p], lr=0.1, eps=0.0), p, 2)
    assert got == pytest.approx([0.9, 0.9 - 0.18 / np.sqrt(7.24)], abs=1e-15)


def test_lion_moves_every_coordinate_by_exactly_lr():
    p = Value(np.array([3.0, -2.0, 0.5]))
    opt = optim.Lion([p], lr=0.1)
    opt.zero_grad()
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.data, [2.9, -1.9, 0.4], atol=1e-15)


def test_lamb_first_step_moves_each_layer_by_lr_times_its_norm():
    # r = m_hat / (sqrt(v_hat) + eps) = sign(g) (up to eps), so ||r|| = sqrt(n) and theta moves by
    # lr * ||theta|| / sqrt(n) along -sign(g)
    theta0 = np.array([3.0, -4.0, 0.0, 0.0])
    p = Value(theta0.copy())
    opt = optim.LAMB([p], lr=0.1, eps=0.0)
    opt.zero_grad()
    ((p - 1.0) ** 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.data, theta0 - 0.1 * 5 / 2 * np.sign(theta0 - 1), atol=1e-15)


@pytest.mark.parametrize("cls", [optim.Adagrad, optim.NAdam, optim.RAdam, optim.Lion, optim.LAMB])
def test_float32_stays_float32(cls):
    p = Value(np.array([0.5, -1.0, 2.0], dtype=np.float32))
    opt = cls([p], lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert p.data.dtype == np.float32
    assert all(b.dtype == np.float32 for name, b in opt.state[p].items() if name != "mu_product")


# Measured distances (in the comments) with 2-3x headroom in the bound.
@pytest.mark.parametrize(("cls", "hyper", "steps", "bound"), [
    # Adagrad's steps shrink like 1/sqrt(t): it crawls along the valley
    (optim.Adagrad, dict(lr=2.0), 5000, 0.2),  # 0.11
    (optim.NAdam, dict(lr=1e-2), 3000, 3e-2),  # 1.1e-2
    # its first steps are plain momentum SGD (lr 2e-2 already diverges); beta2=0.99 rectifies sooner
    (optim.RAdam, dict(lr=1e-2, betas=(0.9, 0.99)), 3000, 1.5e-3),  # 5.4e-4
    # every coordinate moves by exactly lr, so only a decaying lr settles (constant 1e-2: 0.15)
    (optim.Lion, dict(lr=optim.schedules.exponential(1e-2, 0.998)), 3000, 3e-4),  # 8.2e-5
], ids=["Adagrad", "NAdam", "RAdam", "Lion"])
def test_reaches_the_rosenbrock_minimum_from_minus_one_and_a_half_two(cls, hyper, steps, bound):
    assert distance_to_rosenbrock_minimum(cls, hyper, steps) < bound


def test_lamb_solves_a_least_squares_problem_with_a_matrix_weight():
    """LAMB is meant for layers: its trust ratio ||W|| / ||r|| scales each tensor's step. (On
    two scalars each "layer" is one number, and it collapses them towards 0.) Measured: the
    relative distance to the least-squares solution after 500 steps is 7.3e-5."""
    rng = np.random.default_rng(5)
    X, W_true = rng.normal(size=(64, 8)), rng.normal(size=(8, 4))
    Y = X @ W_true + 0.1 * rng.normal(size=(64, 4))
    W_best = np.linalg.lstsq(X, Y, rcond=None)[0]
    W = Value(0.1 * rng.normal(size=(8, 4)))
    opt = optim.LAMB([W], lr=optim.schedules.cosine(0.05, 500))
    for _ in range(500):
        opt.zero_grad()
        ((Value(X) @ W - Y) ** 2).mean().backward()
        opt.step()
    assert np.linalg.norm(W.data - W_best) < 2e-4 * np.linalg.norm(W_best)


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: optim.Adagrad(p, lr_decay=-1.0), "lr_decay: -1.0"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-0.1), "initial_accumulator_value: -0.1"),
    (lambda p: optim.Adagrad(p, eps=-1.0), "eps"),
    (lambda p: optim.NAdam(p, momentum_decay=-0.004), "momentum_decay: -0.004"),
    (lambda p: optim.NAdam(p, betas=(0.9, 1.0)), "beta2"),
    (lambda p: optim.RAdam(p, lr=-1e-3), "-0.001"),
    (lambda p: optim.Lion(p, betas=(1.2, 0.99)), "1.2"),
    (lambda p: optim.Lion(p, weight_decay=-1.0), "weight_decay: -1.0"),
    (lambda p: optim.LAMB(p, eps=-1e-6), "-1e-06"),
])
def test_invalid_hyperparameters_raise_value_error_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])
