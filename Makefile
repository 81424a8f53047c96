# envshare — see README.md. `make run` and `make test` do all their own set-up.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO   ?= go
BIN  := $(CURDIR)/bin
DIST := $(CURDIR)/dist

# Tools, installed into ./bin at pinned versions on first need.
RIE_VERSION         := v0.0.0-20261030222936-bef5c4ba774d
STATICCHECK_VERSION := v0.8.2
RIE         := $(BIN)/aws-lambda-rie
STATICCHECK := $(BIN)/staticcheck
export ENVSHARE_RIE_BIN := $(RIE)

# Release builds: static, stripped, reproducible. AWS provided.al2023 runs `bootstrap`
# (lambda.norpc: no net/rpc server); SCF Go1 runs `main` over scf-go-lib's net/rpc.
GOBUILD    := CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -buildvcs=false -ldflags "-s -w"
AWS_TAGS   := -tags lambda.norpc
AWS_ARCHES := arm64 amd64
AWS_ZIPS   := $(AWS_ARCHES:%=$(DIST)/envshare-aws-%.zip)
SCF_DIR    := $(DIST)/scf
SCF_ZIP    := $(DIST)/envshare-scf.zip
# Shipped beside the binary when present: ENVSHARE_MANIFEST=manifest.json then finds it.
MANIFEST   := manifest.json

FUZZTIME_SHORT ?= 5s
FUZZTIME       ?= 2m
ADDR           ?= 127.0.0.1:8080
EVENT          ?=

.PHONY: all help deps test fuzz-short fuzz run invoke serve bench build-aws build-scf \
	build-EnvshareFunction lint deploy-aws deploy-scf clean

all: test

## help: this list
help:
	@sed -n 's/^## //p' $(firstword $(MAKEFILE_LIST))

deps:
	$(GO) mod download

$(RIE):
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## test: vet, every test with -race (unit, events, emulator, binaries under the RIE), short fuzzing
test: deps $(RIE)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz-short

# fuzz_each runs every Fuzz* target of every package for $(1), one at a time: `go test -fuzz`
# takes one target of one package. `go test -list` prints a package's targets, then its "ok" line;
# anything else (a build failure) is passed on.
# Go 1.26 can end a time-limited run with a bare "context deadline exceeded" (go.dev/issue/75804);
# without a failing input written, that is the fuzz time running out, not a finding.
define fuzz_each
$(GO) test -list '^Fuzz' ./... \
| awk '/^Fuzz/ { t[n++] = $$1; next } /^ok / { for (i = 0; i < n; i++) print $$2, t[i]; n = 0; next } \
	/no test files/ { next } { print > "/dev/stderr" }' \
| while read -r pkg target; do \
	echo "fuzz $$pkg $$target for $(1)"; \
	log=$$(mktemp); rc=0; \
	$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(1) "$$pkg" </dev/null >$$log 2>&1 || rc=$$?; \
	if [ $$rc -ne 0 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
		echo "fuzz $$target: stopped at the time limit (go.dev/issue/75804), no failing input: passed"; \
	else \
		grep -v '^fuzz: elapsed' $$log || true; \
		if [ $$rc -ne 0 ]; then rm -f $$log; exit 1; fi; \
	fi; \
	rm -f $$log; \
done
endef

## fuzz-short: each fuzz target for FUZZTIME_SHORT (5s); part of `make test`
fuzz-short: deps
	$(call fuzz_each,$(FUZZTIME_SHORT))

## fuzz: each fuzz target for FUZZTIME (2m)
fuzz: deps
	$(call fuzz_each,$(FUZZTIME))

## run: a demo of every action against the embedded WeChat emulator
run: deps
	$(GO) run ./function/local run

## invoke EVENT=events/aws/<name>.json: run one sample event through its adapter
invoke: deps
	@if [ -z "$(EVENT)" ]; then echo "usage: make invoke EVENT=events/<aws|scf>/<name>.json; events:"; ls events/*/*.json 2>/dev/null | grep -v '\.golden\.' || true; exit 2; fi
	$(GO) run ./function/local invoke $(EVENT)

## serve: the HTTP routes on ADDR (127.0.0.1:8080), against the embedded emulator, for curl
serve: deps
	$(GO) run ./function/local serve -addr $(ADDR)

## bench: benchmarks with allocations, then the deployment zips and their sizes
bench: deps $(RIE)
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(MAKE) --no-print-directory build-aws build-scf

# package_zip DIR ZIP: ship manifest.json beside the binary when the root has one, then zip DIR's
# files with fixed timestamps, so that the same sources give the same zip.
define package_zip
@if [ -f $(MANIFEST) ]; then cp $(MANIFEST) $(1)/; echo "cp $(MANIFEST) $(1)/"; \
else echo "note: no $(MANIFEST) at the repository root, none shipped (cp manifest.example.json $(MANIFEST))"; fi
@echo "zip $(2) <- $(1)/*"
@touch -t 198001010000 $(1)/* && rm -f $(2)
@cd $(1) && if command -v zip >/dev/null; then zip -q -X -9 $(2) *; \
elif command -v python3 >/dev/null; then python3 -m zipfile -c $(2) *; \
else echo "need zip (apt-get install zip) or python3 to package" >&2; exit 1; fi
endef

# print_sizes ZIP...: each zip's size, what it holds and how big that is unzipped.
define print_sizes
@for z in $(1); do \
	size=$$(stat -c %s $$z); raw=$$(unzip -l $$z | tail -1 | awk '{print $$1}'); \
	printf '%-28s %8s (%d bytes): %s, %s unzipped\n' "$${z#$(CURDIR)/}" \
		"$$(numfmt --to=iec-i --suffix=B $$size)" "$$size" "$$(unzip -Z1 $$z | paste -sd,)" \
		"$$(numfmt --to=iec-i --suffix=B $$raw)"; \
done
endef

## build-aws: dist/envshare-aws-{arm64,amd64}.zip, each with `bootstrap` for provided.al2023
build-aws: $(AWS_ZIPS)
	$(call print_sizes,$^)

$(DIST)/envshare-aws-%.zip: deps
	rm -rf $(DIST)/aws-$* && mkdir -p $(DIST)/aws-$*
	GOARCH=$* $(GOBUILD) $(AWS_TAGS) -o $(DIST)/aws-$*/bootstrap ./function/aws
	$(call package_zip,$(DIST)/aws-$*,$@)

## build-scf: dist/envshare-scf.zip with `main` for SCF Go1 (and dist/scf/, serverless.yml's src)
build-scf: $(SCF_ZIP)
	$(call print_sizes,$^)

$(SCF_ZIP): deps
	rm -rf $(SCF_DIR) && mkdir -p $(SCF_DIR)
	GOARCH=amd64 $(GOBUILD) -o $(SCF_DIR)/main ./function/scf
	$(call package_zip,$(SCF_DIR),$@)

## build-EnvshareFunction: what `sam build` runs (BuildMethod: makefile); SAM zips ARTIFACTS_DIR
build-EnvshareFunction:
	@if [ -z "$(ARTIFACTS_DIR)" ]; then echo "ARTIFACTS_DIR is unset: this target is run by 'sam build'" >&2; exit 2; fi
	GOARCH=arm64 $(GOBUILD) $(AWS_TAGS) -o $(ARTIFACTS_DIR)/bootstrap ./function/aws
	if [ -f $(MANIFEST) ]; then cp $(MANIFEST) $(ARTIFACTS_DIR)/; fi

## lint: go vet, staticcheck, and cfn-lint on template.yaml when it is installed
lint: deps $(STATICCHECK)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@if command -v cfn-lint >/dev/null; then echo "cfn-lint template.yaml"; cfn-lint template.yaml; \
	else echo "cfn-lint not installed: template.yaml not linted (pip install cfn-lint)"; fi

## deploy-aws: sam build, then sam deploy (--guided the first time, until samconfig.toml exists)
deploy-aws:
	@if ! command -v sam >/dev/null; then \
		echo "the AWS SAM CLI is not installed: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"; \
		exit 1; fi
	sam build
	sam deploy $(if $(wildcard samconfig.toml),,--guided)

## deploy-scf: build-scf, then `serverless deploy` of serverless.yml (Tencent SCF)
deploy-scf: build-scf
	@if grep -Eq '^\s+ENVSHARE_MANIFEST:\s*manifest\.json\s*$$' serverless.yml && [ ! -f $(SCF_DIR)/$(MANIFEST) ]; then \
		echo "serverless.yml sets ENVSHARE_MANIFEST=manifest.json, but there is no $(MANIFEST) at the repository root:"; \
		echo "cp manifest.example.json $(MANIFEST) and edit it, or remove that line (an unreadable manifest fails every invocation)"; \
		exit 1; fi
	@cli=$$(command -v serverless || command -v sls || command -v scf || true); \
	if [ -z "$$cli" ]; then \
		echo "no Serverless Components CLI: npm install -g serverless@3 (or Tencent's serverless-cloud-framework, command scf)"; \
		exit 1; fi; \
	echo "$$cli deploy"; "$$cli" deploy

## clean: remove build outputs and installed tools
clean:
	rm -rf $(DIST) $(BIN) .aws-sam
