"""Non-widget Qt objects: the shared ``AppState``, the data ``Controller``, background
``workers``, the training session and controller, the run history, settings, theme and view modes.

Services never import widgets or pages; pages and widgets observe them through signals.
"""
