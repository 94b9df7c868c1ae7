"""The data bv-triage ships: taxonomy/, models/ and corpus/ of the repository, linked here so that a
build copies them into the package (see pyproject.toml); read only through ``pipeline.paths``."""
