"""The network itself: layers, losses, optimizers, the training objective and gradient checks.

Imports nothing of glassnet but ``glassnet.errors``; everything else builds on it.
"""
