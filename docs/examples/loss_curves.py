"""Train the seed network and plot its curves.

The tutorial's 64-48-32-10 sigmoid network, trained for 300 full-batch epochs.
"""

import matplotlib.pyplot as plt
import numpy as np

from glassnet import SGD, SoftmaxCrossEntropy, fit, mlp
from glassnet.data import load_digits, seed_split

splits = seed_split(load_digits())
rng = np.random.default_rng(0)
net = mlp([64, 48, 32, 10], activation_name="sigmoid", output_activation="sigmoid", rng=rng)
history = fit(net, SoftmaxCrossEntropy(), SGD(net.parameters(), lr=0.2, momentum=0.9),
              (splits.train.x, splits.train.y), (splits.validation.x, splits.validation.y),
              epochs=300, l2=0.6)
print(f"validation accuracy after 300 epochs: {history.validation_accuracy[-1]:.4f}")
plt.plot(history.train_loss, label="train")
plt.plot(history.validation_loss, label="validation")
plt.legend()
plt.savefig("losses.png")
