"""Demo data bundled with synthgan (see each file's attribution under ``data/``)."""

from synthgan.datasets.adult import adult_metadata, load_adult

__all__ = ["adult_metadata", "load_adult"]
