# Footnote: `make run` serves the default corpus, `make test` runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install browser tesseract run test lint clean

install: $(STAMP) tesseract

# OCR of scanned PDF pages (ingest/ocr.py) reads Tesseract's language data: Debian's tesseract-ocr with eng.
# Without root or sudo it says so and goes on: ingest then skips scanned pages with the same line.
tesseract:
	@if ! ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 && [ -z "$$TESSDATA_PREFIX" ]; then \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		if [ -n "$$SUDO" ] && ! command -v sudo >/dev/null; then \
			echo "OCR needs Debian's tesseract-ocr and tesseract-ocr-eng: install them as root"; \
		else \
			echo "installing Debian's tesseract-ocr for OCR of scanned PDFs"; \
			$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng \
				>/dev/null || echo "could not install tesseract-ocr: scanned PDF pages will be skipped"; \
		fi; \
	fi

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: picks the CPU wheel on disk instead of CUDA builds.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,scale]"
	touch $(STAMP)

run: install
	$(BIN)/footnote ingest corpus
	$(BIN)/footnote serve --host 127.0.0.1 --port 8000

# The chat page is tested in a real browser: Debian's chromium (Playwright cannot download one offline).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		echo "installing Debian's chromium for the browser tests"; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

test: install browser
	$(BIN)/python -m pytest -q

# mypy reads the packages under their installed names through a tree of links (pyproject [tool.mypy]).
MYPY_TREE := build/mypy/footnote

lint: install
	$(BIN)/ruff check .
	rm -rf $(MYPY_TREE) && mkdir -p $(MYPY_TREE)
	ln -s $(CURDIR)/footnote/*.py $(MYPY_TREE)/
	for stage in ingest index service eval; do ln -s $(CURDIR)/$$stage $(MYPY_TREE)/$$stage; done
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .footnote
