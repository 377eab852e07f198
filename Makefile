# The two commands of the README, and the steps they are made of.
SHELL := /bin/bash
.PHONY: demo test build dev deps format clean fuzz fuzz-build test-tsan bench

deps:
	@scripts/install-deps

build: deps
	cmake --preset release
	cmake --build --preset release

dev: deps
	cmake --preset dev
	cmake --build --preset dev

## make demo: install what is missing, build, serve the dashboard on SQLite with demo data.
demo: build
	build/release/mladmin demo

## make test: install what is missing, build the dev preset (ASan + UBSan) and the fuzz preset, run
## every test, the fuzzers included (each for 20 s on its seed corpus; docs/fuzzing.md).
test: dev fuzz-build
	ctest --preset dev
	ctest --preset fuzz

# The libFuzzer targets of fuzz/ (clang, ASan + UBSan), and nothing else of the project.
fuzz-build: deps
	cmake --preset fuzz
	cmake --build --preset fuzz

## make fuzz: run each fuzzer for FUZZ_SECONDS (default 300), one after the other; a crash stops
## it and names the input (docs/fuzzing.md).
FUZZ_SECONDS ?= 300
fuzz: fuzz-build
	@for b in build/fuzz/fuzz/fuzz_*; do \
	  t=$${b##*/fuzz_}; echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  fuzz/run-fuzzer $$b $$t $(FUZZ_SECONDS) build/fuzz/fuzz/work 2>&1 | grep -E '^(#[0-9]+.*DONE|stat::|==|SUMMARY|artifact)|ERROR' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

## make test-tsan: the ThreadSanitizer build (tsan preset) of the unit tests and of the integration
## tests of the sync engine, event hub and server, run with every race fatal; not part of
## `make test`, whose time it does not fit (docs/fuzzing.md).
TSAN_TESTS = ^(EventsTest|EventsHeartbeatTest|EventsStalledReaderTest|JobRetentionTest|RetryFailedItemsTest|ServerConfigTest|ServerTest|CliUserTest|FaultsTest|RightsCacheTest|JobViewTest|BulkSearchLockTest|AuthzStreamTest)\.
test-tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan --target unit_tests integration_tests mladmin
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --preset tsan -L unit -LE web
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --preset tsan -R '$(TSAN_TESTS)'

## make bench: build the release preset, run every benchmark in bench/ 3 times in rounds (under 15
## minutes on 2 cores) and print the tables of docs/benchmarks.md, each figure the median of the
## runs and the single runs (bench/run_all.sh; MLADMIN_BENCH_RUNS=N, MLADMIN_BENCH_ONLY="sync jobs").
bench: deps
	cmake --preset release
	cmake --build --preset release --target mladmin sync_bench search_bench stats_bench events_bench
	bench/run_all.sh

format:
	find src tests bench -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
