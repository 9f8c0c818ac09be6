# mlflow-bun. Needs only python3 (with venv), node and npm: bun comes from npm, MLflow from
# PyPI into .venv, and the tests find a PostgreSQL or start a throwaway one.
BUN := node_modules/.bin/bun
PY := .venv/bin/python
MLFLOW_VERSION := $(shell cat MLFLOW_VERSION)
SRC := $(shell find src -type f) package.json

.PHONY: deps run build test typecheck generate check-generated clean

# patches/: fixes to dependencies, applied by patch-package (postinstall); see patches/README.md.
node_modules/.installed: package.json package-lock.json $(wildcard patches/*.patch)
	npm ci --no-audit --no-fund
	@touch $@

# mlflow is installed --no-deps beside its requirements: see python/requirements-dev.txt.
.venv/.installed: python/requirements-dev.txt MLFLOW_VERSION
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r python/requirements-dev.txt
	.venv/bin/pip install -q --disable-pip-version-check --no-deps mlflow==$(MLFLOW_VERSION)
	@touch $@

deps: node_modules/.installed .venv/.installed

dist/mlflow-bun: node_modules/.installed $(SRC)
	$(BUN) build --compile --bytecode --minify --sourcemap src/cli.ts --outfile dist/mlflow-bun

build: dist/mlflow-bun

# The embedded default: ./mlflow.db (SQLite), artifacts under ./mlartifacts.
run: build
	./dist/mlflow-bun --host 127.0.0.1 --port 5000

test: deps build typecheck
	$(BUN) test/run.ts

typecheck: node_modules/.installed
	node_modules/.bin/tsc --noEmit -p .

# Regenerates everything derived from MLflow: protos/, then src/generated/ (schema DDL
# dumped from databases MLflow's migrations built, and the TypeScript from the protos).
generate: deps
	$(PY) codegen/extract_descriptors.py protos/mlflow.binpb
	$(BUN) test/support/pg-cluster.ts exec -- $(PY) codegen/dump_schema.py
	$(BUN) codegen/generate.ts

# CI: the committed generated code must be what `make generate` produces now.
check-generated: generate
	@git diff --exit-code --stat -- protos src/generated || \
	  (echo "Generated code is stale: run 'make generate' and commit the result." && exit 1)

clean:
	rm -rf dist .test-tmp

# The Python package (python/) with the binary inside, as one platform wheel in dist/:
# `pip install dist/mlflow_bun-*.whl` gives `mlflow-bun server`. See python/build_wheel.py.
.PHONY: wheel
WHEEL_SRC := python/pyproject.toml python/build_wheel.py $(shell find python/mlflow_bun -name '*.py')

dist/.wheel: dist/mlflow-bun $(WHEEL_SRC) MLFLOW_VERSION
	python3 python/build_wheel.py --binary dist/mlflow-bun --out dist
	@touch $@

wheel: dist/.wheel

# Benchmarks (bench/README.md): mlflow-bun against MLflow's Python server and its peers, wrk load.
# bench-smoke runs in seconds (part of `make test`), bench-quick in under 3 minutes, bench is the
# full run (100,000-run scale data, every server, 3 rounds) and writes bench/results/.
.PHONY: bench bench-quick bench-smoke
bench: node_modules/.installed build
	$(BUN) bench/run.ts --mode full

bench-quick: node_modules/.installed build
	$(BUN) bench/run.ts --mode quick

bench-smoke: node_modules/.installed build
	$(BUN) bench/run.ts --mode smoke

# Soak (bench/soak.ts): mixed load on the compiled binary, PostgreSQL then SQLite, MLFLOW_BUN_SOAK_SECONDS
# each (default 600); fails on any error or on RSS / fds / PostgreSQL connections that keep growing.
.PHONY: soak
soak: node_modules/.installed build
	$(BUN) bench/soak.ts

# Long fuzzing (test/fuzz, MLFLOW_BUN_FUZZ=long): schemathesis over every native operation (both
# prefixes, 150 examples per mode) and every injection payload in every grammar position, with the
# real MLflow server as the oracle; tens of minutes. `make test` runs the bounded pass.
.PHONY: fuzz
fuzz: deps
	MLFLOW_BUN_FUZZ=long $(BUN) test/support/pg-cluster.ts exec -- $(PY) -m pytest test/fuzz -q -p no:cacheprovider
