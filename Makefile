# Spry build. `make` builds build/spry and build/libspry.a; `make test` runs
# every suite; `make asan` runs them under AddressSanitizer + UBSan.
#
# Variables: CC (gcc or clang), BUILD (output directory), SANITIZE=1
# (ASan + UBSan) or SANITIZE=undefined (UBSan alone),
# BOUNDS=explicit (explicit bounds checks instead of guard pages), OPT.

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2
SANITIZE ?=
BOUNDS   ?= guard

SRC_DIR  := $(abspath .)
CPPFLAGS := -Iinclude -Isrc -D_GNU_SOURCE
TEST_CPPFLAGS := -Itests
CFLAGS   := -std=c17 $(OPT) -g -Wall -Wextra -Werror -Wshadow -Wvla -fvisibility=hidden \
            -fno-strict-aliasing -ffp-contract=off -pthread -MMD -MP
LDFLAGS  := -pthread
# The HTTP server's libraries (docs/http.md): h2o's evloop flavour, nghttp2 and OpenSSL,
# shared objects only (Debian ships no static h2o). Everything dynamic links
# them; the static spry binary does not need them (it runs `spry up` through
# spry-up, src/cli/main.c) and links BIN_LIBS.
HTTP_LIBS := $(shell pkg-config --libs libh2o-evloop libnghttp2 libssl libcrypto 2>/dev/null || \
                     echo -lh2o-evloop -lnghttp2 -lssl -lcrypto)
LDLIBS   := $(HTTP_LIBS) -lm
BIN_LIBS := -lm -lcrypto

ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(SANITIZE),undefined)
CFLAGS   += -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=undefined
endif
ifeq ($(FUZZ),1)
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer
endif
# The spry binary is linked statically: measured with hyperfine on a C hello
# world, `spry run` takes 2.2-2.6 ms static, 3.5-4.0 ms dynamic (libc only)
# and 8.2 ms with the HTTP library's shared objects loaded (docs/wasi.md,
# "Start-up"). Sanitizer and fuzz builds cannot be static. libcurl is loaded
# with dlopen, only for URL sources (src/app/source.c).
BIN_LDFLAGS := -static
ifneq ($(SANITIZE)$(FUZZ),)
BIN_LDFLAGS :=
endif
ifeq ($(BOUNDS),explicit)
CPPFLAGS += -DSPRY_EXPLICIT_BOUNDS=1
endif

LIB_SRCS  := $(sort $(shell find src -name '*.c' ! -path 'src/cli/*'))
# spry (static) and spry-up (dynamic, with the HTTP library) share the CLI
# sources but for their mains and `up` (src/cli/up_main.c says why).
UP_SRCS   := src/cli/up.c src/cli/up_main.c
CLI_SRCS  := $(filter-out $(UP_SRCS),$(sort $(wildcard src/cli/*.c)))
UNIT_SRCS := $(sort $(wildcard tests/harness/*.c) $(shell find tests/unit -name '*.c'))
SPEC_SRCS := $(sort $(wildcard tests/spec/*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
# The toml-test runner reuses the spec runner's JSON reader and skip list.
TOML_SRCS := $(sort $(wildcard tests/toml/*.c)) tests/spec/json.c tests/spec/skip.c

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
UP_OBJS   := $(UP_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)
SPEC_OBJS := $(SPEC_SRCS:%.c=$(BUILD)/obj/%.o)
TOML_OBJS := $(TOML_SRCS:%.c=$(BUILD)/obj/%.o)

DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps test asan ubsan explicit-bounds clean format check-format fuzz-bins fuzz-smoke
EXAMPLES := $(patsubst examples/%.wat,$(BUILD)/examples/%.wasm,$(wildcard examples/*.wat))

# examples/hello: a Spin app of C WAGI components, built for wasm32-wasi
# into BUILD/examples/hello with its manifest and static files.
HELLO_DIR := $(BUILD)/examples/hello
HELLO_APP := $(HELLO_DIR)/spin.toml $(HELLO_DIR)/hello.wasm $(HELLO_DIR)/files.wasm \
             $(patsubst examples/hello/%,$(HELLO_DIR)/%,$(wildcard examples/hello/static/*))
WASI_CC  := clang --target=wasm32-wasi
WASI_CFLAGS := -O2 -Wall -Wextra -Werror

all: $(BUILD)/spry $(BUILD)/spry-up $(BUILD)/libspry.a $(EXAMPLES) $(HELLO_APP)

$(HELLO_DIR)/%.wasm: examples/hello/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -c $< -o $(@:.wasm=.o)
	$(WASI_CC) -s $(@:.wasm=.o) -o $@

$(HELLO_DIR)/%: examples/hello/%
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/examples/%.wasm: examples/%.wat | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	wat2wasm --debug-names $< -o $@

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@scripts/deps.sh
	@touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libspry.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/spry: $(CLI_OBJS) $(BUILD)/libspry.a
	$(CC) $(LDFLAGS) $(BIN_LDFLAGS) $(CLI_OBJS) $(BUILD)/libspry.a $(BIN_LIBS) -o $@

$(BUILD)/spry-up: $(UP_OBJS) $(BUILD)/libspry.a
	$(CC) $(LDFLAGS) $(UP_OBJS) $(BUILD)/libspry.a $(LDLIBS) -o $@

$(BUILD)/tests/unit-tests: $(UNIT_OBJS) $(BUILD)/libspry.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(UNIT_OBJS) $(BUILD)/libspry.a $(LDLIBS) -o $@

$(BUILD)/tests/spec-runner: $(SPEC_OBJS) $(BUILD)/libspry.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(SPEC_OBJS) $(BUILD)/libspry.a $(LDLIBS) -o $@

$(BUILD)/tests/toml-runner: $(TOML_OBJS) $(BUILD)/libspry.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(TOML_OBJS) $(BUILD)/libspry.a $(LDLIBS) -o $@

# Small programs the unit tests run (e.g. under strace): tests/tools/NAME.c
# becomes BUILD/tests/tools/NAME.
TOOLS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)
.SECONDARY: $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/bench/instantiate.o \
             $(BUILD)/obj/bench/component.o
$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/libspry.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(BUILD)/libspry.a $(LDLIBS) -o $@

# WASI guests the spry up tests serve (tests/apps/NAME.c -> BUILD/tests/apps/NAME.wasm).
TEST_APPS := $(patsubst tests/apps/%.c,$(BUILD)/tests/apps/%.wasm,$(wildcard tests/apps/*.c))
$(BUILD)/tests/apps/%.wasm: tests/apps/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(WASI_CC) $(WASI_CFLAGS) -c $< -o $(@:.wasm=.o)
	$(WASI_CC) -s $(@:.wasm=.o) -o $@

TEST_BINS := $(BUILD)/spry $(BUILD)/spry-up $(TEST_APPS) $(HELLO_APP) $(BUILD)/tests/unit-tests $(EXAMPLES) $(TOOLS) \
             $(BUILD)/bench/instantiate $(BUILD)/tests/toml-runner
ifneq ($(SPEC_SRCS),)
TEST_BINS += $(BUILD)/tests/spec-runner
endif

# Every suite, then one closing "N passed, N failed[, N skipped]" line.
test: $(TEST_BINS)
	@SPRY_SRC_DIR=$(SRC_DIR) SPRY_BUILD_DIR=$(abspath $(BUILD)) scripts/run-tests.sh $(BUILD)

# The spec suite with every module compiled by the native tier (docs/native.md).
# Not part of `make test` yet: it compiles each of the suite's modules with cc
# (about 15 minutes on a loaded 2-CPU machine; a second run hits the cache), so
# each script gets 20 minutes instead of the runner's default 2 (const.wast has
# hundreds of modules).
.PHONY: spec-native
spec-native: $(BUILD)/tests/spec-runner
	SPRY_NATIVE=1 SPRY_CACHE_DIR=$(abspath $(BUILD))/native-cache \
	    SPRY_SRC_DIR=$(SRC_DIR) SPRY_BUILD_DIR=$(abspath $(BUILD)) \
	    $(BUILD)/tests/spec-runner --build $(BUILD) --timeout 1200

# The fuzz harnesses already run under ASan+UBSan, so the asan run skips them.
asan:
	SPRY_SKIP_FUZZ=1 $(MAKE) BUILD=build-asan SANITIZE=1 test

# clang's UBSan checks more than gcc's (arithmetic on a null pointer, even
# of a zero offset: the data of a growable buffer that is still empty), so
# the suites also run under it; without ASan, whose run is gcc's above.
ubsan:
	SPRY_SKIP_FUZZ=1 $(MAKE) BUILD=build-ubsan CC=clang SANITIZE=undefined test

# libFuzzer harnesses (clang only): make BUILD=build-fuzz CC=clang FUZZ=1 fuzz-bins
FUZZ_SRCS := $(sort $(wildcard fuzz/*.c))
fuzz-bins:
	$(MAKE) FUZZ=1 $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/%: fuzz/%.c $(BUILD)/libspry.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer,address,undefined $< $(BUILD)/libspry.a \
	    $(LDLIBS) -pthread -o $@

fuzz-smoke:
	scripts/fuzz-smoke.sh

# The explicit-bounds engine; fuzzing is the guard-page build's job.
explicit-bounds:
	SPRY_SKIP_FUZZ=1 $(MAKE) BUILD=build-explicit BOUNDS=explicit test

# CPU kernels on native, Spry and node (bench/run.sh; docs/benchmarks.md).
.PHONY: bench
bench: $(BUILD)/libspry.a | $(DEPS_STAMP)
	@CC="$(CC)" LDFLAGS="$(LDFLAGS)" bench/run.sh $(BUILD)

# Pooled instantiation against the naive path (bench/instantiate.c).
# BENCH_ITERS sets the iterations per case (default 3000).
.PHONY: bench-instantiate
bench-instantiate: $(BUILD)/bench/instantiate
	$(BUILD)/bench/instantiate $(BENCH_ITERS)

$(BUILD)/bench/instantiate: $(BUILD)/obj/bench/instantiate.o $(BUILD)/libspry.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(BUILD)/libspry.a $(LDLIBS) -o $@

# Pooled instantiate + run + release of a WASI hello world as a component
# against the same program as a core module (bench/component.c; needs jco).
# BENCH_ITERS sets the iterations (default 2000).
.PHONY: bench-component
bench-component: $(BUILD)/bench/component | $(DEPS_STAMP)
	@bench/component.sh $(BUILD) $(BENCH_ITERS)

$(BUILD)/bench/component: $(BUILD)/obj/bench/component.o $(BUILD)/libspry.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(BUILD)/libspry.a $(LDLIBS) -o $@

# The cost of a wasm-to-wasm call in the interpreter (bench/calls.wat):
# ns and instructions per call over the same loop without it.
.PHONY: bench-calls
bench-calls: $(BUILD)/spry | $(DEPS_STAMP)
	@bench/calls.sh $(BUILD) $(BENCH_ITERS)

# Start-up time of a WASI hello world: spry run vs node:wasi (hyperfine).
.PHONY: bench-wasi
bench-wasi: $(BUILD)/spry | $(DEPS_STAMP)
	@bench/wasi-startup.sh $(BUILD)

# Requests/s and latency of spry up: a WAGI route (examples/hello), the C
# wasi:http handler and the Spin JS app (built by the script when node and
# npm are there) against a static_response route, with wrk (bench/http.sh).
.PHONY: bench-http
bench-http: $(BUILD)/spry $(BUILD)/spry-up $(HELLO_APP) | $(DEPS_STAMP)
	@bench/http.sh $(BUILD)

# Service chaining against a direct request (bench/chain.sh); SPRY_UP_BIN
# runs another build's spry for a before/after comparison.
.PHONY: bench-chain
bench-chain: $(BUILD)/spry $(BUILD)/spry-up | $(DEPS_STAMP)
	@bench/chain.sh $(BUILD)

# The C wasi:http component served by this build and by BASE (a directory
# with spry and spry-up of the commit to compare against), in alternating
# pairs: medians and new/base ratios (bench/http-ab.sh).
.PHONY: bench-http-ab
bench-http-ab: $(BUILD)/spry $(BUILD)/spry-up | $(DEPS_STAMP)
	@bench/http-ab.sh "$(BASE)" $(BUILD)

# The WASI guest suite alone (also part of make test); GUEST_RUNTIME=node
# runs it on node:wasi instead.
.PHONY: test-guests
test-guests: $(BUILD)/spry
	@scripts/run-guests.sh $(BUILD)

# The same guests as WASI 0.2 command components (jco new --wasi-command),
# under spry run (also part of make test). COMPONENT_RUNTIME=jco runs them on
# jco's node shim instead.
.PHONY: test-components
test-components: $(BUILD)/spry
	@scripts/run-components.sh $(BUILD) $(BUILD)/spry

# The canonical-ABI test component (tests/components/abi), built in its three
# string encodings and checked on jco's JavaScript bindings.
.PHONY: check-abi-guest
check-abi-guest:
	@scripts/check-abi-guest.sh $(BUILD)

format:
	clang-format -i $$(git ls-files -co --exclude-standard '*.c' '*.h')

check-format:
	@scripts/check-format.sh

clean:
	rm -rf build build-asan build-ubsan build-explicit

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(SPEC_OBJS:.o=.d) \
    $(TOML_OBJS:.o=.d) $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%.d) \
    $(TOOL_SRCS:%.c=$(BUILD)/obj/%.d) $(BUILD)/obj/bench/instantiate.d $(BUILD)/obj/bench/component.d
