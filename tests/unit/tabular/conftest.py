"""Fixtures of the tabular tests."""

import pytest

from synthgan import CTGANSynthesizer

TINY = dict(
    epochs=1,
    generator_dim=(8,),
    discriminator_dim=(8,),
    batch_size=20,
    pac=2,
    embedding_dim=8,
    verbose=False,
    random_state=0,
)


@pytest.fixture(scope="session")
def tiny():
    """A factory of CTGAN synthesizers small enough to fit in a fraction of a second."""

    def make(**kwargs) -> CTGANSynthesizer:
        return CTGANSynthesizer(**{**TINY, **kwargs})

    return make
