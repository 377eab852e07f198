# The two commands of the README, and the steps they are made of.
.PHONY: demo test build dev deps format clean bench

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

## make test: install what is missing, build the dev preset (ASan + UBSan), run every test.
test: dev
	ctest --preset dev

## make bench: build the release preset, run every benchmark in bench/ (under 15 minutes on 2
## cores) and print a table in the format of docs/benchmarks.md (bench/run_all.sh).
bench: deps
	cmake --preset release
	cmake --build --preset release --target mladmin sync_bench search_bench stats_bench events_bench
	bench/run_all.sh

format:
	find src tests bench -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
