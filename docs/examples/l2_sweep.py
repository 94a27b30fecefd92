"""Sweep the L2 strength, as the tutorial did.

Ten networks, one per l2 in `numpy.logspace(-2, 2, 10)`, each from its own generator
spawned from one seed, trained for 300 epochs (the seed experiment trains 1000) and scored
on the validation set. Strong L2 presses the weights towards zero and the accuracy towards
chance: the collapse the tutorial describes.
"""

import matplotlib.pyplot as plt
import numpy as np

from glassnet import SGD, SoftmaxCrossEntropy, evaluate, fit, mlp
from glassnet.data import load_digits, seed_split

splits = seed_split(load_digits())
train = (splits.train.x.astype(np.float32), splits.train.y)
validation = (splits.validation.x.astype(np.float32), splits.validation.y)
l2_grid = np.logspace(-2, 2, 10)
generators = np.random.default_rng(0).spawn(len(l2_grid))
scores = []
for l2, rng in zip(l2_grid, generators, strict=True):
    net = mlp(
        [64, 48, 32, 10],
        activation_name="sigmoid",
        output_activation="sigmoid",
        rng=rng,
        dtype=np.float32,
    )
    loss = SoftmaxCrossEntropy()
    fit(net, loss, SGD(net.parameters(), lr=0.2, momentum=0.9), train, epochs=300, l2=l2)
    _, accuracy = evaluate(net, loss, *validation)
    scores.append(accuracy)
    print(f"l2 = {l2:8.3f}   validation accuracy {accuracy:.4f}")
best = int(np.argmax(scores))
print(f"chosen l2 = {l2_grid[best]:.3g} (validation accuracy {scores[best]:.4f})")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogx(l2_grid, scores, "o-")
ax.axhline(0.1, color="grey", linestyle=":", label="chance (10 classes)")
ax.set(xlabel="l2", ylabel="validation accuracy", ylim=(0, 1), title="accuracy against l2")
ax.legend()
fig.tight_layout()
fig.savefig("sweep.png", dpi=100)
