"""``python -m pipeline.training``: rebuild the shipped artefacts in ``models/<taxonomy>/`` from the development set.

``--cv`` also prints 5-fold cross-validated metrics beside BM25; ``--check`` rebuilds into a temporary folder and
compares the artefact hash with the shipped one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pipeline.classify.entry_vectors import load_entry_bank, write_vectors
from pipeline.paths import MODELS_DIR
from pipeline.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
from pipeline.training.crossval import cross_validation_report
from pipeline.training.dataset import devset_vectors, load_devset, load_non_evidence, non_evidence_vectors
from pipeline.training.fit import build


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--taxonomy", default=DEFAULT_TAXONOMY)
    parser.add_argument("--output-dir", type=Path, default=None, help="default: models/<taxonomy>/")
    parser.add_argument("--cv", action="store_true", help="also print 5-fold cross-validated metrics beside BM25")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temporary folder and compare with the shipped artefact hash")
    parser.add_argument("--entry-vectors-only", action="store_true",
                        help="only write the entry vectors (for a taxonomy with no labelled passages, e.g. wales-2013)")
    args = parser.parse_args(argv)

    from pipeline.classify.model import load_model
    from pipeline.embed import load_encoder
    from pipeline.settings import configure_environment

    configure_environment()
    encoder = load_encoder()
    taxonomy = load_taxonomy(args.taxonomy)
    shipped = MODELS_DIR / taxonomy.id
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            rebuilt = build(encoder, taxonomy, Path(tmp), vectors_dir=shipped)
        recorded = load_model(shipped)
        same = rebuilt.artefact_hash == recorded.artefact_hash
        print(f"rebuilt {rebuilt.artefact_hash}, shipped {recorded.artefact_hash}: {'same' if same else 'DIFFERENT'}")
        return 0 if same else 1
    output = args.output_dir or shipped
    if args.entry_vectors_only:
        bank = load_entry_bank(encoder, taxonomy, shipped_dir=shipped)
        write_vectors(output / "entry-vectors.npz", bank.vectors, bank.key)
        print(f"wrote {output / 'entry-vectors.npz'}: {len(bank.texts)} texts, key {bank.key}")
        return 0
    model = build(encoder, taxonomy, output, vectors_dir=shipped)
    print(f"wrote {output}: artefact hash {model.artefact_hash}, training data {model.training['training_data_hash']}")
    if args.cv:
        rows = load_devset()
        bank = load_entry_bank(encoder, taxonomy, shipped_dir=output)
        vectors = devset_vectors(encoder, rows, output)
        none_texts = load_non_evidence(taxonomy.id)
        print(cross_validation_report(encoder, taxonomy, rows, vectors, bank, none_texts=none_texts,
                                      none_vectors=non_evidence_vectors(encoder, none_texts, output)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
