"""whylogs' HTML drift report: production feature columns against a model version's reference.

whylogs' NotebookProfileVisualizer renders a self-contained page (summary_drift_report) from two
profiles; its own drift scores (KS, chi-square, Hellinger) are for people to look at: the
verdicts that count are the drift tests in the JSON summary (greenr.monitoring.drift_tests),
which whylogs' chi-square with small windows would flag by mistake (issue 13). whylogs and
pandas are imported inside the function only (two seconds of import).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence

from greenr.features.reference import FeatureReference, FeatureValue


def drift_report_html(
    production: Sequence[Mapping[str, FeatureValue]], reference: FeatureReference, columns: Sequence[str]
) -> str:
    """The whylogs summary drift report page of `production` rows against the reference's rows."""
    # whylogs sends usage statistics from a thread started at import unless this is set.
    os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
    import pandas as pd
    import whylogs as why
    from whylogs.viz import NotebookProfileVisualizer

    def frame(rows: Sequence[Mapping[str, FeatureValue]]) -> pd.DataFrame:
        return pd.DataFrame(
            [{column: row.get(column) for column in columns} for row in rows], columns=list(columns)
        )

    visualizer = NotebookProfileVisualizer()
    visualizer.set_profiles(
        target_profile_view=why.log(frame(production)).view(),
        reference_profile_view=why.log(frame([row.features for row in reference.rows])).view(),
    )
    return standalone_page(str(visualizer.summary_drift_report().data))


def standalone_page(notebook_html: str) -> str:
    """The page itself: whylogs wraps it, escaped, in an iframe's srcdoc for notebooks."""
    framed = re.search(r'<iframe srcdoc="(.*?)"', notebook_html, re.DOTALL)
    return html.unescape(framed.group(1)) if framed else notebook_html
