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

TOOLS := $(BIN)/kube-apiserver $(BIN)/etcd $(BIN)/kube-controller-manager

.PHONY: all build tools test test-short e2e bench bench-micro lint clean

all: build

tools: $(TOOLS)

$(BIN)/kube-apiserver: tools/kube/go.mod tools/kube/go.sum
	cd tools/kube && $(GO) build -trimpath -ldflags "$(KUBE_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(BIN)/kube-controller-manager: tools/kube/go.mod tools/kube/go.sum
	cd tools/kube && $(GO) build -trimpath -ldflags "$(KUBE_LDFLAGS)" -o $@ k8s.io/kubernetes/cmd/kube-controller-manager

$(BIN)/etcd: tools/etcd/go.mod tools/etcd/go.sum
	cd tools/etcd && $(GO) build -trimpath -ldflags "-s -w" -o $@ go.etcd.io/etcd/server/v3
