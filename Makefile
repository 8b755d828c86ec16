# Two commands do everything: `make lab` and `make test`. Both create .venv if it is missing
# and install only when requirements.txt or pyproject.toml changed since the last install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test install unit notebooks bench clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# Extra options for JupyterLab, e.g. `make lab LAB_ARGS="--no-browser --port 8890"`.
# Running as root (containers) needs --allow-root, which is added only then.
LAB_ARGS ?=
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_ARGS) $(LAB_ARGS) notebooks/

# Unit tests, then every notebook under nbval, against a stand-in mirror served on 127.0.0.1.
test: $(STAMP)
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env --durations=5

unit: $(STAMP)
	$(BIN)/python -m pytest tests

bench: $(STAMP)
	$(BIN)/python benchmarks/long_audio.py

clean:
	rm -rf .cache .pytest_cache
