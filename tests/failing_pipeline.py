"""Real ZenML pipelines that fail, for tests of `greenr.pipeline_failures` (run as a script).

    PYTHONPATH=.:tests python -m failing_pipeline MODE WORDS      (from the repository root)

runs a one-step pipeline (tests/failing_steps.py) whose step raises `ValueError(WORDS)`, in
ZenML's execution MODE (fail_fast re-raises the step's own exception; continue_on_failure raises
a generic RuntimeError), through `run_reporting_failures`, and prints one JSON line: what was
raised and the runs recorded. With GREENR_LOG_DIR set it also writes `<dir>/pipelines.log`, as
run.py does.
Run in a subprocess with its own GREENR_HOME: ZenML's configuration is process-wide.
"""

from __future__ import annotations

import json
import sys

from greenr.json_logging import add_json_log_file
from greenr.pipeline_failures import PipelineFailed, run_reporting_failures
from greenr.settings import get_settings
from greenr.zenml_environment import prepare_zenml


def main(mode: str, words: str) -> None:
    settings = get_settings()
    if settings.log_dir is not None:  # as run.py does: the pipelines' JSON log file
        add_json_log_file("pipelines", settings.log_dir, "INFO", settings.log_max_bytes, settings.log_backups)
    prepare_zenml(settings)
    from failing_steps import doomed
    from zenml.client import Client
    from zenml.enums import ExecutionMode

    names: list[str] = []

    def find_run(name: str) -> object:
        names.append(name)
        return Client().get_pipeline_run(name, allow_name_prefix_match=False)

    try:
        run_reporting_failures(
            doomed.with_options(execution_mode=ExecutionMode(mode)), find_run=find_run, words=words
        )
        outcome: dict[str, str | None] = {"raised": None}
    except PipelineFailed as error:
        outcome = {"raised": "PipelineFailed", "message": str(error)}
    except Exception as error:  # what the old text matching would have let through
        outcome = {"raised": type(error).__name__, "message": str(error)}
    runs = Client().list_pipeline_runs(sort_by="desc:created", size=10)
    print(json.dumps({**outcome, "looked_up": names, "runs": [run.name for run in runs.items]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
