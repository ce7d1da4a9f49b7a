"""SASRec Studio desktop application (PySide6): pages, workers, plots and Qt models over ``core``."""

APP_NAME = "SASRec Studio"
ORG_NAME = "SASRecStudio"
from core import __version__  # one version for the app and the CLI

#: The window's pages, in sidebar order, and their titles.
PAGES = ("data", "training", "recommendations", "similar", "runs", "compare", "attention", "embedding")
PAGE_TITLES = {"data": "Data", "training": "Training", "recommendations": "Recommendations", "similar": "Similar items",
               "runs": "Runs", "compare": "SASRec vs popular", "attention": "Attention", "embedding": "Item map"}
