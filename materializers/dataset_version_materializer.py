"""Stores a DatasetVersion as JSON and shows its class counts as an HTML bar chart."""

from __future__ import annotations

import html
import json
import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer

from greenr.ingestion.dataset_version import DatasetVersion

_DATA_FILE = "dataset_version.json"
_VIEW_FILE = "class_counts.html"


class DatasetVersionMaterializer(BaseMaterializer):
    """JSON on the active artifact store (local folder or S3), plus a class-count visualization."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (DatasetVersion,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def load(self, data_type: type[Any]) -> DatasetVersion:
        with self.artifact_store.open(os.path.join(self.uri, _DATA_FILE), "r") as file:
            return DatasetVersion.model_validate_json(file.read())

    def save(self, data: DatasetVersion) -> None:
        with self.artifact_store.open(os.path.join(self.uri, _DATA_FILE), "w") as file:
            file.write(data.model_dump_json(indent=1))

    def save_visualizations(self, data: DatasetVersion) -> dict[str, VisualizationType]:
        uri = os.path.join(self.uri, _VIEW_FILE)
        with self.artifact_store.open(uri, "w") as file:
            file.write(render_class_counts(data))
        return {uri.replace("\\", "/"): VisualizationType.HTML}

    def extract_metadata(self, data: DatasetVersion) -> dict[str, Any]:
        return {
            "dataset_version": data.id,
            "images": data.total,
            "split_totals": data.split_totals(),
            "counts": json.loads(json.dumps(data.counts)),
        }


def render_class_counts(data: DatasetVersion) -> str:
    """A self-contained HTML page: one horizontal bar per class and split."""
    largest = max((n for per in data.counts.values() for n in per.values()), default=1) or 1
    colours = {"train": "#2e7d32", "validation": "#f9a825", "test": "#1565c0"}
    rows = []
    for label, per_split in data.counts.items():
        for split, n in per_split.items():
            width = 100 * n / largest
            colour = colours.get(split, "#777")
            rows.append(
                f"<tr><td>{html.escape(label)}</td><td>{html.escape(split)}</td>"
                f'<td><div style="background:{colour};width:{width:.1f}%;height:14px"></div></td>'
                f"<td>{n}</td></tr>"
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Dataset version</title></head>"
        "<body style='font-family:sans-serif'>"
        f"<h2>Dataset version {html.escape(data.id)}</h2>"
        f"<p>{data.total} images; manifest: {html.escape(data.manifest_uri)}</p>"
        "<table style='width:100%;max-width:720px'>"
        "<tr><th>class</th><th>split</th><th style='width:60%'></th><th>images</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
