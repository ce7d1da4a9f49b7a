"""Qt-free view logic: indices, summaries, explanations, run tables and training arithmetic.

Nothing here imports Qt (PySide6, shiboken6, qasync), a matplotlib Qt backend or another
``sasrec_gui`` sub-package; the import-linter contracts in ``pyproject.toml`` and
``tests/test_import_contracts.py`` check it. Everything can be used and tested without a display.
"""
