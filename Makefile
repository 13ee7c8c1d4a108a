# The two commands of the README. Each creates the environment it needs (.venv) on first use.
#   make book   build the site into _build/html (Korean and English)
#   make test   run the whole test suite, as CI does (make test-fast: unit tests only)
# and, for learners, `make lab`: the same environment, then JupyterLab on the chapters.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Tests and the book build run on the CPU with the same results everywhere.
export LLMBOOK_DEVICE ?= cpu
# Notebook kernels (the book build, the tests, `make lab`) wait for work asleep, not spinning:
# PyTorch's OpenMP threads spin at every barrier by default, and on a machine whose cores are
# busy with anything else a training step then ran 10-17x slower (benchmarks/bench_threads.py),
# which is what made chapters "hang" past the cell timeout in a loaded book build.
KERNEL_ENV := --env OMP_WAIT_POLICY PASSIVE

.PHONY: book test test-fast env lab browser sandbox clean

env: $(STAMP)

# -c requirements.txt pins every version we test (and takes the local CPU torch 2.13.0).
$(STAMP): pyproject.toml requirements.txt Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "llmbook needs Python 3.10 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)." \
		       "Run: make PYTHON=python3.12 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c requirements.txt -e ".[hf,lab,instructor,book,test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 $(KERNEL_ENV) >/dev/null
	touch $(STAMP)

book: $(STAMP)
	$(PY) book/build.py

lab: $(STAMP)
	$(VENV)/bin/jupyter lab chapters

# The browser tests drive Chromium with the Noto CJK fonts (Playwright never downloads a
# browser). As root on Debian or Ubuntu (CI) they are installed here; anywhere else this says
# what to install.
browser:
	@if command -v chromium >/dev/null && \
		{ ! command -v fc-list >/dev/null || fc-list | grep -q "Noto Sans CJK"; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else \
		echo "make test needs Chromium and the Noto CJK fonts for its browser tests. Install them:"; \
		echo "  Debian/Ubuntu:  sudo apt-get install chromium fonts-noto-cjk"; \
		echo "  Fedora:         sudo dnf install chromium google-noto-sans-cjk-fonts"; \
		echo "  macOS:          brew install --cask chromium font-noto-sans-cjk"; \
		echo "  Windows:        use WSL (Ubuntu) and the Debian/Ubuntu line"; \
		exit 1; \
	fi

# `llmbook grade` runs each submission inside bubblewrap (Linux); installed likewise.
sandbox:
	@if command -v bwrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	else \
		echo "make test needs bubblewrap for the grader's sandbox tests. Install it:"; \
		echo "  Debian/Ubuntu:  sudo apt-get install bubblewrap"; \
		echo "  Fedora:         sudo dnf install bubblewrap"; \
		echo "  (macOS and Windows have no bubblewrap: run make test in Linux or WSL)"; \
		exit 1; \
	fi

test: $(STAMP) browser sandbox
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadfile --nbval-lax \
		--nbval-cell-timeout=300 tests chapters solutions

# The fast lane while you work: ruff and the package's unit tests (no notebooks, browser, venvs,
# kernels or sandbox); `make test` stays the whole suite, as CI runs it.
test-fast: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 -m "not slow" tests --ignore=tests/site --ignore=tests/packaging \
		--ignore=tests/exercises/redteam

clean:
	rm -rf _build
