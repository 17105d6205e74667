# adv: build, test, demo, benchmarks. `make test` and `make demo` install what they need first.
SWIFT ?= swift
# Release builds with testing enabled, shared by build, test and demo so nothing compiles twice.
SWIFTFLAGS = -c release -Xswiftc -enable-testing
BIN = .build/release
APT_PACKAGES = libopenblas-dev libreadline-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev \
               libcairo2-dev fonts-dejavu-core \
               pkg-config tmux dataset-fashion-mnist

.PHONY: deps build test demo bench clean

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

build: deps
	$(SWIFT) build $(SWIFTFLAGS) --product adv

test: deps
	$(SWIFT) build $(SWIFTFLAGS) --build-tests
	$(SWIFT) test $(SWIFTFLAGS) --skip-build --disable-swift-testing

demo: build
	$(BIN)/adv examples/study.adv

bench: deps
	$(SWIFT) build $(SWIFTFLAGS) --product AdvBench
	$(BIN)/AdvBench

clean:
	rm -rf .build
