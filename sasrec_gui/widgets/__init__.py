"""Reusable widgets: forms, Qt table models over frames, plots (matplotlib canvases through
its public API), item cards, panels and dialogs. Widgets never import pages."""
