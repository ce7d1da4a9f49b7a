"""SASRec Studio core: data, filters, sequences, the SASRec model, training, recommending. Never imports Qt."""

__version__ = "0.1.0"
