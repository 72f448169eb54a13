"""What the model looked at: Grad-CAM heatmaps of the Keras classifier, and their overlay on the photo.

Not on the prediction path: the model server (ONNX, no TensorFlow) answers predictions; the API
computes an explanation on request, from the Keras model that training logged with the version's
run (`greenr.training.trained_model.KERAS_ARTIFACT_PATH`). TensorFlow is imported on first use.
"""
