"""Steps of the deployment pipeline."""
