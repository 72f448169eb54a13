"""Exporting the classifier to the serving format (ONNX) and running that format."""
