"""What the ``synthgan`` command does: fit, sample, evaluate, describe a model file, run the demo.

Each command of :mod:`synthgan.cli` is one function here, so everything the command line can do
is also a plain Python call (and tested as one). The functions read and write files through
:mod:`synthgan.io`: tables through pyarrow, model files as zip of JSON and safetensors, every
write atomic, and an input file is never written over. They live in one module per concern and
are all importable from here:

* :mod:`~synthgan.workflows.tables`: :func:`fit_table`, :func:`sample_table`;
* :mod:`~synthgan.workflows.images`: :func:`fit_images`, :func:`sample_images`;
* :mod:`~synthgan.workflows.evaluate`: :func:`evaluate_tables`, :func:`evaluate_image_sets`;
* :mod:`~synthgan.workflows.metadata`: :func:`table_metadata`;
* :mod:`~synthgan.workflows.rebalance`: :func:`rebalance_table`, :func:`parse_strategy`;
* :mod:`~synthgan.workflows.info`: :func:`model_info`, :func:`format_model_info`,
  :func:`fit_summary`;
* :mod:`~synthgan.workflows.conditions`: :func:`parse_conditions`;
* :mod:`~synthgan.workflows.demo`: :func:`run_demo`;
* ``synthgan.workflows._checks``: the output checks every command makes before its work.

Examples
--------
>>> from synthgan.workflows import fit_table, parse_conditions, sample_table
>>> fit_table("adult.csv", "adult.synthgan", epochs=300)  # doctest: +SKIP
PosixPath('adult.synthgan')
>>> conditions = parse_conditions(["income=>50K", "sex=Female"])
>>> conditions
{'income': '>50K', 'sex': 'Female'}
>>> sample_table("adult.synthgan", "rich.parquet", n=1000, conditions=conditions)  # doctest: +SKIP
PosixPath('rich.parquet')
"""

from synthgan.workflows._checks import MODEL_EXTENSION, is_main_process
from synthgan.workflows.conditions import parse_conditions
from synthgan.workflows.demo import DEMO_EPOCHS, DEMO_OPTIONS, DEMO_OUTPUT, DEMO_REPORT, run_demo
from synthgan.workflows.evaluate import HTML_EXTENSIONS, evaluate_image_sets, evaluate_tables
from synthgan.workflows.images import GRID_EXTENSIONS, fit_images, sample_images
from synthgan.workflows.info import fit_summary, format_model_info, model_info
from synthgan.workflows.metadata import table_metadata
from synthgan.workflows.rebalance import parse_strategy, rebalance_table
from synthgan.workflows.tables import fit_table, sample_table

__all__ = [
    "DEMO_EPOCHS",
    "DEMO_OPTIONS",
    "DEMO_OUTPUT",
    "DEMO_REPORT",
    "GRID_EXTENSIONS",
    "HTML_EXTENSIONS",
    "MODEL_EXTENSION",
    "evaluate_image_sets",
    "evaluate_tables",
    "fit_images",
    "fit_summary",
    "fit_table",
    "format_model_info",
    "is_main_process",
    "model_info",
    "parse_conditions",
    "parse_strategy",
    "rebalance_table",
    "run_demo",
    "sample_images",
    "sample_table",
    "table_metadata",
]
