"""Train the seed network and watch it learn.

The tutorial's 64-48-32-10 network (a sigmoid after every layer, the output included),
trained full batch with momentum SGD for 300 epochs at l2 = 0.6: the training and
validation loss per epoch, and the validation accuracy. The losses cannot fall below
about 1.46: softmax over sigmoid outputs caps every probability at e/(e+9).
"""

import matplotlib.pyplot as plt
import numpy as np

from glassnet import SGD, SoftmaxCrossEntropy, fit, mlp
from glassnet.data import load_digits, seed_split

splits = seed_split(load_digits())
rng = np.random.default_rng(0)
net = mlp([64, 48, 32, 10], activation_name="sigmoid", output_activation="sigmoid", rng=rng)
history = fit(
    net,
    SoftmaxCrossEntropy(),
    SGD(net.parameters(), lr=0.2, momentum=0.9),
    (splits.train.x, splits.train.y),
    (splits.validation.x, splits.validation.y),
    epochs=300,
    l2=0.6,
)
print(f"validation accuracy after 300 epochs: {history.validation_accuracy[-1]:.4f}")
print(f"lowest validation loss: {min(history.validation_loss):.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
left.plot(history.train_loss, label="train")
left.plot(history.validation_loss, label="validation")
left.set(xlabel="epoch", ylabel="mean cross-entropy", title="loss")
left.legend()
right.plot(history.validation_accuracy)
right.set(xlabel="epoch", ylabel="accuracy", title="validation accuracy", ylim=(0, 1))
fig.tight_layout()
fig.savefig("curves.png", dpi=100)
