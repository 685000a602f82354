# Two commands: `make demo` and `make test`. Both build their own virtual environment.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo-run

.PHONY: demo test lint bench-quality bench-scale bench-sweep clean venv system-deps

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $@

## demo: init a store, load synthetic filings, register the demo official, process a signed request
demo: venv
	$(BIN)/python -m taxgate.demo --workdir $(DEMO)

## system-deps: the real servers and tools the suite runs against, from Debian's packages
## (PostgreSQL's server, headless Chromium for the browser tests, Java for local Spark)
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## test: the whole suite (real DuckDB, Splink, PostgreSQL, Ed25519, Chromium, Spark)
test: venv system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: venv
	$(BIN)/ruff check taxgate tests bench tools
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy taxgate

bench-quality: venv
	$(BIN)/python bench/quality.py

bench-scale: venv
	$(BIN)/python bench/scale.py

bench-sweep: venv
	$(BIN)/python bench/scale.py sweep

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
