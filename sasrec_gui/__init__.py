"""SASRec Studio desktop application (PySide6) over ``core``.

Sub-packages, each importing only the ones below it (import-linter contracts in pyproject.toml):
``app`` (the main window) -> ``pages`` (one thin module per page) -> ``widgets`` (forms, plots,
table models, dialogs) -> ``services`` (non-widget Qt objects: state, workers, training, continued runs, sweeps,
run history, settings, theme) -> ``logic`` (Qt-free view logic).
"""

APP_NAME = "SASRec Studio"
ORG_NAME = "SASRecStudio"
from core import __version__  # one version for the app and the CLI

#: The window's pages, in sidebar order, and their titles.
PAGES = ("data", "training", "recommendations", "similar", "runs", "compare", "attention", "embedding")
PAGE_TITLES = {"data": "Data", "training": "Training", "recommendations": "Recommendations", "similar": "Similar items",
               "runs": "Runs", "compare": "SASRec vs popular", "attention": "Attention", "embedding": "Item map"}
