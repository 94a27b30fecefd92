import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from glassnet import SGD, DivergenceError, History, SoftmaxCrossEntropy, StopTraining, fit, mlp
from glassnet.nn.losses import softmax
from glassnet.training.config import TrainConfig, fit_from_config


def test_no_hidden_layers_matches_scikit_learn_logistic_regression():
    x, y = load_iris(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    l2 = 0.5
    model = mlp([4, 3], rng=np.random.default_rng(0))
    optimizer = SGD(model.parameters(), lr=0.5, momentum=0.9)
    fit(model, SoftmaxCrossEntropy(), optimizer, (x, y), epochs=4000, l2=l2)
    ours = softmax(model.forward(x))
    reference = LogisticRegression(C=1 / l2, tol=1e-12, max_iter=10000).fit(x, y)
    np.testing.assert_allclose(ours, reference.predict_proba(x), atol=1e-4)


def small_problem(seed=0):
    data_rng = np.random.default_rng(seed)
    x = data_rng.standard_normal((60, 5))
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
    return (x[:40], y[:40]), (x[40:], y[40:])


@pytest.mark.parametrize("batch_size", [None, 16])
def test_same_seed_same_history_bit_for_bit(batch_size):
    train_data, valid = small_problem()
    config = TrainConfig(hidden_layer_sizes=(8,), epochs=30, batch_size=batch_size, lr=0.1)
    runs = [
        fit_from_config(config, train_data, valid, n_outputs=3, rng=np.random.default_rng(s))[1]
        for s in (7, 7, 8)
    ]
    assert runs[0].to_dict() == runs[1].to_dict()
    assert runs[0].train_loss != runs[2].train_loss


def test_history_records_every_epoch_and_training_reduces_loss():
    train_data, valid = small_problem()
    config = TrainConfig(hidden_layer_sizes=(8,), activation="tanh", epochs=200, lr=0.1)
    rng = np.random.default_rng(0)
    model, history = fit_from_config(config, train_data, valid, n_outputs=3, rng=rng)
    assert len(history.train_loss) == len(history.validation_loss) == 200
    assert len(history.validation_accuracy) == 200
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.validation_accuracy[-1] > 0.7


def test_minibatches_use_every_sample_once_per_epoch():
    x = np.arange(10, dtype=float)[:, None]
    seen = []

    class Recorder(SoftmaxCrossEntropy):
        def forward(self, output, target, sample_weight=None):
            seen.extend(target.tolist())
            return super().forward(output, target, sample_weight)

    # Ten classes, one sample each: a repeated or skipped sample changes the multiset.
    model = mlp([1, 10], rng=np.random.default_rng(0))
    y = np.arange(10)
    fit(
        model,
        Recorder(),
        SGD(model.parameters(), lr=0.1),
        (x, y),
        epochs=2,
        batch_size=3,
        rng=np.random.default_rng(0),
    )
    assert sorted(seen[:10]) == sorted(seen[10:]) == list(range(10))
    assert seen[:10] != seen[10:]  # reshuffled each epoch


def test_callback_sees_each_epoch_and_can_stop():
    train_data, _ = small_problem()
    model = mlp([5, 3], rng=np.random.default_rng(0))
    epochs = []

    def stop_at_three(epoch, history, network):
        epochs.append(epoch)
        if epoch == 2:
            raise StopTraining

    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=0.1),
        train_data,
        epochs=10,
        callbacks=[stop_at_three],
    )
    assert epochs == [0, 1, 2]
    assert isinstance(history, History) and len(history.train_loss) == 3


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_divergence_stops_with_a_clear_error():
    train_data, _ = small_problem()
    x, y = train_data
    model = mlp([5, 3], rng=np.random.default_rng(0))
    with pytest.raises(DivergenceError, match="smaller learning rate"):
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=1e300),
            (x * 1e300, y),
            epochs=5,
        )


def test_float32_trains_end_to_end_in_float32():
    train_data, valid = small_problem()
    config = TrainConfig(hidden_layer_sizes=(8,), epochs=50, dtype="float32", lr=0.1)
    rng = np.random.default_rng(0)
    model, history = fit_from_config(config, train_data, valid, n_outputs=3, rng=rng)
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    assert model.forward(train_data[0].astype(np.float32)).dtype == np.float32
    assert history.train_loss[-1] < history.train_loss[0]


def test_l2_per_batch_and_unshuffled_batches_follow_the_hand_written_update():
    from glassnet.nn.layers import Linear, Sequential
    from glassnet.nn.losses import MeanSquaredError

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 1))
    model = Sequential(Linear(2, 1, rng=rng))
    w, b = model.layers[0].weight.value.copy(), model.layers[0].bias.value.copy()
    lr, l2 = 0.1, 0.5
    fit(model, MeanSquaredError(), SGD(model.parameters(), lr=lr), (x, y), epochs=1,
        batch_size=4, l2=l2, l2_per_batch=True, shuffle=False)  # fmt: skip
    for rows in (slice(0, 4), slice(4, 6)):  # in order; L2 divided by each batch's size
        xb, yb = x[rows], y[rows]
        residual = xb @ w + b - yb
        grad_w = xb.T @ residual / len(xb) + l2 * w / len(xb)
        grad_b = residual.sum(axis=0) / len(xb)
        w, b = w - lr * grad_w, b - lr * grad_b
    np.testing.assert_allclose(model.layers[0].weight.value, w, rtol=1e-12)
    np.testing.assert_allclose(model.layers[0].bias.value, b, rtol=1e-12)


def dropout_problem():
    train_data, valid = small_problem()
    model = mlp([5, 32, 3], activation_name="tanh", dropout=0.5, rng=np.random.default_rng(0))
    return model, train_data, valid


def test_fit_trains_with_dropout_on_and_leaves_the_model_in_evaluation_mode():
    model, train_data, valid = dropout_problem()
    model.eval()  # fit switches dropout on itself, whatever mode the model was left in
    modes = []

    def record_mode(epoch, history, network):
        modes.append([layer.training for layer in network.layers])

    fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=0.1),
        train_data,
        valid,
        epochs=3,
        callbacks=[record_mode],
    )
    # Training mode between epochs (validation does not leave dropout off) ...
    assert modes == [[True, True, True, True]] * 3
    # ... and evaluation mode afterwards: predictions are deterministic.
    assert model.training is False and not any(layer.training for layer in model.layers)
    x = valid[0]
    np.testing.assert_array_equal(model.forward(x), model.forward(x))


def test_evaluate_runs_without_dropout_and_restores_the_mode():
    from glassnet.training.loop import evaluate

    model, _, (x, y) = dropout_problem()
    model.eval()
    expected = SoftmaxCrossEntropy().forward(model.forward(x), y)
    expected_accuracy = np.mean(model.forward(x).argmax(axis=1) == y)
    for mode in (True, False):
        model.train(mode)
        value, accuracy = evaluate(model, SoftmaxCrossEntropy(), x, y)
        assert value == expected and accuracy == expected_accuracy
        assert model.training is mode
        assert all(layer.training is mode for layer in model.layers)


def test_validation_history_is_the_loss_without_dropout():
    model, train_data, valid = dropout_problem()
    recorded = []

    def eval_loss(epoch, history, network):
        network.eval()
        recorded.append(SoftmaxCrossEntropy().forward(network.forward(valid[0]), valid[1]))
        network.train()

    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=0.1),
        train_data,
        valid,
        epochs=3,
        callbacks=[eval_loss],
    )
    assert history.validation_loss == recorded


def test_an_infinite_loss_stops_training_like_nan():
    """MSE of outputs near 1e200 overflows to +inf without any NaN: still a divergence."""
    x = np.full((4, 1), 1e200)
    y = np.zeros(4)
    model = mlp([1, 1], rng=np.random.default_rng(0))
    model.layers[0].weight.value[...] = 1.0
    from glassnet.nn.losses import MeanSquaredError

    with pytest.raises(DivergenceError, match="became inf at epoch 1"):
        fit(model, MeanSquaredError(), SGD(model.parameters(), lr=0.1), (x, y), epochs=3)
    assert model.layers[0].weight.value[0, 0] == 1.0  # the (initial) best weights are back


def linear_problem():
    x = np.random.default_rng(1).standard_normal((10, 2))
    return x, (x[:, 0] > 0).astype(int)


def test_a_minibatch_epoch_loss_is_the_size_weighted_mean_of_its_batches():
    """With a vanishing rate the weights stay put, so an epoch of batches of 3, 3, 3 and 1
    samples must report the full-data loss: each batch weighs by its size."""
    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    expected = SoftmaxCrossEntropy().forward(model.forward(x), y)
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=1e-300),
        (x, y),
        epochs=2,
        batch_size=3,
        rng=np.random.default_rng(0),
    )
    assert history.train_loss == pytest.approx([expected, expected], rel=1e-12)
    # L2 divides by the whole training set's N = 10 in every batch, never by the batch's size.
    squares = float(np.sum(model.layers[0].weight.value ** 2))
    with_l2 = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=1e-300),
        (x, y),
        epochs=1,
        batch_size=3,
        l2=0.5,
        rng=np.random.default_rng(0),
    )
    assert with_l2.train_loss[0] == pytest.approx(expected + 0.5 * 0.5 / 10 * squares, rel=1e-12)


def test_a_full_batch_epoch_loss_is_the_loss_before_its_step():
    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    expected = SoftmaxCrossEntropy().forward(model.forward(x), y)
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), (x, y), epochs=1)
    assert history.train_loss == [pytest.approx(expected, rel=1e-12)]


def test_batches_of_one_sample_are_allowed():
    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    history = fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=0.1),
        (x, y),
        epochs=2,
        batch_size=1,
        rng=np.random.default_rng(0),
    )
    assert len(history.train_loss) == 2


@pytest.mark.parametrize(
    ("weights", "words"),
    [
        (np.ones(9), "^sample_weight has 9 values but X has 10 samples"),
        (-np.ones(10), "^sample_weight must be one non-negative number per sample$"),
        (np.ones((10, 2)), "^sample_weight must be one non-negative number per sample$"),
    ],
)
def test_bad_sample_weights_are_named(weights, words):
    from glassnet import DataError

    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    with pytest.raises(DataError, match=words):
        fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=0.1),
            (x, y),
            epochs=1,
            sample_weight=weights,
        )


def test_a_divergence_raises_its_error_without_numpy_warnings_first():
    import warnings

    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow or invalid-value warning would surface
        with pytest.raises(DivergenceError):
            fit(
                model,
                SoftmaxCrossEntropy(),
                SGD(model.parameters(), lr=0.1),
                (x * 1e300, y),  # logits overflow to +-inf and inf - inf is NaN
                epochs=3,
            )


def test_a_batch_as_large_as_the_data_is_full_batch_and_needs_no_rng():
    x, y = linear_problem()
    histories = []
    for batch_size in (None, 10, 25):
        model = mlp([2, 2], rng=np.random.default_rng(0))
        history = fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=0.1),
            (x, y),
            epochs=3,
            batch_size=batch_size,
        )
        histories.append(history.train_loss)
    assert histories[0] == histories[1] == histories[2]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"epochs": -1}, "epochs must be a non-negative integer"),
        ({"epochs": 2.5}, "epochs must be a non-negative integer"),
        ({"epochs": 1, "batch_size": 0}, "batch_size must be a positive integer"),
        ({"epochs": 1, "batch_size": 2.5}, "batch_size must be a positive integer"),
        (
            {"epochs": 1, "batch_size": 3},
            r"^minibatch training shuffles: pass rng=numpy\.random\.default_rng\(seed\)$",
        ),
        (
            {"epochs": 1, "augment": lambda x, rng: x},
            r"^augmentation is random: pass rng=numpy\.random\.default_rng\(seed\)$",
        ),
    ],
)
def test_bad_fit_arguments_are_refused(settings, words):
    from glassnet import ConfigError

    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match=words):
        fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), (x, y), **settings)


def test_zero_epochs_trains_nothing():
    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    before = model.state_dict()["0.weight"].copy()
    history = fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), (x, y), epochs=0)
    assert history.train_loss == [] and history.validation_loss == []
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before)


def test_zero_sample_weights_are_allowed_and_drop_those_samples():
    """The loss is mean(w_i * loss_i) over all 10 samples: weights of six ones and four zeros
    train like the six samples alone at 6/10 of the rate."""
    x, y = linear_problem()
    weight = np.where(np.arange(10) < 6, 1.0, 0.0)
    runs = []
    for data, lr, sample_weight in (((x, y), 0.1, weight), ((x[:6], y[:6]), 0.06, None)):
        model = mlp([2, 2], rng=np.random.default_rng(0))
        history = fit(
            model,
            SoftmaxCrossEntropy(),
            SGD(model.parameters(), lr=lr),
            data,
            epochs=3,
            sample_weight=sample_weight,
        )
        runs.append((model.state_dict()["0.weight"], history.train_loss))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-12)
    np.testing.assert_allclose(runs[0][1], 0.6 * np.array(runs[1][1]), rtol=1e-12)


def test_callbacks_hear_when_training_begins_and_ends():
    x, y = linear_problem()
    events = []

    class Listener:
        def on_train_begin(self, history, network):
            assert network is model
            events.append(("begin", len(history.train_loss)))

        def __call__(self, epoch, history, model):
            events.append(("epoch", epoch))

        def on_train_end(self, history, model):
            events.append(("end", len(history.train_loss)))

    model = mlp([2, 2], rng=np.random.default_rng(0))
    fit(
        model,
        SoftmaxCrossEntropy(),
        SGD(model.parameters(), lr=0.1),
        (x, y),
        epochs=2,
        callbacks=[Listener()],
    )
    assert events == [("begin", 0), ("epoch", 0), ("epoch", 1), ("end", 2)]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_the_divergence_message_names_the_rate_and_a_tenth_of_it():
    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    with pytest.raises(DivergenceError, match=r"learning rate 0\.5; try .* \(e\.g\. 0\.05\)"):
        fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.5), (x * 1e300, y), epochs=2)
    assert not model.training


def test_evaluate_gives_no_accuracy_for_a_regression():
    from glassnet.nn.losses import MeanSquaredError
    from glassnet.training.loop import evaluate

    x, _ = linear_problem()
    model = mlp([2, 1], rng=np.random.default_rng(0))
    value, accuracy = evaluate(model, MeanSquaredError(), x, np.zeros(10))
    assert accuracy is None
    assert value == pytest.approx(0.5 * np.mean(model.forward(x) ** 2), rel=1e-12)


def test_bad_data_is_named_training_or_validation():
    from glassnet import DataError

    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    optimizer = SGD(model.parameters(), lr=0.1)
    with pytest.raises(DataError, match="^training X has 3 features but the model expects 2"):
        fit(model, SoftmaxCrossEntropy(), optimizer, (np.ones((10, 3)), y), epochs=1)
    with pytest.raises(DataError, match="^validation y holds class indices outside 0..1"):
        fit(model, SoftmaxCrossEntropy(), optimizer, (x, y), (x, y + 1), epochs=1)


def test_a_wrong_length_training_y_is_named_and_a_model_may_start_with_any_layer():
    from glassnet import DataError
    from glassnet.nn.layers import Linear, Sequential, Tanh

    x, y = linear_problem()
    model = mlp([2, 2], rng=np.random.default_rng(0))
    with pytest.raises(DataError, match="^training y has 9 values but X has 10 samples"):
        fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), (x, y[:-1]), epochs=1)
    # A first layer without in_features (here Tanh) skips the width check, not the training.
    squashed = Sequential(Tanh(), Linear(2, 2, rng=np.random.default_rng(0)))
    history = fit(
        squashed, SoftmaxCrossEntropy(), SGD(squashed.parameters(), lr=0.1), (x, y), epochs=2
    )
    assert len(history.train_loss) == 2


@pytest.mark.parametrize(
    ("batch_size", "shuffle"), [(10, True), (4, False)], ids=["one batch of all", "unshuffled"]
)
def test_training_that_needs_no_shuffle_draws_nothing_from_rng(batch_size, shuffle):
    """A batch as large as the data, or shuffle=False, takes the rows in order: the result is
    that of training without an rng, and the rng given is left untouched for what follows."""
    x, y = linear_problem()

    def train(rng):
        model = mlp([2, 2], rng=np.random.default_rng(0))
        settings = dict(epochs=3, batch_size=batch_size, shuffle=shuffle, rng=rng)
        return fit(
            model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), (x, y), **settings
        )

    rng = np.random.default_rng(5)
    assert train(rng).train_loss == train(None).train_loss
    assert rng.random() == np.random.default_rng(5).random()
