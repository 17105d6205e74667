# adv: build, test, demo, benchmarks. `make test` and `make demo` install what they need first.
SWIFT ?= swift
# Release builds with testing enabled, shared by build, test and demo so nothing compiles twice.
SWIFTFLAGS = -c release -Xswiftc -enable-testing
BIN = .build/release
APT_PACKAGES = libopenblas-dev libreadline-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev \
               libcairo2-dev fonts-dejavu-core \
               pkg-config tmux dataset-fashion-mnist man-db libzmq3-dev libssl-dev \
               openmpi-bin libopenmpi-dev
# `make install PREFIX=$$HOME/.local` (DESTDIR for staging): bin/adv, share/adv/stdlib (found
# relative to the executable), share/man/man1/adv.1, bash/zsh/fish completions, share/doc/adv
# (LICENSE, README.md).
PREFIX ?= /usr/local
DESTDIR ?=
ROOT = $(DESTDIR)$(PREFIX)
STAMP = Sources/CBuildInfo/stamp.h
# The manual page is generated from adv's command-line definitions by swift-argument-parser's
# generate-manual tool, built from the package checkout (offline; no SwiftPM plugin needed).
ARGPARSER = .build/checkouts/swift-argument-parser
MANTOOL = .build/manual-tool/release/generate-manual
GEN = .build/generated

.PHONY: deps browser-deps stamp build test demo study report-check bench bench-autoattack clean man completions install uninstall check-install kernel-check notebook-check bench-ddp

# Installs the Debian packages the project needs when any is missing; quiet when all are present.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Writes the commit `adv --version` names into $(STAMP) (git-ignored) only when it changed, and
# touches the one C file that includes it, so a new commit recompiles that file alone.
stamp:
	@c=$$(git describe --always --dirty --abbrev=10 2>/dev/null || echo unknown); \
	line="#define ADV_GIT_COMMIT \"$$c\""; \
	if [ ! -f $(STAMP) ] || [ "$$(cat $(STAMP))" != "$$line" ]; then \
	  echo "$$line" > $(STAMP); touch Sources/CBuildInfo/build_info.c; fi

# Headless Chromium for the report check (ReportBrowserTests); when the package cannot be
# installed the check is skipped with a message saying so.
browser-deps:
	@dpkg-query -W -f='$${Status}' chromium 2>/dev/null | grep -q "install ok installed" || { \
	  echo "make browser-deps: installing chromium"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null ) \
	    || echo "make browser-deps: could not install chromium; the browser check (ReportBrowserTests) will be skipped"; }

build: deps stamp
	$(SWIFT) build $(SWIFTFLAGS) --product adv

$(MANTOOL):
	$(SWIFT) build -c release --package-path $(ARGPARSER) --scratch-path .build/manual-tool --product generate-manual

# adv.1 from `adv --experimental-dump-help` (the parser's own definitions), dated by the commit.
man: build $(MANTOOL)
	@mkdir -p $(GEN)
	$(MANTOOL) $(BIN)/adv --date $$(git log -1 --format=%cs 2>/dev/null || date +%F) --output-directory $(GEN)

completions: build
	@mkdir -p $(GEN)
	$(BIN)/adv --generate-completion-script bash > $(GEN)/adv.bash
	$(BIN)/adv --generate-completion-script zsh > $(GEN)/_adv
	$(BIN)/adv --generate-completion-script fish > $(GEN)/adv.fish

install: build man completions
	install -d $(ROOT)/bin $(ROOT)/share/adv/stdlib $(ROOT)/share/man/man1 $(ROOT)/share/doc/adv \
	  $(ROOT)/share/bash-completion/completions $(ROOT)/share/zsh/site-functions $(ROOT)/share/fish/vendor_completions.d
	install -m 755 $(BIN)/adv $(ROOT)/bin/adv
	install -m 644 stdlib/*.adv $(ROOT)/share/adv/stdlib/
	install -m 644 $(GEN)/adv.1 $(ROOT)/share/man/man1/adv.1
	install -m 644 LICENSE README.md $(ROOT)/share/doc/adv/
	install -m 644 $(GEN)/adv.bash $(ROOT)/share/bash-completion/completions/adv
	install -m 644 $(GEN)/_adv $(ROOT)/share/zsh/site-functions/_adv
	install -m 644 $(GEN)/adv.fish $(ROOT)/share/fish/vendor_completions.d/adv.fish

# Installs into a temporary PREFIX, runs the installed adv from elsewhere, checks the manual
# page and completions, uninstalls (scripts/check_install.sh).
check-install:
	MAKE="$(MAKE)" sh scripts/check_install.sh

uninstall:
	rm -f $(ROOT)/bin/adv $(ROOT)/share/man/man1/adv.1 $(ROOT)/share/bash-completion/completions/adv \
	  $(ROOT)/share/zsh/site-functions/_adv $(ROOT)/share/fish/vendor_completions.d/adv.fish
	rm -rf $(ROOT)/share/adv $(ROOT)/share/doc/adv

test: deps browser-deps stamp
	$(SWIFT) build $(SWIFTFLAGS) --build-tests
	$(SWIFT) test $(SWIFTFLAGS) --skip-build --disable-swift-testing
	$(MAKE) --no-print-directory check-install
	$(MAKE) --no-print-directory kernel-check

# Python tools for the kernel check, in a virtual environment outside the repository (created
# when missing; never a build dependency). JUPYTER_VENV moves it.
JUPYTER_VENV ?= /opt/adv-jupyter
$(JUPYTER_VENV)/bin/jupyter-nbconvert:
	python3 -m venv $(JUPYTER_VENV)
	$(JUPYTER_VENV)/bin/pip install -q jupyter_client ipykernel nbconvert nbformat jupytext

# The Jupyter kernel driven by jupyter_client: execute, streams, tables, errors, completion,
# inspection, interrupt, bad messages, restart, shutdown, nbconvert (scripts/kernel_check.py).
kernel-check: build $(JUPYTER_VENV)/bin/jupyter-nbconvert
	$(JUPYTER_VENV)/bin/python scripts/kernel_check.py $(BIN)/adv

# examples/study.ipynb executed end to end by `jupyter nbconvert --execute` on the adv kernel, its
# outputs checked (the study table as HTML, figures as SVG, progress kept in place): as long as
# the demo (about 5 minutes on 2 idle cores), so not part of `make test` (scripts/notebook_check.py).
notebook-check: build $(JUPYTER_VENV)/bin/jupyter-nbconvert
	$(JUPYTER_VENV)/bin/python scripts/notebook_check.py $(BIN)/adv

# AutoAttack standard on 1,000 FashionMNIST images, adv against torchattacks 3.5.1 on the same
# model and threads (BENCHMARKS.md; benchmarks/autoattack_compare.py). Needs the PyTorch venv
# REF_VENV (torch, timm, torchattacks, safetensors); trains the model once into /tmp/aa-bench.
REF_VENV ?= /opt/adv-ref
AA_EPS ?= 8
bench-autoattack: build
	$(REF_VENV)/bin/python benchmarks/autoattack_compare.py --adv $(BIN)/adv --n 1000 --eps $(AA_EPS) --threads 2

# The study as a notebook: prints its table as it runs and writes examples/study.html.
# examples/study.ipynb from examples/study.adv through Jupytext (the kernel check tests they agree;
# --update keeps the cell ids of an existing notebook, so only changed cells show in a diff).
NOTEBOOK_META = {"kernelspec": {"name": "adv", "display_name": "adv", "language": "adv"}, "language_info": {"name": "adv", "file_extension": ".adv"}}
examples/study.ipynb: examples/study.adv $(JUPYTER_VENV)/bin/jupyter-nbconvert
	$(JUPYTER_VENV)/bin/jupytext --from py:percent --to ipynb $(if $(wildcard $@),--update) --update-metadata '$(NOTEBOOK_META)' -o $@ - < examples/study.adv

demo: build
	$(BIN)/adv notebook examples/study.adv -o examples/study.html

# A notebook report rendered in headless Chromium: DOM checks and a screenshot, kept in
# .build/report-check/ (check.html, screenshot.png, figure.png).
report-check: deps browser-deps stamp
	$(SWIFT) build $(SWIFTFLAGS) --build-tests
	ADV_REPORT_CHECK_DIR=$(CURDIR)/.build/report-check $(SWIFT) test $(SWIFTFLAGS) --skip-build --disable-swift-testing --filter ReportBrowserTests
	@echo "report-check: report and screenshot in .build/report-check/"

# The study at CPU scale, converged (examples/study_full.adv as a notebook; meant for at most 20
# minutes on 2 idle cores): the report in results/study.html, the rows in results/study.json and
# results/study.csv. `ADV_THREADS=1 make study` must print the same tables.
study: build
	mkdir -p results
	$(BIN)/adv notebook examples/study_full.adv -o results/study.html results/study

# The users'-view benchmark (benchmarks/users_view.py; BENCHMARKS.md "Users' view"): adv against
# PyTorch (ADV_REF_PYTHON: torch 2.x + timm 1.0.x, outside the repository) as users run them.
# BENCH picks sections: fit32 eval224 train224 mem224 bf16acc clean (default: all, 30 minutes on
# 2 idle cores, estimated); BENCH_ARGS passes options (--reps N, --reps224 N, --models convnext,swin,
# --precisions fp32). BENCH=advbench runs the older AdvBench sections (kernels, models, train, data,
# attacks) instead. Tables go to stdout and .build/bench/users-view-DATE.md.
BENCH ?=
BENCH_ARGS ?=
ADV_REF_PYTHON ?= /opt/adv-ref/bin/python
bench: deps stamp
	$(SWIFT) build $(SWIFTFLAGS) --product AdvBench
	$(SWIFT) build $(SWIFTFLAGS) --product adv
	@if [ "$(BENCH)" = advbench ]; then $(BIN)/AdvBench; \
	else python3 benchmarks/users_view.py --python $(ADV_REF_PYTHON) $(if $(BENCH),--sections "$(BENCH)") $(BENCH_ARGS); fi

# Data-parallel training: 2 processes x 1 thread against 1 process x 2 threads, images/s of the
# five models' training step and the allreduce time per step, one process's throughput at full
# size (benchmarks/ddp.sh), then the cluster projection from that measured throughput
# (benchmarks/ddp_projection.sh; docs/distributed.md). ADV_DDP_OVERLAP=0 make bench-ddp: no overlap.
bench-ddp: build
	sh benchmarks/ddp.sh | tee $${TMPDIR:-/tmp}/adv-bench-ddp.txt
	@echo
	BENCH=$${TMPDIR:-/tmp}/adv-bench-ddp.txt sh benchmarks/ddp_projection.sh

clean:
	rm -rf .build
