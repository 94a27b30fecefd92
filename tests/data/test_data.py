import numpy as np

from glassnet.data import Scaler


def test_global_scaling_uses_one_mean_and_std_for_every_feature_and_inverts():
    x = np.random.default_rng(0).uniform(0, 16, size=(50, 6)) * np.arange(1, 7)
    scaler = Scaler.fit("global", x)
    np.testing.assert_allclose(scaler.offset, np.full(6, x.mean()))
    np.testing.assert_allclose(scaler.scale, np.full(6, x.std()))
    scaled = scaler.transform(x)
    assert abs(scaled.mean()) < 1e-12 and abs(scaled.std() - 1) < 1e-12
    assert np.std(scaled.std(axis=0)) > 0.1  # features keep their relative spread
    for kind in Scaler.KINDS:
        fitted = Scaler.fit(kind, x)
        np.testing.assert_allclose(fitted.inverse_transform(fitted.transform(x)), x)
