"""``python -m pipeline.training``: rebuild the shipped artefacts in ``models/<taxonomy>/`` from the development set.

The development set is the written passages and the real-text rows (text rebuilt from the shared documents; left
out, with the reason, where they are absent). ``--cv`` also prints the cross-validated figures beside BM25 (real
text in folds by document, then written text) and the reliability of the flag probability on real text (``--plots``
also draws it as SVG);
``--check`` rebuilds into a temporary folder and compares with the shipped model within machine-level float noise.
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
from pipeline.training.dataset import TrainingSet
from pipeline.training.fit import build


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--taxonomy", default=DEFAULT_TAXONOMY)
    parser.add_argument("--output-dir", type=Path, default=None, help="default: models/<taxonomy>/")
    parser.add_argument("--cv", action="store_true",
                        help="also print 5-fold cross-validated metrics beside BM25 (real text by document, written)")
    parser.add_argument("--plots", type=Path, default=None, metavar="DIR",
                        help="with --cv: also write the real-text reliability diagrams as SVG files into DIR")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temporary folder and compare with the shipped artefacts "
                             "(within machine-level float tolerance)")
    parser.add_argument("--entry-vectors-only", action="store_true",
                        help="only write the entry vectors (for a taxonomy with no labelled passages, e.g. wales-2013)")
    args = parser.parse_args(argv)
    if args.plots is not None and not args.cv:
        parser.error("--plots needs --cv: the diagrams are drawn from the cross-validation's predictions")

    from pipeline.classify.model import load_model, rebuild_differences
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
        problems = rebuild_differences(recorded, rebuilt)
        exact = "identical" if rebuilt.artefact_hash == recorded.artefact_hash else "within machine tolerance"
        print(f"rebuilt {rebuilt.artefact_hash}, shipped {recorded.artefact_hash}: "
              + ("DIFFERENT: " + "; ".join(problems) if problems else exact))
        return 1 if problems else 0
    output = args.output_dir or shipped
    if args.entry_vectors_only:
        bank = load_entry_bank(encoder, taxonomy, shipped_dir=shipped)
        write_vectors(output / "entry-vectors.npz", bank.vectors, bank.key)
        print(f"wrote {output / 'entry-vectors.npz'}: {len(bank.texts)} texts, key {bank.key}")
        return 0
    model = build(encoder, taxonomy, output, vectors_dir=shipped)
    print(f"wrote {output}: artefact hash {model.artefact_hash}, training data {model.training['training_data_hash']}")
    if args.cv:
        print(cross_validation_report(encoder, TrainingSet.load(encoder, taxonomy, output), plots=args.plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
