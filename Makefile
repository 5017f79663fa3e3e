# The README's two commands: `make run` (set up, index the bundled corpus, start the chat)
# and `make test` (set up, then tests, ruff and mypy).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-hoidap
QUESTION ?= Báo cáo của Thành ủy xác định 4 mục tiêu năm 2021 là gì?

export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: install run index test lint chromium

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	# torch first and pinned: the CPU wheel; an unpinned torch pulls GBs of CUDA.
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	# setuptools' "Editable installation … be careful with folders of the same name" is a notice, not a problem.
	PYTHONWARNINGS="ignore:Editable installation:UserWarning" \
		$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(VENV)/bin/hoidap index

run: index
	$(VENV)/bin/hoidap ask "$(QUESTION)"
	$(VENV)/bin/hoidap serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The browser tests drive Debian's Chromium: without it the run stops at once, never skips them quietly.
CHROMIUM ?= /usr/bin/chromium
NEEDS_CHROMIUM := the browser tests need Chromium: apt-get install -y chromium (or run bash .ci/run)

chromium:
	@test -x $(CHROMIUM) || { echo "$(NEEDS_CHROMIUM)" >&2; exit 2; }

test: chromium lint
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest
