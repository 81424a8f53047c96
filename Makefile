# envshare — see README.md and docs/. `make` lists the targets; `make run` and `make test` do all
# their own set-up, and say so before each step that takes long the first time.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO   ?= go
BIN  := $(CURDIR)/bin
DIST := $(CURDIR)/dist

# Tools, installed into ./bin at pinned versions on first need.
RIE_VERSION         := v0.0.0-20261030222936-bef5c4ba774d
STATICCHECK_VERSION := v0.8.2
RIE         := $(BIN)/aws-lambda-rie
STATICCHECK := $(BIN)/staticcheck
LOCAL       := $(BIN)/local
export ENVSHARE_RIE_BIN := $(RIE)

# Release builds: static, stripped, reproducible. AWS provided.al2023 runs `bootstrap`
# (lambda.norpc: no net/rpc server); SCF Go1 runs `main` over the runtime's net/rpc protocol. Neither
# needs HTTP/2 (WeChat and the notification receiver are called over HTTP/1.1):
# nethttpomithttp2 saves 140 KB per zip.
GOBUILD    := CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -buildvcs=false -ldflags "-s -w"
AWS_TAGS   := -tags lambda.norpc,nethttpomithttp2
SCF_TAGS   := -tags nethttpomithttp2
AWS_ARCHES := arm64 amd64
AWS_ZIPS   := $(AWS_ARCHES:%=$(DIST)/envshare-aws-%.zip)
SCF_DIR    := $(DIST)/scf
SCF_ZIP    := $(DIST)/envshare-scf.zip
# Shipped beside the binary when present: ENVSHARE_MANIFEST=manifest.json then finds it.
MANIFEST   := manifest.json

FUZZTIME_SHORT ?= 5s
FUZZTIME       ?= 2m
ADDR           ?= 127.0.0.1:8080
EMULATOR_ADDR  ?= 127.0.0.1:8081
EVENT          ?=

.PHONY: all help deps chromium local cli test fuzz-short fuzz run invoke serve screenshots bench build-aws build-scf \
	build-EnvshareFunction lint deploy-aws deploy-scf scf-role check-manifest check-scf clean clean-tools

all: test

## help: this list (the default goal)
help:
	@echo "envshare: make <target> (a first run downloads and builds what it needs, and says so)"
	@awk '/^## / { sub(/^## /, ""); name = $$0; sub(/: .*/, "", name); sub(/^[^:]*: /, ""); \
		if (length(name) > 22) printf "  %s\n  %-22s %s\n", name, "", $$0; else printf "  %-22s %s\n", name, $$0 }' \
		$(firstword $(MAKEFILE_LIST))

# deps downloads the modules; it only says so when they are not there yet (probed with one
# module that every build needs), since a download with everything in place is instant.
deps:
	@if [ -z "$$($(GO) list -m -f '{{.Dir}}' github.com/aws/aws-lambda-go 2>/dev/null)" ]; then \
		echo "== Downloading the Go modules (go mod download; the first time: a minute or two)"; fi
	@$(GO) mod download

$(RIE):
	@echo "== Installing the AWS Lambda runtime interface emulator into ./bin (first time only: about a minute)"
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(STATICCHECK):
	@echo "== Installing staticcheck $(STATICCHECK_VERSION) into ./bin (first time only: it compiles golang.org/x/tools, about 5 minutes)"
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# chromium: the browser tests' Chromium, installed with apt-get when it is missing.
chromium:
	@scripts/install-chromium.sh

# engines: the ledger tests' MariaDB (apt-get) and dynalite (npm, into ./bin/node), installed
# when missing. The tests start their own servers in temporary directories and stop them.
.PHONY: engines
engines:
	@scripts/install-engines.sh

## test: vet, every test with -race (unit, events, emulator, binaries, browser), short fuzzing
test: deps $(RIE) chromium engines
	@echo "== go vet ./... (the first run compiles every package: a few minutes)"
	@$(GO) vet ./...
	@echo "== go test -race -count=1 ./... (about 2 minutes; the first run compiles everything with -race first)"
	@$(GO) test -race -count=1 -json ./... | $(GO) run ./scripts/testreport
	@scripts/fuzz.sh $(FUZZTIME_SHORT)

## fuzz-short: each fuzz target for FUZZTIME_SHORT (5s); part of `make test`
fuzz-short: deps
	@scripts/fuzz.sh $(FUZZTIME_SHORT)

## fuzz: each fuzz target for FUZZTIME (2m)
fuzz: deps
	@scripts/fuzz.sh $(FUZZTIME)

# local builds the local tools into ./bin. run, serve and invoke exec it, so that it is
# make's own child: killing make ends it (it also ends itself when its parent dies).
local: deps
	@if [ ! -x $(LOCAL) ]; then echo "== Building bin/local (./function/local; the first build: about a minute)"; fi
	@$(GO) build -o $(LOCAL) ./function/local

## cli: the operator CLI (cmd/envshare) into ./bin/envshare; its tests run in make test
cli: deps
	@$(GO) build -o $(BIN)/envshare ./cmd/envshare
	@echo "bin/envshare: try ./bin/envshare help"

## run: the closed loop and every action, step by step, against the embedded WeChat emulator
run: local
	@exec $(LOCAL) run

## invoke EVENT=events/aws/<name>.json: one sample event through its platform's binary, vs its golden
invoke:
	@if [ -z "$(EVENT)" ]; then echo "usage: make invoke EVENT=events/<aws|scf>/<name>.json; events:"; ls events/*/*.json 2>/dev/null | grep -v '\.golden\.\|\.env\.' || true; exit 2; fi
	@$(MAKE) --no-print-directory local
	@exec $(LOCAL) invoke $(EVENT)

## serve: a local deployment for curl and a browser, on ADDR (127.0.0.1:8080) and EMULATOR_ADDR (:8081)
serve: local
	@exec $(LOCAL) serve -addr $(ADDR) -emulator $(EMULATOR_ADDR)

## screenshots: the pages' screenshots in docs/ (confirmation-page.png, status-page.png), from headless Chromium
screenshots: deps
	@$(GO) test -count=1 -run '^TestBrowser$$' ./internal/page -update-screenshot
	@$(GO) test -count=1 -run '^TestTheStatusPageThroughTheFunction$$' ./function/local -update-screenshot

## bench: every benchmark with allocations (zip sizes and memory among the budgets), then the cold start 3 times
bench: deps $(RIE)
	@echo "== go test -run '^$$' -bench . -benchmem ./..., but the cold start (many minutes: every benchmark, the budgets' among them,"
	@echo "   the million-pair fan-out alone 3 to 5;"
	@echo "   BenchmarkZipSize makes the zips with build-aws and build-scf, so its sizes are those shipped)"
	@$(GO) test -run '^$$' -bench . -skip '^BenchmarkColdStartAWS$$' -benchmem -timeout 90m ./...
	@echo "== Cold start under the RIE, three runs (budget: the median ratio to an aws-lambda-go hello world <= 1.10)"
	@$(GO) test -run '^$$' -bench '^BenchmarkColdStartAWS$$' -benchtime 100x -count 3 ./internal/budget | \
		awk '{ print; for (i = 2; i <= NF; i++) if ($$i == "ratio") r[n++] = $$(i - 1) + 0 } \
		END { if (n != 3) { print "cold start: " n " runs measured, not 3"; exit 1 } \
			m = r[0] < r[1] ? (r[1] < r[2] ? r[1] : (r[0] < r[2] ? r[2] : r[0])) : (r[0] < r[2] ? r[0] : (r[1] < r[2] ? r[2] : r[1])); \
			printf "cold start ratio, median of 3 runs: %.3f (budget 1.10: %s)\n", m, m <= 1.10 ? "within" : "OVER" }'

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

# check-manifest: manifest.json (when the root has one) loads as the function loads it; its own
# message otherwise. Every build and deploy runs it before packaging.
check-manifest: deps
	@$(GO) run ./scripts/predeploy manifest $(MANIFEST)

## build-aws: dist/envshare-aws-{arm64,amd64}.zip, each with `bootstrap` for provided.al2023
build-aws: $(AWS_ZIPS)
	$(call print_sizes,$^)

$(DIST)/envshare-aws-%.zip: deps check-manifest
	@echo "== Building dist/aws-$*/bootstrap (linux/$*; a first build: about a minute)"
	rm -rf $(DIST)/aws-$* && mkdir -p $(DIST)/aws-$*
	GOARCH=$* $(GOBUILD) $(AWS_TAGS) -o $(DIST)/aws-$*/bootstrap ./function/aws
	$(call package_zip,$(DIST)/aws-$*,$@)

## build-scf: dist/envshare-scf.zip with `main` for SCF Go1 (and dist/scf/, serverless.yml's src)
build-scf: $(SCF_ZIP)
	$(call print_sizes,$^)

$(SCF_ZIP): deps check-manifest
	@echo "== Building dist/scf/main (linux/amd64; a first build: about a minute)"
	rm -rf $(SCF_DIR) && mkdir -p $(SCF_DIR)
	GOARCH=amd64 $(GOBUILD) $(SCF_TAGS) -o $(SCF_DIR)/main ./function/scf
	$(call package_zip,$(SCF_DIR),$@)

## build-EnvshareFunction: what `sam build` runs (BuildMethod: makefile); SAM zips ARTIFACTS_DIR
build-EnvshareFunction:
	@if [ -z "$(ARTIFACTS_DIR)" ]; then echo "ARTIFACTS_DIR is unset: this target is run by 'sam build'" >&2; exit 2; fi
	$(GO) run ./scripts/predeploy manifest $(MANIFEST)
	GOARCH=arm64 $(GOBUILD) $(AWS_TAGS) -o $(ARTIFACTS_DIR)/bootstrap ./function/aws
	if [ -f $(MANIFEST) ]; then cp $(MANIFEST) $(ARTIFACTS_DIR)/; fi

## lint: go vet, staticcheck, and cfn-lint on template.yaml when it is installed
lint: deps $(STATICCHECK)
	@echo "== go vet ./..."
	@$(GO) vet ./...
	@echo "== staticcheck ./... (the first run analyses every dependency: a few minutes)"
	@$(STATICCHECK) ./...
	@if command -v cfn-lint >/dev/null; then echo "cfn-lint template.yaml"; cfn-lint template.yaml; \
	else echo "cfn-lint not installed: template.yaml not linted (pip install cfn-lint)"; fi

## deploy-aws: sam build, then sam deploy (--guided the first time, until samconfig.toml exists)
deploy-aws: check-manifest
	@if ! command -v sam >/dev/null; then \
		echo "the AWS SAM CLI is not installed: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"; \
		exit 1; fi
	sam build
	sam deploy $(if $(wildcard samconfig.toml),,--guided)

# check-scf: serverless.yml with .env, before anything is built: the CLI's credentials, the
# region and VPC, the function's variables as it loads them, the manifest it would ship.
check-scf: deps
	@$(GO) run ./scripts/predeploy scf serverless.yml

## deploy-scf: check-scf, build-scf, then `serverless deploy` of serverless.yml (Tencent SCF)
deploy-scf: check-scf
	@cli=$$(command -v serverless || command -v sls || command -v scf || true); \
	if [ -z "$$cli" ]; then \
		echo "no Serverless Components CLI: npm install -g serverless@3 (or Tencent's serverless-cloud-framework, command scf)"; \
		exit 1; fi
	@$(MAKE) --no-print-directory build-scf
	@cli=$$(command -v serverless || command -v sls || command -v scf); echo "$$cli deploy"; "$$cli" deploy

## scf-role: create (or update) the SCF function's CAM role and its least-privilege policy with tccli
scf-role: deps
	@$(GO) run ./scripts/predeploy scf-role serverless.yml

## clean: remove build outputs (the installed tools stay: clean-tools)
clean:
	rm -rf $(DIST) .aws-sam $(LOCAL) $(BIN)/envshare

## clean-tools: remove the tools installed into ./bin (RIE, staticcheck) and the local builds
clean-tools: clean
	rm -rf $(BIN)
