"""The Optimizer base class, SGD, RMSProp, Adam and AdamW beyond the golden trajectories
of tests/test_golden.py: what no reference library has (Adam without bias correction,
tensors larger than one chunk, layouts, dtypes, random hyperparameters), checked against
the NumPy transcriptions of tests/optim_rules.py; hand-computed first steps, state dicts,
parameter groups, schedules as lr, convergence and validation."""

from __future__ import annotations

import numpy as np
import optim_rules as rules
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_opt import Value, optim
from tinygrad_opt.optim.optimizer import CHUNK

CASES = [
    (optim.SGD, rules.sgd, dict(lr=0.05)),
    (optim.SGD, rules.sgd, dict(lr=0.05, momentum=0.9)),
    (optim.SGD, rules.sgd, dict(lr=0.05, momentum=0.8, dampening=0.3)),
    (optim.SGD, rules.sgd, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (optim.SGD, rules.sgd, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.SGD, rules.sgd, dict(lr=0.05, weight_decay=0.2)),
    (optim.RMSProp, rules.rmsprop, dict(lr=0.01)),
    (optim.RMSProp, rules.rmsprop, dict(lr=0.01, alpha=0.9, eps=1e-3)),
    (optim.RMSProp, rules.rmsprop, dict(lr=0.01, centered=True)),
    (optim.RMSProp, rules.rmsprop, dict(lr=0.01, momentum=0.9)),
    (optim.RMSProp, rules.rmsprop, dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
    (optim.Adam, rules.adam, dict(lr=0.05)),
    (optim.Adam, rules.adam, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3)),
    (optim.Adam, rules.adam, dict(lr=0.05, amsgrad=True)),
    (optim.Adam, rules.adam, dict(lr=0.05, weight_decay=0.1)),
    (optim.Adam, rules.adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1, bias_correction=False)),
    (optim.Adam, rules.adam, dict(lr=0.05, bias_correction=False)),
    (optim.AdamW, rules.adamw, dict(lr=0.05)),
    (optim.AdamW, rules.adamw, dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    (optim.SGD, rules.sgd, dict(lr=lambda step: 0.05 / (1 + step), momentum=0.9)),
    (optim.Adam, rules.adam, dict(lr=lambda step: 0.05 * 0.9**step)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _) in enumerate(CASES)]


def without_reference(cases: list, ids: list) -> tuple[list, list]:
    """The cases no reference library can check (bias_correction=False): the rest are golden."""
    kept = [(case, i) for case, i in zip(cases, ids, strict=True) if case[2].get("bias_correction") is False]
    return [case for case, _ in kept], [i for _, i in kept]


@pytest.mark.parametrize("scalar", [False, True], ids=["tensor", "scalars"])
@pytest.mark.parametrize(("cls", "rule", "hyper"), without_reference(CASES, IDS)[0],
                         ids=without_reference(CASES, IDS)[1])
def test_without_bias_correction_matches_its_rule(cls, rule, hyper, scalar):
    got = rules.run_engine(lambda ps: cls(ps, **hyper), rules.X0, 25, scalar)
    want = rules.run_rule(rule, rules.X0, 25, **hyper)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert not np.allclose(got[-1], rules.X0)  # it moved


@pytest.mark.parametrize(("cls", "rule", "hyper"), CASES[::2], ids=IDS[::2])
def test_large_tensor_is_updated_chunk_by_chunk_with_the_same_rule(cls, rule, hyper):
    rng = np.random.default_rng(0)
    n = 2 * CHUNK + 7  # three pieces, the last one short
    x0, c = rng.normal(size=n), rng.normal(size=n)
    got = rules.run_engine(lambda ps: cls(ps, **hyper), x0, 3, scalar=False, c=c)
    want = rules.run_rule(rule, x0, 3, c=c, **hyper)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("cls", "rule", "hyper"), [CASES[i] for i in (2, 10, 14)],
                         ids=[IDS[i] for i in (2, 10, 14)])
def test_parameters_of_several_shapes_and_dtypes_share_the_scratch_arrays(cls, rule, hyper):
    # small, larger (the scratch buffer grows), small again, float32 and scalars in one optimizer
    rng = np.random.default_rng(3)
    x0s = [rng.normal(size=3), rng.normal(size=(40, 5)), rng.normal(size=3), rng.normal(size=7)]
    cs = [rng.normal(size=x.shape) for x in x0s]
    params = [Value(x.copy()) for x in x0s[:3]] + [Value(x0s[3].astype(np.float32))]
    scalars = [Value(float(v)) for v in rules.X0[:2]]
    opt = cls(params + scalars, **hyper)
    for _ in range(4):
        opt.zero_grad()
        loss = rules.loss_scalars(scalars, rules.C[:2])
        for p, c in zip(params, cs, strict=True):
            loss = loss + rules.loss_tensor(p, c)
        loss.backward()
        opt.step()
    for p, x0, c in zip(params[:3], x0s[:3], cs[:3], strict=True):
        want = rules.run_rule(rule, x0, 4, c=c, **hyper)[-1]
        np.testing.assert_allclose(p.data, want, rtol=1e-12, atol=1e-12)
    want32 = rules.run_rule(rule, x0s[3].astype(np.float32).astype(np.float64), 4, c=cs[3], **hyper)[-1]
    np.testing.assert_allclose(params[3].data, want32, rtol=1e-5, atol=1e-6)
    want = rules.run_rule(rule, rules.X0[:2], 4, c=rules.C[:2], **hyper)[-1]
    np.testing.assert_allclose([p.data for p in scalars], want, rtol=1e-12, atol=1e-12)
    assert all(type(p.data) is float for p in scalars) and params[3].data.dtype == np.float32


def test_parameter_groups_have_their_own_hyperparameters():
    x0_a, x0_b = rules.X0[:2], rules.X0[2:]
    a, b = Value(x0_a.copy()), Value(x0_b.copy())
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01, "nesterov": True}], lr=0.05, momentum=0.9)
    for _ in range(10):
        opt.zero_grad()
        (rules.loss_tensor(a, rules.C[:2]) + rules.loss_tensor(b, rules.C[2:])).backward()
        opt.step()
    want_a = rules.run_rule(rules.sgd, x0_a, 10, c=rules.C[:2], lr=0.05, momentum=0.9)[-1]
    want_b = rules.run_rule(rules.sgd, x0_b, 10, c=rules.C[2:], lr=0.01, momentum=0.9, nesterov=True)[-1]
    np.testing.assert_allclose(a.data, want_a, rtol=1e-12)
    np.testing.assert_allclose(b.data, want_b, rtol=1e-12)
    assert opt.lrs == [0.05, 0.01]


def test_add_param_group_starts_its_own_step_count():
    a, b = Value(1.0), Value(np.array([1.0, -2.0]))
    opt = optim.Adam([a], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (a * a).backward()
        opt.step()
    opt.add_param_group({"params": [b], "lr": 0.5})
    opt.zero_grad()
    (a * a + (b * b).sum()).backward()
    opt.step()
    assert [g["step"] for g in opt.param_groups] == [4, 1]
    # b's first Adam step is lr * g / (|g| + eps) = 0.5 * sign(g) (up to eps)
    np.testing.assert_allclose(b.data, [0.5, -1.5], rtol=1e-7)


def test_scalars_and_tensors_mix_in_one_group():
    x0 = rules.X0
    scalars = [Value(float(x0[0])), Value(float(x0[1]))]
    tensor = Value(x0[2:].copy())
    opt = optim.Adam([scalars[0], tensor, scalars[1]], lr=0.05, amsgrad=True)
    for _ in range(10):
        opt.zero_grad()
        (rules.loss_scalars(scalars, rules.C[:2]) + rules.loss_tensor(tensor, rules.C[2:])).backward()
        opt.step()
    want = rules.run_rule(rules.adam, x0, 10, lr=0.05, amsgrad=True)[-1]
    np.testing.assert_allclose([s.data for s in scalars] + list(tensor.data), want, rtol=1e-12)
    assert type(scalars[0].data) is float
    # per-parameter state of a scalar is readable by name, as for a tensor
    assert set(opt.state[scalars[1]]) == {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert opt.state[scalars[1]]["exp_avg"].shape == ()
    assert opt.state[tensor]["exp_avg"].shape == (2,)


# ------------------------------------------------------------- hand-computed steps
def quadratic_steps(opt, p, steps):
    """Minimise p^2 (gradient 2p); return p after each step."""
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (p * p).backward()
        opt.step()
        out.append(p.data)
    return out


def test_sgd_momentum_by_hand():
    # g1 = 2, b1 = g1 = 2, p = 1 - 0.1*2 = 0.8; g2 = 1.6, b2 = 0.9*2 + 1.6 = 3.4, p = 0.8 - 0.34 = 0.46
    p = Value(1.0)
    got = quadratic_steps(optim.SGD([p], lr=0.1, momentum=0.9), p, 2)
    assert got == pytest.approx([0.8, 0.46], abs=1e-15)


def test_sgd_nesterov_by_hand():
    # g1 = 2, b1 = 2, d1 = 2 + 0.9*2 = 3.8, p = 1 - 0.38 = 0.62
    # g2 = 1.24, b2 = 1.8 + 1.24 = 3.04, d2 = 1.24 + 2.736 = 3.976, p = 0.62 - 0.3976 = 0.2224
    p = Value(1.0)
    got = quadratic_steps(optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True), p, 2)
    assert got == pytest.approx([0.62, 0.2224], abs=1e-15)


def test_sgd_weight_decay_by_hand():
    # g = 2p + 0.5p = 2.5 at p = 1: p = 1 - 0.1*2.5 = 0.75
    p = Value(1.0)
    assert quadratic_steps(optim.SGD([p], lr=0.1, weight_decay=0.5), p, 1) == pytest.approx([0.75], abs=1e-15)


def test_rmsprop_first_step_by_hand():
    # g = 2, v = 0.01*4 = 0.04, s = 0.2 + 1e-8: p = 1 - 0.01 * 2 / 0.2 = 0.9 (eps shifts it by 5e-9)
    p = Value(1.0)
    got = quadratic_steps(optim.RMSProp([p], lr=0.01), p, 1)
    assert got == pytest.approx([1 - 0.01 * 2 / (0.2 + 1e-8)], abs=1e-15)
    assert got[0] - 0.9 == pytest.approx(5e-9, rel=1e-6)


def test_adam_first_steps_by_hand_and_what_bias_correction_fixes():
    # step 1: m = 0.1*2 = 0.2, v = 0.001*4 = 0.004, m_hat = 2, v_hat = 4: p = 1 - 0.1*2/(2 + 1e-8)
    p = Value(1.0)
    got = quadratic_steps(optim.Adam([p], lr=0.1), p, 1)[0]
    assert got == pytest.approx(1 - 0.1 * 2 / (2 + 1e-8), abs=1e-15)
    # without correction: m = 0.2, sqrt(v) = 0.0632...: the step 0.1*0.2/0.0632 = 0.316 lr, not lr
    q = Value(1.0)
    got = quadratic_steps(optim.Adam([q], lr=0.1, bias_correction=False), q, 1)[0]
    assert got == pytest.approx(1 - 0.1 * 0.2 / (np.sqrt(0.004) + 1e-8), abs=1e-15)
    assert 1 - got == pytest.approx(0.1 * np.sqrt(10), rel=1e-6)


def test_adamw_decays_before_the_adam_step_by_hand():
    # theta0 = 1 decays to 1 - 0.1*0.5 = 0.95, then Adam's first step moves it by lr * 2/(2 + eps)
    p = Value(1.0)
    got = quadratic_steps(optim.AdamW([p], lr=0.1, weight_decay=0.5), p, 1)[0]
    assert got == pytest.approx(0.95 - 0.1 * 2 / (2 + 1e-8), abs=1e-15)


# -------------------------------------------------------------------- behaviour
def test_float32_parameters_and_state_stay_float32():
    for cls in (optim.SGD, optim.RMSProp, optim.Adam, optim.AdamW):
        p = Value(np.array([0.5, -1.0, 2.0], dtype=np.float32))
        kwargs = {"momentum": 0.9} if cls in (optim.SGD, optim.RMSProp) else {}
        opt = cls([p], lr=0.01, **kwargs)
        for _ in range(2):
            opt.zero_grad()
            (p * p).sum().backward()
            opt.step()
        assert p.data.dtype == np.float32, cls
        assert all(buffer.dtype == np.float32 for buffer in opt.state[p].values()), cls


def test_tensor_is_updated_in_place():
    data = np.array([1.0, 2.0])
    p = Value(data)
    opt = optim.Adam([p], lr=0.1)
    opt.zero_grad()
    (p * p).sum().backward()
    opt.step()
    assert p.data is data and data[0] != 1.0


def test_step_with_closure_returns_the_loss():
    p = Value(np.array([3.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.data == 9.0
    assert p.data[0] == pytest.approx(3.0 - 0.1 * 6.0)
    assert opt.step() is None


def test_zero_grad_resets_scalars_and_tensors():
    a, b = Value(2.0), Value(np.array([1.0, 2.0]))
    (a * b).sum().backward()
    grad_b = b.grad
    optim.SGD([a, b], lr=0.1).zero_grad()
    assert a.grad == 0.0 and b.grad is grad_b and not b.grad.any()


def test_schedule_lr_is_read_at_the_group_step():
    p = Value(1.0)
    opt = optim.SGD([p], lr=lambda step: 0.1 * (step + 1))
    assert opt.lrs == [0.1]
    quadratic_steps(opt, p, 2)
    assert opt.lrs == [pytest.approx(0.3)]
    assert p.data == pytest.approx((1 - 0.1 * 2) * (1 - 0.2 * 2))


def _strided_rows(a: np.ndarray) -> np.ndarray:
    """`a` copied into every other row of a larger array: a view that is not contiguous."""
    base = np.zeros((2 * a.shape[0], a.shape[1]), a.dtype)
    base[::2] = a
    return base[::2]


LAYOUTS = {
    "fortran": np.asfortranarray,
    "transposed": lambda a: np.ascontiguousarray(a.T).T,  # a transpose of a C-order array
    "strided-slice": _strided_rows,
}
LARGE_SHAPE = (600, 500)  # 300,000 elements: more than one CHUNK


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize(("cls", "rule", "hyper"), [
    (optim.SGD, rules.sgd, dict(lr=0.05, momentum=0.9)),
    (optim.SGD, rules.sgd, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (optim.Adam, rules.adam, dict(lr=0.05)),
    (optim.Adam, rules.adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
], ids=["SGD-momentum", "SGD-nesterov", "Adam", "Adam-amsgrad"])
def test_large_non_contiguous_parameter_follows_the_rule(cls, rule, hyper, layout):
    rng = np.random.default_rng(1)
    x0, c = rng.normal(size=LARGE_SHAPE), rng.normal(size=LARGE_SHAPE)
    data = LAYOUTS[layout](x0.copy())
    assert data.size > CHUNK and not data.flags.c_contiguous
    p = Value(data)
    opt = cls([p], **hyper)
    want = rules.run_rule(rule, x0, 3, c=c, **hyper)
    for step in range(3):
        opt.zero_grad()
        rules.loss_tensor(p, c).backward()
        opt.step()
        np.testing.assert_allclose(p.data, want[step], rtol=1e-12, atol=1e-12)
    assert p.data is data  # updated in place, in its own layout
    if layout == "strided-slice":
        assert not data.base[1::2].any()  # the rows in between are untouched


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_large_non_contiguous_float32_parameter_stays_float32(cls, layout):
    rng = np.random.default_rng(2)
    x0, c = rng.normal(size=LARGE_SHAPE), rng.normal(size=LARGE_SHAPE)
    hyper = dict(lr=0.05, momentum=0.9) if cls is optim.SGD else dict(lr=0.05)
    rule = rules.sgd if cls is optim.SGD else rules.adam
    p = Value(LAYOUTS[layout](x0.astype(np.float32)))
    opt = cls([p], **hyper)
    for _ in range(2):
        opt.zero_grad()
        rules.loss_tensor(p, c.astype(np.float32)).backward()
        opt.step()
    assert p.data.dtype == np.float32
    assert all(buffer.dtype == np.float32 for buffer in opt.state[p].values())
    want = rules.run_rule(rule, x0.astype(np.float32).astype(np.float64), 2, c=c.astype(np.float32), **hyper)
    np.testing.assert_allclose(p.data, want[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("cls", "hyper"), [
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.RMSProp, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adam, dict(lr=0.05, amsgrad=True)),
    (optim.AdamW, dict(lr=lambda step: 0.05 / (1 + step))),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
    (optim.NAdam, dict(lr=0.05)),
    (optim.RAdam, dict(lr=0.05, betas=(0.9, 0.95))),
    (optim.Lion, dict(lr=0.01, weight_decay=0.1)),
    (optim.LAMB, dict(lr=0.05, weight_decay=0.01)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_state_dict_resume_equals_the_uninterrupted_run(cls, hyper):
    def make():
        return [Value(float(rules.X0[0])), Value(float(rules.X0[1])), Value(rules.X0[2:].copy())]

    def run(opt, params, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss = rules.loss_scalars(params[:2], rules.C[:2]) + rules.loss_tensor(params[2], rules.C[2:])
            loss.backward()
            opt.step()

    params = make()
    opt = cls(params, **hyper)
    run(opt, params, 5)
    saved = opt.state_dict()
    saved_params = [p.data if type(p.data) is float else p.data.copy() for p in params]
    run(opt, params, 7)

    resumed = make()
    for p, data in zip(resumed, saved_params, strict=True):
        p.data = data
    opt2 = cls(resumed, **hyper)
    opt2.load_state_dict(saved)
    run(opt2, resumed, 7)
    for p, q in zip(params, resumed, strict=True):
        assert np.array_equal(p.data, q.data)
    assert saved["param_groups"][0]["step"] == 5 and opt2.param_groups[0]["step"] == 12


def test_load_state_dict_rejects_a_mismatched_optimizer():
    opt = optim.Adam([Value(np.zeros(3))])
    opt.step()
    with pytest.raises(ValueError, match="parameters"):
        optim.Adam([Value(np.zeros(3)), Value(1.0)]).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([Value(np.zeros(4))]).load_state_dict(opt.state_dict())


def _bad_state_dicts() -> dict[str, tuple[dict, str]]:
    """State dicts that do not fit a fresh Adam over (tensor of 3, scalar), and what the error names."""
    def saved_from(params, **hyper):
        opt = optim.Adam(params, **hyper)
        opt.zero_grad()
        (params[0].sum() * 2 + params[1] * 3).backward()
        opt.step()
        return opt.state_dict()

    wrong_shape = saved_from([Value(np.ones(4)), Value(1.0)], lr=0.5)
    bad_lr = saved_from([Value(np.ones(3)), Value(1.0)])
    bad_lr["param_groups"][0]["lr"] = -1.0
    bad_index = saved_from([Value(np.ones(3)), Value(1.0)], lr=0.5)
    bad_index["state"][7] = bad_index["state"].pop(1)
    wrong_buffers = saved_from([Value(np.ones(3)), Value(1.0)], lr=0.5, amsgrad=True)
    wrong_buffers["param_groups"][0]["amsgrad"] = False
    return {
        "shape": (wrong_shape, r"'exp_avg' of parameter 0 has shape \(4,\), expected \(3,\)"),
        "lr": (bad_lr, "-1.0"),
        "index": (bad_index, "parameter 7"),
        "buffers": (wrong_buffers, "max_exp_avg_sq"),
    }


@pytest.mark.parametrize("case", ["shape", "lr", "index", "buffers"])
def test_a_failed_load_state_dict_leaves_the_optimizer_as_it_was(case):
    saved, message = _bad_state_dicts()[case]

    def run(opt, params, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss = rules.loss_tensor(params[0], rules.C[:3]) + rules.loss_scalars(params[1:], rules.C[3:])
            loss.backward()
            opt.step()

    params = [Value(rules.X0[:3].copy()), Value(float(rules.X0[3]))]
    untouched = [Value(rules.X0[:3].copy()), Value(float(rules.X0[3]))]
    opt, reference = optim.Adam(params, lr=0.1), optim.Adam(untouched, lr=0.1)
    run(opt, params, 2)
    run(reference, untouched, 2)
    before = opt.state_dict()
    state_objects = {p: dict(s) for p, s in opt.state.items()}
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["step"] == 2
    assert state_objects == {p: dict(s) for p, s in opt.state.items()}  # the very same buffers
    for p, buffers in before["state"].items():
        for name, value in buffers.items():
            assert np.array_equal(opt.state[params[p]][name], value)
    run(opt, params, 3)
    run(reference, untouched, 3)
    assert np.array_equal(params[0].data, untouched[0].data) and params[1].data == untouched[1].data


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(("make", "message"), [
    (lambda p: optim.SGD(p, lr=-0.1), "-0.1"),
    (lambda p: optim.SGD(p, lr=float("nan")), "nan"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening=0.1"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay: -1"),
    (lambda p: optim.RMSProp(p, alpha=1.5), "alpha: 1.5"),
    (lambda p: optim.RMSProp(p, eps=-1e-8), "eps"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta1"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "-0.1"),
    (lambda p: optim.Adam(p, betas=0.9), "betas"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "-0.01"),
    (lambda p: optim.Adam([{"params": p, "lr": -2.0}]), "-2.0"),
    (lambda p: optim.Adam([{"params": p, "momentum": 0.9}]), "momentum"),
    (lambda p: optim.Adam(p + p), "more than once"),
    (lambda p: optim.Adam([]), "empty"),
])
def test_invalid_hyperparameters_raise_value_error_naming_them(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make([Value(1.0)])


def test_a_repeated_parameter_is_named_by_its_groups_positions_and_shape():
    weight, bias = Value(np.zeros((2, 3)), label="weight"), Value(np.zeros(3))
    where = "group 0 position 0, and group 0 position 2"
    with pytest.raises(ValueError, match=r"'weight' of shape \(2, 3\) appears more than once.*" + where):
        optim.SGD([weight, bias, weight], lr=0.1)
    opt = optim.SGD([weight], lr=0.1)
    opt.add_param_group({"params": [bias]})
    with pytest.raises(ValueError, match=r"shape \(3,\) .* group 1 position 0, and group 2 position 1"):
        opt.add_param_group({"params": [Value(1.0), bias]})
    assert len(opt.param_groups) == 2  # the rejected group was not added


def test_non_values_and_non_numbers_raise_type_error():
    with pytest.raises(TypeError, match="ndarray"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="str"):
        optim.SGD([Value(1.0)], lr="fast")


def test_a_schedule_returning_a_negative_lr_is_an_error():
    p = Value(1.0)
    opt = optim.SGD([p], lr=lambda step: 0.1 - step)
    opt.step()
    with pytest.raises(ValueError, match="step 1"):
        opt.step()


# ------------------------------------------------------------------ Rosenbrock
def rosenbrock(x: Value, y: Value) -> Value:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def distance_to_rosenbrock_minimum(opt_class, hyper: dict, steps: int) -> float:
    """Run `steps` updates from (-1.5, 2); return the distance to the minimum (1, 1)."""
    x, y = Value(-1.5), Value(2.0)
    opt = opt_class([x, y], **hyper)
    for _ in range(steps):
        opt.zero_grad()
        rosenbrock(x, y).backward()
        opt.step()
    return float(np.hypot(x.data - 1, y.data - 1))


# Measured distances (in the comments) with about 3x headroom in the bound.
@pytest.mark.parametrize(("cls", "hyper", "steps", "bound"), [
    (optim.SGD, dict(lr=2e-3), 3000, 2e-2),  # 6.8e-3
    (optim.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True), 2000, 5e-4),  # 1.7e-4
    # a constant lr leaves RMSProp circling at about lr (3.8e-2 after 5000 steps): decay it
    (optim.RMSProp, dict(lr=optim.schedules.exponential(1e-2, 0.999)), 5000, 1e-2),  # 3.6e-3
    (optim.Adam, dict(lr=2e-2), 3000, 5e-5),  # 1.3e-5
    (optim.AdamW, dict(lr=2e-2, weight_decay=1e-3), 3000, 1e-2),  # 4.2e-3: the decay pulls towards 0
], ids=["SGD", "Nesterov", "RMSProp", "Adam", "AdamW"])
def test_reaches_the_rosenbrock_minimum_from_minus_one_and_a_half_two(cls, hyper, steps, bound):
    assert distance_to_rosenbrock_minimum(cls, hyper, steps) < bound


# -------------------------------------------------------------- property-based
rates = st.floats(1e-4, 0.2)
coefficients = st.floats(0.0, 0.999)
starts = st.lists(st.floats(-2.0, 2.0), min_size=4, max_size=4).map(np.array)


@settings(max_examples=40, deadline=None)
@given(x0=starts, lr=rates, momentum=coefficients, dampening=st.floats(0.0, 1.0),
       weight_decay=st.floats(0.0, 0.5), nesterov=st.booleans())
def test_sgd_matches_its_rule_for_any_hyperparameters(x0, lr, momentum, dampening, weight_decay, nesterov):
    hyper = dict(lr=lr, momentum=momentum, dampening=0.0 if nesterov else dampening,
                 weight_decay=weight_decay, nesterov=nesterov and momentum > 0)
    got = rules.run_engine(lambda ps: optim.SGD(ps, **hyper), x0, 8, scalar=False)
    np.testing.assert_allclose(got, rules.run_rule(rules.sgd, x0, 8, **hyper), rtol=1e-11, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(x0=starts, lr=rates, beta1=coefficients, beta2=coefficients, eps=st.floats(1e-10, 1e-2),
       weight_decay=st.floats(0.0, 0.5), amsgrad=st.booleans(), decoupled=st.booleans())
def test_adam_and_adamw_match_their_rule_for_any_hyperparameters(x0, lr, beta1, beta2, eps, weight_decay,
                                                                  amsgrad, decoupled):
    cls, rule = (optim.AdamW, rules.adamw) if decoupled else (optim.Adam, rules.adam)
    hyper = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
    got = rules.run_engine(lambda ps: cls(ps, **hyper), x0, 8, scalar=True)
    np.testing.assert_allclose(got, rules.run_rule(rule, x0, 8, **hyper), rtol=1e-11, atol=1e-12)


def test_rmsprop_has_pytorchs_spelling_too():
    assert optim.RMSprop is optim.RMSProp
