"""SOAP, ScheduleFreeSGD and ScheduleFreeAdamW: against golden trajectories of their reference
implementations (tests/golden/soap.npz, tests/golden/schedulefree.npz, made by
tests/golden/make_soap_schedulefree_fixtures.py), validation, state dicts, parameter groups,
float32, train/eval, and convergence on the problems each is meant for."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tinygrad_opt import Value, optim
from tinygrad_opt.optim.soap import gram, rotate, rotate_back

GOLDEN = Path(__file__).resolve().parent / "golden"
NAMES = ("W1", "b", "W2", "s")  # the fixtures' parameters: matrix 4x3, vector 3, matrix 3x3, scalar


# ---------------------------------------------------------------- the fixtures' problem
def load(name: str) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    with np.load(GOLDEN / name) as data:
        arrays = {key: data[key] for key in data.files}
    cases = json.loads(str(arrays["cases"]))
    for hyper in cases.values():
        if "betas" in hyper:
            hyper["betas"] = tuple(hyper["betas"])
    return arrays, cases


def start_params(data: dict[str, np.ndarray], dtype: type = np.float64) -> list[Value]:
    """W1, b, W2 as tensors and s as a scalar Value, at the fixtures' starting point."""
    return [Value(float(data["start/s"])) if name == "s" else Value(data[f"start/{name}"].astype(dtype))
            for name in NAMES]


def minibatch_loss(params: list[Value], data: dict[str, np.ndarray], t: int) -> Value:
    """Step t's loss: mean((s * tanh(X_t @ W1 + b) @ W2 - Y_t)^2) on rows 4k .. 4k + 3, k = (t - 1) mod 4."""
    W1, b, W2, s = params  # noqa: N806
    rows = slice(4 * ((t - 1) % 4), 4 * ((t - 1) % 4) + 4)
    X, Y = data["start/X"][rows], data["start/Y"][rows]  # noqa: N806
    dtype = np.asarray(W1.data).dtype
    return ((s * (Value(X.astype(dtype)) @ W1 + b).tanh() @ W2 - Y.astype(dtype)) ** 2).mean()


def take_step(opt: optim.Optimizer, params: list[Value], data: dict[str, np.ndarray], t: int) -> None:
    opt.zero_grad()
    minibatch_loss(params, data, t).backward()
    opt.step()


def snapshot(params: list[Value]) -> list[np.ndarray]:
    return [np.array(p.data) for p in params]


def assert_close_to_reference(got: np.ndarray, want: np.ndarray, start: np.ndarray, tolerance: float,
                              what: str) -> None:
    """|got - want| <= tolerance * (the largest distance the reference moved this parameter)."""
    travelled = np.max(np.abs(want - start))
    error = np.max(np.abs(got - want))
    assert error <= tolerance * travelled, f"{what}: error {error:.3g}, {error / travelled:.3g} of the " \
        f"distance travelled {travelled:.3g} (allowed {tolerance:g})"


# ------------------------------------------------------------------------- SOAP
SOAP_DATA, SOAP_CASES = load("soap.npz")


@pytest.mark.parametrize("case", list(SOAP_CASES))
def test_soap_equals_the_reference_with_its_qr_in_float64(case):
    # The fixture script also ran pytorch_optimizer's SOAP with one change: its refreshing QR in
    # float64 instead of float32. That run is deterministic and so is ours: 1e-10.
    data, hyper = SOAP_DATA, SOAP_CASES[case]
    params = start_params(data)
    opt = optim.SOAP(params, **hyper)
    for t in range(1, data[f"{case}_qr64/loss"].size + 1):
        take_step(opt, params, data, t)
        for name, got in zip(NAMES, snapshot(params), strict=True):
            trajectory = data[f"{case}_qr64/{name}"]
            assert_close_to_reference(got, trajectory[t], trajectory[0], 1e-10, f"{case} {name} step {t}")


@pytest.mark.parametrize("case", list(SOAP_CASES))
def test_soap_equals_pytorch_optimizer_soap(case):
    # Until the first refresh of the bases (after Adam step f, i.e. step t = f + 1) the only
    # eigendecomposition is eigh in float64 on both sides: 1e-10. The reference computes every
    # later refresh's QR in float32: its basis carries float32 rounding (unit roundoff 6e-8),
    # which moved its trajectory by up to 7e-7 of the distance travelled (measured); we allow 1e-5.
    data, hyper = SOAP_DATA, SOAP_CASES[case]
    first_refresh = hyper.get("precondition_frequency", 10) + 1
    params = start_params(data)
    opt = optim.SOAP(params, **hyper)
    for t in range(1, data[f"{case}/loss"].size + 1):
        take_step(opt, params, data, t)
        tolerance = 1e-10 if t <= first_refresh else 1e-5
        for name, got in zip(NAMES, snapshot(params), strict=True):
            trajectory = data[f"{case}/{name}"]
            assert_close_to_reference(got, trajectory[t], trajectory[0], tolerance, f"{case} {name} step {t}")


def test_soap_first_step_only_measures_and_vectors_get_adamw():
    params = start_params(SOAP_DATA)
    before = snapshot(params)
    opt = optim.SOAP(params)
    take_step(opt, params, SOAP_DATA, 1)
    for got, want in zip(snapshot(params), before, strict=True):
        np.testing.assert_array_equal(got, want)
    assert sorted(opt.state[params[0]]) == ["eigenbasis_0", "eigenbasis_1", "exp_avg", "exp_avg_sq",
                                            "preconditioner_0", "preconditioner_1"]
    assert sorted(opt.state[params[1]]) == ["exp_avg", "exp_avg_sq"]
    Q = opt.state[params[0]]["eigenbasis_0"]  # noqa: N806
    np.testing.assert_allclose(Q.T @ Q, np.eye(4), atol=1e-12)  # an orthonormal basis


def test_rotations_and_statistics_of_a_matrix_and_a_three_axis_tensor():
    rng = np.random.default_rng(5)
    G = rng.normal(size=(4, 3))  # noqa: N806
    np.testing.assert_allclose(gram(G, 0), G @ G.T, rtol=1e-14)
    np.testing.assert_allclose(gram(G, 1), G.T @ G, rtol=1e-14)
    Q_left, Q_right = (np.linalg.qr(rng.normal(size=(n, n)))[0] for n in (4, 3))  # noqa: N806
    bases = {0: Q_left, 1: Q_right}
    np.testing.assert_allclose(rotate(G, bases), Q_left.T @ G @ Q_right, atol=1e-14)
    np.testing.assert_allclose(rotate_back(G, bases), Q_left @ G @ Q_right.T, atol=1e-14)
    T = rng.normal(size=(2, 3, 4))  # noqa: N806
    bases = {axis: np.linalg.qr(rng.normal(size=(n, n)))[0] for axis, n in enumerate(T.shape)}
    np.testing.assert_allclose(rotate_back(rotate(T, bases), bases), T, atol=1e-14)
    np.testing.assert_allclose(gram(T, 1), np.einsum("aib,ajb->ij", T, T), rtol=1e-13)
    p = Value(T.copy())
    opt = optim.SOAP([p], lr=0.01)
    for _ in range(3):
        p.grad = rng.normal(size=T.shape)
        opt.step()
    assert sorted(k for k in opt.state[p] if k.startswith("eigenbasis")) == [
        "eigenbasis_0", "eigenbasis_1", "eigenbasis_2"]
    assert not np.array_equal(p.data, T)


def test_soap_max_precondition_dim_leaves_large_axes_in_the_parameters_basis():
    W = Value(np.ones((5, 2)))  # noqa: N806
    opt = optim.SOAP([W], max_precondition_dim=4)
    assert sorted(opt._init_state(W.data, opt.param_groups[0])) == [
        "eigenbasis_1", "exp_avg", "exp_avg_sq", "preconditioner_1"]


def test_soap_on_a_badly_conditioned_matrix_problem_beats_adam():
    # min_W mean((A W B - C)^2) with A and B ill-conditioned: the Hessian is a Kronecker product,
    # exactly the structure Shampoo's two factors capture (condition numbers 24 and 210). 400
    # steps at lr 0.05; measured: SOAP 0.0048 relative distance to W*, Adam 0.57.
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6)) @ np.diag(np.geomspace(1, 20, 6))  # noqa: N806
    B = np.diag(np.geomspace(1, 10, 4)) @ rng.normal(size=(4, 4))  # noqa: N806
    W_star = rng.normal(size=(6, 4))  # noqa: N806
    C = A @ W_star @ B  # noqa: N806

    def distance(opt_class: type, **hyper: float) -> float:
        W = Value(np.zeros((6, 4)))  # noqa: N806
        opt = opt_class([W], lr=0.05, **hyper)
        for _ in range(400):
            opt.zero_grad()
            ((Value(A) @ W @ B - C) ** 2).mean().backward()
            opt.step()
        return float(np.linalg.norm(W.data - W_star) / np.linalg.norm(W_star))

    assert distance(optim.SOAP, weight_decay=0.0) < 0.02
    assert distance(optim.Adam) > 0.4


# ----------------------------------------------------------------- schedule-free
FREE_DATA, FREE_CASES = load("schedulefree.npz")


def free_class(case: str) -> type:
    return optim.ScheduleFreeSGD if case.startswith("sgd") else optim.ScheduleFreeAdamW


@pytest.mark.parametrize("case", list(FREE_CASES))
def test_schedulefree_equals_the_schedulefree_package_at_y_and_x(case):
    # Deterministic on both sides: y (train) and x (eval) after every step to 1e-10. Each
    # step is followed by eval() and train(), so the round trip is checked to leave y intact.
    data, hyper = FREE_DATA, FREE_CASES[case]
    params = start_params(data)
    opt = free_class(case)(params, **hyper)
    for t in range(1, data[f"{case}/loss"].size + 1):
        take_step(opt, params, data, t)
        opt.eval()
        for name, got in zip(NAMES, snapshot(params), strict=True):
            np.testing.assert_allclose(got, data[f"{case}/x_{name}"][t], rtol=1e-10, atol=1e-14,
                                       err_msg=f"x of {name} at step {t}")
        opt.train()
        for name, got in zip(NAMES, snapshot(params), strict=True):
            np.testing.assert_allclose(got, data[f"{case}/{name}"][t], rtol=1e-10, atol=1e-14,
                                       err_msg=f"y of {name} at step {t}")


def test_schedulefree_x_is_the_mean_of_the_z_iterates_and_y_interpolates():
    # r = 0 and weight_lr_power = 0: every weight is 1, so c_t = 1/t and x_t = mean(z_1 .. z_t).
    p = Value(np.array([1.0, -2.0]))
    opt = optim.ScheduleFreeSGD([p], lr=0.1, momentum=0.7, weight_lr_power=0.0)
    zs = []
    for _ in range(6):
        opt.zero_grad()
        ((p * p).sum() + p[0] * 3.0).backward()
        opt.step()
        zs.append(opt.state[p]["z"].copy())
    z, x = opt.state[p]["z"], opt.state[p]["x"]
    np.testing.assert_allclose(x, np.mean(zs, axis=0), rtol=1e-13)
    np.testing.assert_allclose(p.data, 0.3 * z + 0.7 * x, rtol=1e-13)


def test_train_and_eval_swap_the_points_and_step_needs_train_mode():
    x0 = np.array([0.5, -1.0, 2.0])
    p, scalar = Value(x0.copy()), Value(0.8)
    opt = optim.ScheduleFreeAdamW([p, scalar], lr=0.1)
    opt.eval()  # before any step x = y = the start: nothing moves
    np.testing.assert_array_equal(p.data, x0)
    opt.train()
    for _ in range(5):
        opt.zero_grad()
        ((p - 3.0) ** 2).sum().backward()
        (scalar * scalar).backward()
        opt.step()
    y, y_scalar = p.data.copy(), scalar.data
    opt.eval()
    np.testing.assert_array_equal(p.data, opt.state[p]["x"])
    assert scalar.data == float(opt.state[scalar]["x"])
    assert not np.allclose(p.data, y)
    opt.eval()  # twice is once
    np.testing.assert_array_equal(p.data, opt.state[p]["x"])
    with pytest.raises(RuntimeError, match=r"eval mode.*optimizer\.train\(\)"):
        opt.step()
    opt.train()
    np.testing.assert_array_equal(p.data, y)
    assert scalar.data == y_scalar
    opt.train()
    np.testing.assert_array_equal(p.data, y)


def test_warmup_scales_lr_and_lrs_reports_it():
    opt = optim.ScheduleFreeSGD([Value(1.0)], lr=0.4, warmup_steps=4)
    seen = []
    for _ in range(6):
        seen.append(opt.lrs[0])
        opt.zero_grad()
        opt.param_groups[0]["params"][0].grad = 1.0
        opt.step()
    assert seen == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.4, 0.4])
    assert opt.param_groups[0]["lr_max"] == 0.4


def noisy_least_squares(make_optimizer, seed: int, steps: int = 1000) -> float:
    """Distance of the returned point (x for schedule-free) to w_true after `steps` minibatches
    of 8 noisy rows (noise 0.5) of a 6-dimensional linear regression, at a constant lr."""
    w_true = np.random.default_rng(0).normal(size=6)
    rng = np.random.default_rng(seed)
    w = Value(np.zeros(6))
    opt = make_optimizer([w])
    for _ in range(steps):
        A = rng.normal(size=(8, 6))  # noqa: N806
        opt.zero_grad()
        ((Value(A) @ w - (A @ w_true + 0.5 * rng.normal(size=8))) ** 2).mean().backward()
        opt.step()
    if isinstance(opt, optim.schedulefree.ScheduleFree):
        opt.eval()
    return float(np.linalg.norm(w.data - w_true))


@pytest.mark.parametrize(("free", "baseline"), [
    (lambda p: optim.ScheduleFreeSGD(p, lr=0.02), lambda p: optim.SGD(p, lr=0.02)),
    (lambda p: optim.ScheduleFreeAdamW(p, lr=0.02), lambda p: optim.AdamW(p, lr=0.02, weight_decay=0.0)),
], ids=["sgd", "adamw"])
def test_schedulefree_average_beats_the_constant_lr_run_on_noisy_regression(free, baseline):
    # What schedule-free is for: stochastic gradients and no schedule. Without decay the
    # constant-lr iterate keeps jumping around in the noise; the average x does not.
    # Measured over seeds 1-3: SGD 0.025 vs 0.040, AdamW 0.028 vs 0.071 mean distance.
    free_distance = np.mean([noisy_least_squares(free, seed) for seed in (1, 2, 3)])
    constant_distance = np.mean([noisy_least_squares(baseline, seed) for seed in (1, 2, 3)])
    assert free_distance < 0.035
    assert free_distance < 0.75 * constant_distance


# ------------------------------------------------------- what all three share
ALL = {
    "SOAP": lambda params, **h: optim.SOAP(params, lr=0.02, precondition_frequency=2, **h),
    "ScheduleFreeSGD": lambda params, **h: optim.ScheduleFreeSGD(params, lr=0.2, warmup_steps=3, **h),
    "ScheduleFreeAdamW": lambda params, **h: optim.ScheduleFreeAdamW(params, lr=0.02, r=0.5, **h),
}


@pytest.mark.parametrize(("cls", "hyper", "message"), [
    (optim.SOAP, dict(lr=-1.0), "learning rate"),
    (optim.SOAP, dict(betas=(0.95, 1.0)), "beta2"),
    (optim.SOAP, dict(shampoo_beta=1.5), "shampoo_beta"),
    (optim.SOAP, dict(weight_decay=-0.1), "weight_decay"),
    (optim.SOAP, dict(precondition_frequency=0), "precondition_frequency"),
    (optim.SOAP, dict(precondition_frequency=2.5), "precondition_frequency"),
    (optim.SOAP, dict(max_precondition_dim=0), "max_precondition_dim"),
    (optim.SOAP, dict(eps=-1e-8), "eps"),
    (optim.ScheduleFreeSGD, dict(lr=-0.1), "learning rate"),
    (optim.ScheduleFreeSGD, dict(momentum=1.0), "momentum"),
    (optim.ScheduleFreeSGD, dict(weight_decay=-1.0), "weight_decay"),
    (optim.ScheduleFreeSGD, dict(warmup_steps=-1), "warmup_steps"),
    (optim.ScheduleFreeSGD, dict(warmup_steps=2.5), "warmup_steps"),
    (optim.ScheduleFreeSGD, dict(r=-1.0), "r "),
    (optim.ScheduleFreeSGD, dict(weight_lr_power=float("nan")), "weight_lr_power"),
    (optim.ScheduleFreeAdamW, dict(betas=(1.0, 0.999)), "beta1"),
    (optim.ScheduleFreeAdamW, dict(betas=(0.9,)), "betas"),
    (optim.ScheduleFreeAdamW, dict(eps=-1.0), "eps"),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_bad_hyperparameters_raise_a_named_error(cls, hyper, message):
    with pytest.raises(ValueError, match=message):
        cls([Value(np.zeros((2, 2)))], **hyper)


def test_running_values_cannot_be_passed_as_hyperparameters():
    with pytest.raises(ValueError, match="weight_sum"):
        optim.ScheduleFreeSGD([{"params": [Value(1.0)], "weight_sum": 5.0}])


@pytest.mark.parametrize("name", list(ALL))
def test_state_dict_resume_equals_the_uninterrupted_run(name):
    # Stop after 7 steps (past SOAP's first refreshes), save the parameters and the optimizer,
    # resume in a fresh optimizer: the next 9 steps are bit for bit the uninterrupted ones.
    # Schedule-free saves in eval mode, as a checkpoint should be: the parameters hold x, the
    # state dict says so, and train() after loading puts y back.
    make, data = ALL[name], SOAP_DATA
    schedule_free = name != "SOAP"
    params = start_params(data)
    opt = make(params)
    for t in range(1, 8):
        take_step(opt, params, data, t)
    if schedule_free:
        opt.eval()
    saved_params, saved = snapshot(params), opt.state_dict()
    if schedule_free:
        opt.train()
    for t in range(8, 17):
        take_step(opt, params, data, t)

    resumed = start_params(data)
    for p, value in zip(resumed, saved_params, strict=True):
        p.data = float(value) if type(p.data) is float else value.copy()
    opt2 = make(resumed)
    opt2.load_state_dict(saved)
    if schedule_free:
        assert opt2.param_groups[0]["train_mode"] is False
        with pytest.raises(RuntimeError, match="eval mode"):
            opt2.step()
        opt2.train()
    for t in range(8, 17):
        take_step(opt2, resumed, data, t)
    for p, q in zip(params, resumed, strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert opt2.param_groups[0]["step"] == 16


@pytest.mark.parametrize("name", list(ALL))
def test_parameter_groups_equal_separate_optimizers(name):
    # Two groups with their own lr and decay run as two optimizers would: each group has its
    # own step count (and, for schedule-free, its own lr_max and weight sum).
    make, data = ALL[name], SOAP_DATA
    params = start_params(data)
    opt = make([{"params": params[:2], "lr": 0.05, "weight_decay": 0.1}, {"params": params[2:]}])
    alone = start_params(data)
    first = make(alone[:2], weight_decay=0.1)
    first.param_groups[0]["lr"] = 0.05
    second = make(alone[2:])
    for t in range(1, 9):
        take_step(opt, params, data, t)
        for o in (first, second):
            o.zero_grad()
        minibatch_loss(alone, data, t).backward()
        first.step()
        second.step()
    for p, q in zip(params, alone, strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert [group["lr"] for group in opt.param_groups][0] == 0.05


@pytest.mark.parametrize("name", list(ALL))
def test_float32_parameters_and_state_stay_float32(name):
    data = SOAP_DATA
    params = start_params(data, np.float32)[:3]
    opt = ALL[name](params)
    for t in range(1, 8):
        opt.zero_grad()
        minibatch_loss([*params, Value(1.3)], data, t).backward()
        opt.step()
    if name != "SOAP":
        opt.eval()
        opt.train()
    for p in params:
        assert p.data.dtype == np.float32
        assert all(buffer.dtype == np.float32 for buffer in opt.state[p].values())
    assert np.all(np.isfinite(params[0].data))
