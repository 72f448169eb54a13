"""Register and activate the local stack, then run `python -m greenr.deployment status`, in this
process, and print as the last line the command's exit status and which heavy modules the process
imported: `python tests/deployment_command_modules.py`. Run in a subprocess of its own (the point)
by tests/unit/deployment/test_control_imports.py."""

from __future__ import annotations

import sys

HEAVY = ("mlflow", "onnx", "tensorflow", "keras")

if __name__ == "__main__":
    from greenr.deployment.__main__ import main as deployment_command
    from stacks.__main__ import main as stacks_command

    if stacks_command(["register", "--stack", "local", "--activate", "local"]) != 0:
        sys.exit("registering the local stack failed")
    status = deployment_command(["status"])
    print(status, sorted(name for name in HEAVY if name in sys.modules))
