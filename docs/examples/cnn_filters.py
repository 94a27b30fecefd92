"""A small CNN on the digits, and what its first layer learned.

Eight 3x3 filters, max pooling and one dense layer, trained for 15 epochs with Adam on
minibatches; then the filters and their responses (feature maps) to one test digit.
Images are `(n, channels, height, width)` inside the network; a `Reshape` at its edge turns
the flat 64-pixel rows into them.
"""

import matplotlib.pyplot as plt
import numpy as np

from glassnet import Adam, Linear, ReLU, Sequential, SoftmaxCrossEntropy, evaluate, fit
from glassnet.data import load_digits, seed_split
from glassnet.nn.conv import Conv2D
from glassnet.nn.pooling import MaxPool2D
from glassnet.nn.shape import Flatten, Reshape

splits = seed_split(load_digits())
scale = 16.0
rng = np.random.default_rng(0)
conv = Conv2D(1, 8, 3, padding=1, rng=rng)
net = Sequential(
    Reshape((1, 8, 8)), conv, ReLU(), MaxPool2D(2), Flatten(), Linear(128, 10, rng=rng)
)
loss = SoftmaxCrossEntropy()
fit(
    net,
    loss,
    Adam(net.parameters(), lr=0.01),
    (splits.train.x / scale, splits.train.y),
    epochs=15,
    batch_size=64,
    rng=rng,
)
_, accuracy = evaluate(net, loss, splits.test.x / scale, splits.test.y)
print(f"test accuracy after 15 epochs: {accuracy:.4f}")

digit = splits.test.x[:1] / scale
net.eval()
images = net.layers[0].forward(digit)  # (1, 1, 8, 8)
maps = net.layers[2].forward(conv.forward(images))[0]  # ReLU(conv): (8 channels, 8, 8)
filters = conv.weight.value.reshape(8, 3, 3)  # (out_channels, in_channels, 3, 3), one input channel
fig, axes = plt.subplots(2, 9, figsize=(9, 2.4))
axes[0, 0].imshow(digit.reshape(8, 8), cmap="gray_r")
axes[0, 0].set_title("digit", fontsize=8)
axes[1, 0].axis("off")
for k in range(8):
    axes[0, k + 1].imshow(filters[k], cmap="RdBu")
    axes[0, k + 1].set_title(f"filter {k}", fontsize=8)
    axes[1, k + 1].imshow(maps[k], cmap="viridis")
for ax in axes.flat:
    ax.set_xticks([]), ax.set_yticks([])
fig.tight_layout()
fig.savefig("filters.png", dpi=100)
