# tension-stream — the two commands: `make demo` and `make test`.
# Each installs what it needs: a virtualenv in .venv and the Kafka classpath in .kafka/lib.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The classifier's hot modules are compiled with mypyc (setup.py); rebuilt
# whenever one of their sources changes, so a stale build never shadows them.
# (classifier_lab/, the research code, is never compiled.)
NATIVE_SRC   := $(wildcard streams/classifier/*.py) setup.py
NATIVE_STAMP := $(VENV)/.native-stamp
# --durations: every CI log shows the slowest tests (the budgets: unit <= 30 s, integration <= 90 s).
# Two pytest-xdist workers, one per core of a CI machine, each with its own broker, PostgreSQL and
# registry (session fixtures on free ports); a file's tests stay on one worker (module fixtures start
# once). Most integration time is waiting on brokers and subprocesses, so two workers halve the wall
# time even on a busy 2-core host. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?= --durations=15 -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: help setup native dashboard-assets demo demo-keep test test-unit test-integration bench bench-deps bench-peers quality weights-check fuzz kafka-up kafka-down clean

help:
	@echo "make demo    run the whole pipeline on the embedded default (local Kafka + SQLite)"
	@echo "make test    install everything and run the whole test suite"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make quality          score the held-out corpus parts (a report, never a test)"
	@echo "make weights-check    retrain the learned layer and fail unless the shipped weights equal it"
	@echo "make fuzz             fuzz the readers and the decode path at length (FUZZ_EXAMPLES=20000)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(NATIVE_STAMP)

$(NATIVE_STAMP): $(STAMP) $(NATIVE_SRC)
	$(BIN)/python setup.py --quiet build_ext --inplace --force
	@touch $(NATIVE_STAMP)

native: $(NATIVE_STAMP)

# The dashboard's chart library (uPlot), from npm, pinned by the committed lock file;
# installed into dashboard/node_modules (git-ignored) and served by the dashboard.
DASH_DIR   := dashboard
DASH_STAMP := $(DASH_DIR)/node_modules/.installed-stamp

$(DASH_STAMP): $(DASH_DIR)/package.json $(DASH_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for the dashboard's chart library (Debian: apt-get install npm)"; exit 1; }
	npm ci --prefix $(DASH_DIR) --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(DASH_STAMP)

dashboard-assets: $(DASH_STAMP)

setup: $(STAMP) $(NATIVE_STAMP) $(DASH_STAMP)
	$(BIN)/tension kafka fetch

demo: setup
	$(BIN)/tension demo

demo-keep: setup
	$(BIN)/tension demo --keep-running

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: setup
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

# bench/producer.py needs a broker on the default port: start one for the run, stop it after.
bench: setup
	$(BIN)/tension kafka up
	@status=0; for b in bench/*.py; do case $$b in bench/fuzz.py|bench/peers.py|bench/peer_apps.py) continue;; esac; \
	  echo "== $$b"; $(BIN)/python $$b || status=1; done; \
	$(BIN)/tension kafka down; exit $$status

# Bench-only dependencies (the Quix Streams peer, py-spy), kept out of .venv and of `make test`:
# installed into .bench-deps, which only bench/peer_apps.py's Quix process puts on its path.
BENCH_DEPS := .bench-deps
$(BENCH_DEPS)/.stamp: pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet --upgrade --target $(BENCH_DEPS) $$($(BIN)/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["bench"]))')
	@touch $@

bench-deps: $(BENCH_DEPS)/.stamp

# The topology vs Quix Streams vs a plain confluent-kafka loop, latency at fixed rates (docs/streams.md).
bench-peers: setup bench-deps
	$(BIN)/python bench/peers.py $(ARGS)

# Reports and slow checks that are deliberately not part of `make test` (docs/classifier.md).
quality: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python bench/quality.py

weights-check: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python -m classifier_lab.train --check

# Long fuzzing of the producer's readers and the Avro decode path (make test runs the same targets briefly).
FUZZ_EXAMPLES ?= 20000
fuzz: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/python bench/fuzz.py --examples $(FUZZ_EXAMPLES)

kafka-up: setup
	$(BIN)/tension kafka up

kafka-down: $(STAMP)
	$(BIN)/tension kafka down

clean:
	-$(BIN)/tension kafka down
	rm -rf $(VENV) .kafka .state var .pytest_cache build
	rm -f streams/classifier/*.so
