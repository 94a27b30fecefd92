"""Exporting trained models to other runtimes (ONNX); the ``onnx`` package is optional and
imported only when an export runs."""

from glassnet.export.onnx import LAYERS, PREPROCESSING, save_onnx, to_onnx

__all__ = ["LAYERS", "PREPROCESSING", "save_onnx", "to_onnx"]
