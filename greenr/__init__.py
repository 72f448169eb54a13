"""greenr: dandelion vs grass classifier and the MLOps system around it."""
