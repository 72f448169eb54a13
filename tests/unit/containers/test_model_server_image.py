"""serving/Dockerfile copies every module of greenr the model server imports (the image once
started without greenr.json_logging: ModuleNotFoundError, found by scripts/container_test.sh)."""

from __future__ import annotations

import re
import subprocess

import pytest

from greenr.settings import REPO_ROOT

SERVING_PYTHON = REPO_ROOT / ".venv-serving" / "bin" / "python"
# What the image's CMD imports: the launcher, and the model class it names.
ENTRY_MODULES = ("serving.seldon_launcher", "serving.seldon_entry")
IMPORTED = (
    "import importlib, sys\n"
    f"for name in {ENTRY_MODULES!r}: importlib.import_module(name)\n"
    "print('\\n'.join(n for n in sys.modules if n == 'greenr' or n.startswith('greenr.')))\n"
)


def copied_sources() -> list[str]:
    """The build-context paths serving/Dockerfile copies (not from other stages)."""
    text = (REPO_ROOT / "serving/Dockerfile").read_text()
    return [match.group(1).rstrip("/") for match in re.finditer(r"^COPY\s+(?!--from)(\S+)\s+\S+", text, re.M)]


def module_file(name: str) -> str:
    path = REPO_ROOT / name.replace(".", "/")
    return (
        f"{path.relative_to(REPO_ROOT)}/__init__.py" if path.is_dir() else f"{path.relative_to(REPO_ROOT)}.py"
    )


def test_every_greenr_module_the_server_imports_is_in_the_image() -> None:
    if not SERVING_PYTHON.is_file():
        pytest.skip("no .venv-serving: bash scripts/serving_setup.sh")
    done = subprocess.run(
        [str(SERVING_PYTHON), "-c", IMPORTED],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = done.stdout.split()
    assert "greenr.images.decoding" in modules  # the check sees the server's imports at all
    sources = copied_sources()
    missing = [
        module_file(name)
        for name in modules
        if not any(
            module_file(name) == source or module_file(name).startswith(f"{source}/") for source in sources
        )
    ]
    assert not missing, f"serving/Dockerfile does not COPY {missing}: the server would not start"
