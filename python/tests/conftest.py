import pytest

from mfc import ModelWeights, preset


@pytest.fixture(scope="session")
def tiny_weights():
    return ModelWeights.random(preset("tiny"), seed=0)


@pytest.fixture(scope="session")
def micro_weights():
    return ModelWeights.random(preset("micro"), seed=1)
