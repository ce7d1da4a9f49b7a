"""The main window's pages, one thin module each (layout and wiring): data, training,
recommendations, similar items, runs, SASRec vs popular, attention and the item map.

Pages talk to each other only through signals (routed by the main window) and the shared
``AppState``, never through each other's widgets.
"""
