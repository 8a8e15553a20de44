# orgpatch: every local command a developer or CI runs.
SHELL := /bin/bash
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export GOFLAGS := -mod=mod
GO ?= go
BIN := bin

.PHONY: all build demo test synth bench lambda clean

all: build

build:
	$(GO) build -o $(BIN)/orgpatch ./cmd/orgpatch

demo: build
	./$(BIN)/orgpatch demo

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...

bench: build
	./$(BIN)/orgpatch bench

clean:
	rm -rf $(BIN) cdk.out
