"""Composition root: settings, CLI, wiring of `ritm run`, and the `ritm demo` sandbox."""
