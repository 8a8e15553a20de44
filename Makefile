# orgpatch: every local command a developer or CI runs.
SHELL := /bin/bash
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# jsii names the end-of-life Node majors to stay quiet about; this machine kind has Node 20.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
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

# The home region of the synthesized stacks: AWS_REGION when set, else eu-west-1
# (a region other than us-east-1, so the forwarder stack is synthesized too).
HOME_REGION ?= $(or $(AWS_REGION),$(AWS_DEFAULT_REGION),eu-west-1)

# Offline: no context lookups, no IMDS probe for an account, no notices, no telemetry.
synth:
	AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_CLI_TELEMETRY=true \
	  cdk synth --quiet --no-lookups --no-notices --output cdk.out -c homeRegion=$(HOME_REGION)

# orgpatch apply runs in its own process, so its CPU time and memory are
# measured apart from the simulator's; `orgpatch bench -h` for the knobs.
bench: build
	./$(BIN)/orgpatch bench -process

clean:
	rm -rf $(BIN) cdk.out
