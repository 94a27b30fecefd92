import numpy as np

from glassnet import Model, mlp, softmax
from glassnet.training.config import TrainConfig, fit_from_config


def test_an_ensembles_probabilities_are_the_mean_of_its_members():
    rng = np.random.default_rng(0)
    members = [mlp([5, 7, 3], activation_name="tanh", rng=rng) for _ in range(3)]
    x = rng.standard_normal((11, 5))
    ensemble = Model(members, classes=np.array([10, 20, 30]))
    each = [softmax(member.forward(x)) for member in members]
    np.testing.assert_allclose(ensemble.predict_proba(x), np.mean(each, axis=0), rtol=1e-12)
    np.testing.assert_allclose(ensemble.predict_proba(x).sum(axis=1), 1.0)
    assert not np.allclose(ensemble.predict_proba(x), each[0])
    np.testing.assert_array_equal(
        ensemble.predict(x), np.array([10, 20, 30])[np.mean(each, axis=0).argmax(axis=1)]
    )


def test_dropout_is_off_when_a_trained_model_predicts():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 5))
    y = (x[:, 0] > 0).astype(int)
    config = TrainConfig(
        hidden_layer_sizes=(16,),
        activation="relu",
        dropout=0.5,
        epochs=5,
        batch_size=10,
        optimizer="adam",
        lr=0.01,
    )
    network, _ = fit_from_config(config, (x, y), (x, y), n_outputs=2, rng=rng)
    assert any(type(layer).__name__ == "Dropout" for layer in network.layers)
    model = Model([network])
    first = model.predict_proba(x)
    np.testing.assert_array_equal(first, model.predict_proba(x))  # no random masks
    # the same weights without the dropout layers give the same outputs
    plain = mlp([5, 16, 2], activation_name="relu", rng=np.random.default_rng(1))
    plain.load_state_dict({k.replace("3.", "2."): v for k, v in network.state_dict().items()})
    np.testing.assert_allclose(first, softmax(plain.forward(x)), rtol=1e-12)
    network.train()
    assert not np.allclose(softmax(network.forward(x)), first)  # while training, it does drop


def test_the_image_shape_a_model_remembers_is_height_width_channels():
    network = mlp([12, 2], rng=np.random.default_rng(0))
    assert Model([network]).image_shape is None
    assert Model([network], info={"image_shape": [2, 6]}).image_shape == (2, 6, 1)
    color = Model([network], info={"image_shape": [2, 2], "channels": 3})
    assert color.image_shape == (2, 2, 3)
