"""What every classifier shares: the prediction context and the default number of matches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_TOP_K = 5
Context = Mapping[str, object]


def contexts_for(contexts: Sequence[Context | None] | None, n: int) -> list[Context | None]:
    if contexts is None:
        return [None] * n
    if len(contexts) != n:
        raise ValueError(f"{n} passages but {len(contexts)} contexts")
    return list(contexts)
