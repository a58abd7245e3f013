# lyceum: `make demo` and `make test` do all the setup on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# torch must be installed before anything that depends on it: an unpinned torch pulls a
# multi-GB CUDA build. Override TORCH_SPEC for another build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test lint bench conformance models clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.core: pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(PY)
	$(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[dev]"
	touch $(VENV)/.core $(VENV)/.learn $(VENV)/.eval $@

# scikit-learn, for the learned decision models (no torch).
$(VENV)/.learn: pyproject.toml | $(PY)
	$(PIP) install -q -e ".[learn]"
	touch $(VENV)/.core $@

# matplotlib and pandas: the classroom's HTML report and its plots (the demo writes one).
$(VENV)/.eval: pyproject.toml | $(PY)
	$(PIP) install -q -e ".[eval]"
	touch $(VENV)/.core $@

demo: $(VENV)/.eval
	$(VENV)/bin/lyceum demo

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: $(VENV)/.dev lint
	$(PY) -m pytest -W error

bench: $(VENV)/.dev
	$(PY) benchmarks/bench_runtime.py
	$(PY) benchmarks/bench_telemetry.py
	$(PY) benchmarks/bench_kg.py
	$(PY) benchmarks/bench_models.py
	$(PY) benchmarks/bench_eval.py
	$(PY) benchmarks/bench_classroom.py
	$(PY) benchmarks/bench_serve.py

# The measured table of docs/models.md: every LLM path on every backend (Gemma rows: minutes).
conformance: $(VENV)/.dev
	$(PY) benchmarks/conformance_table.py

# Train the learned decision models (Bridge, MathDial) from the data folder into
# $$LYCEUM_CACHE/models; DATA=dir, else $$LYCEUM_DATA_DIR. About a minute; see docs/simulation.md.
models: $(VENV)/.learn
	$(VENV)/bin/lyceum models build $(if $(DATA),--data "$(DATA)")

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache lyceum.db
