# adv: build, test, demo, benchmarks. `make test` and `make demo` install what they need first.
SWIFT ?= swift
# Release builds with testing enabled, shared by build, test and demo so nothing compiles twice.
SWIFTFLAGS = -c release -Xswiftc -enable-testing
BIN = .build/release
APT_PACKAGES = libopenblas-dev libreadline-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev \
               libcairo2-dev fonts-dejavu-core \
               pkg-config tmux dataset-fashion-mnist

.PHONY: deps browser-deps build test demo report-check bench clean

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

# Headless Chromium for the report check (ReportBrowserTests); when the package cannot be
# installed the check is skipped with a message saying so.
browser-deps:
	@dpkg-query -W -f='$${Status}' chromium 2>/dev/null | grep -q "install ok installed" || { \
	  echo "make browser-deps: installing chromium"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null ) \
	    || echo "make browser-deps: could not install chromium; the browser check (ReportBrowserTests) will be skipped"; }

build: deps
	$(SWIFT) build $(SWIFTFLAGS) --product adv

test: deps browser-deps
	$(SWIFT) build $(SWIFTFLAGS) --build-tests
	$(SWIFT) test $(SWIFTFLAGS) --skip-build --disable-swift-testing

# The study as a notebook: prints its table as it runs and writes examples/study.html.
demo: build
	$(BIN)/adv notebook examples/study.adv -o examples/study.html

# A notebook report rendered in headless Chromium: DOM checks and a screenshot, kept in
# .build/report-check/ (check.html, screenshot.png, figure.png).
report-check: deps browser-deps
	$(SWIFT) build $(SWIFTFLAGS) --build-tests
	ADV_REPORT_CHECK_DIR=$(CURDIR)/.build/report-check $(SWIFT) test $(SWIFTFLAGS) --skip-build --disable-swift-testing --filter ReportBrowserTests
	@echo "report-check: report and screenshot in .build/report-check/"

bench: deps
	$(SWIFT) build $(SWIFTFLAGS) --product AdvBench
	$(BIN)/AdvBench

clean:
	rm -rf .build
