"""Pointing ZenML at the project's state folder before ZenML is imported.

ZenML reads its configuration from environment variables at import time, so entry points
call `prepare_zenml(settings)` first and import pipelines afterwards.
"""

from __future__ import annotations

import os

from greenr.settings import Settings


def zenml_environment(settings: Settings) -> dict[str, str]:
    """Variables ZenML needs: a private config/store folder, no analytics, plain logs."""
    return {
        "ZENML_CONFIG_PATH": str(settings.zenml_config_path),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "ZENML_ENABLE_RICH_TRACEBACK": "false",
        "ZENML_AUTO_OPEN_DASHBOARD": "false",
        "ZENML_LOGGING_COLORS_DISABLED": "true",
        # GE 1.x sends usage statistics unless told not to; the machines have no internet.
        "GX_ANALYTICS_ENABLED": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        # TensorFlow's C++ INFO lines (oneDNN, CPU features) bury the training log.
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def prepare_zenml(settings: Settings) -> None:
    """Export the ZenML variables (explicit values already in the environment win)."""
    settings.zenml_config_path.mkdir(parents=True, exist_ok=True)
    for name, value in zenml_environment(settings).items():
        os.environ.setdefault(name, value)
