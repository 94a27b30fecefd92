import numpy as np
import pytest

import glassnet.nn.objective
from glassnet import (
    Linear,
    MeanSquaredError,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    gradcheck,
    mlp,
)


@pytest.mark.parametrize("l2", [0.0, 0.8])
def test_whole_three_layer_model_with_l2(l2, rng):
    model = mlp([6, 5, 4, 3], activation_name="sigmoid", output_activation="sigmoid", rng=rng)
    x, y = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    result = gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=l2)
    assert result.max_error < 1e-6, result.errors
    assert set(result.errors) == {"input"} | {f"param{i}" for i in range(6)}


def test_regression_model_with_l2(rng):
    model = mlp([4, 6, 2], activation_name="tanh", rng=rng)
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    assert gradcheck(model, x, y, loss=MeanSquaredError(), l2=2.0).max_error < 1e-6


def test_a_missing_l2_gradient_is_caught(rng, monkeypatch):
    """A model whose objective has L2 but whose weight gradient ignores it must fail."""
    model = Sequential(Linear(4, 3, rng=rng), Sigmoid())
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    good = gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=5.0)
    assert good.passed

    def value_only(params, l2, n_samples):
        return 0.5 * l2 / n_samples * sum(float(np.sum(p.value**2)) for p in params if p.decay)

    monkeypatch.setattr(glassnet.nn.objective, "l2_penalty", value_only)
    bad = gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=5.0)
    assert not bad.passed
    assert bad.worst == "param0"


def test_result_reports_the_worst_array(rng):
    result = gradcheck(Linear(3, 2, rng=rng), rng.standard_normal((4, 3)))
    assert result.worst in result.errors
    assert result.max_error == max(result.errors.values())
    assert bool(result) is True


def test_integer_inputs_are_checked_in_floating_point(rng):
    """Raw pixel counts (0..16, an integer array) are a normal input: the check perturbs a
    float copy, since a step of 1e-6 on an integer rounds away."""
    model = mlp([4, 5, 3], activation_name="tanh", rng=rng)
    pixels = rng.integers(0, 17, (6, 4))
    labels = rng.integers(0, 3, 6)
    result = gradcheck(model, pixels, labels, loss=SoftmaxCrossEntropy())
    assert result.passed, result.errors
    assert result.tolerance == 1e-6
    as_float = gradcheck(model, pixels.astype(np.float64), labels, loss=SoftmaxCrossEntropy())
    assert result.errors == pytest.approx(as_float.errors, abs=1e-9)
    layer_alone = gradcheck(Sigmoid(), pixels - 8)
    assert layer_alone.passed, layer_alone.errors


class SlightlyWrongLinear(Linear):
    """Its weight gradient is off by a relative ``error``, as a dropped tiny term would be."""

    def __init__(self, *args, error, **kwargs):
        super().__init__(*args, **kwargs)
        self.error = error

    def backward(self, grad_y, need_grad_x=True):
        grad_x = super().backward(grad_y, need_grad_x)
        self.weight.grad *= 1.0 + self.error
        return grad_x


def test_default_float64_tolerance_fails_a_relative_error_of_1e_5_and_passes_1e_8(rng):
    x = rng.standard_normal((6, 4))
    wrong = gradcheck(SlightlyWrongLinear(4, 3, rng=rng, error=1e-5), x)
    assert not wrong.passed and not wrong
    assert wrong.worst == "param0"
    assert wrong.max_error == pytest.approx(1e-5 / 2, rel=0.01)  # |a - n| / (|a| + |n|)
    right = gradcheck(SlightlyWrongLinear(4, 3, rng=rng, error=1e-8), x)
    assert right.passed and right


def test_default_float32_step_and_tolerance_pass_a_right_and_fail_a_wrong_gradient(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    right = mlp([4, 5, 3], activation_name="tanh", rng=rng, dtype=np.float32)
    assert gradcheck(right, x, rng.integers(0, 3, 6), loss=SoftmaxCrossEntropy()).passed
    wrong = SlightlyWrongLinear(4, 3, rng=rng, error=0.1, dtype=np.float32)
    result = gradcheck(wrong, x)
    assert result.tolerance == pytest.approx(2e-2)
    assert not result.passed and result.worst == "param0"


def test_explicit_tolerance_and_step_are_used(rng):
    x = rng.standard_normal((6, 4))
    layer = SlightlyWrongLinear(4, 3, rng=rng, error=1e-5)
    loose = gradcheck(layer, x, tolerance=1e-4)
    assert loose.tolerance == 1e-4 and loose.passed
    # A huge step breaks the central difference of a curved function (a sigmoid).
    curved = Sequential(Linear(4, 3, rng=rng), Sigmoid())
    assert gradcheck(curved, x).passed
    assert not gradcheck(curved, x, step=0.5).passed


def test_passed_means_every_error_below_the_tolerance():
    from glassnet.nn.gradcheck import GradcheckResult

    assert GradcheckResult({"a": 1e-7, "b": 5e-7}, tolerance=1e-6).passed
    assert not GradcheckResult({"a": 1e-7, "b": 1e-6}, tolerance=1e-6).passed
    assert not GradcheckResult({"a": 1e-7, "b": 2e-6}, tolerance=1e-6).passed
    empty = GradcheckResult()
    assert empty.passed and empty.max_error == 0.0 and empty.worst == ""


def test_relative_error_is_zero_only_for_equal_arrays():
    from glassnet.nn.gradcheck import relative_error

    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.0])) == 0.0
    assert relative_error(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(
        np.sqrt(2) / 2
    )
    assert relative_error(np.array([2.0]), np.array([-2.0])) == pytest.approx(1.0)
    # Small gradients (norms below 1) are compared as strictly as large ones.
    assert relative_error(np.array([0.01]), np.array([0.02])) == pytest.approx(1 / 3)


@pytest.mark.parametrize("l2", [1e-4, 1e-2])
def test_a_missing_small_l2_gradient_is_caught(l2, rng, monkeypatch):
    """scikit-learn's default alpha (1e-4) is small, but a dropped L2 gradient still shows."""
    model = mlp([4, 5, 3], activation_name="tanh", rng=rng)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    assert gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=l2).passed

    def value_only(params, l2, n_samples):
        return 0.5 * l2 / n_samples * sum(float(np.sum(p.value**2)) for p in params if p.decay)

    monkeypatch.setattr(glassnet.nn.objective, "l2_penalty", value_only)
    bad = gradcheck(model, x, y, loss=SoftmaxCrossEntropy(), l2=l2)
    assert not bad.passed and bad.worst in ("param0", "param2")
    # Without l2 the objective is the plain loss, which the broken penalty cannot touch.
    assert gradcheck(model, x, y, loss=SoftmaxCrossEntropy()).passed


def test_targets_are_required_where_a_loss_is_checked(rng):
    with pytest.raises(ValueError, match="^checking a loss needs targets y$"):
        gradcheck(SoftmaxCrossEntropy(), rng.standard_normal((3, 2)))
    with pytest.raises(ValueError, match="^checking a model with a loss needs targets y$"):
        gradcheck(Linear(2, 2, rng=rng), rng.standard_normal((3, 2)), loss=SoftmaxCrossEntropy())


def test_other_float_dtypes_get_the_float64_step_and_tolerance(rng):
    """Extended precision (np.longdouble) has no table entry: float64's defaults apply."""
    x = rng.standard_normal((6, 4)).astype(np.longdouble)
    result = gradcheck(Sequential(Linear(4, 3, rng=rng), Sigmoid()), x)
    assert result.tolerance == 1e-6 and result.passed, result.errors
    assert not gradcheck(SlightlyWrongLinear(4, 3, rng=rng, error=1e-4), x).passed


def test_a_layer_alone_is_projected_with_the_given_rng_or_a_fixed_one(rng):
    layer = Sequential(Linear(4, 3, rng=rng), Sigmoid())
    x = rng.standard_normal((6, 4))
    assert gradcheck(layer, x).errors == gradcheck(layer, x).errors  # reproducible by default
    one = gradcheck(layer, x, rng=np.random.default_rng(1)).errors
    two = gradcheck(layer, x, rng=np.random.default_rng(2)).errors
    assert one != two


def test_analytic_gradients_are_taken_before_the_finite_differences_move_the_weights(rng):
    # The objective of a Linear layer under the mean squared error is quadratic in its
    # weights, so central differences are exact even with a large step; analytic gradients
    # kept as views of .grad would be those of the last perturbed point instead (off by
    # about the step).
    model = Sequential(Linear(4, 3, rng=rng))
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    result = gradcheck(model, x, y, loss=MeanSquaredError(), step=1e-2)
    assert result.max_error < 1e-9, result.errors
