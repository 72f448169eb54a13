"""Training core: config, data loading, augmentation, classifier, training loop and evaluation.

Plain typed functions with no ZenML or MLflow: pipeline steps wrap them. TensorFlow and Keras
are imported inside functions (or by the modules that need them), so importing the package
builds no model and starts no TensorFlow session.
"""
