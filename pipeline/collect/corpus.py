"""Find the documents to ingest and what is known about them.

A folder may carry ``manifest.yaml`` (documents: file, authority, kind, date, title, url)
and ``authorities.yaml`` (the register: slug, name, type, region). A document takes its
authority from the nearest manifest above it, else from ``--authority``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from pathlib import Path

import yaml

from pipeline.domain import AUTHORITY_TYPES, DOCUMENT_KINDS, Authority, DocumentSource
from pipeline.errors import CorpusError

MANIFEST = "manifest.yaml"
REGISTER = "authorities.yaml"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_METADATA_FILE = re.compile(r"^(manifest|authorities|readme|sources)\b.*", re.IGNORECASE)


def check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise CorpusError(f"invalid authority slug {slug!r}: use lower-case letters, digits and hyphens")
    return slug


@cache
def load_register(path: Path) -> dict[str, Authority]:
    rows = _load_yaml(path, list)
    authorities: dict[str, Authority] = {}
    for row in rows:
        if not isinstance(row, dict) or not row.get("slug") or not row.get("name"):
            raise CorpusError(f"{path}: each authority needs a slug and a name: {row!r}")
        slug = check_slug(str(row["slug"]))
        kind = str(row.get("type") or "other")
        if kind not in AUTHORITY_TYPES:
            raise CorpusError(f"{path}: authority {slug} has unknown type {kind!r}; use one of {AUTHORITY_TYPES}")
        if slug in authorities:
            raise CorpusError(f"{path}: authority {slug} is listed twice")
        authorities[slug] = Authority(slug, str(row["name"]), kind, row.get("region"))
    return authorities


@cache
def load_manifest(path: Path) -> dict[Path, dict]:
    data = _load_yaml(path, dict)
    documents = data.get("documents")
    if not isinstance(documents, list):
        raise CorpusError(f"{path}: expected a 'documents' list")
    entries: dict[Path, dict] = {}
    for row in documents:
        if not isinstance(row, dict) or not row.get("file") or not row.get("authority"):
            raise CorpusError(f"{path}: each document needs 'file' and 'authority': {row!r}")
        kind = row.get("kind")
        if kind is not None and kind not in DOCUMENT_KINDS:
            raise CorpusError(f"{path}: {row['file']} has unknown kind {kind!r}; use one of {DOCUMENT_KINDS}")
        target = (path.parent / str(row["file"])).resolve()
        if not target.is_relative_to(path.parent.resolve()):
            raise CorpusError(f"{path}: {row['file']} lies outside the manifest's folder")
        entries[target] = row
    return entries


def _load_yaml(path: Path, expected: type) -> object:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise CorpusError(f"cannot read {path}: {e}") from e
    if not isinstance(data, expected):
        raise CorpusError(f"{path}: expected a YAML {expected.__name__}")
    return data


def discover(paths: list[Path], authority: str | None = None) -> tuple[list[Authority], list[DocumentSource]]:
    """Expand files and folders into document sources, each with its authority.

    Raises CorpusError before any work is done when a path is missing or a document
    has no authority.
    """
    if authority:
        check_slug(authority)
    authorities: dict[str, Authority] = {}
    sources: list[DocumentSource] = []
    seen: set[Path] = set()
    for given in paths:
        given = Path(given)
        if not given.exists():
            raise CorpusError(f"no such file or folder: {given}")
        root = given if given.is_dir() else given.parent
        files = sorted(p for p in given.rglob("*") if p.is_file()) if given.is_dir() else [given]
        for file in files:
            if _METADATA_FILE.match(file.name) or any(part.startswith(".") for part in file.relative_to(root).parts):
                continue
            resolved = file.resolve()
            key = file.absolute() if file.is_symlink() else resolved  # a link never hides the file it names
            if key in seen:
                continue
            seen.add(key)
            source = _source(file, resolved, root, authority, authorities)
            sources.append(replace(source, folder=root) if given.is_dir() else source)
    if authority and authority not in authorities:
        authorities[authority] = Authority(authority, authority.replace("-", " ").title())
    return list(authorities.values()), sources


def _source(file: Path, resolved: Path, root: Path, authority: str | None,
            authorities: dict[str, Authority]) -> DocumentSource:
    for folder in (file.parent, *file.parent.parents):
        manifest = folder / MANIFEST
        if manifest.is_file():
            row = load_manifest(manifest).get(resolved)
            if row is not None:
                register = load_register(folder / REGISTER) if (folder / REGISTER).is_file() else {}
                slug = str(row["authority"])
                if slug not in register:
                    raise CorpusError(f"{manifest}: authority {slug!r} is not in {folder / REGISTER}")
                authorities[slug] = register[slug]
                date = row.get("date")
                return DocumentSource(file, slug, kind=row.get("kind"), date=str(date) if date else None,
                                      title=row.get("title"), url=row.get("url"))
        if folder == root or folder == folder.parent:
            break
    if authority is None:
        raise CorpusError(f"{file}: not in any manifest; pass --authority SLUG to name its authority")
    return DocumentSource(file, authority)
