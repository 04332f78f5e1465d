"""Muon and L-BFGS beyond the golden trajectories of tests/test_golden.py: what the
fixtures do not cover (wide matrices, ns_steps, a schedule as lr, the two-loop recursion
against the explicit BFGS matrix) against the NumPy transcriptions of tests/optim_rules.py;
the strong Wolfe conditions, convergence, state dicts and validation."""

from __future__ import annotations

import numpy as np
import optim_rules as rules
import pytest
from test_optim import distance_to_rosenbrock_minimum, rosenbrock

from tinygrad_opt import Value, optim
from tinygrad_opt.optim.muon import newton_schulz


# -------------------------------------------------------------------------- Muon
@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5)])
def test_newton_schulz_pushes_singular_values_towards_one_keeping_the_directions(shape):
    rng = np.random.default_rng(2)
    G = rng.normal(size=shape) * np.geomspace(1, 10, shape[1])  # columns of very different sizes
    ortho = newton_schulz(G)
    np.testing.assert_allclose(ortho, rules.newton_schulz(G), rtol=1e-12, atol=1e-12)
    singular_values = np.linalg.svd(ortho, compute_uv=False)
    assert np.all(singular_values > 0.6) and np.all(singular_values < 1.25)
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    polar = U @ Vt  # the exact orthogonalisation
    cosine = np.sum(ortho * polar) / (np.linalg.norm(ortho) * np.linalg.norm(polar))
    assert cosine > 0.95


# The golden fixtures cover the defaults, plain momentum and "match_rms_adamw" with 5 steps.
@pytest.mark.parametrize("hyper", [
    dict(lr=0.05, adjust_lr_fn="match_rms_adamw", ns_steps=3),
    dict(lr=lambda step: 0.05 / (1 + step)),
], ids=["match-rms-3-steps", "schedule"])
def test_muon_matches_its_rule_on_matrices_and_adamw_on_the_rest(hyper):
    rng = np.random.default_rng(3)
    W0, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    W, bias, gain = Value(W0.copy()), Value(rules.X0.copy()), Value(0.7)
    opt = optim.Muon([W, bias, gain], adamw_lr=0.02, adamw_weight_decay=0.1, **hyper)
    want_W, state = W0.copy(), {}
    for t in range(1, 8):
        opt.zero_grad()
        loss = (((W - target) ** 2) * (1 + W**2)).sum() + rules.loss_tensor(bias) + (gain - 2.0) ** 4
        loss.backward()
        opt.step()
        grad_W = 2 * (want_W - target) * (1 + want_W**2) + 2 * want_W * (want_W - target) ** 2
        want_W = rules.muon(want_W, grad_W, state, t, **{k: v for k, v in hyper.items()})
    np.testing.assert_allclose(W.data, want_W, rtol=1e-12, atol=1e-12)
    adamw = dict(lr=0.02, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    np.testing.assert_allclose(bias.data, rules.run_rule(rules.adamw, rules.X0, 7, **adamw)[-1], rtol=1e-12)
    state = {}
    want_gain = np.array([0.7])
    for t in range(1, 8):
        want_gain = rules.adamw(want_gain, 4 * (want_gain - 2.0) ** 3, state, t, **adamw)
    assert gain.data == pytest.approx(want_gain[0], rel=1e-12)


def test_muon_solves_a_matrix_regression_and_keeps_float32():
    """Measured: W within 7.9e-6 (relative) of the true weights after 300 steps in float32."""
    rng = np.random.default_rng(4)
    X, W_true = rng.normal(size=(32, 8)), rng.normal(size=(8, 4))
    Y = X @ W_true
    W = Value(np.zeros((8, 4), dtype=np.float32))
    opt = optim.Muon([W], lr=optim.schedules.cosine(0.1, 300), weight_decay=0.0)
    for _ in range(300):
        opt.zero_grad()
        ((X.astype(np.float32) @ W - Y.astype(np.float32)) ** 2).mean().backward()
        opt.step()
    assert np.linalg.norm(W.data - W_true) < 3e-5 * np.linalg.norm(W_true)
    assert W.data.dtype == np.float32 and opt.state[W]["momentum_buffer"].dtype == np.float32


def test_muon_on_rosenbrock_uses_adamw_for_its_two_scalars():
    """Scalars go to AdamW: measured distance to (1, 1) after 3000 steps 1.3e-5."""
    distance = distance_to_rosenbrock_minimum(optim.Muon, dict(adamw_lr=0.02, adamw_weight_decay=0.0), 3000)
    assert distance < 5e-5
    assert distance == distance_to_rosenbrock_minimum(optim.AdamW, dict(lr=0.02, weight_decay=0.0), 3000)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(momentum=1.0), "momentum: 1.0"),
    (dict(ns_steps=0), "ns_steps: 0"),
    (dict(adjust_lr_fn="bigger"), "bigger"),
    (dict(adamw_betas=(0.9, 1.5)), "1.5"),
    (dict(weight_decay=-0.1), "weight_decay: -0.1"),
])
def test_muon_rejects_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.Muon([Value(np.zeros((2, 2)))], **kwargs)


# ------------------------------------------------------------------------- L-BFGS
def lbfgs_run(params, opt, loss_fn, steps):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)


@pytest.mark.parametrize("history_size", [3, 100])
def test_lbfgs_two_loop_recursion_equals_the_explicit_bfgs_matrix(history_size):
    # 4 calls of 3 iterations each follow the same iterates as 12 iterations in a row
    p = Value(rules.X0.copy())
    opt = optim.LBFGS([p], lr=0.5, max_iter=3, max_eval=10, history_size=history_size, tolerance_grad=0.0,
                      tolerance_change=0.0)
    positions = []
    for _ in range(4):
        lbfgs_run([p], opt, lambda: rules.loss_tensor(p), 1)
        positions.append(p.data.copy())
    want = rules.lbfgs(rules.X0.copy(), rules.grad_f, 12, lr=0.5, history_size=history_size)
    np.testing.assert_allclose(positions, want[2::3], rtol=1e-10, atol=1e-12)
    assert opt.memory["func_evals"] == 4 * 3  # one at the start of each call, one after each non-final move


def test_lbfgs_scalars_and_tensors_form_one_vector():
    scalars = [Value(float(rules.X0[0])), Value(float(rules.X0[1]))]
    tensor = Value(rules.X0[2:].copy())
    opt = optim.LBFGS([scalars[0], tensor, scalars[1]], lr=0.5, max_iter=6, max_eval=10, tolerance_grad=0.0,
                      tolerance_change=0.0)

    def loss():
        return rules.loss_scalars(scalars, rules.C[:2]) + rules.loss_tensor(tensor, rules.C[2:])

    lbfgs_run(None, opt, loss, 1)
    order = [0, 2, 3, 1]  # the optimizer's vector is (scalar 0, tensor, scalar 1)
    x0 = rules.X0[order]
    want = rules.lbfgs(x0, lambda x: rules.grad_f(x, rules.C[order]), 6, lr=0.5)[-1]
    got = [scalars[0].data, *tensor.data, scalars[1].data]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert type(scalars[0].data) is float


def test_lbfgs_strong_wolfe_steps_satisfy_the_conditions_and_solve_rosenbrock():
    x, y = Value(-1.5), Value(2.0)
    opt = optim.LBFGS([x, y], max_iter=1, max_eval=26, line_search_fn="strong_wolfe")  # a line search of 25

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x, y)
        loss.backward()
        return loss

    checked = 0
    for _ in range(40):
        before = np.array([x.data, y.data])
        loss_before = closure().data
        grad_before = np.array([x.grad, y.grad])
        opt.step(closure)
        move = np.array([x.data, y.data]) - before
        if np.max(np.abs(grad_before)) < 1e-6:
            break
        loss_after = closure().data
        grad_after = np.array([x.grad, y.grad])
        assert loss_after <= loss_before + 1e-4 * grad_before @ move  # sufficient decrease
        assert abs(grad_after @ move) <= 0.9 * abs(grad_before @ move)  # curvature, strong form
        checked += 1
    assert checked > 10
    assert rosenbrock(x, y).data < 1e-8


@pytest.mark.parametrize(("line_search_fn", "bound"), [(None, 3e-5), ("strong_wolfe", 1e-5)])
def test_lbfgs_reaches_the_rosenbrock_minimum_from_minus_one_and_a_half_two(line_search_fn, bound):
    """Five calls of up to 20 iterations; measured distances to (1, 1): 9.5e-6 with the fixed
    step, 3.3e-6 with strong Wolfe."""
    x, y = Value(-1.5), Value(2.0)
    opt = optim.LBFGS([x, y], line_search_fn=line_search_fn)
    lbfgs_run(None, opt, lambda: rosenbrock(x, y), 5)
    assert np.hypot(x.data - 1, y.data - 1) < bound


def test_lbfgs_state_dict_resume_equals_the_uninterrupted_run():
    def make():
        return Value(rules.X0.copy())

    p = make()
    opt = optim.LBFGS([p], lr=0.5, max_iter=4, history_size=5, line_search_fn="strong_wolfe")
    lbfgs_run(None, opt, lambda: rules.loss_tensor(p), 2)
    saved, saved_data = opt.state_dict(), p.data.copy()
    lbfgs_run(None, opt, lambda: rules.loss_tensor(p), 3)
    q = Value(saved_data)
    opt2 = optim.LBFGS([q], lr=0.5, max_iter=4, history_size=5, line_search_fn="strong_wolfe")
    opt2.load_state_dict(saved)
    lbfgs_run(None, opt2, lambda: rules.loss_tensor(q), 3)
    assert np.array_equal(p.data, q.data)


def test_lbfgs_returns_the_first_loss_and_needs_a_closure():
    p = Value(np.array([2.0]))
    opt = optim.LBFGS([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).data == 4.0
    assert abs(p.data[0]) < 1e-6  # a quadratic is solved in a few iterations
    with pytest.raises(ValueError, match="closure"):
        opt.step()


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(line_search_fn="backtracking"), "backtracking"),
    (dict(history_size=0), "history_size: 0"),
    (dict(max_iter=2.5), "max_iter: 2.5"),
    (dict(lr=-1.0), "-1.0"),
    (dict(tolerance_grad=-1e-7), "tolerance_grad"),
])
def test_lbfgs_rejects_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.LBFGS([Value(1.0)], **kwargs)


def test_lbfgs_has_one_parameter_group():
    with pytest.raises(ValueError, match="one parameter group"):
        optim.LBFGS([{"params": [Value(1.0)]}, {"params": [Value(2.0)]}])


def test_muon_state_dict_resume_equals_the_uninterrupted_run():
    rng = np.random.default_rng(5)
    W0, b0, target = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(4, 3))

    def run(opt, W, b, s, steps):
        for _ in range(steps):
            opt.zero_grad()
            (((W - target) ** 2).sum() + rules.loss_tensor(b, rules.C[:3]) + (s - 1.0) ** 4).backward()
            opt.step()

    W, b, s = Value(W0.copy()), Value(b0.copy()), Value(0.3)
    opt = optim.Muon([W, b, s], lr=0.05, adamw_lr=0.05)
    run(opt, W, b, s, 4)
    saved, saved_data = opt.state_dict(), (W.data.copy(), b.data.copy(), s.data)
    run(opt, W, b, s, 4)
    W2, b2, s2 = Value(saved_data[0]), Value(saved_data[1]), Value(saved_data[2])
    opt2 = optim.Muon([W2, b2, s2], lr=0.05, adamw_lr=0.05)
    opt2.load_state_dict(saved)
    run(opt2, W2, b2, s2, 4)
    assert np.array_equal(W.data, W2.data) and np.array_equal(b.data, b2.data) and s.data == s2.data
