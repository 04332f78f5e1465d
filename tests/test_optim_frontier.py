"""LARS, SophiaG, Adafactor and Prodigy: each against golden trajectories of its reference
implementation (tests/golden/frontier_*.npz, made by tests/golden/make_frontier_fixtures.py),
validation, state-dict resume, parameter groups, float32, and convergence on a problem
each is meant for."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tinygrad_opt import Value, nn, optim

GOLDEN = Path(__file__).parent / "golden"
KINDS = {"lars": optim.LARS, "sophia": optim.SophiaG, "adafactor": optim.Adafactor, "prodigy": optim.Prodigy}


def load_fixture(kind: str) -> dict:
    with np.load(GOLDEN / f"frontier_{kind}.npz", allow_pickle=False) as archive:
        fixture = {name: archive[name] for name in archive.files}
    fixture["cases"] = json.loads(str(fixture["cases"]))
    return fixture


FIXTURES = {kind: load_fixture(kind) for kind in KINDS}
ALL_CASES = [(kind, case["name"]) for kind, fixture in FIXTURES.items() for case in fixture["cases"]]


# ---------------------------------------------------------------- the problems
def net_params(data: dict, dtype: type = np.float64) -> dict[str, Value]:
    return {name: Value(data[name].astype(dtype)) for name in ("W1", "b1", "W2")}


def net_logits(params: dict[str, Value], X: np.ndarray) -> Value:  # noqa: N803
    return (Value(X) @ params["W1"] + params["b1"]).tanh() @ params["W2"]


def loss_of(params: dict[str, Value], data: dict, problem: str, dtype: type = np.float64) -> Value:
    if problem == "scalars":
        x, y = params["x"], params["y0"]
        return (1 - x) ** 2 + 5 * (y - x**2) ** 2
    return nn.cross_entropy(net_logits(params, data["X"].astype(dtype)), data["y"])


def make_optimizer(kind: str, case: dict, params: dict[str, Value]) -> optim.Optimizer:
    groups = case.get("groups")
    if groups:
        groups = [{**group, "params": [params[name] for name in group["params"]]} for group in groups]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    return KINDS[kind](groups or list(params.values()), **kwargs)


def replay(kind: str, case: dict, fixture: dict) -> dict[str, list]:
    """Our optimizer on the fixture's problem, step for step as the fixture script ran the reference."""
    if case["problem"] == "net":
        params = net_params(fixture)
    else:
        params = {"x": Value(float(fixture["x"])), "y0": Value(float(fixture["y0"]))}
    opt = make_optimizer(kind, case, params)
    trajectory = {name: [np.copy(p.data)] for name, p in params.items()}
    every = int(fixture["hessian_every"])
    labels = iter(fixture.get(f"{case['name']}/hessian_labels", []))
    for step in range(int(fixture["steps"])):
        opt.zero_grad()
        loss_of(params, fixture, case["problem"]).backward()
        if kind == "sophia":
            opt.step(bs=case["bs"])
        else:
            opt.step()
        if kind == "sophia" and step % every == every - 1:
            opt.zero_grad()
            if case["problem"] == "net":
                nn.cross_entropy(net_logits(params, fixture["X"]), next(labels)).backward()
            else:
                loss_of(params, fixture, case["problem"]).backward()
            opt.update_hessian()
        for name, p in params.items():
            trajectory[name].append(np.copy(p.data))
    return trajectory


# --------------------------------------------------------- golden trajectories
@pytest.mark.parametrize(("kind", "name"), ALL_CASES, ids=[f"{k}-{n}" for k, n in ALL_CASES])
def test_trajectory_equals_the_reference_implementation(kind, name):
    fixture = FIXTURES[kind]
    case = next(case for case in fixture["cases"] if case["name"] == name)
    ours = replay(kind, case, fixture)
    for param, points in ours.items():
        want = fixture[f"{name}/{param}"]
        assert np.abs(want[-1] - want[0]).max() > 1e-3  # the case really moves its parameters
        np.testing.assert_allclose(np.array(points), want, rtol=1e-10, atol=1e-14,
                                   err_msg=f"{kind} {name}: {param}")


def test_fixtures_record_the_reference_versions():
    for fixture in FIXTURES.values():
        versions = json.loads(str(fixture["versions"]))
        assert set(versions) == {"torch", "pytorch-optimizer", "prodigyopt", "sophia.py sha256"}


def test_trajectories_also_hold_with_a_learning_rate_schedule():
    """A schedule lr(step) gives, step for step, the run with those rates set by hand."""
    fixture = FIXTURES["lars"]
    schedule = optim.schedules.cosine(1.0, 10)
    params, by_hand = net_params(fixture), net_params(fixture)
    scheduled = optim.LARS(list(params.values()), lr=schedule)
    manual = optim.LARS(list(by_hand.values()), lr=1.0)
    for step in range(10):
        manual.param_groups[0]["lr"] = schedule(step)
        for opt, ps in ((scheduled, params), (manual, by_hand)):
            opt.zero_grad()
            loss_of(ps, fixture, "net").backward()
            opt.step()
    for name in params:
        np.testing.assert_array_equal(params[name].data, by_hand[name].data)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(("cls", "kwargs", "error", "match"), [
    (optim.LARS, dict(lr=-0.1), ValueError, "learning rate"),
    (optim.LARS, dict(lr=0.1, momentum=1.5), ValueError, "momentum"),
    (optim.LARS, dict(lr=0.1, dampening=-0.1), ValueError, "dampening"),
    (optim.LARS, dict(lr=0.1, weight_decay=-1.0), ValueError, "weight_decay"),
    (optim.LARS, dict(lr=0.1, trust_coefficient=-0.001), ValueError, "trust_coefficient"),
    (optim.LARS, dict(lr=0.1, momentum=0.0, nesterov=True), ValueError, "Nesterov"),
    (optim.LARS, dict(lr="fast"), TypeError, "learning rate"),
    (optim.SophiaG, dict(betas=(1.0, 0.99)), ValueError, "beta1"),
    (optim.SophiaG, dict(betas=(0.9,)), ValueError, "betas"),
    (optim.SophiaG, dict(rho=-0.04), ValueError, "rho"),
    (optim.SophiaG, dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (optim.Adafactor, dict(beta2_decay=0.5), ValueError, "beta2_decay"),
    (optim.Adafactor, dict(beta2_decay="fast"), TypeError, "beta2_decay must be a number"),
    (optim.Adafactor, dict(eps=(-1e-30, 1e-3)), ValueError, "eps1"),
    (optim.Adafactor, dict(eps=(None, -1e-3)), ValueError, "eps2"),
    (optim.Adafactor, dict(eps=1e-3), ValueError, "pair"),
    (optim.Adafactor, dict(d=0.5), ValueError, "clipping threshold d"),
    (optim.Adafactor, dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (optim.Prodigy, dict(d0=0.0), ValueError, "d0"),
    (optim.Prodigy, dict(d0=-1e-6), ValueError, "d0"),
    (optim.Prodigy, dict(beta3=1.0), ValueError, "beta3"),
    (optim.Prodigy, dict(betas=(0.9, 1.0)), ValueError, "beta2"),
    (optim.Prodigy, dict(eps=-1e-8), ValueError, "eps"),
    (optim.Prodigy, dict(d_coef=-1.0), ValueError, "d_coef"),
    (optim.Prodigy, dict(growth_rate=0.5), ValueError, "growth_rate"),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_bad_hyperparameters_are_named(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls([Value(np.ones((2, 2)))], **kwargs)


def test_sophia_step_checks_its_batch_size():
    opt = optim.SophiaG([Value(np.ones(3))])
    with pytest.raises(ValueError, match=r"batch size \(bs\)"):
        opt.step(bs=0)
    with pytest.raises(TypeError, match=r"batch size \(bs\)"):
        opt.step(bs="many")


def test_prodigy_needs_one_learning_rate_across_groups_and_freezes_a_group_at_zero():
    a, b, frozen = Value(np.array([1.0, -2.0])), Value(np.array([0.5, 3.0])), Value(np.array([4.0, 4.0]))
    mismatched = optim.Prodigy([{"params": [a]}, {"params": [b], "lr": 0.5}])
    (a * a + b * b).sum().backward()
    with pytest.raises(ValueError, match="one learning rate"):
        mismatched.step()
    opt = optim.Prodigy([{"params": [a, b]}, {"params": [frozen], "lr": 0.0, "weight_decay": 0.1}])
    for _ in range(5):
        opt.zero_grad()
        ((a - 3) ** 2 + (b + 1) ** 2 + frozen**2).sum().backward()
        opt.step()
    assert frozen.data.tolist() == [4.0, 4.0]
    assert not np.allclose(a.data, [1.0, -2.0])
    assert [group["d"] for group in opt.param_groups] == [opt.param_groups[0]["d"]] * 2  # one shared d


def test_prodigy_with_no_gradient_yet_changes_nothing():
    p = Value(np.array([1.0, 2.0]))
    opt = optim.Prodigy([p])
    opt.step()  # the gradient is still zero: no distance to learn from
    assert p.data.tolist() == [1.0, 2.0] and opt.param_groups[0]["step"] == 1  # counted, nothing moved
    assert opt.param_groups[0]["d"] == 1e-6


# ------------------------------------------------------------- state and dtype
RESUME_CASES = [
    (optim.LARS, dict(lr=optim.schedules.cosine(2.0, 20), weight_decay=0.01, trust_coefficient=0.02,
                      nesterov=True)),
    (optim.SophiaG, dict(lr=0.05, rho=0.05)),
    (optim.Adafactor, dict(lr=0.05, weight_decay=0.01)),
    (optim.Prodigy, dict(weight_decay=0.01, use_bias_correction=True)),
]


def mixed_params() -> list[Value]:
    fixture = FIXTURES["lars"]
    return [*net_params(fixture).values(), Value(0.3)]  # two matrices, a vector and a scalar


def train(opt: optim.Optimizer, params: list[Value], steps: int, start: int = 0) -> None:
    """The net's loss plus (c - 1)^2 for the scalar c; SophiaG refreshes its Hessian every 2 steps."""
    fixture = FIXTURES["lars"]
    named = dict(zip(("W1", "b1", "W2"), params[:3], strict=True))
    rng = np.random.default_rng(start)
    for step in range(start, start + steps):
        opt.zero_grad()
        (loss_of(named, fixture, "net") + (params[3] - 1.0) ** 2).backward()
        if isinstance(opt, optim.SophiaG):
            opt.step(bs=16)
        else:
            opt.step()
        if isinstance(opt, optim.SophiaG) and step % 2 == 1:
            opt.zero_grad()
            logits = net_logits(named, fixture["X"])
            (nn.cross_entropy(logits, optim.sample_labels(logits, rng)) + (params[3] - 1.0) ** 2).backward()
            opt.update_hessian()


@pytest.mark.parametrize(("cls", "kwargs"), RESUME_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_state_dict_resume_equals_the_uninterrupted_run(cls, kwargs):
    params = mixed_params()
    opt = cls(params, **kwargs)
    train(opt, params, 6)
    saved = opt.state_dict()
    saved_data = [np.copy(p.data) if type(p.data) is not float else p.data for p in params]
    train(opt, params, 7, start=6)

    resumed = mixed_params()
    for p, data in zip(resumed, saved_data, strict=True):
        p.data = data
    opt2 = cls(resumed, **kwargs)
    opt2.load_state_dict(saved)
    train(opt2, resumed, 7, start=6)
    for p, q in zip(params, resumed, strict=True):
        assert np.array_equal(p.data, q.data)
    assert opt2.param_groups[0]["step"] == 13
    assert not np.array_equal(resumed[0].data, FIXTURES["lars"]["W1"])


@pytest.mark.parametrize(("cls", "kwargs"), RESUME_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_float32_stays_float32_and_follows_the_float64_run(cls, kwargs):
    fixture = FIXTURES["lars"]
    runs = {}
    for dtype in (np.float32, np.float64):
        params = net_params(fixture, dtype)
        opt = cls(list(params.values()), **kwargs)
        for _ in range(8):
            opt.zero_grad()
            loss_of(params, fixture, "net", dtype).backward()
            opt.step(bs=16) if cls is optim.SophiaG else opt.step()
        runs[dtype] = params
        if dtype is np.float32:
            for p in params.values():
                assert p.data.dtype == np.float32
                assert all(buffer.dtype == np.float32 for buffer in opt.state[p].values())
    for name in runs[np.float64]:
        np.testing.assert_allclose(runs[np.float32][name].data, runs[np.float64][name].data, rtol=1e-4,
                                   atol=1e-5)


# ---------------------------------------------------------- what each one does
def test_lars_moves_a_matrix_by_lr_times_eta_times_its_norm_and_a_vector_by_plain_sgd():
    rng = np.random.default_rng(5)
    W, b = Value(rng.normal(size=(4, 3))), Value(rng.normal(size=3))
    W0, b0 = W.data.copy(), b.data.copy()
    opt = optim.LARS([W, b], lr=0.5, momentum=0.0, trust_coefficient=0.01)
    W.grad[...] = rng.normal(size=(4, 3)) * 100  # a huge gradient does not make a huge step
    b.grad[...] = [1.0, -2.0, 3.0]
    opt.step()
    assert np.linalg.norm(W.data - W0) == pytest.approx(0.5 * 0.01 * np.linalg.norm(W0), rel=1e-12)
    np.testing.assert_allclose(b.data, b0 - 0.5 * np.array([1.0, -2.0, 3.0]), rtol=1e-15)


def test_adafactor_keeps_one_row_and_one_column_for_a_matrix():
    W, kernel, bias = Value(np.ones((6, 5))), Value(np.ones((2, 3, 4))), Value(np.ones(5))
    opt = optim.Adafactor([W, kernel, bias])
    for p in (W, kernel, bias):
        p.grad[...] = 1.0
    opt.step()
    assert {name: buffer.shape for name, buffer in opt.state[W].items()} == {"row_var": (6, 1),
                                                                              "col_var": (1, 5)}
    assert {name: buffer.shape for name, buffer in opt.state[kernel].items()} == {"row_var": (2, 3, 1),
                                                                                   "col_var": (2, 1, 4)}
    assert opt.state[bias]["variance"].shape == (5,)
    # the first step: V_hat = g^2, so U = sign(g), RMS(U) = 1, and theta moves by rho_1 * RMS(theta) = 0.01
    np.testing.assert_allclose(W.data, 0.99, rtol=1e-15)


def test_sophia_without_a_hessian_estimate_takes_full_clipped_sign_steps():
    p = Value(np.array([1.0, -1.0, 2.0]))
    opt = optim.SophiaG([p], lr=0.1, weight_decay=0.0)
    p.grad[...] = [1e-6, -3.0, 0.0]
    opt.step(bs=4)
    np.testing.assert_allclose(p.data, [0.9, -0.9, 2.0])  # h = 0: every moving coordinate steps lr
    p.grad[...] = [2.0, 2.0, 2.0]
    opt.update_hessian()  # h = (1 - 0.99) * 4 = 0.04: the clip no longer binds for small m
    assert opt.state[p]["hessian"].tolist() == pytest.approx([0.04] * 3)


def test_sample_labels_follow_the_softmax():
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.05, 0.05, 0.9]]))
    rng = np.random.default_rng(0)
    draws = np.array([optim.sample_labels(Value(logits), rng) for _ in range(4000)])
    assert draws.shape == (4000, 2) and draws.dtype.kind == "i"
    for row, probabilities in enumerate(np.exp(logits)):
        frequencies = np.bincount(draws[:, row], minlength=3) / 4000
        np.testing.assert_allclose(frequencies, probabilities, atol=0.03)  # 4 standard errors at most
    with pytest.raises(ValueError, match="class axis"):
        optim.sample_labels(np.array(1.0), rng)
    with pytest.raises(TypeError, match="Generator"):
        optim.sample_labels(logits, 0)


# ------------------------------------------------------------------ convergence
def matrix_regression() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares for a 8 x 4 weight matrix: A, the solution W*, and a start W0."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(64, 8))  # noqa: N806
    return A, rng.normal(size=(8, 4)) * 3, rng.normal(size=(8, 4))


def relative_distance_after(make, steps: int) -> float:
    A, W_star, W0 = matrix_regression()  # noqa: N806
    W = Value(W0.copy())
    opt = make([W])
    for _ in range(steps):
        opt.zero_grad()
        ((Value(A) @ W - A @ W_star) ** 2).mean().backward()
        opt.step()
    return float(np.linalg.norm(W.data - W_star) / np.linalg.norm(W_star))


def test_lars_with_polynomial_decay_solves_a_matrix_regression():
    # the trust ratio fixes each step near lr * eta * ||W||: only a decaying lr lets it settle
    steps = 300
    distance = relative_distance_after(
        lambda p: optim.LARS(p, lr=lambda step: (1 - step / steps) ** 2, trust_coefficient=0.01), steps)
    assert distance < 1e-5  # measured 9e-7


def test_adafactor_solves_a_matrix_regression_with_its_defaults():
    assert relative_distance_after(lambda p: optim.Adafactor(p), 1000) < 1e-8  # measured 2e-11


def test_prodigy_learns_the_step_size_from_a_tiny_d0():
    holder = {}

    def make(params):
        holder["opt"] = optim.Prodigy(params)
        return holder["opt"]

    assert relative_distance_after(make, 400) < 1e-7  # measured 1e-9
    assert holder["opt"].param_groups[0]["d"] > 0.1  # measured 0.9: up from 1e-6


def test_sophia_with_the_gnb_estimator_solves_a_softmax_regression():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(128, 5))  # noqa: N806
    true_logits = X @ (rng.normal(size=(5, 3)) * 1.5)
    probabilities = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in probabilities])  # noisy labels: a finite optimum

    def loss(W: Value) -> Value:  # noqa: N803
        return nn.cross_entropy(Value(X) @ W, y)

    best = Value(np.zeros((5, 3)))
    lbfgs = optim.LBFGS([best], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> Value:
        lbfgs.zero_grad()
        value = loss(best)
        value.backward()
        return value

    lbfgs.step(closure)
    W = Value(np.zeros((5, 3)))  # noqa: N806
    opt = optim.SophiaG([W], lr=0.05, weight_decay=0.0)
    for step in range(600):
        opt.zero_grad()
        loss(W).backward()
        opt.step(bs=len(y))
        if step % 10 == 9:  # the Gauss-Newton-Bartlett estimate: labels from the model itself
            opt.zero_grad()
            logits = Value(X) @ W
            nn.cross_entropy(logits, optim.sample_labels(logits, rng)).backward()
            opt.update_hessian()
    gap = float(loss(W).data) - float(loss(best).data)
    assert 0 <= gap < 1e-7  # measured 1.4e-9

    def centred(M: np.ndarray) -> np.ndarray:  # softmax ignores a constant added to every class
        return M - M.mean(axis=1, keepdims=True)

    distance = np.linalg.norm(centred(W.data) - centred(best.data)) / np.linalg.norm(centred(best.data))
    assert distance < 1e-3  # measured 7e-5


# ---------------------------------------------------------------------- the race
def test_prodigy_races_on_two_scalars_with_no_learning_rate_to_tune():
    from tinygrad_opt.race import MORE_RACERS, RACER_NAMES, race, standard_racers

    assert "Prodigy" in MORE_RACERS and "Prodigy" not in RACER_NAMES  # the post's four stay four
    racers = standard_racers({"Adam": 0.01, "Prodigy": 1.0})
    assert list(racers) == ["Adam", "Prodigy"]
    assert isinstance(racers["Prodigy"]([Value(1.0), Value(2.0)]), optim.Prodigy)
    for landscape in ("bowl", "ravine", "himmelblau"):
        prodigy = race(landscape, racers, steps=200)["Prodigy"]
        assert not prodigy.diverged and prodigy.final_loss < 1e-5, landscape  # measured 1e-7, 6e-8, 3e-6
    with pytest.raises(ValueError, match="racers: SGD, Momentum, RMSProp, Adam, Prodigy"):
        standard_racers({"LARS": 0.1})


def test_prodigy_with_a_schedule_that_starts_at_zero_moves_on():
    w = Value(np.array([3.0, -2.0]))
    opt = optim.Prodigy([w], lr=optim.schedules.warmup_cosine(1.0, 5, 50))
    assert opt.lrs == [0.0]
    for _ in range(20):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert opt.param_groups[0]["step"] == 20  # the zero-lr first step was counted: the warmup went on
    assert np.linalg.norm(w.data) < 1.0  # and the weights moved towards 0: measured 0.68, from 3.6
