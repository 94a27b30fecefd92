"""glassnet: neural networks in plain NumPy where every forward and backward step is readable."""

__version__ = "0.1.0"

from glassnet.errors import ConfigError, DataError, DivergenceError, GlassnetError, ModelFileError
from glassnet.gradcheck import gradcheck
from glassnet.layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Param,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    mlp,
)
from glassnet.losses import MeanSquaredError, SoftmaxCrossEntropy, softmax
from glassnet.model import Model
from glassnet.optim import SGD, Adam
from glassnet.train import History, StopTraining, TrainConfig, evaluate, fit, fit_from_config

__all__ = [
    "Adam",
    "ConfigError",
    "DataError",
    "DivergenceError",
    "Dropout",
    "GlassnetError",
    "History",
    "Identity",
    "LeakyReLU",
    "Linear",
    "MeanSquaredError",
    "Model",
    "ModelFileError",
    "Param",
    "ReLU",
    "SGD",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "StopTraining",
    "Tanh",
    "TrainConfig",
    "__version__",
    "evaluate",
    "fit",
    "gradcheck",
    "fit_from_config",
    "mlp",
    "softmax",
]
