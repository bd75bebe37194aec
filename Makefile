# Gatehouse: the two commands a new user needs are `make demo` and `make test`.
GO       ?= go
BIN      := bin/gatehouse
PKGS     := ./...
GOFLAGS  ?=
STATICCHECK_VERSION ?= v0.8.2
# The Go modules with code, the product first. The others are test and
# benchmark harnesses with their own go.mod (so that Kubernetes, Helm and
# chromedp stay out of the product's), each replacing the product module
# with this checkout. e2e/hydra is a tool-only module (no packages).
MODULES  := . e2e internal/deploytest bench
# The modules with tests (bench has none: vet and staticcheck build it).
TEST_MODULES := . e2e internal/deploytest
# Each module builds with its own go.mod, as CI and releases do, even when a
# developer has a go.work (make work) for the editor.
export GOWORK := off

# What `gatehouse version` shows. Go stamps the VCS revision and commit time
# itself (-buildvcs) where it can read the repository; the linker variables
# also cover builds where it cannot (a git worktree, a Docker build context,
# which has no .git).
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git rev-parse HEAD >/dev/null 2>&1 && { git diff --quiet HEAD || echo +dirty; })
COMMIT_TIME ?= $(shell git log -1 --format=%cI 2>/dev/null)
BUILD_TIME ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS    := -X main.buildVersion=$(VERSION) -X main.buildRevision=$(REVISION) -X main.buildTime=$(BUILD_TIME) -X main.buildCommitTime=$(COMMIT_TIME)
BUILDVCS   := -buildvcs=$(if $(wildcard .git/HEAD),true,false)

.PHONY: all build image demo ui-screenshots test test-deps unit check lint fmt vet staticcheck tidy work bench bench-deps chaos fuzz soak clean

all: build

build:
	$(GO) build -trimpath $(BUILDVCS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gatehouse

## image: the container image (deploy/Dockerfile), stamped like make build
image:
	docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
		--build-arg BUILD_TIME=$(BUILD_TIME) --build-arg COMMIT_TIME=$(COMMIT_TIME) -t gatehouse:$(VERSION) .

## demo: development AS + demo upstream + gateway on 127.0.0.1 (open http://127.0.0.1:4180)
##   make demo DEMO_LISTEN=127.0.0.1:5180 DEMO_AS=127.0.0.1:9100 DEMO_UPSTREAM=127.0.0.1:8180
##   make demo DEMO_CONFIG=config.example.toml   (the gateway runs with that file)
DEMO_LISTEN   ?= 127.0.0.1:4180
DEMO_AS       ?= 127.0.0.1:9000
DEMO_UPSTREAM ?= 127.0.0.1:8080
DEMO_CONFIG   ?=
DEMO_FLAGS    ?=
demo:
	@echo "demo: building bin/gatehouse-demo (the first build takes a minute or two; later ones seconds)..."
	@start=$$(date +%s); $(GO) build -o bin/gatehouse-demo ./cmd/gatehouse-demo && echo "demo: built in $$(( $$(date +%s) - start ))s; starting (Ctrl-C stops it)"
	@bin/gatehouse-demo $(if $(DEMO_CONFIG),-config $(DEMO_CONFIG),-listen $(DEMO_LISTEN) -as $(DEMO_AS) -upstream $(DEMO_UPSTREAM)) $(DEMO_FLAGS)

## ui-screenshots: the e2e page tests, saving a screenshot of every page into docs/ui (docs/ui.md)
ui-screenshots: test-deps
	cd e2e && GATEHOUSE_UI_SCREENSHOTS=$(CURDIR)/docs/ui $(GO) test -count=1 -run 'TestE2EPage' .

## test: install missing test dependencies, then every test (unit, integration, e2e) with the race detector
test: test-deps
	@set -e; for m in $(TEST_MODULES); do echo "go test $$m"; (cd $$m && $(GO) test -race -count=1 -timeout 20m $(PKGS)); done

## test-deps: redis-server, chromium, nginx, node, gcc + the e2e OpenID Provider's npm packages and bin/hydra (Ory Hydra)
test-deps:
	@GO=$(GO) scripts/test-deps.sh

## unit: the fast tests only (no external processes needed beyond redis-server)
unit:
	@set -e; for m in $(TEST_MODULES); do (cd $$m && $(GO) test -race -count=1 -short $(PKGS)); done

## bench: the gateway against a bare reverse proxy (wrk, Redis, ~4 minutes); writes docs/performance.md.
## Not part of test. BENCHFLAGS passes flags to bench/run, e.g. BENCHFLAGS="-rounds 9".
bench: bench-deps
	cd bench && $(GO) build -o ../bin/gatehouse-bench ./run
	bin/gatehouse-bench $(BENCHFLAGS)

## bench-deps: wrk and redis-server
bench-deps:
	@scripts/bench-deps.sh

## chaos: the fault suite's long form (store, AS and upstream faults, restart under load; a few minutes).
## make test runs its short form. Prints the figures table (docs/reliability.md).
chaos:
	GATEHOUSE_CHAOS=full $(GO) test -count=1 -v -timeout 30m -run 'TestChaos$$' ./internal/chaostest

## fuzz: every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m before a release; FUZZ=regexp picks targets)
FUZZTIME ?= 1m
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## soak: SOAK_DURATION of authenticated load at 50 connections with refreshes: non-2xx, RSS and goroutine
## growth, p99 per minute. Not part of test.
SOAK_DURATION ?= 10m
soak:
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -count=1 -v -timeout 0 -run 'TestSoak$$' ./internal/chaostest

## check: formatting, vet, staticcheck and all tests
check: lint test

lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would rewrite:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet $(PKGS)); done

staticcheck:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)); done

## tidy: go mod tidy in every module
tidy:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done

## work: a go.work over every module, for editors and gopls (not committed; make ignores it)
work:
	rm -f go.work go.work.sum
	GOWORK= $(GO) work init $(MODULES)

clean:
	rm -rf bin
