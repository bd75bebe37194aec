# Gatehouse: the two commands a new user needs are `make demo` and `make test`.
GO       ?= go
BIN      := bin/gatehouse
PKGS     := ./...
GOFLAGS  ?=
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build demo test test-deps unit check lint fmt vet staticcheck bench bench-deps clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/gatehouse

## demo: development AS + demo upstream + gateway on 127.0.0.1 (open http://127.0.0.1:4180)
demo:
	$(GO) run ./cmd/gatehouse demo

## test: install missing test dependencies, then every test (unit, integration, e2e) with the race detector
test: test-deps
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

## test-deps: redis-server, chromium, nginx, node, gcc + the e2e OpenID Provider's npm packages and bin/hydra (Ory Hydra)
test-deps:
	@GO=$(GO) scripts/test-deps.sh

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
