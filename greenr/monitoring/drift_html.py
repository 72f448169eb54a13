"""whylogs' HTML drift report: production feature columns against a model version's reference.

whylogs' NotebookProfileVisualizer renders a self-contained page (summary_drift_report) from two
profiles; its own drift scores (KS, chi-square, Hellinger) are for people to look at: the
verdicts that count are the drift tests in the JSON summary (greenr.monitoring.drift_tests),
which whylogs' chi-square with small windows would flag by mistake (issue 13). whylogs and
pandas are imported inside the function only (two seconds of import).

whylogs' page loads jQuery, d3, Handlebars, Bootstrap and a web font from public CDNs, so it opens
blank on a machine without internet (measured in Chromium). `offline_page` inlines the copies
whylogs ships (jQuery 3.6.0, d3 6.7.0, Bootstrap 5.0.0's CSS for the CDN's 5.1.0) and Handlebars
4.7.7, which whylogs does not ship (its handlebars.js holds only helpers): vendored from npm's
`handlebars@4.7.7` package (`dist/handlebars.min.js`, MIT licence in its header) under
report_assets/. The web font is dropped (the page falls back to sans-serif).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

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
    return offline_page(standalone_page(str(visualizer.summary_drift_report().data)))


def standalone_page(notebook_html: str) -> str:
    """The page itself: whylogs wraps it, escaped, in an iframe's srcdoc for notebooks."""
    framed = re.search(r'<iframe srcdoc="(.*?)"', notebook_html, re.DOTALL)
    return html.unescape(framed.group(1)) if framed else notebook_html


_SCRIPTS = {
    "https://code.jquery.com/jquery-3.6.0.min.js": ("whylogs", "js/jquery-3.6.0.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/d3/6.7.0/d3.min.js": ("whylogs", "js/d3.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/handlebars.js/4.7.7/handlebars.min.js": (
        "greenr",
        "handlebars-4.7.7.min.js",
    ),
}
_STYLES = {
    "https://cdn.jsdelivr.net/npm/bootstrap@5.1.0/dist/css/bootstrap.min.css": (
        "whylogs",
        "css/bootstrap.min.css",
    ),
}
_SCRIPT_TAG = re.compile(r'<script[^>]*\bsrc="(https?://[^"]+)"[^>]*>\s*</script>', re.IGNORECASE)
_LINK_TAG = re.compile(r'<link\b[^>]*\bhref="(https?://[^"]+)"[^>]*/?>', re.IGNORECASE)
# whylogs' favicon link is relative to a folder the page is not served from.
_ICON_TAG = re.compile(r'<link\b[^>]*\brel="icon"[^>]*/?>', re.IGNORECASE)


class OfflineAssetError(RuntimeError):
    """whylogs' page asks for a script this module does not know how to inline (a new whylogs)."""


def _asset(origin: str, name: str) -> str:
    if origin == "whylogs":
        import whylogs.viz

        root = Path(whylogs.viz.__file__).parent / "html"
        return (root / name).read_text(encoding="utf-8")
    return resources.files("greenr.monitoring").joinpath("report_assets", name).read_text(encoding="utf-8")


def offline_page(page: str) -> str:
    """The page with every CDN script and stylesheet inlined, the web font and favicon links dropped.

    Raises:
        OfflineAssetError: a script comes from a URL this module does not know.
    """

    def script(match: re.Match[str]) -> str:
        url = match.group(1)
        if url not in _SCRIPTS:
            raise OfflineAssetError(
                f"whylogs' drift report loads {url}: add it to greenr.monitoring.drift_html"
            )
        # "</script" inside the code would end the tag early.
        code = _asset(*_SCRIPTS[url]).replace("</script", "<\\/script")
        return f"<script>{code}</script>"

    def link(match: re.Match[str]) -> str:
        url = match.group(1)
        if url in _STYLES:
            return f"<style>{_asset(*_STYLES[url])}</style>"
        return ""  # fonts.googleapis.com / gstatic preconnects and the web font: not needed

    return _ICON_TAG.sub("", _LINK_TAG.sub(link, _SCRIPT_TAG.sub(script, page)))
