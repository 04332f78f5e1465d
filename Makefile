# Two commands do everything on a fresh machine:
#   make demo   set up, then run the tour
#   make test   set up, then lint and run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint bench pictures dot browser clean

$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	  else \
	    echo "$(PYTHON) cannot make a virtual environment: install venv, e.g. 'sudo apt-get install python3-venv'"; \
	    exit 1; \
	  fi; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Graphviz's `dot` draws the computation graphs. Install it with the system package
# manager when it is missing and we can; otherwise say exactly what to run.
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  elif command -v brew >/dev/null 2>&1; then \
	    brew install graphviz; \
	  else \
	    echo "Graphviz's 'dot' is missing: install it with 'sudo apt-get install graphviz' (Debian/Ubuntu)," \
	         "'brew install graphviz' (macOS) or from https://graphviz.org/download/"; exit 1; \
	  fi; }

# Chromium runs the race page's browser tests (tests/test_page.py, driven by Playwright).
# Install it with the system package manager when it is missing and we can; otherwise
# say so: those tests then skip, naming the reason (under CI=true a skip fails: tests/conftest.py).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || true; \
	  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || true; \
	  fi; \
	  command -v chromium >/dev/null 2>&1 || \
	    echo "Chromium is missing, so the browser tests will skip: install it with 'sudo apt-get install chromium'"; }


demo: $(VENV)/.installed dot
	$(PY) demos/moons.py
	$(PY) -m tinygrad_opt demo

lint: $(VENV)/.installed
	$(PY) -m ruff check .

test: $(VENV)/.installed dot browser lint
	$(PY) -m pytest

# Timings beside micrograd and PyTorch (when installed: pip install torch) in the same run.
bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_mlp.py
	$(PY) benchmarks/profile_gpt.py
	$(PY) benchmarks/bench_optim.py
	$(PY) benchmarks/bench_race.py
	$(PY) benchmarks/bench_viz.py
	$(PY) benchmarks/bench_gpt.py

# The pictures docs/ shows, made from the code as it is.
pictures: $(VENV)/.installed dot
	$(PY) -m tinygrad_opt demo --no-page --out docs/img
	rm -f docs/img/losses_moons.png docs/img/boundaries_moons.png
	$(PY) demos/warmup.py --out docs/img
	$(PY) -m tinygrad_opt race --landscape himmelblau --lr SGD=0.01 Momentum=0.004 RMSProp=0.05 Adam=0.1 \
	  --out docs/img/race_himmelblau.png
	# docs/transformer.md draws its attention heads itself: run the page, keep its picture
	mkdir -p out
	$(PY) -m pytest -q tests/test_docs.py -k "every_code_block_runs and transformer" --basetemp=out/docs_pictures
	cp out/docs_pictures/*current/attention.png docs/img/attention.png

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .hypothesis
