# ingresslab Makefile. `make test` runs every test; `make e2e` runs the conformance
# suites against the reference controller on the embedded local cluster.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin

KUBE_VERSION := v1.37.2
KUBE_MAJOR := 1
KUBE_MINOR := 37
ETCD_VERSION := v3.7.3
# Version stamps for kube-apiserver/kube-controller-manager: without them /version
# reports v0.0.0-master and several real controllers refuse to start.
KUBE_LDFLAGS := -s -w \
	-X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(KUBE_MAJOR) \
	-X k8s.io/component-base/version.gitMinor=$(KUBE_MINOR) \
	-X k8s.io/component-base/version.gitCommit=gomodule-$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitTreeState=clean \
	-X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z

TOOLS := $(BIN)/kube-apiserver $(BIN)/etcd $(BIN)/kube-controller-manager $(BIN)/kubectl $(BIN)/h2spec
H2SPEC_VERSION := v2.2.1+incompatible

GOLANGCI_LINT_VERSION := v2.15.0
TEST_TIMEOUT ?= 30m
PROVIDER ?= local
CONTROLLER ?= reference
REPORT_DIR ?= out

CMDS := $(patsubst cmd/%,%,$(wildcard cmd/*))

include kind/kind.mk
include bench/bench.mk

.PHONY: all build cross tools test test-short e2e bench bench-micro fuzz readme lint clean help

all: build

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

build: ## build bin/ingresslab, bin/ingresslab-echo and bin/ingresslab-controller
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

cross: ## check the CLI builds where users run it: macOS (all commands) and Windows (the harness CLI)
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/...
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/ingresslab

test: tools ## build the tools, then run every test (unit, integration on the local cluster)
	INGRESSLAB_REQUIRE_TOOLS=1 $(GO) test -timeout $(TEST_TIMEOUT) ./...
	@echo "== the data plane's tests again with net/http's HTTP/2 server (--net-http-h2)"
	INGRESSLAB_REQUIRE_TOOLS=1 INGRESSLAB_TEST_NETHTTP_H2=1 $(GO) test -count=1 ./controller/dataplane

# The reference controller must pass every level; a third-party controller's
# extended results are findings (E2E_FAIL_ON=core).
E2E_FAIL_ON ?= core,extended,implementation-specific

e2e: tools build ## the main job: conformance suites (core, extended, annotations in the ingresslab.dev dialect) against $(CONTROLLER); then the annotation specs in the nginx dialect (reference-nginx); reports in $(REPORT_DIR)/
	$(BIN)/ingresslab conformance --provider $(PROVIDER) --controller $(CONTROLLER) --fail-on $(E2E_FAIL_ON) --report-dir $(REPORT_DIR)
	@if [ "$(CONTROLLER)" = reference ]; then \
	  echo "== annotation specs, nginx.ingress.kubernetes.io dialect (reference-nginx)"; \
	  $(BIN)/ingresslab conformance --provider $(PROVIDER) --controller reference-nginx --label-filter annotations --multi-class=false \
	    --fail-on $(E2E_FAIL_ON) --report-dir $(REPORT_DIR)/reference-nginx; \
	fi

test-short: ## unit tests only (no local cluster, no binary builds)
	$(GO) test -short ./...

bench-micro: ## Go micro-benchmarks (route lookup, translation, data plane); compare runs with benchstat
	@mkdir -p $(REPORT_DIR)
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./controller/... | tee $(REPORT_DIR)/bench-micro.txt

# Every Fuzz* function in a *_test.go file, as ./package:name (OPEN keeps
# make from counting the regular expressions' parentheses).
OPEN := (
FUZZ_TARGETS = $(shell grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*[$(OPEN)]' controller suites bench reports cmd profile scan cluster echoserver 2>/dev/null | sed -E 's|^(.*)/[^/]*_test.go:func (Fuzz[A-Za-z0-9_]*)[$(OPEN)].*|./\1:\2|' | sort)
FUZZTIME ?= 30s

fuzz: ## run every fuzz target for FUZZTIME each (default 30s); the committed corpora are in each package's testdata/fuzz/<FuzzName>/, and a crasher is written there
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
	  $(GO) test "$${t%%:*}" -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME); \
	done

readme: ## regenerate the README's result tables from reports/published (ingresslab report readme)
	$(GO) run ./cmd/ingresslab report readme --published reports/published --readme README.md

lint: ## go vet, gofmt and golangci-lint (pinned)
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...

clean: ## remove bin/ and out/
	rm -rf $(BIN) $(REPORT_DIR)

tools: $(TOOLS) ## build kube-apiserver, kube-controller-manager, kubectl, etcd and h2spec into bin/ (once)

$(BIN)/kube-apiserver: tools/kube/go.mod tools/kube/go.sum
	cd tools/kube && $(GO) build -trimpath -ldflags "$(KUBE_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(BIN)/kube-controller-manager: tools/kube/go.mod tools/kube/go.sum
	cd tools/kube && $(GO) build -trimpath -ldflags "$(KUBE_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-controller-manager

$(BIN)/kubectl: tools/kube/go.mod tools/kube/go.sum
	cd tools/kube && $(GO) build -trimpath -ldflags "$(KUBE_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kubectl

# h2spec: the HTTP/2 conformance cases the data plane's HTTP/2 servers are
# checked with (controller/dataplane TestH2Spec).
$(BIN)/h2spec:
	GOBIN=$(BIN) $(GO) install github.com/summerwind/h2spec/cmd/h2spec@$(H2SPEC_VERSION)

$(BIN)/etcd: tools/etcd/go.mod tools/etcd/go.sum
	cd tools/etcd && $(GO) build -trimpath -ldflags "-s -w" -o $@ go.etcd.io/etcd/server/v3
