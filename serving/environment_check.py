"""Check that the model server's environment can import greenr's image and feature code with
numpy, Pillow and PyYAML only.

Run by scripts/serving_setup.sh in .venv-serving (`python -m serving.environment_check`), where
greenr is installed without its dependencies: if `greenr.images.decoding`,
`greenr.images.preprocess`, the feature columns' modules (`greenr.features`, which read
feature_set.yaml with PyYAML, a seldon-core dependency) or the open-set scorer
(`greenr.open_set`) ever import something else, the server would fail at start; this fails at
install time instead, naming the imports.
"""

from __future__ import annotations

import importlib
import sys

MODULES = (
    "greenr.images.decoding",
    "greenr.images.preprocess",
    "greenr.features.definitions",
    "greenr.features.prediction_features",
    "greenr.open_set.scorer",
)
# cython_runtime/_cython_*: numpy's compiled modules; cffi: Pillow's optional pixel accessor,
# loaded because cryptography (a seldon-core dependency) installs it; _distutils_hack: setuptools;
# yaml: PyYAML, for feature_set.yaml.
ALLOWED = frozenset({"greenr", "numpy", "PIL", "yaml", "cffi", "cython_runtime", "_distutils_hack"})


def unexpected_imports(before: set[str], after: set[str]) -> list[str]:
    """Top-level third-party packages imported between the two `sys.modules` snapshots, beyond ALLOWED."""
    tops = {name.split(".")[0] for name in after - before}
    return sorted(
        name
        for name in tops
        if name not in ALLOWED and name not in sys.stdlib_module_names and not name.startswith("_cython_")
    )


def main() -> int:
    before = set(sys.modules)
    for module in MODULES:
        importlib.import_module(module)
    extra = unexpected_imports(before, set(sys.modules))
    if extra:
        print(f"unexpected third-party imports from {', '.join(MODULES)}: {extra}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
