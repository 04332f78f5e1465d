"""The engine's ops beyond arithmetic: each against PyTorch's numbers (tests/golden/ops.npz, made
by tests/golden/make_op_fixtures.py), against central differences, and against NumPy over
random shapes and axes (hypothesis). Also: the conventions at ties, comparisons as masks,
`float()`, reductions of 0-d Values, and the errors."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_opt
from tinygrad_opt import Value, concatenate, einsum, gradcheck, maximum, minimum, stack, where

GOLDEN = np.load(Path(__file__).parent / "golden" / "ops.npz")
PICKS = np.array([[0, 0, 3], [1, 1, 1], [2, 0, 2]])

# Each fixture case computed with the engine: name -> function of the case's inputs, in order.
OPS = {
    "max_all_ties": lambda x: x.max(),
    "max_axis_ties": lambda x: x.max(axis=1),
    "min_all_ties": lambda x: x.min(),
    "min_axis_ties": lambda x: x.min(axis=0, keepdims=True),
    "min_axes": lambda x: x.min(axis=(0, 2)),
    "clip": lambda x: x.clip(-1.0, 1.0),
    "clip_lo_only": lambda x: x.clip(0.0, None),
    "var": lambda x: x.var(axis=1),
    "var_ddof1_all": lambda x: x.var(ddof=1),
    "var_keepdims": lambda x: x.var(axis=(0, 2), keepdims=True, ddof=1),
    "std": lambda x: x.std(axis=-1, ddof=1),
    "std_all": lambda x: x.std(),
    "std_constant_rows": lambda x: x.std(axis=1),
    "logsumexp": lambda x: x.logsumexp(axis=-1),
    "logsumexp_all": lambda x: x.logsumexp(),
    "logsumexp_1000": lambda x: x.logsumexp(axis=1, keepdims=True),
    "cumsum": lambda x: x.cumsum(axis=1),
    "cumsum_last": lambda x: x.cumsum(axis=-1),
    "cumsum_flat": lambda x: x.cumsum(),
    "expand_dims": lambda x: x.expand_dims(1),
    "squeeze": lambda x: x.squeeze(),
    "squeeze_axis": lambda x: x.squeeze(axis=-1),
    "broadcast_to": lambda x: x.broadcast_to((2, 3, 4)),
    "flatten": lambda x: x.flatten(),
    "take_along_axis": lambda x: x.take_along_axis(PICKS, axis=1),
    "take_along_axis_0": lambda x: x.take_along_axis(np.array([[2, 2, 0, 1]]), axis=0),
    "pad": lambda x: x.pad(((1, 0), (2, 3)), constant=0.5),
    "where": lambda a, b: where(GOLDEN["where.cond"], a, b),
    "maximum_ties": lambda a, b: maximum(a, b),
    "minimum_ties": lambda a, b: minimum(a, b),
    "einsum_matmul": lambda a, b: einsum("ij,jk->ik", a, b),
    "einsum_batched": lambda a, b: einsum("...ij,...jk->...ik", a, b),
    "einsum_trace": lambda a: einsum("ii", a),
    "einsum_diagonal": lambda a: einsum("ii->i", a),
    "einsum_outer": lambda a, b: einsum("i,j", a, b),
    "einsum_attention": lambda q, k: einsum("btd,bsd->bts", q, k),
    "einsum_sum_one": lambda a, b: einsum("ij,i->", a, b),
    "sum_0d_axis0": lambda x: x.sum(axis=0),
    "mean_0d_axis_minus1": lambda x: x.mean(axis=-1),
}


def case_inputs(name: str) -> dict[str, Value]:
    keys = [k[len(name) + 1:] for k in GOLDEN.files if k.startswith(name + ".")]
    names = [k for k in keys if k not in ("out", "grad_out", "target", "cond") and not k.startswith("grad_")]
    return {key: Value(GOLDEN[f"{name}.{key}"]) for key in names}


def test_every_fixture_case_is_tested():
    cases = {k.split(".")[0] for k in GOLDEN.files if k.endswith(".out")}
    loss_cases = {c for c in cases if c.startswith(("ce_", "nll_"))}  # tests/test_losses.py
    assert cases - loss_cases == set(OPS)
    assert str(GOLDEN["torch_version"]).startswith("2.")


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_equals_pytorch(name):
    inputs = case_inputs(name)
    out = OPS[name](*inputs.values())
    assert out.shape == GOLDEN[f"{name}.out"].shape
    np.testing.assert_allclose(out.data, GOLDEN[f"{name}.out"], rtol=1e-12, atol=1e-12)
    out.backward(GOLDEN[f"{name}.grad_out"])
    for key, value in inputs.items():
        np.testing.assert_allclose(value.grad, GOLDEN[f"{name}.grad_{key}"], rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: gradient of {key}")


# ------------------------------------------------------------ central differences
# Away from ties and kinks (where a derivative has no single value), every op's gradient is
# the derivative central differences measure.
RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4))
W = RNG.standard_normal((1, 3, 1, 4))
GRADCHECKS = {
    "min": (lambda x: x.min(axis=1), X),
    "min_all": (lambda x: x.min(), X),
    "clip": (lambda x: x.clip(-0.5, 0.7), X),
    "var": (lambda x: x.var(axis=0, ddof=1), X),
    "std": (lambda x: x.std(axis=(0, 1), keepdims=True), X),
    "logsumexp": (lambda x: x.logsumexp(axis=1), X),
    "cumsum": (lambda x: x.cumsum(axis=0), X),
    "cumsum_flat": (lambda x: x.cumsum(), X),
    "expand_dims": (lambda x: x.expand_dims((0, 2)) * W, X),
    "squeeze": (lambda x: x.reshape(1, 3, 4).squeeze(0), X),
    "broadcast_to": (lambda x: x[:, :1].broadcast_to((2, 3, 5)), X),
    "flatten": (lambda x: x.flatten(), X),
    "take_along_axis": (lambda x: x.take_along_axis(PICKS, axis=1), X),
    "pad": (lambda x: x.pad(1, constant=-2.0), X),
    "where": (lambda x: where(x > 0, x * x, x[0]), X),
    "maximum": (lambda x: maximum(x, x[::-1]), X),
    "minimum": (lambda x: minimum(x.T, 0.1), X),
    "einsum": (lambda x: einsum("ij,kj,k->i", x, x, x[:, 0]), X),
    "einsum_diagonal_broadcast": (lambda x: einsum("...ii->...i", x[:, :3].broadcast_to((2, 3, 3))), X),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    f, data = GRADCHECKS[name]
    assert gradcheck(f, Value(data.copy()))


def test_binary_ops_gradcheck_both_inputs():
    a, b = Value(RNG.standard_normal((3, 1))), Value(RNG.standard_normal(4))
    assert gradcheck(lambda a, b: maximum(a, b), a, b)
    assert gradcheck(lambda a, b: minimum(a, b), a, b)
    assert gradcheck(lambda a, b: where(np.array([True, False, False, True]), a, b), a, b)
    assert gradcheck(lambda a, b: einsum("ij,k->ijk", a, b), a, b)


def test_scalars_share_the_ops():
    s, t = Value(0.3), Value(-1.2)
    assert gradcheck(lambda s, t: maximum(s, t) * minimum(s, t) + where(True, s, t), s, t)
    assert gradcheck(lambda s: s.clip(-1, 1) + s.logsumexp() + s.min() + float(s) * s.var(), s)
    out = maximum(s, t)
    assert type(out.data) is float and out.data == 0.3


# ---------------------------------------------------------------------- conventions
def test_ties_follow_pytorch():
    # max and min, with or without an axis, share the gradient among tied elements equally
    # (torch.amax/amin, and torch.max()/min() without a dim)
    x = Value([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    x.min(axis=1).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    y = Value([2.0, 2.0, 2.0, 5.0])
    y.min().backward()
    np.testing.assert_allclose(y.grad, [1 / 3, 1 / 3, 1 / 3, 0.0])
    # maximum and minimum: half each on a tie
    a, b = Value([1.0, 2.0, 3.0]), Value([1.0, 1.0, 3.0])
    maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0, 0.5] and b.grad.tolist() == [0.5, 0.0, 0.5]
    # clip: the gradient passes at the bounds themselves
    c = Value([-1.0, -0.5, 1.0, 1.5])
    c.clip(-0.5, 1.0).sum().backward()
    assert c.grad.tolist() == [0.0, 1.0, 1.0, 0.0]


def test_std_of_equal_elements_has_zero_gradient():
    x = Value([2.0, 2.0, 2.0])
    x.std().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]  # not nan: PyTorch's convention


def test_logsumexp_is_stable_at_large_logits():
    x = Value([1000.0, 1000.0])
    out = x.logsumexp()
    assert out.item() == pytest.approx(1000 + np.log(2), rel=1e-15)
    out.backward()
    np.testing.assert_allclose(x.grad, [0.5, 0.5], rtol=1e-12)
    assert Value([-np.inf, -np.inf]).logsumexp().item() == -np.inf  # log(0), as PyTorch


def test_where_sends_nothing_to_the_branch_not_taken_even_an_inf():
    a, b = Value([1.0, 2.0]), Value([3.0, 4.0])
    where(np.array([False, True]), a, b).backward(np.array([np.inf, 1.0]))
    assert a.grad.tolist() == [0.0, 1.0] and b.grad.tolist() == [np.inf, 0.0]  # no inf * 0 = nan


def test_take_along_axis_repeated_indices_add_up():
    x = Value([[1.0, 2.0, 3.0]])
    x.take_along_axis(np.array([[2, 2, 0, 2]]), axis=1).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 3.0]]


def test_comparisons_give_masks_without_gradient():
    x = Value([1.0, 2.0, 3.0])
    mask = x > 1.5
    assert mask.dtype == bool and mask.tolist() == [False, True, True]
    assert (x <= Value(2.0)).tolist() == [True, True, False]
    assert (np.array([3.0, 2.0, 1.0]) < x).tolist() == [False, False, True]  # reflected
    assert (x >= [3.0, 2.0, 1.0]).tolist() == [False, True, True]
    assert (Value(1.0) < 2.0) is True and (Value(1.0) >= 2) is False  # plain bools for scalars
    # `==` stays identity, so Values remain usable as dict keys (optimizer state)
    twin = Value([1.0, 2.0, 3.0])
    assert x == x and not (x == twin) and len({x: 1, twin: 2}) == 2


def test_float_of_a_single_element_value():
    assert float(Value(2.5)) == 2.5
    assert float(Value([[4.0]])) == 4.0
    assert type(float(Value(np.float32(1.5)))) is float
    with pytest.raises(ValueError, match=r"float\(\) needs a single-element Value, got shape \(2,\)"):
        float(Value([1.0, 2.0]))


@pytest.mark.parametrize("reduce", ["sum", "mean", "min", "max", "logsumexp", "var", "std"])
@pytest.mark.parametrize("axis", [0, -1, (0,)])
def test_reductions_of_a_0d_value_take_axis_0_or_minus_1(reduce, axis):
    x = Value(np.array(1.5))
    out = getattr(x, reduce)(axis=axis)
    assert out.shape == ()
    out.backward()
    expected = 0.0 if reduce in ("var", "std") else 1.0
    assert x.grad == expected
    with pytest.raises(ValueError, match="axis 1 is out of range for a 0-d Value"):
        getattr(x, reduce)(axis=1)


def test_float32_stays_float32():
    x = Value(np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 0.0]], np.float32))
    results = [x.min(axis=0), x.clip(0.0, 1.0), x.var(axis=1), x.std(), x.logsumexp(axis=1), x.cumsum(1),
               x.expand_dims(0), x.squeeze(), x.flatten(), x.broadcast_to((2, 2, 3)), x.pad(1),
               x.take_along_axis(np.zeros((2, 1), int), 1), where(x > 0, x, 0.0), maximum(x, 0.5),
               minimum(x, x), einsum("ij,kj->ik", x, x)]
    for out in results:
        x.zero_grad()
        out.backward(np.ones(out.shape, np.float32))
        assert out.dtype == np.float32 and x.grad.dtype == np.float32, out._op


def test_package_exports_the_module_functions():
    for name in ("where", "maximum", "minimum", "einsum"):
        assert getattr(tinygrad_opt, name) is getattr(tinygrad_opt.engine, name)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, error, message", [
    (lambda: stack([Value(np.zeros(2)), Value(np.zeros(2))], axis=77), ValueError,
     r"stack: axis 77 is out of range for Values of 1 dimensions \(expected -2 to 1\)"),
    (lambda: stack([Value(np.zeros(2)), Value(np.zeros(3))]), ValueError, "one shape"),
    (lambda: concatenate([Value(np.zeros((2, 2)))] * 2, axis=-3), ValueError, "axis -3 is out of range"),
    (lambda: concatenate([Value(1.0), Value(2.0)]), ValueError, "at least one dimension"),
    (lambda: maximum(Value(np.zeros(3)), np.zeros(4)), ValueError,
     r"maximum cannot broadcast shapes \(3,\) and \(4,\)"),
    (lambda: minimum(np.zeros((2, 3)), Value(np.zeros(2))), ValueError, r"minimum .*\(2, 3\) and \(2,\)"),
    (lambda: where(np.array([True, False]), Value(np.zeros(3)), 0.0), ValueError, r"where .*\(2,\).*\(3,\)"),
    (lambda: where(Value([1.0]), 1.0, 0.0), TypeError, "boolean mask"),
    (lambda: where(np.array([1, 0]), 1.0, 0.0), TypeError, "got dtype int"),
    (lambda: Value(np.zeros(3)) < np.zeros(2), ValueError, r"< cannot broadcast shapes \(3,\) and \(2,\)"),
    (lambda: Value(np.zeros((2, 3))).broadcast_to((4, 3)), ValueError,
     r"broadcast_to .*\(2, 3\) to \(4, 3\)"),
    (lambda: Value(np.zeros((2, 3))).squeeze(1), ValueError, r"axis 1 .*\(2, 3\) is not of length 1"),
    (lambda: Value(np.zeros(4)).var(ddof=4), ValueError, "more than 4 elements"),
    (lambda: Value(np.zeros(4)).std(ddof=-1), ValueError, "ddof >= 0"),
    (lambda: Value(np.zeros(4)).clip("0", 1), TypeError, "lo to be a number"),
    (lambda: Value(np.zeros(4)).cumsum(axis=(0,)), TypeError, "one int axis"),
    (lambda: Value(np.zeros((2, 3))).take_along_axis(np.array([[3]]), axis=1), IndexError,
     r"out of bounds .*\(2, 3\)"),
    (lambda: Value(np.zeros((2, 3))).take_along_axis(np.array([0, 1]), axis=1), ValueError, "as many axes"),
    (lambda: Value(np.zeros((2, 3))).take_along_axis(np.array([[0.5]]), 1), TypeError, "integer indices"),
    (lambda: Value(np.zeros((2, 3))).take_along_axis(np.array([[0]]), 2), ValueError, "axis 2 is out"),
    (lambda: Value(1.0).take_along_axis(np.array(0), axis=0), TypeError, "scalar"),
    (lambda: Value(np.zeros((2, 3))).pad(((1, 1), (1, 1), (1, 1))), ValueError, "one pair per axis"),
    (lambda: Value(np.zeros(2)).pad(-1), ValueError, "pad widths >= 0"),
    (lambda: Value(np.zeros(2)).pad(1.5), TypeError, "integer pad widths"),
    (lambda: einsum("ij,jk", Value(np.zeros((2, 3)))), ValueError, "names 2 operands, got 1"),
    (lambda: einsum("ij,jk", Value(np.zeros((2, 3))), Value(np.zeros((4, 2)))), ValueError,
     r"einsum 'ij,jk' cannot take shapes \[\(2, 3\), \(4, 2\)\]"),
    (lambda: einsum("i1", Value(np.zeros((2, 3)))), ValueError, "letters"),
])
def test_errors_name_the_op_and_the_values(make, error, message):
    with pytest.raises(error, match=message):
        make()


# --------------------------------------------------------- properties (hypothesis)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
FINITE = st.floats(-100, 100, allow_nan=False)


@st.composite
def array_and_axis(draw):
    """An array and a reduction axis for it: None, one axis (maybe negative) or several."""
    x = draw(hnp.arrays(np.float64, draw(SHAPES), elements=FINITE))
    axes = draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1, max_size=x.ndim))
    axis = draw(st.sampled_from([None, axes[0] - x.ndim, tuple(axes)]))
    return x, axis


@settings(max_examples=60, deadline=None)
@given(array_and_axis(), st.booleans())
def test_reductions_agree_with_numpy_on_any_axes(x_axis, keepdims):
    x, axis = x_axis
    peak = np.max(x, axis=axis, keepdims=True)
    lse = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    expected = {"min": np.min(x, axis=axis, keepdims=keepdims),
                "var": np.var(x, axis=axis, keepdims=keepdims),
                "std": np.std(x, axis=axis, keepdims=keepdims),
                "logsumexp": lse if keepdims else np.squeeze(lse, axis)}
    for name, want in expected.items():
        v = Value(x)
        out = getattr(v, name)(axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.data, want, rtol=1e-10, atol=1e-10, err_msg=name)
        out.backward(np.ones(out.shape))
        assert v.grad.shape == x.shape and np.all(np.isfinite(v.grad)), name
    v = Value(x)
    v.logsumexp(axis=axis).sum().backward()  # d/dx sum(logsumexp) = softmax: sums to one per reduction
    np.testing.assert_allclose(np.sum(v.grad, axis=axis), 1.0, rtol=1e-10)


def summed_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """g summed over the axes that broadcasting added to or stretched in `shape`."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), st.data())
def test_binary_ops_broadcast_like_numpy(shapes, data):
    shape_c, shape_a, shape_b = shapes.input_shapes
    a = data.draw(hnp.arrays(np.float64, shape_a, elements=st.integers(-2, 2).map(float)))  # ties likely
    b = data.draw(hnp.arrays(np.float64, shape_b, elements=st.integers(-2, 2).map(float)))
    cond = data.draw(hnp.arrays(bool, shape_c))
    for op, reference in ((maximum, np.maximum), (minimum, np.minimum)):
        va, vb = Value(a), Value(b)
        out = op(va, vb)
        np.testing.assert_array_equal(out.data, reference(a, b))
        out.sum().backward()
        assert va.grad.shape == a.shape and vb.grad.shape == b.shape
        # every output element sends exactly 1 back in all: to the winner, or half to each tie
        assert va.grad.sum() + vb.grad.sum() == pytest.approx(out.size)
    va, vb = Value(a), Value(b)
    out = where(cond, va, vb)
    np.testing.assert_array_equal(out.data, np.where(cond, a, b))
    out.sum().backward()
    taken = np.broadcast_to(cond, out.shape).astype(np.float64)  # 1 where a was taken
    np.testing.assert_array_equal(va.grad, summed_to(taken, a.shape))
    np.testing.assert_array_equal(vb.grad, summed_to(1 - taken, b.shape))
    assert va.grad.sum() + vb.grad.sum() == pytest.approx(out.size)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, SHAPES, elements=FINITE), st.data())
def test_shape_ops_round_trip_the_gradient(x, data):
    v = Value(x)
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim))
    target = data.draw(hnp.broadcastable_shapes(x.shape, max_dims=4, max_side=3)) if x.ndim else ()
    target = np.broadcast_shapes(x.shape, target)
    cumsum_axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    outs = [v.expand_dims(axis), v.expand_dims(axis).squeeze(axis), v.flatten(), v.broadcast_to(target),
            v.cumsum(cumsum_axis), v.pad(1)]
    np.testing.assert_array_equal(outs[0].data, np.expand_dims(x, axis))
    np.testing.assert_array_equal(outs[3].data, np.broadcast_to(x, target))
    np.testing.assert_allclose(outs[4].data, np.cumsum(x, axis=cumsum_axis))
    for out in outs:
        v.zero_grad()
        out.sum().backward()
        assert v.grad.shape == x.shape
    # broadcast_to: each element's gradient counts its copies
    v.zero_grad()
    outs[3].sum().backward()
    np.testing.assert_array_equal(v.grad, np.full(x.shape, np.prod(target) / x.size))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=4), elements=FINITE),
       hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=1, max_side=4), elements=FINITE))
def test_einsum_agrees_with_numpy_and_with_matmul(a, b):
    for spec, operands in [("ij->ji", (a,)), ("ij", (a,)), ("ij->", (a,)), ("ij,k->ikj", (a, b)),
                           ("...j,...j->...", (a, a)), ("ij,kj->ik", (a, a))]:
        np.testing.assert_allclose(einsum(spec, *map(Value, operands)).data, np.einsum(spec, *operands),
                                   rtol=1e-12, atol=1e-9)
    va, vb = Value(a), Value(a.T.copy())
    einsum("ij,jk->ik", va, vb).sum().backward()
    wa, wb = Value(a), Value(a.T.copy())
    (wa @ wb).sum().backward()
    np.testing.assert_allclose(va.grad, wa.grad, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(vb.grad, wb.grad, rtol=1e-12, atol=1e-9)
