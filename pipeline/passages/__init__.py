"""Passages: a document's blocks split into units of evidence, with template text marked."""
