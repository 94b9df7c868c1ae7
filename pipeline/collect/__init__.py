"""Collecting documents: local folders with manifests, ModernGov sites and listing pages, fetched politely and
stored content-addressed."""
