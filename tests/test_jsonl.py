"""JSON lines out and back in: the one writer every command uses, read by the one reader."""

from __future__ import annotations

import io
import json

import pytest

from pipeline.errors import InputError
from pipeline.jsonl import json_objects, write_jsonl

RECORDS = [{"id": 1, "text": "Café – £4.2m overspend “noted”"}, {"id": 2, "text": None, "entries": ["R-F02"]}]


def test_a_file_holds_one_object_a_line_with_non_ascii_written_as_itself(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("an older file's content\n", encoding="utf-8")
    assert write_jsonl(iter(RECORDS), path) == 2
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == '{"id": 1, "text": "Café – £4.2m overspend “noted”"}'  # not \u escapes
    assert text.endswith("}\n") and "older" not in text
    assert [r for _, _, r in json_objects(text.splitlines(), "line {}".format, InputError)] == RECORDS


def test_a_stream_gets_the_records_appended_and_stays_open():
    stream = io.StringIO()
    stream.write('{"id": 0}\n')
    assert write_jsonl(RECORDS, stream) == 2 and write_jsonl([], stream) == 0
    assert not stream.closed
    assert [json.loads(line)["id"] for line in stream.getvalue().splitlines()] == [0, 1, 2]


def test_a_record_json_cannot_hold_is_an_error():
    with pytest.raises(TypeError):
        write_jsonl([{"id": {1, 2}}], io.StringIO())
