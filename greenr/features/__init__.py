"""The prediction features: one definition file read by training, serving and monitoring."""
