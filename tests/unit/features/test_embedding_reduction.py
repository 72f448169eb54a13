"""The embedding reduction: PCA + class centroids fitted on train, applied per photo, saved as JSON."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from greenr.features.definitions import feature_set
from greenr.features.embedding_reduction import (
    COMPONENTS,
    EmbeddingReductionError,
    embedding_columns,
    fit_reduction,
    reduction_from_json,
    reduction_to_json,
)

DIMENSIONS = 16


def _train_split(seed: int = 0, per_class: int = 40) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Two classes around opposite centres, most spread along the first axis."""
    rng = np.random.default_rng(seed)
    scale = np.linspace(3.0, 0.2, DIMENSIONS)
    centre = np.zeros(DIMENSIONS)
    centre[1] = 4.0
    rows = np.concatenate(
        [
            rng.normal(size=(per_class, DIMENSIONS)) * scale + centre,
            rng.normal(size=(per_class, DIMENSIONS)) * scale - centre,
        ]
    )
    return rows, ["dandelion"] * per_class + ["grass"] * per_class


def test_the_keys_are_the_feature_sets_embedding_columns() -> None:
    rows, labels = _train_split()
    columns = embedding_columns(fit_reduction(rows, labels), rows[0])
    assert tuple(columns) == feature_set().names("embedding")
    assert sum(name.startswith("embedding_pc") for name in feature_set().names("embedding")) == COMPONENTS


def test_components_are_the_principal_axes_of_the_train_split() -> None:
    rows, labels = _train_split()
    reduction = fit_reduction(rows, labels)
    np.testing.assert_allclose(np.linalg.norm(reduction.components, axis=1), 1.0)
    projected = (rows - reduction.mean) @ reduction.components.T
    variances = projected.var(axis=0)
    assert list(variances) == sorted(variances, reverse=True)
    # The class separation (axis 1, +-4) dominates the first component.
    assert abs(reduction.components[0, 1]) > 0.9
    columns = embedding_columns(reduction, rows[0])
    assert columns["embedding_pc1"] == pytest.approx(projected[0, 0])
    assert columns["embedding_pc4"] == pytest.approx(projected[0, 3])


def test_the_train_split_is_projected_around_zero_with_a_median_distance_of_one() -> None:
    rows, labels = _train_split()
    reduction = fit_reduction(rows, labels)
    table = [embedding_columns(reduction, row) for row in rows]
    assert abs(np.mean([t["embedding_pc1"] for t in table])) < 1e-9
    assert np.median([t["embedding_distance"] for t in table]) == pytest.approx(1.0)


def test_a_photo_of_something_else_is_far_from_both_centroids() -> None:
    rows, labels = _train_split()
    reduction = fit_reduction(rows, labels)
    elsewhere = np.full(DIMENSIONS, 12.0)
    assert embedding_columns(reduction, elsewhere)["embedding_distance"] > 3.0


def test_the_signs_do_not_depend_on_the_row_order() -> None:
    rows, labels = _train_split()
    order = np.random.default_rng(1).permutation(len(rows))
    first = fit_reduction(rows, labels)
    second = fit_reduction(rows[order], [labels[i] for i in order])
    np.testing.assert_allclose(first.components, second.components, atol=1e-8)


def test_fewer_photos_than_components_leave_zero_axes() -> None:
    rows, labels = _train_split()
    reduction = fit_reduction(rows[[0, 1, 40]], [labels[0], labels[1], labels[40]])  # 2 axes of spread
    assert np.count_nonzero(np.abs(reduction.components).sum(axis=1)) == 2
    assert np.all(reduction.components[2:] == 0)
    assert embedding_columns(reduction, rows[0])["embedding_pc4"] == 0.0


def test_json_round_trip_gives_the_same_columns() -> None:
    rows, labels = _train_split()
    reduction = fit_reduction(rows, labels)
    again = reduction_from_json(reduction_to_json(reduction))
    assert embedding_columns(again, rows[3]) == embedding_columns(reduction, rows[3])


@pytest.mark.parametrize(
    "text",
    ["not json", '{"format": "other"}', '{"format": "greenr-embedding-reduction", "format_version": 1}'],
)
def test_an_unreadable_file_is_refused_with_the_way_out(text: str) -> None:
    with pytest.raises(EmbeddingReductionError, match="re-run training"):
        reduction_from_json(text)


def test_inconsistent_shapes_are_refused() -> None:
    rows, labels = _train_split()
    text = reduction_to_json(fit_reduction(rows, labels)).replace('"median_distance":', '"median_distance":-')
    with pytest.raises(EmbeddingReductionError, match="inconsistent"):
        reduction_from_json(text)


def test_an_embedding_of_another_model_is_refused() -> None:
    rows, labels = _train_split()
    with pytest.raises(EmbeddingReductionError, match="fitted on 16"):
        embedding_columns(fit_reduction(rows, labels), np.zeros(8))


def test_fitting_needs_rows_labels_and_spread() -> None:
    with pytest.raises(EmbeddingReductionError, match="at least 2"):
        fit_reduction(np.zeros((1, 4)), ["grass"])
    with pytest.raises(EmbeddingReductionError, match="one per row"):
        fit_reduction(np.zeros((3, 4)), ["grass"])
    with pytest.raises(EmbeddingReductionError, match="no distance"):
        fit_reduction(np.zeros((3, 4)), ["grass"] * 3)
