"""Prefect flows. They wire pipeline stages together and hold no logic of their own."""
