# A thin wrapper over CMake. `make demo` and `make test` are the README's quick start.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
# make install: cmake --install into $(DESTDIR)$(PREFIX).
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all deps build demo test test-release test-asan bench bench-milter bench-milter-direct bench-replay install clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDKIMKIT_WERROR=ON \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# The programs (bin/dkimkit, sbin/dkimkit-milter), the shared libraries, headers, CMake package
# and pkg-config files (cmake/install.cmake).
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)

demo: build
	@scripts/demo.sh $(BUILD)/tools/cli/dkimkit

# Every test twice: an optimised build, then AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included); any sanitizer report fails the run.
test: test-release test-asan

test-release: build
	@ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
	  -DDKIMKIT_SANITIZE=ON -DDKIMKIT_BUILD_BENCH=OFF -DDKIMKIT_WERROR=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

bench: build
	@scripts/bench.sh $(BUILD)

# Postfix alone, then Postfix + dkimkit-milter and Postfix + OpenDKIM signing, then both verifying
# a pre-signed message: 2000 x 10 KiB, concurrency 20; msg/s, ratio and milter CPU per message.
bench-milter: build
	@bench/milter/postfix_load.sh $(BUILD) 2000 20

# The milters alone (bench/milter/milter_load speaks the milter protocol): dkimkit-milter and
# OpenDKIM, signing and verifying, 2000 x 10 KiB over 20 connections; msg/s and CPU per message.
bench-milter-direct: build
	@bench/milter/direct_load.sh $(BUILD) 2000 20

# [replay] (issue 17): what replay counting adds to dkimkit-milter's CPU and latency per message
# (2000 x 10 KiB, 20 connections, redis-server on loopback, on vs off in the same run), then the
# Redis memory per tracked signature over 100 000 signatures.
bench-replay: build
	@bench/milter/replay_load.sh $(BUILD) 2000 20
	@bench/replay_memory.sh $(BUILD) 100000

# Soak: SOAK_MESSAGES pre-signed messages through Postfix and dkimkit-milter while DNS drops 10 %
# of the queries and stops twice; every message accounted for, milter RSS and fds compared
# (tests/soak/milter_soak.sh; not part of `make test`). Quick check: make soak SOAK_MESSAGES=500
SOAK_MESSAGES ?= 10000
SOAK_WORK     ?= build-soak/soak-work
.PHONY: soak
soak: build
	@SOAK_MESSAGES=$(SOAK_MESSAGES) tests/soak/milter_soak.sh $(BUILD)/tools/cli/dkimkit \
	  $(BUILD)/milter/dkimkit-milter $(SOAK_WORK)

# libFuzzer (clang) on every fuzz target for FUZZ_SECONDS each, then a summary table
# (scripts/fuzz.sh); builds in build-fuzz/, findings in build-fuzz/findings/.
FUZZ_SECONDS ?= 60
FUZZ_PARALLEL ?= 1
.PHONY: fuzz
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_PARALLEL=$(FUZZ_PARALLEL) JOBS=$(JOBS) scripts/fuzz.sh

# Debian packages (debian/) built with dpkg-buildpackage from a copy of the tree in
# $(BUILD)/debian-build; the .deb files land in $(BUILD)/packages/. package-test (not part of
# make test) checks their contents, runs lintian and runs the unpacked programs.
.PHONY: package package-test
package:
	@scripts/install-deps.sh --package
	@JOBS=$(JOBS) scripts/package.sh $(BUILD)

package-test: package
	@scripts/package_test.sh $(BUILD)/packages

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
