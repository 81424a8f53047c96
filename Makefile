# envshare — see README.md. `make run` and `make test` do all their own set-up.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE   := $(BIN)/aws-lambda-rie
export ENVSHARE_RIE_BIN := $(RIE)

.PHONY: all deps test run bench

all: test

deps:
	$(GO) mod download

$(RIE):
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

test: deps $(RIE)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

run: deps
	$(GO) run ./function/local run

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...
