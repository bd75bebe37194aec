# Gatehouse: the two commands a new user needs are `make demo` and `make test`.
GO       ?= go
BIN      := bin/gatehouse
PKGS     := ./...
GOFLAGS  ?=
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build demo test test-deps unit check lint fmt vet staticcheck bench bench-deps chaos fuzz soak clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/gatehouse

## demo: development AS + demo upstream + gateway on 127.0.0.1 (open http://127.0.0.1:4180)
demo:
	$(GO) run ./cmd/gatehouse demo

## test: install missing test dependencies, then every test (unit, integration, e2e) with the race detector
test: test-deps
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

## test-deps: redis-server, chromium, nginx, node + the e2e OpenID Provider's npm packages
test-deps:
	@scripts/test-deps.sh

## unit: the fast tests only (no external processes needed beyond redis-server)
unit:
	$(GO) test -race -count=1 -short $(PKGS)

## bench: the gateway against a bare reverse proxy (wrk, Redis, ~4 minutes); writes docs/performance.md.
## Not part of test. BENCHFLAGS passes flags to bench/run, e.g. BENCHFLAGS="-rounds 9".
bench: bench-deps
	$(GO) run ./bench/run $(BENCHFLAGS)

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
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

clean:
	rm -rf bin
