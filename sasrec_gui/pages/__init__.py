"""The four pages of the main window: data, training, recommendations, similar items."""
