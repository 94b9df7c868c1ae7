# Two entry points: `make run` (set up and run the main job) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast setup lint bench clean screenshots

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 2; }
	@echo "==> Creating $(VENV) and installing bv-triage with its pinned dependencies (constraints.txt):"
	@echo "    PyTorch (CPU), spaCy, sentence-transformers and the bundled model, Prefect, pdfplumber/pdfium,"
	@echo "    onnxruntime, the test tools. About 190 packages: 2-3 minutes the first time, under a minute"
	@echo "    from pip's cache. pip lists each package as it goes."
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/python -m pip install --quiet --upgrade pip && \
	$(BIN)/python -m pip install --progress-bar off --disable-pip-version-check \
		-c constraints.txt -e '.[test]' && \
	echo "==> Installed into $(VENV) in $$(( $$(date +%s) - start )) s"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	@echo "==> triage run: ingesting the bundled demo corpus (16 documents, 3 authorities) into data/triage.db;"
	@echo "    about a minute the first time (Prefect start-up, a one-off int8 model build, embedding)."
	$(BIN)/triage run

test: $(STAMP)
	@echo "==> ruff, then pytest (the full suite: about 17 minutes on 2 cores; the browser, OCR and"
	@echo "    processor-emulation tests skip with a reason when Chromium, tesseract or qemu is missing)"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	@echo "==> ruff, then the fast tier: pure logic with no model, Prefect, browser or OCR (under a minute)"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	@echo "==> benchmarks (about 20 minutes on 2 cores), then the README's and docs' performance blocks from them"
	$(BIN)/python -m bench
	$(BIN)/python docs/samples.py --bench

screenshots: $(STAMP)
	@echo "==> the review app's browser tests, saving the documentation's screenshots to docs/images/"
	BV_TRIAGE_DOCS_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_review_browser.py

clean:
	rm -rf $(VENV) data .prefect
