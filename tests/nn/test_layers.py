import numpy as np
import pytest

from glassnet import ConfigError, gradcheck
from glassnet.nn.layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    mlp,
)
from glassnet.nn.registry import LAYER_TYPES, from_config

LAYERS = {
    "linear": lambda rng: Linear(5, 4, rng=rng),
    "linear_he": lambda rng: Linear(5, 4, rng=rng, init="he"),
    "sigmoid": lambda rng: Sigmoid(),
    "tanh": lambda rng: Tanh(),
    "relu": lambda rng: ReLU(),
    "leaky_relu": lambda rng: LeakyReLU(0.1),
    "identity": lambda rng: Identity(),
    "sequential": lambda rng: Sequential(Linear(5, 6, rng=rng), Tanh(), Linear(6, 4, rng=rng)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_passes_gradcheck_in_float64(name, rng):
    layer = LAYERS[name](rng)
    x = rng.standard_normal((7, 5))
    result = gradcheck(layer, x)
    assert result.max_error < 1e-6, result.errors


@pytest.mark.parametrize("name", ["linear", "sigmoid", "tanh", "sequential"])
def test_gradcheck_in_float32_with_scaled_tolerance(name, rng):
    layer = LAYERS[name](rng)
    for param in layer.parameters():
        param.value = param.value.astype(np.float32)
        param.grad = param.grad.astype(np.float32)
    x = rng.standard_normal((7, 5)).astype(np.float32)
    result = gradcheck(layer, x)
    assert result.passed, result.errors
    assert result.tolerance > 1e-6


class WrongSigmoid(Sigmoid):
    """Forgets the factor y in y * (1 - y)."""

    def backward(self, grad_y, need_grad_x=True):
        return grad_y * (1.0 - self.y)


class WrongLinear(Linear):
    """Drops the bias gradient's sum over the batch (uses the first row only)."""

    def backward(self, grad_y, need_grad_x=True):
        grad_x = super().backward(grad_y, need_grad_x)
        self.bias.grad[...] = grad_y[0]
        return grad_x


@pytest.mark.parametrize(
    "layer_factory", [lambda rng: WrongSigmoid(), lambda rng: WrongLinear(5, 3, rng=rng)]
)
def test_gradcheck_catches_a_wrong_backward(layer_factory, rng):
    result = gradcheck(layer_factory(rng), rng.standard_normal((6, 5)))
    assert not result.passed
    assert result.max_error > 1e-3


def test_linear_forward_is_affine_and_glorot_bounded(rng):
    layer = Linear(64, 48, rng=rng)
    limit = np.sqrt(6 / (64 + 48))
    assert np.abs(layer.weight.value).max() <= limit
    assert np.abs(layer.weight.value).max() > 0.9 * limit
    assert np.all(layer.bias.value == 0)
    x = rng.standard_normal((3, 64))
    layer.bias.value[:] = 0.5
    np.testing.assert_allclose(layer.forward(x), x @ layer.weight.value + 0.5)


def test_he_init_has_the_right_spread(rng):
    layer = Linear(400, 300, rng=rng, init="he")
    assert layer.weight.value.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert abs(layer.weight.value.mean()) < 0.01  # centred at zero


def test_activations_match_their_formulas(rng):
    x = rng.standard_normal((4, 3)) * 3
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x))
    np.testing.assert_allclose(ReLU().forward(x), np.maximum(x, 0))
    np.testing.assert_allclose(LeakyReLU(0.2).forward(x), np.where(x > 0, x, 0.2 * x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_finite_for_huge_inputs(dtype):
    y = Sigmoid().forward(np.array([[-1e4, 0.0, 1e4]], dtype=dtype))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [[0.0, 0.5, 1.0]])


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_a_share_one_minus_p_and_rescales_by_its_inverse(p, rng):
    """Every unit is either dropped (0) or kept and scaled by 1/(1-p), so the expected output
    equals the input; about a share 1 - p is kept."""
    layer = Dropout(p, rng=rng)
    x = rng.uniform(1.0, 2.0, (400, 50))
    out = layer.forward(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12)
    # 20000 independent draws: the kept share is within 4 standard deviations of 1 - p.
    sd = np.sqrt(p * (1 - p) / x.size)
    assert abs(kept.mean() - (1 - p)) < 4 * sd
    assert abs(out.mean() / x.mean() - 1) < 0.05


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_dropout_backward_uses_the_forward_mask(p, rng):
    """Dropout is linear for a fixed mask: the gradient flows only through kept units, scaled
    by the same 1/(1-p); a new forward draws a new mask."""
    layer = Dropout(p, rng=rng)
    x = rng.uniform(1.0, 2.0, (30, 40))
    out = layer.forward(x)
    grad_y = rng.standard_normal(x.shape)
    grad_x = layer.backward(grad_y)
    expected = np.where(out != 0, grad_y / (1 - p), 0.0)
    np.testing.assert_allclose(grad_x, expected, rtol=1e-12)
    assert not np.array_equal(layer.forward(x) != 0, out != 0)


def test_dropout_is_the_identity_in_evaluation_and_at_p_zero(rng):
    x = rng.standard_normal((20, 10))
    grad_y = rng.standard_normal((20, 10))
    layer = Dropout(0.3, rng=rng)
    layer.training = False
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(grad_y), grad_y)
    off = Dropout(0.0, rng=rng)
    np.testing.assert_array_equal(off.forward(x), x)
    np.testing.assert_array_equal(off.backward(grad_y), grad_y)


def test_dropout_in_a_model_switches_with_train_and_eval(rng):
    model = mlp([6, 40, 3], activation_name="tanh", dropout=0.4, rng=rng)
    x = rng.standard_normal((8, 6))
    model.eval()
    assert all(not layer.training for layer in model.layers)
    np.testing.assert_array_equal(model.forward(x), model.forward(x))
    model.train()
    assert all(layer.training for layer in model.layers)
    assert not np.array_equal(model.forward(x), model.forward(x))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_probability_outside_zero_to_one_is_refused(p):
    with pytest.raises(ConfigError, match="dropout probability"):
        Dropout(p)


def test_sequential_skips_the_input_gradient_when_not_needed(rng):
    model = Sequential(Linear(3, 2, rng=rng), Sigmoid())
    model.forward(rng.standard_normal((4, 3)))
    assert model.backward(np.ones((4, 2)), need_grad_x=False) is None
    assert model.backward(np.ones((4, 2))).shape == (4, 3)


def test_mlp_shapes_depth_and_config_roundtrip(rng):
    model = mlp([64, 48, 32, 10], activation_name="sigmoid", output_activation="sigmoid", rng=rng)
    assert [type(layer).__name__ for layer in model.layers] == ["Linear", "Sigmoid"] * 3
    assert model.forward(rng.standard_normal((5, 64))).shape == (5, 10)
    deep = mlp([8, 7, 6, 5, 4, 3, 2], activation_name="relu", rng=rng)
    assert len(deep.parameters()) == 12
    rebuilt = from_config(deep.config())
    rebuilt.load_state_dict(deep.state_dict())
    x = rng.standard_normal((3, 8))
    np.testing.assert_array_equal(rebuilt.forward(x), deep.forward(x))


def test_load_state_dict_fails_loudly(rng):
    model = mlp([4, 3, 2], rng=rng)
    state = {key: value.copy() for key, value in model.state_dict().items()}
    with pytest.raises(ConfigError, match="missing"):
        model.load_state_dict({k: v for k, v in state.items() if k != "0.weight"})
    with pytest.raises(ConfigError, match="unexpected"):
        model.load_state_dict({**state, "9.weight": np.zeros(1)})
    with pytest.raises(ConfigError, match="shape"):
        model.load_state_dict({**state, "0.weight": np.zeros((3, 4))})


@pytest.mark.parametrize("sizes", [[4], [4, 0, 2], [4, -3, 2]])
def test_bad_layer_sizes_are_refused(sizes, rng):
    with pytest.raises(ConfigError):
        mlp(sizes, rng=rng)


def test_dropout_without_rng_only_evaluates(rng):
    layer = Dropout(0.5)
    layer.training = False
    np.testing.assert_array_equal(layer.forward(np.ones((2, 3))), np.ones((2, 3)))
    layer.training = True
    with pytest.raises(ConfigError, match="rng"):
        layer.forward(np.ones((2, 3)))


def test_nested_sequential_is_refused_with_a_fix(rng):
    inner = Sequential(Linear(3, 2, rng=rng), Sigmoid())
    with pytest.raises(ConfigError, match="flatten"):
        Sequential(inner, Linear(2, 1, rng=rng))


def test_linear_takes_sparse_input_like_dense(rng):
    import scipy.sparse

    from glassnet.nn.layers import Linear

    dense = rng.standard_normal((7, 5)) * (rng.random((7, 5)) < 0.4)
    grad_y = rng.standard_normal((7, 3))
    results = []
    for x in (dense, scipy.sparse.csr_matrix(dense), scipy.sparse.csr_array(dense)):
        layer = Linear(5, 3, rng=np.random.default_rng(0))
        y = layer.forward(x)
        layer.backward(grad_y, need_grad_x=False)
        results.append((np.asarray(y), layer.weight.grad.copy(), layer.bias.grad.copy()))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(results[0][1], dense.T @ grad_y)  # independent formula


@pytest.mark.parametrize("activation_name, factor", [("logistic", 2.0), ("relu", 6.0)])
def test_sklearn_init_is_glorot_uniform_with_its_factor(activation_name, factor, rng):
    from glassnet.nn.layers import mlp

    network = mlp([300, 200, 2], activation_name=activation_name, init="sklearn", rng=rng)
    first = network.layers[0]
    limit = np.sqrt(factor / 500)
    for values in (first.weight.value, first.bias.value):
        assert np.abs(values).max() <= limit
        assert np.abs(values).max() > 0.95 * limit  # the whole interval is used, biases too
    # Uniform on [-a, a] has variance a^2 / 3.
    assert first.weight.value.var() == pytest.approx(limit**2 / 3, rel=0.05)


def test_linear_without_rng_starts_at_zero_and_refuses_bad_sizes_and_inits():
    layer = Linear(3, 2)
    assert np.all(layer.weight.value == 0) and layer.weight.value.shape == (3, 2)
    assert layer.weight.decay and not layer.bias.decay  # L2 on weights, never on biases
    assert Linear(1, 1, rng=np.random.default_rng(0)).weight.value.shape == (1, 1)
    with pytest.raises(ConfigError, match="Linear layer sizes must be positive, got 0 -> 2"):
        Linear(0, 2)
    with pytest.raises(ConfigError, match="got 2 -> 0"):
        Linear(2, 0)
    with pytest.raises(ConfigError, match="unknown init 'zeros'; use 'glorot', 'he' or 'sklearn'"):
        Linear(2, 2, rng=np.random.default_rng(0), init="zeros")


def test_linear_backward_by_hand(rng):
    layer = Linear(3, 2, rng=rng)
    x, grad_y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    grad_x = layer.backward(grad_y)
    np.testing.assert_allclose(layer.weight.grad, x.T @ grad_y)
    np.testing.assert_allclose(layer.bias.grad, grad_y.sum(axis=0))
    np.testing.assert_allclose(grad_x, grad_y @ layer.weight.value.T)
    assert layer.backward(grad_y, need_grad_x=False) is None


def test_leaky_relu_slope_default_and_refusal(rng):
    x = np.array([[-2.0, 3.0]])
    np.testing.assert_allclose(LeakyReLU().forward(x), [[-0.02, 3.0]])
    layer = LeakyReLU(0.3)
    layer.forward(x)
    np.testing.assert_allclose(layer.backward(np.ones((1, 2))), [[0.3, 1.0]])
    assert layer.config() == {"type": "LeakyReLU", "negative_slope": 0.3}
    with pytest.raises(ConfigError, match="negative_slope must be a finite number, got inf"):
        LeakyReLU(float("inf"))


def test_activation_backwards_by_hand(rng):
    x, grad_y = rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4))
    sigmoid = 1 / (1 + np.exp(-x))
    expected = {
        Sigmoid: grad_y * sigmoid * (1 - sigmoid),
        Tanh: grad_y * (1 - np.tanh(x) ** 2),
        ReLU: grad_y * (x > 0),
        Identity: grad_y,
    }
    for kind, grad_x in expected.items():
        layer = kind()
        layer.forward(x)
        np.testing.assert_allclose(layer.backward(grad_y), grad_x, rtol=1e-12)
    assert ReLU().forward(np.array([[0.0]]))[0, 0] == 0.0


def test_activations_by_name():
    from glassnet.nn.layers import activation

    names = {"sigmoid": Sigmoid, "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU}
    names.update(leaky_relu=LeakyReLU, identity=Identity)
    for name, kind in names.items():
        assert type(activation(name)) is kind
    with pytest.raises(ConfigError, match="unknown activation 'swish'; choose one of"):
        activation("swish")


def test_mlp_picks_he_for_relu_like_and_glorot_otherwise(rng):
    for name in ("relu", "leaky_relu"):
        assert mlp([4, 3, 2], activation_name=name, rng=rng).layers[0].init == "he"
    for name in ("tanh", "sigmoid", "identity"):
        assert mlp([4, 3, 2], activation_name=name, rng=rng).layers[0].init == "glorot"
    assert mlp([4, 3, 2], activation_name="relu", init="glorot", rng=rng).layers[0].init == "glorot"


def test_mlp_layout_dropout_after_hidden_layers_only_and_the_output_activation(rng):
    model = mlp(
        [4, 3, 3, 2], activation_name="relu", output_activation="tanh", dropout=0.2, rng=rng
    )
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Linear", "ReLU", "Dropout"] * 2 + ["Linear", "Tanh"]
    plain = mlp([4, 2], rng=rng)
    assert [type(layer).__name__ for layer in plain.layers] == ["Linear"]
    assert model.output_features(4) == 2 and plain.output_features(4) == 2
    with pytest.raises(ConfigError, match="at least input and output sizes, got \\[4\\]"):
        mlp([4], rng=rng)
    with pytest.raises(ConfigError, match="layer sizes must be positive integers, got \\[4, 0\\]"):
        mlp([4, 0], rng=rng)


def test_config_round_trip_keeps_every_layer_setting(rng):
    model = mlp([4, 3, 2], activation_name="leaky_relu", dropout=0.3, init="glorot", rng=rng)
    model.layers[1].negative_slope = 0.25
    rebuilt = from_config(model.config(), dtype=np.float32, rng=np.random.default_rng(1))
    assert rebuilt.config() == model.config()
    assert rebuilt.layers[0].init == "glorot" and rebuilt.layers[2].p == 0.3
    assert rebuilt.layers[2].rng is not None  # a rebuilt model can be trained further
    assert rebuilt.dtype == np.float32 and all(
        p.value.dtype == np.float32 for p in rebuilt.parameters()
    )
    assert all(np.all(p.value == 0) for p in rebuilt.parameters())
    legacy = {
        "type": "Sequential",
        "layers": [{"type": "Linear", "in_features": 2, "out_features": 1}],
    }
    assert from_config(legacy).layers[0].init == "glorot"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ([], "^model config must describe a Sequential$"),
        ({"type": "Linear"}, "model config must describe a Sequential"),
        ({"type": "Sequential", "layers": [{"type": "Conv"}]}, "unknown layer type 'Conv'"),
        (
            {"type": "Sequential", "layers": [{"p": 0.5}]},
            "^unknown layer type None in model config$",
        ),
        ({"type": "Sequential", "layers": [{"type": "Linear"}]}, "bad settings for layer Linear"),
        (
            {"type": "Sequential", "layers": [{"type": "Tanh", "x": 1}]},
            "bad settings for layer Tanh",
        ),
        (
            {"type": "Sequential", "layers": [{"type": "Dropout", "p": 0.1, "q": 2}]},
            "bad settings for layer Dropout: .*unexpected keyword argument 'q'",
        ),
    ],
)
def test_bad_model_configs_are_refused(config, words):
    with pytest.raises(ConfigError, match=words):
        from_config(config)


def test_state_dict_keys_and_load_refusals(rng):
    model = mlp([3, 4, 2], activation_name="tanh", rng=rng)
    assert sorted(model.state_dict()) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    state = {k: v.copy() + 1 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    for key, value in state.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    with pytest.raises(ConfigError, match="array '0.bias' has dtype <U1, expected real numbers"):
        model.load_state_dict({**state, "0.bias": np.array(["a"] * 4)})
    with pytest.raises(ConfigError, match="has dtype complex128"):
        model.load_state_dict({**state, "0.bias": np.zeros(4, dtype=complex)})
    with pytest.raises(ConfigError, match=r"array '2.weight' has shape \(2, 4\), the model needs"):
        model.load_state_dict({**state, "2.weight": np.zeros((2, 4))})


def test_an_empty_model_is_float64_and_passes_shapes_through():
    empty = Sequential()
    assert empty.dtype == np.float64 and empty.output_features(7) == 7 and empty.parameters() == []
    assert Sequential(Tanh()).config() == {"type": "Sequential", "layers": [{"type": "Tanh"}]}


def test_relu_like_gradients_at_exactly_zero_follow_the_usual_convention():
    """At x = 0, ReLU passes no gradient (scikit-learn's and PyTorch's choice) and LeakyReLU
    passes negative_slope of it (PyTorch's): a zero-initialised layer stays dead under ReLU."""
    x, grad_y = np.zeros((2, 3)), np.ones((2, 3))
    relu, leaky = ReLU(), LeakyReLU(0.1)
    relu.forward(x)
    leaky.forward(x)
    np.testing.assert_array_equal(relu.backward(grad_y), np.zeros((2, 3)))
    np.testing.assert_allclose(leaky.backward(grad_y), np.full((2, 3), 0.1))


def test_dropout_defaults_to_one_half():
    assert Dropout(rng=np.random.default_rng(0)).p == 0.5


def test_messages_for_a_missing_rng_and_a_nested_sequential_say_what_to_do(rng):
    layer = Dropout(0.5)
    with pytest.raises(
        ConfigError, match=r"^Dropout draws its masks from rng: pass rng=default_rng\(seed\)$"
    ):
        layer.forward(np.ones((2, 3)))
    inner = Sequential(Linear(3, 2, rng=rng))
    words = (
        r"^Sequential takes layers, not another Sequential: flatten it, "
        r"e\.g\. Sequential\(\*first\.layers, \*second\.layers\)$"
    )
    with pytest.raises(ConfigError, match=words):
        Sequential(inner)


def test_train_and_eval_set_a_boolean_mode(rng):
    model = mlp([3, 4, 2], dropout=0.5, rng=rng)
    assert model.eval() is model and model.training is False
    assert all(layer.training is False for layer in model.layers)
    assert model.train() is model and model.training is True
    assert all(layer.training is True for layer in model.layers)


def test_a_sequential_config_without_layers_is_an_empty_model():
    assert from_config({"type": "Sequential"}).layers == []


def test_a_layer_description_that_is_not_a_table_is_refused_by_value():
    config = {"type": "Sequential", "layers": [{"type": "Tanh"}, "junk"]}
    with pytest.raises(ConfigError, match=r"^a layer description must be a table, got 'junk'$"):
        from_config(config)


def test_a_network_without_parameters_backpropagates_either_way():
    from glassnet.nn.layers import Sequential

    model = Sequential(Tanh(), ReLU())
    x = np.array([[-1.0, 0.5], [2.0, -0.3]])
    model.forward(x)
    expected = (1 - np.tanh(x) ** 2) * (np.tanh(x) > 0)
    np.testing.assert_allclose(model.backward(np.ones((2, 2))), expected, rtol=1e-14)
    model.forward(x)
    np.testing.assert_allclose(model.backward(np.ones((2, 2)), need_grad_x=False), expected)


def test_glorot_is_the_default_init_of_a_linear_layer():
    """Uniform in +-sqrt(6 / (fan_in + fan_out)): 40,000 draws reach close to the bound."""
    layer = Linear(200, 200, rng=np.random.default_rng(0))
    limit = np.sqrt(6.0 / 400)
    assert np.abs(layer.weight.value).max() <= limit
    assert np.abs(layer.weight.value).max() > 0.999 * limit


@pytest.mark.parametrize(("activation", "factor"), [("sigmoid", 2.0), ("tanh", 6.0)])
def test_sklearn_init_draws_weights_and_biases_in_its_bound(activation, factor):
    """scikit-learn's MLP init: weights and biases uniform in +-sqrt(factor / (in + out)),
    factor 2 for the logistic activation."""
    from glassnet.nn.layers import mlp

    model = mlp(
        [200, 200], activation_name=activation, init="sklearn", rng=np.random.default_rng(0)
    )
    limit = np.sqrt(factor / 400)
    weight, bias = model.layers[0].weight.value, model.layers[0].bias.value
    assert limit * 0.999 < np.abs(weight).max() <= limit
    assert np.abs(bias).max() <= limit and bias.min() < 0 < bias.max()


def test_sklearn_init_of_a_linear_layer_alone_uses_the_factor_6():
    layer = Linear(200, 200, init="sklearn", rng=np.random.default_rng(0))
    limit = np.sqrt(6.0 / 400)
    assert limit * 0.999 < np.abs(layer.weight.value).max() <= limit


def test_the_layer_type_names_model_files_store_never_change():
    # Model files name each layer by these strings: renaming one breaks every saved model.
    assert sorted(LAYER_TYPES) == [
        "AvgPool2D",
        "BatchNorm",
        "Conv2D",
        "Dropout",
        "Flatten",
        "GlobalAvgPool2D",
        "Identity",
        "LeakyReLU",
        "Linear",
        "MaxPool2D",
        "PeriodicEmbedding",
        "ReLU",
        "Reshape",
        "Sigmoid",
        "Tanh",
    ]
    assert all(LAYER_TYPES[name]().config()["type"] == name for name in ("ReLU", "Flatten"))
