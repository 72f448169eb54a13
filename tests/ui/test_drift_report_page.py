"""The whylogs drift report renders in a browser without internet: every library is inlined."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from web_fixtures import chromium_fixture  # noqa: F401 (a pytest fixture, used by name)

from greenr.features.definitions import feature_set
from greenr.features.reference import FeatureReference, FeatureValue, ReferenceRow
from greenr.monitoring.drift_html import OfflineAssetError, drift_report_html, offline_page

pytestmark = pytest.mark.slow

EXTERNAL = re.compile(r'<(?:script|link)\b[^>]*(?:src|href)="https?://', re.IGNORECASE)


def _report() -> str:
    features = feature_set()
    reference = FeatureReference(
        feature_set_name=features.name,
        feature_set_version=features.version,
        column_versions=features.column_versions(),
        rows=[
            ReferenceRow(
                split="train", label="grass", features={"brightness": 0.3 + 0.01 * i, "label": "grass"}
            )
            for i in range(40)
        ],
    )
    production: list[dict[str, FeatureValue]] = [
        {"brightness": 0.6 + 0.01 * i, "label": "dandelion"} for i in range(40)
    ]
    return drift_report_html(production, reference, ["brightness", "label"])


def test_the_report_loads_nothing_from_the_network() -> None:
    page = _report()
    assert not EXTERNAL.search(page)
    assert "d3js.org v6.7.0" in page
    assert "handlebars v4.7.7" in page
    assert "jQuery v3.6.0" in page


def test_an_unknown_cdn_script_is_an_error_not_a_blank_page() -> None:
    with pytest.raises(OfflineAssetError, match=r"https://cdn\.example/new\.js"):
        offline_page('<script src="https://cdn.example/new.js"></script>')


@pytest.mark.browser
def test_the_report_renders_offline_in_chromium(chromium: webdriver.Chrome, tmp_path: Path) -> None:
    page = tmp_path / "drift.html"
    page.write_text(_report(), encoding="utf-8")
    chromium.get(page.as_uri())
    # Handlebars renders the feature rows from the embedded profiles: without the libraries the
    # body stays empty.
    WebDriverWait(chromium, 20).until(
        lambda driver: "brightness" in driver.find_element(By.TAG_NAME, "body").text
    )
    console: list[dict[str, str]] = chromium.get_log("browser")  # type: ignore[no-untyped-call]
    errors = [entry for entry in console if entry["level"] == "SEVERE"]
    assert errors == []
