import numpy as np
import pytest
from sklearn.metrics import log_loss

from glassnet import MeanSquaredError, SoftmaxCrossEntropy, gradcheck, mlp
from glassnet.errors import DataError
from glassnet.nn.losses import l2_penalty, softmax


def test_cross_entropy_matches_scikit_learn(rng):
    logits = rng.standard_normal((20, 4)) * 3
    labels = rng.integers(0, 4, 20)
    value = SoftmaxCrossEntropy().forward(logits, labels)
    assert value == pytest.approx(log_loss(labels, softmax(logits), labels=range(4)), rel=1e-12)


def test_cross_entropy_gradcheck(rng):
    result = gradcheck(SoftmaxCrossEntropy(), rng.standard_normal((6, 5)), rng.integers(0, 5, 6))
    assert result.max_error < 1e-6


def test_weighted_cross_entropy_gradcheck_and_value(rng):
    logits, labels = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    weights = rng.uniform(0.5, 2.0, 6)
    loss = SoftmaxCrossEntropy()
    per_sample = -np.log(softmax(logits)[np.arange(6), labels])
    assert loss.forward(logits, labels, weights) == pytest.approx(np.mean(weights * per_sample))

    class Weighted(SoftmaxCrossEntropy):
        def forward(self, output, target, sample_weight=None):
            return super().forward(output, target, weights)

    assert gradcheck(Weighted(), logits, labels).max_error < 1e-6


def test_mean_squared_error_value_and_gradcheck(rng):
    output, target = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    assert MeanSquaredError().forward(output, target) == pytest.approx(
        0.5 * np.mean((output - target) ** 2)
    )
    assert gradcheck(MeanSquaredError(), output, target).max_error < 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=dtype)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, np.array([0, 1]))
    grad = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx(1e4, rel=1e-6)  # sample 0 costs 0, sample 1 costs 2e4; mean 1e4
    np.testing.assert_allclose(grad, [[0, 0, 0], [0, -0.5, 0.5]], atol=1e-6)


def test_l2_penalty_follows_the_scikit_learn_convention(rng):
    model = mlp([3, 4, 2], rng=rng)
    for p in model.parameters():
        p.value[...] = rng.standard_normal(p.value.shape)
        p.grad[...] = 0.0
    weights = [p for p in model.parameters() if p.decay]
    expected = 0.5 * 0.7 / 10 * sum(np.sum(p.value**2) for p in weights)
    assert l2_penalty(model.parameters(), 0.7, 10) == pytest.approx(expected)
    for p in model.parameters():
        np.testing.assert_allclose(p.grad, 0.7 / 10 * p.value if p.decay else 0.0)


def test_cross_entropy_takes_any_integer_target_type(rng):
    # uint8 class indices in a batch of 128: a flat index built in the target's own type
    # (class * 128 + column) would wrap around at 256.
    logits = rng.standard_normal((128, 10))
    labels = rng.integers(0, 10, 128)
    loss = SoftmaxCrossEntropy()
    expected = loss.forward(logits, labels)
    expected_grad = loss.backward().copy()
    assert loss.forward(logits, labels.astype(np.uint8)) == expected
    np.testing.assert_array_equal(loss.backward(), expected_grad)
    with pytest.raises(DataError, match="integer class indices"):
        loss.forward(logits, labels.astype(float))


def test_sigmoid_cross_entropy_matches_scikit_learn_and_a_naive_formula(rng):
    from glassnet.nn.losses import SigmoidBinaryCrossEntropy, sigmoid

    logits = rng.standard_normal((30, 1)) * 3
    labels = rng.integers(0, 2, (30, 1))
    value = SigmoidBinaryCrossEntropy().forward(logits, labels)
    p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
    assert value == pytest.approx(log_loss(labels[:, 0], p), rel=1e-12)
    # Multilabel: summed over the labels, averaged over samples (scikit-learn's binary loss).
    logits, labels = rng.standard_normal((8, 3)), rng.integers(0, 2, (8, 3))
    naive = (
        sum(
            -(t * np.log(1 / (1 + np.exp(-z))) + (1 - t) * np.log(1 - 1 / (1 + np.exp(-z))))
            for row_z, row_t in zip(logits, labels, strict=True)
            for z, t in zip(row_z, row_t, strict=True)
        )
        / 8
    )
    assert SigmoidBinaryCrossEntropy().forward(logits, labels) == pytest.approx(naive, rel=1e-12)
    np.testing.assert_allclose(sigmoid(logits), 1 / (1 + np.exp(-logits)), rtol=1e-14)


def test_sigmoid_cross_entropy_gradcheck_weighted_too(rng):
    from glassnet.nn.losses import SigmoidBinaryCrossEntropy

    logits, labels = rng.standard_normal((6, 4)), rng.integers(0, 2, (6, 4)).astype(float)
    assert gradcheck(SigmoidBinaryCrossEntropy(), logits, labels).max_error < 1e-6
    weights = rng.uniform(0.5, 2.0, 6)

    class Weighted(SigmoidBinaryCrossEntropy):
        def forward(self, output, target, sample_weight=None):
            return super().forward(output, target, weights)

    assert gradcheck(Weighted(), logits, labels).max_error < 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_cross_entropy_is_stable_for_huge_logits(dtype):
    from glassnet.nn.losses import SigmoidBinaryCrossEntropy

    logits = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=dtype)
    loss = SigmoidBinaryCrossEntropy()
    value = loss.forward(logits, np.array([[1, 0], [1, 0]]))
    grad = loss.backward()
    # Row 0 is right (cost 0), row 1 wrong by 1e4 on both labels: mean (0 + 2e4) / 2.
    assert value == pytest.approx(1e4, rel=1e-6)
    np.testing.assert_allclose(grad, [[0, 0], [-0.5, 0.5]], atol=1e-6)


def test_poisson_matches_half_the_deviance_and_gradchecks(rng):
    from sklearn.metrics import mean_poisson_deviance

    from glassnet.nn.losses import PoissonLogLink

    logits = rng.standard_normal((40, 1))
    counts = rng.poisson(2.0, (40, 1)).astype(float)  # zeros included: 0 log 0 = 0
    value = PoissonLogLink().forward(logits, counts)
    expected = 0.5 * mean_poisson_deviance(counts[:, 0], np.exp(logits[:, 0]))
    assert value == pytest.approx(expected, rel=1e-12)
    assert gradcheck(PoissonLogLink(), logits[:6], counts[:6]).max_error < 1e-6
    with pytest.raises(DataError, match="non-negative"):
        PoissonLogLink().forward(logits, -counts - 1)


def test_cross_entropy_backward_twice_gives_the_same_gradient(rng):
    """A hand-written loop may ask for the gradient twice (e.g. to log its norm first)."""
    logits, labels = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    loss = SoftmaxCrossEntropy()
    loss.forward(logits, labels)
    first = loss.backward().copy()
    second = loss.backward()
    expected = (softmax(logits) - np.eye(3)[labels]) / 5
    np.testing.assert_allclose(first, expected, atol=1e-15)
    np.testing.assert_allclose(second, expected, atol=1e-15)


def test_weighted_mean_squared_error_value_and_gradient(rng):
    """mean over samples of w_i * 0.5 * mean over outputs of (output - target)^2, by hand."""
    output, target = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    weights = rng.uniform(0.5, 2.0, 6)
    loss = MeanSquaredError()
    by_hand = np.mean(weights * 0.5 * np.mean((output - target) ** 2, axis=1))
    assert loss.forward(output, target, weights) == pytest.approx(by_hand, rel=1e-12)
    expected_grad = weights[:, None] * (output - target) / (6 * 3)
    np.testing.assert_allclose(loss.backward(), expected_grad, rtol=1e-12)


def test_single_output_regression_takes_one_dimensional_targets(rng):
    output, target = rng.standard_normal((5, 1)), rng.standard_normal(5)
    loss = MeanSquaredError()
    expected = 0.5 * np.mean((output[:, 0] - target) ** 2)
    assert loss.forward(output, target) == pytest.approx(expected)
    np.testing.assert_allclose(loss.backward(), (output - target[:, None]) / 5)


def test_predict_gives_probabilities_for_cross_entropy_and_values_for_mse(rng):
    logits = rng.standard_normal((4, 3)) * 5
    by_hand = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(SoftmaxCrossEntropy().predict(logits), by_hand, rtol=1e-12)
    np.testing.assert_array_equal(MeanSquaredError().predict(logits), logits)


@pytest.mark.parametrize("loss", [SoftmaxCrossEntropy(), MeanSquaredError()])
def test_weighted_losses_keep_float32_gradients(loss, rng):
    """Sample weights arrive as float64; the gradient must stay in the model's float32."""
    output = rng.standard_normal((6, 3)).astype(np.float32)
    target = rng.integers(0, 3, 6) if isinstance(loss, SoftmaxCrossEntropy) else output * 0.5
    loss.forward(output, target, rng.uniform(0.5, 2.0, 6))
    assert loss.backward().dtype == np.float32


def test_label_smoothing_matches_cross_entropy_to_a_smoothed_target(rng):
    logits, labels = rng.standard_normal((7, 4)) * 2, rng.integers(0, 4, 7)
    weights = rng.uniform(0.5, 2.0, 7)
    target = np.full((7, 4), 0.2 / 4)
    target[np.arange(7), labels] += 0.8
    per_sample = -(target * np.log(softmax(logits))).sum(axis=1)  # written out independently
    loss = SoftmaxCrossEntropy(label_smoothing=0.2)
    assert loss.forward(logits, labels) == pytest.approx(per_sample.mean(), rel=1e-12)
    assert loss.forward(logits, labels, weights) == pytest.approx(np.mean(weights * per_sample))
    assert gradcheck(SoftmaxCrossEntropy(label_smoothing=0.2), logits, labels).max_error < 1e-6


def test_label_smoothing_zero_is_plain_cross_entropy_and_out_of_range_is_refused(rng):
    logits, labels = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    plain, zero = SoftmaxCrossEntropy(), SoftmaxCrossEntropy(label_smoothing=0.0)
    assert plain.forward(logits, labels) == zero.forward(logits, labels)
    np.testing.assert_array_equal(plain.backward(), zero.backward())
    with pytest.raises(ValueError, match="label_smoothing"):
        SoftmaxCrossEntropy(label_smoothing=1.0)


def bce_by_hand(z, t):
    """Per-sample binary cross-entropy summed over outputs, from the probabilities directly."""
    p = 1 / (1 + np.exp(-z))
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum(axis=1)


def poisson_by_hand(z, t):
    """Per-sample half Poisson deviance summed over outputs; t log t is 0 at t = 0."""
    t_log_t = np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0)
    return (np.exp(z) - t * z + t_log_t - t).sum(axis=1)


def bce_and_poisson():
    from glassnet.nn.losses import PoissonLogLink, SigmoidBinaryCrossEntropy

    return [
        (SigmoidBinaryCrossEntropy, bce_by_hand, lambda z: 1 / (1 + np.exp(-z)), [0.0, 1.0]),
        # Rates between 0 and 1 too: t log t is negative there.
        (PoissonLogLink, poisson_by_hand, np.exp, [0.0, 0.25, 0.5, 1.0, 3.0]),
    ]


@pytest.mark.parametrize(("make", "by_hand", "inverse_link", "values"), bce_and_poisson())
def test_weighted_bce_and_poisson_value_and_gradient_by_hand(
    make, by_hand, inverse_link, values, rng
):
    """Mean over samples of w_i * loss_i (w / n, as the other losses); gradient (mu - t) w / n."""
    z = rng.standard_normal((6, 2))
    t = rng.choice(values, (6, 2))
    weights = rng.uniform(0.5, 2.0, 6)
    loss = make()
    assert loss.forward(z, t) == pytest.approx(by_hand(z, t).mean(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (inverse_link(z) - t) / 6, rtol=1e-12)
    assert loss.forward(z, t, weights) == pytest.approx(
        np.sum(weights * by_hand(z, t)) / 6, rel=1e-12
    )
    np.testing.assert_allclose(
        loss.backward(), weights[:, None] * (inverse_link(z) - t) / 6, rtol=1e-12
    )
    np.testing.assert_allclose(loss.predict(z), inverse_link(z), rtol=1e-14)


@pytest.mark.parametrize(("make", "by_hand", "inverse_link", "values"), bce_and_poisson())
def test_bce_and_poisson_take_one_dimensional_targets_for_one_output(
    make, by_hand, inverse_link, values, rng
):
    z, t = rng.standard_normal((5, 1)), rng.choice(values, 5)
    loss = make()
    assert loss.forward(z, t) == pytest.approx(by_hand(z, t[:, None]).mean(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (inverse_link(z) - t[:, None]) / 5, rtol=1e-12)


@pytest.mark.parametrize(("make", "by_hand", "inverse_link", "values"), bce_and_poisson())
def test_bce_and_poisson_keep_float32_gradients(make, by_hand, inverse_link, values, rng):
    """Targets and weights arrive as float64 or integers; the gradient stays float32."""
    z = rng.standard_normal((6, 2)).astype(np.float32)
    t = rng.choice(values, (6, 2))
    loss = make()
    loss.forward(z, t)
    assert loss.backward().dtype == np.float32
    loss.forward(z, t, rng.uniform(0.5, 2.0, 6))
    assert loss.backward().dtype == np.float32


def test_poisson_zero_counts_raise_no_numpy_warnings(rng):
    import warnings

    from glassnet.nn.losses import PoissonLogLink

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = PoissonLogLink().forward(rng.standard_normal((4, 1)), np.zeros((4, 1)))
    assert np.isfinite(value)
    with pytest.raises(DataError, match="^Poisson targets must be non-negative counts or rates$"):
        PoissonLogLink().forward(np.zeros((2, 1)), np.array([[1.0], [-0.5]]))
