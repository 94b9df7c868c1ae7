"""The labelling procedure of the real-text rows as a command: sampling of a small shared folder the test writes
(documents of its own wording, never real ones), the labellers' agreement on hand-made labels, and rows that carry
no text and rebuild through the loader the model trains from."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import LabellingError
from pipeline.paths import CHECKOUT, REAL_DEVSET
from pipeline.taxonomy import load_taxonomy
from pipeline.training.labelling import (
    NEAR_WORDS,
    Label,
    Sampled,
    Yardstick,
    build_rows,
    checked_documents,
    choose_in_document,
    development_documents,
    main,
    quota,
    read_labels,
    read_passages,
    sample,
    write_batch,
    yardstick_table,
)
from pipeline.training.realtext import load_real_rows

slow = pytest.mark.slow  # the encoder and the segmenter; refusals and quotas stay in the fast tier
PARAGRAPHS = [
    "The council reported an overspend of four million pounds on adult social care this year, and the gap was "
    "closed by drawing on general reserves.",
    "Members of the audit committee asked the finance director how the savings plan would be delivered next year.",
    "The meeting opened at seven o'clock in the evening in the main chamber of the town hall.",
    "Apologies for absence were received from two councillors who were travelling that week.",
    "The scrutiny panel called in the cabinet decision on the leisure centre and asked for a fresh options paper.",
    "Residents were invited to comment on the draft local plan through drop-in sessions held in every ward.",
    "The minutes of the previous meeting were agreed as a correct record and signed by the chair.",
    "Complaints about missed bin collections rose sharply over the winter months, and the ombudsman upheld two.",
    "The chief executive thanked staff for their hard work during the move to the new offices on the high street.",
    "A petition signed by three hundred people asked for a pedestrian crossing outside the primary school.",
    "The interim monitoring officer explained that the constitution would be reviewed by a cross-party group.",
    "Refreshments were provided and the meeting closed shortly after nine o'clock.",
]
SEED_FILE = "seeds/001_ourwords.txt"
PAGE_FILE = "moderngov/kingston/Agenda_ourwords.html"


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Path:
    """A shared folder of two development documents and one held-out one, all in the test's own words."""
    root = tmp_path_factory.mktemp("shared")
    (root / "seeds").mkdir()
    (root / SEED_FILE).write_text("\n\n".join(PARAGRAPHS) + "\n", encoding="utf-8")
    (root / "moderngov" / "kingston").mkdir(parents=True)
    body = "".join(f"<p>{p}</p>\n" for p in reversed(PARAGRAPHS[:9]))
    (root / PAGE_FILE).write_text(f"<html><head><title>Agenda</title></head><body><h1>Cabinet</h1>\n{body}"
                                  "</body></html>\n", encoding="utf-8")
    (root / "evaldocs").mkdir()
    (root / "evaldocs" / "held_out.txt").write_text(PARAGRAPHS[0] + "\n", encoding="utf-8")
    (root / "devdocs").mkdir()
    (root / "devdocs" / "manifest.tsv").write_text("file\tcouncil\n", encoding="utf-8")  # not a document
    return root


@pytest.fixture(scope="module")
def census(shared, encoder, segmenter):
    """Every passage of both documents (per-document cap above their size)."""
    return sample(development_documents(shared), shared, encoder, load_taxonomy(), seed=1, per_document=100,
                  random_share=0.6, devset=shared / "none.jsonl", segmenter=segmenter, progress=False)


def _sample(shared, encoder, segmenter, seed, per_document, share=0.5, devset=None):
    return sample(development_documents(shared), shared, encoder, load_taxonomy(), seed=seed,
                  per_document=per_document, random_share=share, devset=devset or shared / "none.jsonl",
                  segmenter=segmenter, progress=False)


@slow
def test_the_development_documents_are_the_sources_and_nothing_held_out(shared, census):
    assert [p.relative_to(shared).as_posix() for p in development_documents(shared)] == [SEED_FILE, PAGE_FILE]
    per_file = Counter(s.file for s in census)
    assert per_file[SEED_FILE] >= 10 and per_file[PAGE_FILE] >= 8  # the paragraphs, as the segmenter cuts them
    texts = {s.text for s in census}
    assert PARAGRAPHS[4] in texts and PARAGRAPHS[11] in texts
    source = (shared / SEED_FILE).read_text(encoding="utf-8")
    for s in census:
        if s.file == SEED_FILE:
            assert source[s.start:s.end] == s.text  # the reference points at the text


@slow
def test_sampling_is_deterministic_for_a_seed_and_keeps_the_random_share(shared, encoder, segmenter):
    first = _sample(shared, encoder, segmenter, seed=7, per_document=6, share=0.5)
    again = _sample(shared, encoder, segmenter, seed=7, per_document=6, share=0.5)
    other = _sample(shared, encoder, segmenter, seed=8, per_document=6, share=0.5)
    assert [(s.gid, s.sampled) for s in first] == [(s.gid, s.sampled) for s in again]
    assert {s.gid for s in first} != {s.gid for s in other}
    for file in (SEED_FILE, PAGE_FILE):
        reasons = Counter(s.sampled for s in first if s.file == file)
        assert sum(reasons.values()) == 6
        assert reasons["random"] == 3 and reasons["near:keywords"] == 1 and reasons["near:embedding"] == 2
    assert all(NEAR_WORDS.search(s.text) for s in first if s.sampled == "near:keywords")
    for share, wanted in ((0.4, 3), (0.6, 4), (1.0, 6)):  # ceil(6 x share) of each document at random
        chosen = _sample(shared, encoder, segmenter, seed=3, per_document=6, share=share)
        assert Counter(s.file for s in chosen if s.sampled == "random") == {SEED_FILE: wanted, PAGE_FILE: wanted}
    with pytest.raises(LabellingError, match=r"--random-share must be between 0\.4 and 1"):
        _sample(shared, encoder, segmenter, seed=3, per_document=6, share=0.3)


@slow
def test_already_labelled_passages_are_not_sampled_again(shared, census, encoder, segmenter, tmp_path):
    labelled = [s for s in census if s.file == SEED_FILE][:4] + [s for s in census if s.file == PAGE_FILE][:2]
    devset = tmp_path / "real.jsonl"
    devset.write_text("".join(json.dumps(_row(s)) + "\n" for s in labelled), encoding="utf-8")
    rest = _sample(shared, encoder, segmenter, seed=1, per_document=100, devset=devset)
    assert {s.gid for s in rest} == {s.gid for s in census} - {s.gid for s in labelled}


def _row(s) -> dict:
    return {"gid": s.gid, "file": s.file, "sha256": s.sha256, "page": s.page, "start": s.start, "end": s.end,
            "sampled": "random", "theme": None, "polarity": None, "entries": [], "confidence": "high",
            "agreement": "agreed", "text_sha256": s.text_sha256}


def test_held_out_documents_and_a_batch_inside_the_repository_are_refused(shared, tmp_path, capsys):
    common = ["sample", "--seed", "1", "--per-document", "3", "--shared", str(shared)]
    out = tmp_path / "batch"
    assert main([*common, "--out", str(out), "--documents", str(shared / "evaldocs")]) == 1
    assert "evaldocs is held out" in capsys.readouterr().err and not out.exists()
    for held_out in (shared / "evaldocs" / "held_out.txt", shared / "evaldocs-2" / "absent.pdf",
                     shared / "seeds" / ".." / "evaldocs"):
        with pytest.raises(LabellingError, match="held out"):
            checked_documents([held_out], shared)
    with pytest.raises(LabellingError, match="not under the shared folder"):
        checked_documents([tmp_path], shared)
    inside = CHECKOUT / "labelling-batch-test"
    assert main([*common, "--out", str(inside)]) == 1
    assert "inside the repository" in capsys.readouterr().err and not inside.exists()
    (tmp_path / "other-repository" / ".git").mkdir(parents=True)  # any repository, not only this one
    assert main([*common, "--out", str(tmp_path / "other-repository" / "batch")]) == 1
    assert f"inside the repository {tmp_path / 'other-repository'}" in capsys.readouterr().err


@slow
def test_the_sampling_function_itself_refuses_a_held_out_document(shared, encoder, segmenter):
    with pytest.raises(LabellingError, match="held out"):
        sample([shared / "evaldocs" / "held_out.txt"], shared, encoder, load_taxonomy(), seed=1, per_document=3,
               random_share=0.6, devset=shared / "none.jsonl", segmenter=segmenter, progress=False)


def test_a_document_sample_is_the_random_share_then_keywords_then_the_closest_to_the_taxonomy():
    """With a stand-in closeness (the number a passage ends with), the near share is checkable by eye."""
    texts = [f"an ordinary passage {i}" for i in range(12)]
    for i in (1, 4, 7):
        texts[i] = f"an overspend was reported {i}"
    candidates = [Sampled(f"g{i}", "unchosen", SEED_FILE, "0" * 64, None, 10 * i, 10 * i + 5, text, "", "")
                  for i, text in enumerate(texts)]
    for seed in range(20):
        chosen = choose_in_document(candidates, random.Random(seed), 7, 0.5,
                                    lambda batch: np.array([float(t.split()[-1]) for t in batch]))
        how = {int(c.gid[1:]): c.sampled for c in chosen}
        reasons = Counter(how.values())
        keywords_left = sum(how.get(i) != "random" for i in (1, 4, 7))
        assert reasons["random"] == 4  # ceil(7 x 0.5)
        assert reasons["near:keywords"] == min(1, keywords_left)  # half the near share (3 // 2), if any are left
        assert reasons["near:embedding"] == 3 - reasons["near:keywords"]
        assert all(i in (1, 4, 7) for i, reason in how.items() if reason == "near:keywords")
        left = [i for i in range(12) if how.get(i, "near:embedding") == "near:embedding"]
        assert sorted(i for i, reason in how.items() if reason == "near:embedding") == \
            left[-reasons["near:embedding"]:]  # the closest of those left
    assert len(choose_in_document(candidates[:3], random.Random(0), 7, 0.5, lambda b: np.zeros(len(b)))) == 3


# -- agreement and rows, on labels made by hand -------------------------------------------------------------------

# Ten passages labelled by A and B (theme, polarity, entries, confidence); A also labels an eleventh.
LABELS_A = [("R", "failure", ["R-F02"], "high"), ("R", "neutral", [], "high"), ("R", "positive", ["R010"], "low"),
            ("G", "neutral", ["G004"], "high"), ("G", "neutral", [], "high"), (None, None, [], "high"),
            (None, None, [], "high"), (None, None, [], "high"), (None, None, [], "low"), (None, None, [], "high"),
            (None, None, [], "high")]
LABELS_B = [("R", "failure", ["R-F02", "R010"], "low"), ("R", "positive", [], "high"),
            ("G", "positive", ["G009"], "low"), ("G", "neutral", ["G009"], "high"), ("G", "neutral", [], "high"),
            (None, None, [], "high"), (None, None, [], "high"), (None, None, [], "high"), (None, None, [], "high"),
            ("R", "neutral", [], "low")]
# Worked out by hand (kappa = (po - pe) / (1 - pe), pe = sum over answers of count_A x count_B / n^2, n = 10):
# theme: agree on 8 of 10 (rows 3 and 10 differ); A has R 3, G 2, none 5; B has R 3, G 3, none 4:
#   pe = (9 + 6 + 20) / 100 = 0.35, kappa = 0.45 / 0.65 = 0.692.
# is-evidence: agree on 9; A yes 5, no 5; B yes 6, no 4: pe = (30 + 20) / 100 = 0.5, kappa = 0.4 / 0.5 = 0.80.
# polarity: agree on 8 (rows 2 and 10 differ); A failure 1, neutral 3, positive 1, none 5; B failure 1,
#   positive 2, neutral 3, none 4: pe = (1x1 + 1x2 + 3x3 + 5x4) / 100 = 0.32,
#   kappa = 0.48 / 0.68 = 0.706.
# is-failure: both say row 1 only: po = 1, pe = (1 + 81) / 100 = 0.82, kappa = 1.00.
# Disagreements (theme or polarity): rows 2, 3 and 10.
EXPECTED_TABLE = ["| theme | 0.69 | 0.80 |", "| is-evidence | 0.80 | 0.90 |", "| is-failure | 1.00 | 1.00 |",
                  "| polarity | 0.71 | 0.80 |"]


# The same ten passages by the cross-validation's metrics, B scored against A as gold:
# failure flag: both say row 1 only -> F1 1.00.
# theme macro-F1: only "none" has 5 of A's passages (R 3, G 2 do not count); none: tp rows 6-9, fn row 10 -> 8/9.
# entry recall@5: A gave entries to rows 1, 3 and 4; B names one of them on row 1 only -> 1/3.
# evidence: A rows 1-5, B rows 1-5 and 10: tp 5, fp 1 -> 10/11.
EXPECTED_YARDSTICK = ["| metric | B against A |", "| passages | 10 |",
                      "| failure flag F1 | 1.00 (failures: A 1, B 1) |", "| theme macro-F1 | 0.89 (over none) |",
                      "| entry recall@5 | 0.33 (A gave entries to 3) |", "| evidence F1 | 0.91 (evidence: A 5, B 6) |"]


def _write_labels(path: Path, gids: list[str], labels: list[tuple]) -> None:
    path.write_text("".join(json.dumps({"gid": g, "theme": t, "polarity": p, "entries": e, "confidence": c,
                                        "why": "test"}) + "\n"
                            for g, (t, p, e, c) in zip(gids, labels, strict=False)), encoding="utf-8")


@pytest.fixture
def labelled(census, tmp_path) -> tuple[Path, list[str]]:
    batch = tmp_path / "batch"
    write_batch(batch, census)
    gids = [s.gid for s in census]
    _write_labels(batch / "labels-A.jsonl", gids, LABELS_A)
    _write_labels(batch / "labels-B.jsonl", gids, LABELS_B)
    return batch, gids


@slow
def test_agreement_is_cohens_kappa_and_the_disagreements_go_to_the_adjudicator(labelled, capsys):
    batch, gids = labelled
    assert main(["agree", str(batch)]) == 0
    printed = capsys.readouterr().out
    report = (batch / "agreement.md").read_text(encoding="utf-8")
    assert f"{len(gids)} passages; labelled by both: 10; by A only: 1" in report
    for line in EXPECTED_TABLE:
        assert line in report and line in printed
    assert "agreed on theme and polarity: 7; to adjudicate: 3" in report
    for line in EXPECTED_YARDSTICK:
        assert line in report and line in printed
    disputed = [json.loads(line) for line in (batch / "to-adjudicate.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [d["gid"] for d in disputed] == [gids[1], gids[2], gids[9]]
    assert disputed[2]["label_1"]["theme"] is None and disputed[2]["label_2"]["theme"] == "R"
    assert disputed[1]["text"] and disputed[1]["label_2"]["entries"] == ["G009"]


@slow
def test_the_yardstick_of_several_batches_pools_their_passages(census, tmp_path, capsys):
    """The ten passages split in two batches: each batch by hand, and pooled they give the one batch's figures.
    First (rows 1-5): flag 1.00; no class has 5 of A's passages; entries 1/3; evidence tp 5 -> 1.00.
    Second (rows 6-10, and A's eleventh, which B did not label): no failure; none tp 4, fn 1 -> 8/9; no entries;
    evidence A 0, B 1 -> 0.00. Averaging the batches' evidence F1 would give 0.50, not the pooled 0.91."""
    gids = [s.gid for s in census]
    for name, part in (("first", slice(0, 5)), ("second", slice(5, 11))):
        write_batch(tmp_path / name, census[part])
        _write_labels(tmp_path / name / "labels-A.jsonl", gids[part], LABELS_A[part])
        _write_labels(tmp_path / name / "labels-B.jsonl", gids[part], LABELS_B[part])
    assert main(["yardstick", str(tmp_path / "first"), str(tmp_path / "second")]) == 0
    printed = capsys.readouterr().out
    assert "| metric | first | second | pooled |" in printed
    assert "| passages | 5 | 5 | 10 |" in printed
    assert "| failure flag F1 | 1.00 (failures: A 1, B 1) | undefined (failures: A 0, B 0) | 1.00 (failures: A 1, " \
           "B 1) |" in printed
    assert "| theme macro-F1 | undefined (no class has 5 of A's passages) | 0.89 (over none) | 0.89 (over none) |" \
        in printed
    assert "| entry recall@5 | 0.33 (A gave entries to 3) | undefined (A gave entries to 0) | 0.33 (A gave entries " \
           "to 3) |" in printed
    assert "| evidence F1 | 1.00 (evidence: A 5, B 5) | 0.00 (evidence: A 0, B 1) | 0.91 (evidence: A 5, B 6) |" \
        in printed
    (tmp_path / "empty").mkdir()
    write_batch(tmp_path / "empty", census[:2])
    _write_labels(tmp_path / "empty" / "labels-A.jsonl", gids[:1], LABELS_A[:1])
    _write_labels(tmp_path / "empty" / "labels-B.jsonl", gids[1:2], LABELS_B[1:2])
    assert main(["yardstick", str(tmp_path / "first"), str(tmp_path / "empty")]) == 1
    assert f"{tmp_path / 'empty'}: no passage is labelled by both" in capsys.readouterr().err
    assert main(["yardstick", str(tmp_path / "first"), str(tmp_path / "first")]) == 1
    assert "a batch named first is given twice" in capsys.readouterr().err


def test_the_yardstick_counts_a_theme_with_five_of_the_first_labellers_passages():
    """Twelve labels made by hand (A -> B): 1 R failure -> R failure, 2-3 R -> R, 4 R -> G, 5 R -> none,
    6 G -> G, 7-11 none -> none, 12 none -> R; A gave an entry to row 1 only, B the same one.
    R (5 of A's): tp 3, fp 1 (row 12), fn 2 -> 6/9; none (6): tp 5, fp 1 (row 5), fn 1 -> 10/12; G (1) left out:
    macro-F1 (2/3 + 5/6) / 2 = 0.75. Evidence: A rows 1-6, B 1-4, 6, 12: tp 5, fp 1, fn 1 -> 10/12."""
    def label(theme: str | None, polarity: str | None = "neutral", entries: tuple[str, ...] = ()) -> Label:
        return Label(theme, polarity if theme else None, entries, "high", "")

    first = [label("R", "failure", ("R-F02",)), label("R"), label("R"), label("R", "positive"), label("R"),
             label("G"), *[label(None)] * 6]
    second = [label("R", "failure", ("R-F02",)), label("R"), label("R"), label("G", "positive"), label(None),
              label("G"), *[label(None)] * 5, label("R")]
    yardstick = Yardstick.of(first, second, [t.id for t in load_taxonomy().themes])
    assert yardstick.scores.macro_classes == ("R", "none")
    assert yardstick.scores.theme_macro_f1 == pytest.approx(0.75)
    assert yardstick.scores.evidence_f1 == pytest.approx(10 / 12)
    assert yardstick.scores.failure_flag_f1 == 1.0 and yardstick.scores.entry_recall_at_5 == 1.0
    table = yardstick_table({"B against A": yardstick})
    assert "| theme macro-F1 | 0.75 (over R, none) |" in table
    assert "| evidence F1 | 0.83 (evidence: A 6, B 6) |" in table
    no_failure = [replace(a, polarity="neutral") if a.theme else a for a in first]
    assert "| failure flag F1 | undefined (failures: A 0, B 0) |" in \
        yardstick_table({"B against A": Yardstick.of(no_failure, no_failure[:5] + second[5:], ["R", "G"])})


@slow
def test_kappa_is_undefined_not_a_number_when_both_give_one_answer(census, tmp_path, capsys):
    batch = tmp_path / "batch"
    write_batch(batch, census)
    gids = [s.gid for s in census][:4]
    for who in ("A", "B"):
        _write_labels(batch / f"labels-{who}.jsonl", gids, [(None, None, [], "high")] * 4)
    assert main(["agree", str(batch)]) == 0
    assert "| theme | undefined (one answer throughout) | 1.00 |" in (batch / "agreement.md").read_text()


@slow
def test_rows_carry_no_text_and_rebuild_through_the_loader(labelled, shared, census, tmp_path, capsys):
    batch, gids = labelled
    assert main(["rows", str(batch)]) == 1
    assert "3 disagreement(s) have no label" in capsys.readouterr().err
    _write_labels(batch / "adjudicated.jsonl", [gids[1], gids[2], gids[9]],
                  [("R", "neutral", [], "low"), ("G", "positive", ["G009"], "low"), (None, None, [], "high")])
    devset = tmp_path / "real.jsonl"
    already = next(s for s in census if s.gid == gids[0])
    devset.write_text(json.dumps(_row(already)), encoding="utf-8")  # no final newline: appending must add one
    assert main(["rows", str(batch), "--append", "--devset", str(devset)]) == 0
    assert "wrote 10 rows" in capsys.readouterr().out
    rows = [json.loads(line) for line in (batch / "rows.jsonl").read_text(encoding="utf-8").splitlines()]
    repo_keys = set(json.loads(REAL_DEVSET.read_text(encoding="utf-8").splitlines()[0]))
    assert all(list(r) == list(rows[0]) and set(r) == repo_keys for r in rows)
    rows_text = (batch / "rows.jsonl").read_text(encoding="utf-8")
    assert not any(s.text[:40] in rows_text for s in census)
    by_gid = {r["gid"]: r for r in rows}
    assert [r["gid"] for r in rows] == gids[:10]
    assert by_gid[gids[0]]["entries"] == ["R-F02"] and by_gid[gids[0]]["confidence"] == "low"  # both gave R-F02
    assert by_gid[gids[3]]["entries"] == ["G004", "G009"]  # nothing in common: both labellers' entries
    assert (by_gid[gids[2]]["theme"], by_gid[gids[2]]["polarity"], by_gid[gids[2]]["agreement"]) == \
        ("G", "positive", "adjudicated")
    assert Counter(r["agreement"] for r in rows) == {"agreed": 7, "adjudicated": 3}
    loaded = load_real_rows(devset, shared=shared)
    assert loaded.skipped == {} and sorted(p.ref.gid for p in loaded.passages) == sorted(gids[:10])  # gids[0] once
    texts = {s.gid: s.text for s in census}
    assert all(p.text == texts[p.ref.gid] for p in loaded.passages)
    assert main(["rows", str(batch), "--append", "--devset", str(devset)]) == 0
    assert "appended 0" in capsys.readouterr().out and len(devset.read_text().splitlines()) == 10


@slow
@pytest.mark.parametrize(("line", "expected"), [
    ({"theme": "XX", "polarity": "neutral"}, "line 2: 'theme' must be one of C, CI, G, L, PCE, R, SD or null"),
    ({"theme": "R", "polarity": "bad"}, "line 2: 'polarity' must be one of failure, positive, neutral or null"),
    ({"theme": "R", "polarity": None}, "line 2: 'polarity' must be null exactly when 'theme' is null"),
    ({"entries": ["R-F99"]}, "line 2: 'entries' must be a list of at most 3 entry ids"),
    ({"confidence": "certain"}, "line 2: 'confidence' must be one of high, low"),
    ({"gid": "000000000000"}, "line 2: gid '000000000000' is not a passage of this batch"),
])
def test_a_bad_label_is_an_error_naming_the_file_and_line(labelled, line, expected):
    batch, gids = labelled
    good = {"gid": gids[1], "theme": None, "polarity": None, "entries": [], "confidence": "high"}
    path = batch / "labels-B.jsonl"
    path.write_text(json.dumps({**good, "gid": gids[0]}) + "\n" + json.dumps({**good, **line}) + "\n")
    with pytest.raises(LabellingError) as raised:
        read_labels(path, read_passages(batch), load_taxonomy())
    assert str(raised.value).startswith(f"{path} line 2: ") and expected.split(": ", 1)[1] in str(raised.value)
    with pytest.raises(LabellingError, match=r"labels-B\.jsonl line 2"):
        build_rows(batch, load_taxonomy())


def test_quota_rounds_the_random_share_up():
    assert [quota(n, 5, 0.6) for n in (0, 1, 2, 5, 40)] == [(0, 0), (1, 0), (2, 0), (3, 2), (3, 2)]
    assert quota(40, 5, 0.4) == (2, 3) and quota(40, 10, 0.45) == (5, 5)

