"""Step: read the dataset version's test split once, for training, evaluation and the gate."""

from typing import Annotated

from zenml import step

from greenr.ingestion.dataset_version import DatasetVersion
from greenr.settings import get_settings
from greenr.training.config import TrainingConfig
from greenr.training.data import SplitArrays
from greenr.training.held_out import load_test_split
from materializers.split_arrays_materializer import SplitArraysMaterializer


@step(output_materializers=SplitArraysMaterializer)
def load_test_split_step(
    version: DatasetVersion, config: TrainingConfig
) -> Annotated[SplitArrays, "test_split"]:
    """The test photos decoded at the training's input size, exactly as the model server does."""
    return load_test_split(get_settings(), version.id, config.image_size)
