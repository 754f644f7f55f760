# Benchmarks (issue 5). Included from the main Makefile.
#   make bench             full run against $(CONTROLLER) on the local cluster -> out/bench/
#   make bench-quick       the CI smoke run (<= 90 s) -> out/bench-quick/
#   make bench-html-check  screenshot out/bench/bench.html with headless Chromium; fails if blank
BENCH_DIR ?= out/bench
BENCH_QUICK_DIR ?= out/bench-quick
BENCH_FLAGS ?=
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || echo chromium)

.PHONY: bench bench-quick bench-html-check

bench: tools build ## load, propagation, churn and scale benchmarks; reports in $(BENCH_DIR)/ (bench.json, bench.md, bench.html)
	$(BIN)/ingresslab bench --provider local --controller $(CONTROLLER) --report-dir $(BENCH_DIR) $(BENCH_FLAGS)

bench-quick: tools build ## the CI smoke run of every scenario (<= 90 s; the report must be valid, no speed assertion)
	$(BIN)/ingresslab bench --provider local --controller $(CONTROLLER) --report-dir $(BENCH_QUICK_DIR) --quick $(BENCH_FLAGS)

bench-html-check: ## render $(BENCH_DIR)/bench.html in headless Chromium and fail if the screenshot is blank
	@test -f $(BENCH_DIR)/bench.html || { echo "no $(BENCH_DIR)/bench.html: run make bench (or BENCH_DIR=$(BENCH_QUICK_DIR))"; exit 1; }
	@command -v $(CHROMIUM) >/dev/null || { echo "installing chromium"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@profile=$$(mktemp -d); trap 'rm -rf "$$profile"' EXIT; \
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --disable-extensions --user-data-dir="$$profile" \
		--hide-scrollbars --window-size=1280,2400 \
		--screenshot=$(CURDIR)/$(BENCH_DIR)/bench.png file://$(CURDIR)/$(BENCH_DIR)/bench.html
	$(GO) run ./bench/cmd/pngcheck $(BENCH_DIR)/bench.png
