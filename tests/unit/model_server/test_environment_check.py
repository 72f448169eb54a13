"""The model server's environment imports greenr's image and feature code with numpy, Pillow and
PyYAML only."""

from __future__ import annotations

import subprocess
from pathlib import Path

from greenr.settings import REPO_ROOT
from serving.environment_check import unexpected_imports

pytest_plugins = ["model_server_fixtures"]


def test_unexpected_imports_names_new_third_party_packages_only() -> None:
    before = {"sys", "os"}
    imported = {"json", "numpy", "numpy.core", "PIL.Image", "greenr.images", "_cython_3_0"}
    imported |= {"tensorflow.python", "pydantic", "yaml"}
    after = before | imported
    assert unexpected_imports(before, after) == ["pydantic", "tensorflow"]
    assert unexpected_imports(before, before | {"numpy", "PIL", "yaml"}) == []


def test_the_check_passes_in_the_serving_environment(serving_env: Path) -> None:
    result = subprocess.run(
        [str(serving_env), "-m", "serving.environment_check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
