# Two commands for a fresh machine:  make report  |  make test
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: report test check serve bench screenshots setup setup-test catalogs clean

report: setup            ## set up, then build both editions (websites and PDFs) into site/
	$(BIN)/esg-report build

test: setup-test         ## set up, then run the test suite (includes a full build of the sample)
	$(BIN)/python -m pytest

check: setup             ## validate data, chapters, links, the content index and the translation (no PDF)
	$(BIN)/esg-report check --strict
	$(BIN)/esg-report translations --check

serve: setup             ## live preview of the English edition (EDITION=zh-Hant for Chinese)
	$(BIN)/esg-report serve --edition $(or $(EDITION),en)

bench: setup-test        ## speed and size figures (benchmarks/README.md)
	$(BIN)/python benchmarks/run.py

screenshots: setup-test  ## PNGs of chosen PDF pages and site pages for review
	$(BIN)/python scripts/screenshots.py

catalogs: setup          ## extract UI strings and update the translation catalogs
	$(BIN)/esg-report catalogs update

setup:
	@scripts/setup.sh report

setup-test:
	@scripts/setup.sh test

clean:
	rm -rf site .site-staging-* tests/_artifacts
