"""Optimizers fail safely: state belongs to the parameter, a step that fails changes
nothing, and every bad hyperparameter, gradient or state dict gets a clear error."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from tinygrad_opt import Value, optim

# Every optimizer of optim/ that updates from `.grad` (LBFGS has its own tests below),
# with settings that use all of its state buffers.
MAKERS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
    "RMSProp": lambda ps: optim.RMSProp(ps, lr=0.01, momentum=0.5, centered=True),
    "Adam": lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True, weight_decay=0.01),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.1),
    "NAdam": lambda ps: optim.NAdam(ps, lr=0.1),
    "RAdam": lambda ps: optim.RAdam(ps, lr=0.1),
    "Lion": lambda ps: optim.Lion(ps, lr=0.01, weight_decay=0.1),
    "LAMB": lambda ps: optim.LAMB(ps, lr=0.1, weight_decay=0.01),
    "Muon": lambda ps: optim.Muon(ps, lr=0.02, adamw_lr=0.1),
}
TARGET = 0.25  # every coordinate is pulled towards it


def set_grads(params: list[Value]) -> None:
    """The gradient of sum((p - TARGET)^2 * (1 + position)) for each parameter."""
    for i, p in enumerate(params):
        p.grad = 2 * (1 + i) * (p.data - TARGET)  # a float for a scalar, an array for a tensor


def make_params() -> list[Value]:
    rng = np.random.default_rng(0)
    return [Value(1.5), Value(-0.75), Value(rng.normal(size=(3, 4))), Value(rng.normal(size=5))]


def run(opt: optim.Optimizer, params: list[Value], steps: int) -> None:
    for _ in range(steps):
        set_grads(params)
        opt.step()


def snapshot(opt: optim.Optimizer, params: list[Value]) -> tuple:
    state = {id(p): {name: np.copy(buffer) for name, buffer in s.items()} for p, s in opt.state.items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    memory = copy.deepcopy(getattr(opt, "memory", None))  # LBFGS's history
    return [copy.deepcopy(p.data) for p in params], state, copy.deepcopy(groups), memory


def assert_same(a: object, b: object) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (a != a and b != b), (a, b)


# --------------------------------------------------- state belongs to the parameter
@pytest.mark.parametrize("name", list(MAKERS))
def test_reordering_the_parameters_keeps_each_ones_state(name):
    reference = make_params()
    reference_opt = MAKERS[name](reference)
    run(reference_opt, reference, 6)

    params = make_params()
    opt = MAKERS[name](params)
    run(opt, params, 3)
    opt.param_groups[0]["params"].reverse()  # the gradients stay with their parameters
    run(opt, params, 3)
    for got, want in zip(params, reference, strict=True):
        np.testing.assert_allclose(got.data, want.data, rtol=1e-13, atol=1e-15)
    for got, want in zip(params, reference, strict=True):
        for buffer in reference_opt.state[want]:
            np.testing.assert_allclose(opt.state[got][buffer], reference_opt.state[want][buffer],
                                       rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSProp", "NAdam", "Lion"])
def test_appending_a_scalar_gives_it_fresh_state_and_leaves_the_others(name):
    reference = make_params()[:2]
    reference_opt = MAKERS[name](reference)
    run(reference_opt, reference, 5)

    params = make_params()[:2]
    opt = MAKERS[name](params)
    run(opt, params, 3)
    newcomer = Value(2.0)
    opt.param_groups[0]["params"].append(newcomer)
    for _ in range(2):
        set_grads(params)
        newcomer.grad = 2 * (newcomer.data - TARGET)
        opt.step()
    for got, want in zip(params, reference, strict=True):
        np.testing.assert_allclose(got.data, want.data, rtol=1e-13, atol=1e-15)
    assert newcomer.data != 2.0 and newcomer in opt.state
    assert np.shape(opt.state[newcomer][next(iter(opt.state[newcomer]))]) == ()


def test_removing_a_scalar_keeps_the_state_of_the_rest():
    reference = make_params()[1:2]
    reference_opt = optim.Adam(reference, lr=0.1)
    run(reference_opt, reference, 4)
    params = make_params()[:2]
    opt = optim.Adam(params, lr=0.1)
    for _ in range(2):
        set_grads(params)
        params[0].grad = 0.0  # the removed one: its gradient plays no part in the other's
        params[1].grad = 2 * (params[1].data - TARGET)
        opt.step()
    opt.param_groups[0]["params"].pop(0)
    for _ in range(2):
        params[1].grad = 2 * (params[1].data - TARGET)
        opt.step()
    np.testing.assert_allclose(params[1].data, reference[0].data, rtol=1e-13)


# --------------------------------------------------- a failed step changes nothing
def _bad_second_tensor_none(params: list[Value]) -> None:
    params[3].grad = None


def _bad_second_scalar_none(params: list[Value]) -> None:
    params[1].grad = None


def _bad_broadcastable_shape(params: list[Value]) -> None:
    params[3].grad = np.ones(1)  # (1,) broadcasts to (5,): silently wrong before


def _bad_transposed_matrix(params: list[Value]) -> None:
    params[2].grad = np.ones((4, 3))


def _bad_scalar_given_an_array(params: list[Value]) -> None:
    params[1].grad = np.ones(3)


BAD_GRADS = [_bad_second_tensor_none, _bad_second_scalar_none, _bad_broadcastable_shape,
             _bad_transposed_matrix, _bad_scalar_given_an_array]


@pytest.mark.parametrize("spoil", BAD_GRADS, ids=lambda f: f.__name__[5:])
@pytest.mark.parametrize("name", list(MAKERS))
def test_a_step_that_fails_changes_nothing(name, spoil):
    params = make_params()
    opt = MAKERS[name](params)
    run(opt, params, 2)
    set_grads(params)
    spoil(params)
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match=r"position [123] of group 0.*nothing was updated"):
        opt.step()
    assert_same(snapshot(opt, params), before)
    # and the run goes on exactly as one that never failed
    reference = make_params()
    reference_opt = MAKERS[name](reference)
    run(reference_opt, reference, 3)
    run(opt, params, 1)
    for got, want in zip(params, reference, strict=True):
        np.testing.assert_allclose(got.data, want.data, rtol=1e-13, atol=1e-15)


def test_a_bad_gradient_in_the_second_group_leaves_the_first_group_alone():
    params = make_params()
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.01}], lr=0.1)
    run(opt, params, 1)
    set_grads(params)
    params[3].grad = None
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match="group 1"):
        opt.step()
    assert_same(snapshot(opt, params), before)
    assert [g["step"] for g in opt.param_groups] == [1, 1]


def test_a_schedule_returning_inf_raises_before_anything_changes():
    params = make_params()
    opt = optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": lambda step: math.inf}], lr=0.1)
    set_grads(params)
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match="schedule returned inf at step 0"):
        opt.step()
    assert_same(snapshot(opt, params), before)


def test_zero_grad_gives_a_missing_gradient_back():
    params = make_params()
    params[3].grad = None
    opt = optim.SGD(params, lr=0.1)
    opt.zero_grad()
    np.testing.assert_array_equal(params[3].grad, np.zeros(5))


# --------------------------------------------------- bad hyperparameters
def numeric_hyperparameters(name: str) -> list[str]:
    defaults = MAKERS[name](make_params()).defaults
    return [key for key, value in defaults.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)]


CASES = [(name, key) for name in MAKERS for key in numeric_hyperparameters(name)]


@pytest.mark.parametrize(("name", "key"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_hyperparameter_is_a_value_error_naming_it(name, key, bad):
    opt = MAKERS[name](make_params())
    with pytest.raises(ValueError, match=rf"{key}.*{bad!r}|{key}.*{bad}"):
        type(opt)(make_params(), **{key: bad})


@pytest.mark.parametrize("name", [n for n in MAKERS if "betas" in MAKERS[n](make_params()).defaults])
@pytest.mark.parametrize("betas", [(math.nan, 0.999), (0.9, math.nan), (0.9, math.inf)])
def test_nan_or_inf_betas_are_a_value_error(name, betas):
    with pytest.raises(ValueError, match=r"beta[12]"):
        type(MAKERS[name](make_params()))(make_params(), betas=betas)


@pytest.mark.parametrize(("name", "key"), [("Adam", "amsgrad"), ("Adam", "bias_correction"),
                                           ("SGD", "nesterov"), ("RMSProp", "centered"),
                                           ("NAdam", "decoupled_weight_decay"), ("Muon", "nesterov"),
                                           ("LAMB", "bias_correction")])
@pytest.mark.parametrize("bad", [math.nan, 1, "yes"])
def test_a_switch_that_is_not_true_or_false_is_a_type_error(name, key, bad):
    with pytest.raises(TypeError, match=rf"{key} must be True or False"):
        type(MAKERS[name](make_params()))(make_params(), **{key: bad})


@pytest.mark.parametrize("coefficients", [(math.nan, -4.775, 2.0315), (3.4445, math.inf, 2.0315)])
def test_muon_coefficients_must_be_finite(coefficients):
    with pytest.raises(ValueError, match=r"ns_coefficients\[[01]\]"):
        optim.Muon(make_params(), ns_coefficients=coefficients)


@pytest.mark.parametrize("key", ["adamw_lr", "adamw_eps", "adamw_weight_decay"])
def test_muon_adamw_hyperparameters_must_be_finite(key):
    with pytest.raises(ValueError, match=key):
        optim.Muon(make_params(), **{key: math.nan})


def test_lr_inf_in_a_parameter_group_is_a_value_error():
    params = make_params()
    with pytest.raises(ValueError, match=r"learning rate \(lr\): inf"):
        optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": math.inf}])


@pytest.mark.parametrize("step", [-1, 1.5, math.nan, True, "3"])
def test_a_parameter_group_with_a_bad_step_count_is_refused(step):
    with pytest.raises(ValueError, match="step of group 0"):
        optim.SGD([{"params": make_params(), "step": step}], lr=0.1)


# --------------------------------------------------- bad state dicts
def trained(name: str) -> tuple[optim.Optimizer, list[Value]]:
    params = make_params()
    opt = MAKERS[name](params)
    run(opt, params, 2)
    return opt, params


@pytest.mark.parametrize(("saver", "loader"), [("Adam", "AdamW"), ("AdamW", "Adam"), ("SGD", "Adam"),
                                               ("Adam", "NAdam"), ("RAdam", "Adam"), ("Adam", "Muon")])
def test_a_state_dict_of_another_optimizer_is_refused_and_changes_nothing(saver, loader):
    saved = trained(saver)[0].state_dict()
    opt, params = trained(loader)
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match=rf"{saver}|another optimizer"):
        opt.load_state_dict(saved)
    assert_same(snapshot(opt, params), before)


def test_a_state_dict_without_the_optimizer_name_is_still_checked_by_its_hyperparameters():
    saved = trained("SGD")[0].state_dict()
    del saved["optimizer"]
    opt, params = trained("Adam")
    with pytest.raises(ValueError, match="another optimizer's"):
        opt.load_state_dict(saved)


@pytest.mark.parametrize("step", [-1, 2.5, math.nan, math.inf, None, "2", True])
@pytest.mark.parametrize("name", ["SGD", "Adam", "NAdam", "Muon"])
def test_a_corrupt_step_count_is_refused_and_changes_nothing(name, step):
    saved = trained(name)[0].state_dict()
    saved["param_groups"][0]["step"] = step
    opt, params = trained(name)
    run(opt, params, 1)
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match=r"step of saved group 0.*whole number"):
        opt.load_state_dict(saved)
    assert_same(snapshot(opt, params), before)


@pytest.mark.parametrize("corrupt", ["not a dict", {"state": {}}, {"param_groups": []}])
def test_a_state_dict_that_is_not_one_is_a_type_error(corrupt):
    opt, params = trained("Adam")
    before = snapshot(opt, params)
    with pytest.raises(TypeError, match="state_dict"):
        opt.load_state_dict(corrupt)
    assert_same(snapshot(opt, params), before)


def test_a_failed_load_leaves_the_scalar_state_in_use():
    opt, params = trained("Adam")
    saved = opt.state_dict()
    saved["state"][0]["exp_avg"] = np.zeros(3)  # a scalar's buffer of the wrong shape
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match="exp_avg"):
        opt.load_state_dict(saved)
    assert_same(snapshot(opt, params), before)
    reference, reference_params = trained("Adam")
    run(opt, params, 1)
    run(reference, reference_params, 1)
    for got, want in zip(params, reference_params, strict=True):
        np.testing.assert_allclose(got.data, want.data, rtol=1e-13)


# --------------------------------------------------- LBFGS
def lbfgs_closure(params: list[Value]):
    def closure() -> float:
        set_grads(params)
        return sum(float(np.sum((1 + i) * (np.asarray(p.data) - TARGET) ** 2)) for i, p in enumerate(params))
    return closure


def test_lbfgs_with_a_missing_gradient_raises_a_value_error_and_changes_nothing():
    params = make_params()
    opt = optim.LBFGS(params, max_iter=3)
    opt.step(lbfgs_closure(params))

    def broken() -> float:
        loss = lbfgs_closure(params)()
        params[3].grad = None
        return loss

    before = snapshot(opt, params)
    with pytest.raises(ValueError, match="position 3 of group 0"):
        opt.step(broken)
    assert_same(snapshot(opt, params), before)


@pytest.mark.parametrize("corrupt", ["memory", "step"])
def test_lbfgs_refuses_a_corrupt_state_dict_and_changes_nothing(corrupt):
    params = make_params()
    opt = optim.LBFGS(params, max_iter=3)
    opt.step(lbfgs_closure(params))
    saved = opt.state_dict()
    if corrupt == "memory":
        del saved["memory"]
    else:
        saved["param_groups"][0]["step"] = -2
    before = snapshot(opt, params)
    with pytest.raises((ValueError, TypeError), match=corrupt):
        opt.load_state_dict(saved)
    assert_same(snapshot(opt, params), before)


def test_a_muon_adamw_schedule_returning_nan_raises_before_anything_changes():
    params = make_params()
    opt = optim.Muon(params, lr=0.02, adamw_lr=lambda step: math.nan)
    set_grads(params)
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match="schedule returned nan"):
        opt.step()
    assert_same(snapshot(opt, params), before)


def test_integer_data_assigned_to_a_parameter_becomes_float_and_steps():
    params = make_params()
    opt = optim.Adam(params, lr=0.1)
    params[3].data = np.arange(5)  # micrograd's habit: the engine stores it as float64
    assert params[3].data.dtype == np.float64
    set_grads(params)
    opt.step()
    assert not np.array_equal(params[3].data, np.arange(5))


@pytest.mark.parametrize("spoil", ["read-only data", "complex gradient"])
def test_a_parameter_that_cannot_be_updated_in_place_is_refused_before_anything_changes(spoil):
    params = make_params()
    opt = optim.Adam(params, lr=0.1)
    run(opt, params, 1)
    set_grads(params)
    if spoil == "read-only data":
        params[3].data.flags.writeable = False
    else:
        params[3].grad = params[3].grad + 1j
    before = snapshot(opt, params)
    with pytest.raises(ValueError, match=r"position 3 of group 0.*nothing was updated"):
        opt.step()
    assert_same(snapshot(opt, params), before)


def test_steps_written_on_their_own_check_every_gradient_before_changing_anything():
    # Prodigy's and schedule-free's steps, and SophiaG's Hessian update, are not Optimizer.step:
    # they check all gradients first too, so a bad one names itself and nothing changes.
    for make, act in ((lambda ps: optim.Prodigy(ps), lambda opt: opt.step()),
                      (lambda ps: optim.ScheduleFreeAdamW(ps, lr=0.1), lambda opt: opt.step()),
                      (lambda ps: optim.SophiaG(ps, lr=0.1), lambda opt: opt.update_hessian())):
        first, second = Value(np.array([1.0, 2.0])), Value(np.array([3.0, 4.0, 5.0]))
        opt = make([first, second])
        first.grad = np.array([0.5, -0.5])
        for bad in (None, np.ones(1)):  # missing; broadcastable but the wrong shape
            second.grad = bad
            before = copy.deepcopy(opt.state_dict())
            with pytest.raises(ValueError, match=r"position 1 of group 0 .*nothing was updated"):
                act(opt)
            after = opt.state_dict()
            assert first.data.tolist() == [1.0, 2.0] and after["param_groups"] == before["param_groups"]
            assert after["state"].keys() == before["state"].keys()


def test_lars_nesterov_must_be_true_or_false():
    with pytest.raises(TypeError, match="nesterov"):
        optim.LARS([Value(np.ones(2))], lr=0.1, nesterov="yes")
