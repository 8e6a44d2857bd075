# segflow — see README.md. Everything builds with cgo and the duckdb_arrow
# tag (DuckDB's Arrow interface).
GO       ?= go
TAGS     := duckdb_arrow
TOOLS    := $(CURDIR)/bin/tools
export CGO_ENABLED := 1
export PATH := $(TOOLS):$(PATH)

PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2

# Google's ZetaSQL analyzers (BigQuery, and a Snowflake fork), which the
# tests use to check every statement rendered for those dialects.
ZETASQL := tools/zetasql/node_modules/.package-lock.json

.PHONY: build demo test bench proto tools clean

build:
	$(GO) build -tags $(TAGS) -o bin/segflow ./cmd/segflow

# The quickstart: a sample warehouse, the daily job, the RFM report.
demo: build
	rm -rf examples/quickstart/out
	bin/segflow sample-data --out examples/quickstart/out/retail.duckdb --customers 20000 --seed 42
	bin/segflow run -c examples/quickstart/segflow.yaml
	bin/segflow report rfm -c examples/quickstart/segflow.yaml
	@echo
	@echo "make demo wrote:"
	@find examples/quickstart/out -type f | sort | sed 's/^/  /'

test: tools build $(ZETASQL)
	$(GO) vet -tags $(TAGS) ./...
	$(GO) test -tags $(TAGS) -timeout 15m ./...

# Figures from DESIGN §9 as ratios measured in one run.
bench: build
	$(GO) run -tags $(TAGS) ./tools/bench

# Regenerate the checked-in protocol code (needs protoc: apt-get install protobuf-compiler).
proto: tools
	cd plugins/proto && $(GO) generate ./...
	cd sql/zetasql && $(GO) generate .

$(ZETASQL): tools/zetasql/package.json tools/zetasql/package-lock.json
	npm ci --prefix tools/zetasql --ignore-scripts --no-audit --no-fund

# Code generators at pinned versions, so generated code is reproducible.
tools: $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install $(PROTOC_GEN_GO)
$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) $(GO) install $(PROTOC_GEN_GO_GRPC)

clean:
	rm -rf bin examples/quickstart/out
