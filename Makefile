# The two commands of the README. Each creates the environment it needs (.venv) on first use.
#   make book   build the site into _build/html (Korean and English)
#   make test   run the whole test suite, as CI does
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests and the book build run on the CPU with the same results everywhere.
export LLMBOOK_DEVICE ?= cpu

.PHONY: book test env browser clean

env: $(STAMP)

# -c requirements.txt pins every version we test (and takes the local CPU torch 2.13.0).
$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c requirements.txt -e ".[book,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

book: $(STAMP)
	$(PY) book/build.py

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null && fc-list | grep -q "Noto Sans CJK" || \
		{ apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: $(STAMP) browser
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadfile --nbval-lax \
		--nbval-cell-timeout=300 tests chapters solutions

clean:
	rm -rf _build
