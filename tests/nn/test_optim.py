import numpy as np
import pytest

from glassnet import SGD, Adam, ConfigError, Param


def param(values, grad):
    return Param(np.array(values, dtype=float), np.array(grad, dtype=float))


def test_sgd_momentum_two_steps_by_hand():
    p = param([1.0, 2.0], [0.5, -1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()  # v = -0.1 g = [-0.05, 0.1]
    np.testing.assert_allclose(p.value, [0.95, 2.1])
    opt.step()  # v = 0.9 [-0.05, 0.1] - 0.1 g = [-0.095, 0.19]
    np.testing.assert_allclose(p.value, [0.855, 2.29])
    np.testing.assert_allclose(opt.state[0]["velocity"], [-0.095, 0.19])


def test_nesterov_step_by_hand():
    p = param([1.0, 2.0], [0.5, -1.0])
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    opt.step()  # v = [-0.05, 0.1]; p += 0.9 v - 0.1 g = [-0.095, 0.19]
    np.testing.assert_allclose(p.value, [0.905, 2.19])
    opt.step()  # v = [-0.095, 0.19]; p += 0.9 v - 0.1 g = [-0.1355, 0.271]
    np.testing.assert_allclose(p.value, [0.7695, 2.461])


def test_adam_two_steps_by_hand():
    p = param([1.0, 2.0], [0.5, -1.0])
    opt = Adam([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    opt.step()  # bias-corrected m = g, s = g^2: step = lr * g / (|g| + eps)
    np.testing.assert_allclose(p.value, [1 - 0.1 * 0.5 / (0.5 + 1e-8), 2 + 0.1 * 1 / (1 + 1e-8)])
    p.grad[...] = [1.0, 1.0]
    opt.step()
    m = np.array([0.9 * 0.05 + 0.1 * 1.0, 0.9 * -0.1 + 0.1 * 1.0]) / (1 - 0.9**2)
    s = np.array([0.999 * 0.00025 + 0.001, 0.999 * 0.001 + 0.001]) / (1 - 0.999**2)
    first_step = np.array([1 - 0.1 * 0.5 / (0.5 + 1e-8), 2 + 0.1 / (1 + 1e-8)])
    expected = first_step - 0.1 * m / (np.sqrt(s) + 1e-8)
    np.testing.assert_allclose(p.value, expected, rtol=1e-12)


def test_plain_gradient_descent_without_momentum():
    p = param([1.0], [2.0])
    SGD([p], lr=0.25).step()
    np.testing.assert_allclose(p.value, [0.5])


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rates_are_refused(lr):
    with pytest.raises(ConfigError, match="learning rate"):
        SGD([param([1.0], [1.0])], lr=lr)


def test_state_dict_roundtrip_and_strictness():
    p = param([1.0, 2.0], [0.5, -1.0])
    opt = Adam([p], lr=0.1)
    opt.step()
    state = {k: np.copy(v) for k, v in opt.state_dict().items()}
    other = Adam([param([1.0, 2.0], [0.0, 0.0])], lr=0.1)
    other.load_state_dict(state)
    assert other.steps == 1
    np.testing.assert_array_equal(other.state[0]["m"], opt.state[0]["m"])
    with pytest.raises(ConfigError):
        other.load_state_dict({"steps": np.asarray(1)})


def test_defaults_are_the_documented_ones():
    """SGD: lr 0.01, no momentum; Adam: lr 0.001, betas (0.9, 0.999), eps 1e-8."""
    p = param([1.0], [2.0])
    sgd = SGD([p])
    sgd.step()
    sgd.step()
    np.testing.assert_allclose(p.value, [1.0 - 2 * 0.01 * 2.0])  # no velocity carried over
    q = param([1.0], [1e-8])
    adam = Adam([q])
    adam.step()  # corrected m = g, s = g^2: step = lr * g / (|g| + eps) = lr / 2 at g = eps
    np.testing.assert_allclose(q.value, [1.0 - 0.001 / 2], rtol=1e-12)
    np.testing.assert_allclose(adam.state[0]["m"], [0.1 * 1e-8])
    np.testing.assert_allclose(adam.state[0]["s"], [0.001 * 1e-16])


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: SGD(p, momentum=1.0), "momentum must be in \\[0, 1\\)"),
        (lambda p: SGD(p, momentum=-0.1), "momentum must be in \\[0, 1\\)"),
        (lambda p: SGD(p, nesterov=True), "^Nesterov momentum needs momentum > 0$"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), "betas must be in \\[0, 1\\)"),
        (lambda p: Adam(p, betas=(0.9, -0.1)), "betas must be in \\[0, 1\\)"),
        (lambda p: Adam(p, eps=0.0), "eps must be positive"),
    ],
)
def test_bad_settings_are_refused(make, words):
    with pytest.raises(ConfigError, match=words):
        make([param([1.0], [1.0])])


def test_the_edges_of_the_allowed_settings_work():
    p = param([1.0], [1.0])
    SGD([p], lr=0.1, momentum=0.0).step()
    Adam([p], betas=(0.0, 0.0), eps=1e-300).step()
    np.testing.assert_allclose(p.value, [0.9 - 0.001], rtol=1e-12)


def test_make_optimizer_by_name_and_refusals():
    from glassnet.nn.optim import make_optimizer

    p = param([1.0], [1.0])
    sgd = make_optimizer("sgd", [p], lr=0.5, momentum=0.5)
    assert type(sgd) is SGD and sgd.lr == 0.5 and sgd.momentum == 0.5
    assert type(make_optimizer("adam", [p], lr=0.1)) is Adam
    with pytest.raises(ConfigError, match="unknown optimizer 'rmsprop'; choose one of"):
        make_optimizer("rmsprop", [p])
    with pytest.raises(ConfigError, match="bad settings for optimizer 'sgd'"):
        make_optimizer("sgd", [p], betas=(0.9, 0.9))


def test_loading_state_restores_every_slot_and_the_step_count():
    p = param([1.0, 2.0], [0.5, -1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    opt.step()
    state = opt.state_dict()
    assert sorted(state) == ["0.velocity", "steps"] and int(state["steps"]) == 2
    other = SGD([param([0.0, 0.0], [0.5, -1.0])], lr=0.1, momentum=0.9)
    other.load_state_dict({k: np.copy(v) for k, v in state.items()})
    assert other.steps == 2
    np.testing.assert_array_equal(other.state[0]["velocity"], opt.state[0]["velocity"])
    with pytest.raises(ConfigError, match=r"optimizer state 0.velocity has shape \(3,\)"):
        other.load_state_dict({"0.velocity": np.zeros(3), "steps": np.asarray(1)})
    with pytest.raises(ConfigError, match=r"missing \['0.velocity'\], unexpected \['0.m'\]"):
        other.load_state_dict({"0.m": np.zeros(2), "steps": np.asarray(1)})


def model_params(dtype=np.float64, seed=0):
    from glassnet.nn.layers import mlp

    params = mlp([3, 4, 2], rng=np.random.default_rng(seed), dtype=np.dtype(dtype)).parameters()
    for i, p in enumerate(params):
        p.grad[...] = np.random.default_rng(i).normal(size=p.grad.shape)
    return params


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, 0.1, 0.9), lambda ps: Adam(ps, 0.01)])
def test_one_flat_step_updates_every_element_as_a_step_per_parameter_does(make):
    flat, apart = model_params(), model_params()
    flat_opt, apart_opt = make(flat), make(apart)
    # Replacing an array after the optimizer took it sends the step the per-parameter way.
    apart[0].value = apart[0].value.copy()
    values = flat_opt.flat[0]
    assert all(p.value.base is values for p in flat)
    for _ in range(3):
        flat_opt.step()
        apart_opt.step()
        for p, q in zip(flat, apart, strict=True):
            np.testing.assert_array_equal(p.value, q.value)  # bit for bit
            p.grad *= 0.5
            q.grad *= 0.5
    for s, t in zip(flat_opt.state, apart_opt.state, strict=True):
        for name in s:
            np.testing.assert_array_equal(s[name], t[name])
    assert all(
        state.base is flat_opt.flat[2][name] for s in flat_opt.state for name, state in s.items()
    )


def test_a_replaced_parameter_array_is_still_updated():
    params = model_params()
    opt = SGD(params, lr=1.0)
    replacement = np.zeros_like(params[1].value)
    params[1].value = replacement
    params[1].grad = np.ones_like(replacement)
    opt.step()
    np.testing.assert_array_equal(replacement, -1.0)  # the new array, not the old view


def test_mixed_dtypes_are_updated_apart_in_their_own_dtypes():
    params = model_params(np.float32)[:2] + model_params(np.float64)[2:]
    before = [p.value.copy() for p in params]
    opt = SGD(params, lr=0.5)
    assert opt.flat is None
    opt.step()
    assert [p.value.dtype for p in params] == [np.float32, np.float32, np.float64, np.float64]
    for p, old in zip(params, before, strict=True):
        np.testing.assert_allclose(p.value, old - 0.5 * p.grad, rtol=1e-6)


def test_a_step_is_one_update_of_the_flat_buffer_until_an_array_is_replaced():
    shapes = []

    class Counting(SGD):
        def update(self, value, grad, state):
            shapes.append(value.shape)
            super().update(value, grad, state)

    params = model_params()
    opt = Counting(params, lr=0.1)
    opt.step()
    assert shapes == [(26,)]  # 3 x 4 + 4 + 4 x 2 + 2 values, in one call
    shapes.clear()
    params[0].grad = params[0].grad.copy()  # a gradient array replaced: one by one again
    opt.step()
    assert shapes == [(3, 4), (4,), (4, 2), (2,)]
