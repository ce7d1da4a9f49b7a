"""SASRec Studio desktop application (PySide6): pages, workers, plots and Qt models over ``core``."""

APP_NAME = "SASRec Studio"
ORG_NAME = "SASRecStudio"
__version__ = "0.1.0"
