"""Reading the monitoring pipeline's decision (the last line it prints) into the next task's id.

`python run.py --pipeline monitoring` (greenr/monitoring, issue 13) ends by printing one JSON line
such as
{"retrain": true, "reasons": ["drift in brightness", "accuracy 0.81 < 0.85 on feedback"]}.
Anything else (no line, not JSON, no boolean `retrain`) fails the branch task: a monitoring run
whose decision cannot be read must be looked at, not silently treated as "all is well".
"""

from __future__ import annotations

import json

RETRAIN = "retrain"
KEEP = "keep_model"


def choose_after_monitoring(decision: str | None) -> str:
    """The task to run after monitoring: RETRAIN when the decision says so, else KEEP."""
    try:
        parsed = json.loads(decision or "")
    except json.JSONDecodeError:
        raise ValueError(f"the monitoring pipeline's last line is not JSON: {decision!r}") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("retrain"), bool):
        raise ValueError(f"the monitoring decision has no boolean 'retrain': {decision!r}")
    return RETRAIN if parsed["retrain"] else KEEP
