# SPDX-License-Identifier: GPL-2.0
# agentleak - build, test, demo and bench.
#
#   make          build build/agentleak (only the tool; make test builds the test programs)
#   make demo     install missing build deps, build, run the leaking demo service under agentleak
#   make test     install missing deps, build, run every test; last line "N passed, N failed"
#   make bench    malloc+free pair cost (plain, agentleak, empty bpftrace probes), leak
#                 detection latency, FastAPI throughput, cost at scale, classification
#                 cost of 10,000 stacks, start time per mode and each program's verifier cost
#   make soak     agentleak for an hour on the test server at a steady 50 requests/s: its RSS,
#                 fds, CPU and map use stay flat, live bytes match the leak (bench/soak.py;
#                 SOAK_SECONDS, SOAK_EVERY, SOAK_MODE; not part of make test)
#   make install  agentleak to $(PREFIX)/sbin, the man page to $(PREFIX)/share/man/man8

CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
PREFIX	?= /usr/local
OUT	:= build
# The BPF target architecture, from the machine's. Only x86-64 so far: the growth tier's
# page_fault_user tracepoint and the probe placement (capstone) are x86's.
UNAME_M	:= $(shell uname -m)
ARCH_x86_64 := x86
ARCH	:= $(ARCH_$(UNAME_M))
ifeq ($(ARCH),)
$(error agentleak supports x86_64 only so far, and this machine is $(UNAME_M))
endif

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer
DEPFLAGS := -MMD -MP
CPPFLAGS += -Iinclude -Icli -I$(OUT)
LDLIBS	:= -lbpf -ldw -lelf -lz -lcapstone -lm
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux -Wall \
	      -I/usr/include/$(shell uname -m)-linux-gnu

# The userspace program, one folder per stage of the data flow (README, Layout), and on top
# main.c with what drives the stages: the command line (args.c) and the run (session.c).
CLI_DIRS := base target collect analyse symbols export
CLI_SRCS := $(wildcard cli/*.c) $(foreach d,$(CLI_DIRS),$(wildcard cli/$(d)/*.c))
CLI_HDRS := $(wildcard cli/*.h) $(foreach d,$(CLI_DIRS),$(wildcard cli/$(d)/*.h))
CLI_OBJS := $(patsubst cli/%.c,$(OUT)/cli/%.o,$(CLI_SRCS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS	 := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/%,$(UNIT_SRCS))

.SECONDARY: $(BPF_OBJS) $(SKELS)

.PHONY: all tests deps test unit demo bench soak install clean format check-format workloads fuzz

all: $(OUT)/agentleak

tests: $(OUT)/agentleak $(UNIT_BINS) workloads

deps:
	@scripts/install-deps.sh

$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) include/agentleak.h vmlinux/vmlinux.h | $(OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# Header dependencies come from -MMD (build/cli/*.d); the skeletons are generated first.
$(OUT)/cli/%.o: cli/%.c include/agentleak.h $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

-include $(CLI_OBJS:.o=.d)

$(OUT)/agentleak: $(CLI_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Every module but main.c in one archive: a unit test (test_X.c tests the module X.c)
# links only the objects it uses, and fails to link if it reaches past them.
CLI_LIB	:= $(OUT)/libagentleak.a

$(CLI_LIB): $(filter-out $(OUT)/cli/main.o,$(CLI_OBJS))
	rm -f $@ && ar rcs $@ $^

$(OUT)/test_%: tests/unit/test_%.c $(CLI_LIB) | $(OUT)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O0 -o $@ $< $(CLI_LIB) $(LDLIBS)

workloads: $(OUT)/demo/leaky_service $(OUT)/demo/loadgen | $(OUT)
	@tests/workloads/build.sh $(OUT)/tests

$(OUT):
	mkdir -p $@

test: deps tests
	python3 tests/run_tests.py

unit: $(UNIT_BINS)
	python3 tests/run_tests.py -k unit

demo: deps all $(OUT)/demo/leaky_service $(OUT)/demo/loadgen
	demo/run-demo.sh

bench: deps tests $(OUT)/bench/classify_bench
	bench/run.sh
	bench/detect_latency.sh
	bench/fastapi_throughput.sh
	bench/scale.sh
	$(OUT)/bench/classify_bench
	bench/startup.py

$(OUT)/bench/classify_bench: bench/classify_bench.c cli/analyse/trend.c cli/analyse/trend.h
	@mkdir -p $(OUT)/bench
	$(CC) -O2 -Iinclude -Icli -o $@ bench/classify_bench.c cli/analyse/trend.c -lm

install: $(OUT)/agentleak
	install -D -m 0755 $(OUT)/agentleak $(DESTDIR)$(PREFIX)/sbin/agentleak
	install -D -m 0644 docs/agentleak.8 $(DESTDIR)$(PREFIX)/share/man/man8/agentleak.8

format:
	clang-format -i cli/*.c cli/*.h cli/*/*.c cli/*/*.h bpf/*.c bpf/*.h include/*.h tests/unit/*.c tests/workloads/*.c bench/*.c

check-format:
	clang-format --dry-run --Werror cli/*.c cli/*.h cli/*/*.c cli/*/*.h bpf/*.c bpf/*.h include/*.h

clean:
	rm -rf $(OUT)

$(OUT)/demo/%: demo/%.c
	@mkdir -p $(OUT)/demo
	$(CC) -O1 -g -fno-omit-frame-pointer -Wall -o $@ $<

# One hour (SOAK_SECONDS) at steady load; summary in bench/soak-last.md. Needs root.
soak: deps tests
	bench/soak.py

# make fuzz: the libFuzzer harnesses tests/fuzz/fuzz_NAME.c of every parser of what a traced
# process or a network peer controls, built by clang in build/fuzz/ (the cli sources compiled
# again there with ASan and UBSan: every one that needs no BPF skeleton, in an archive each
# harness takes what it uses from), then each run FUZZ_SECONDS on tests/fuzz/corpus/NAME (new
# inputs kept in build/fuzz/corpus/NAME). FUZZ_TARGETS="NAME ..." picks harnesses, FUZZ_JOBS
# runs that many at once. Prints executions and coverage per harness; fails on a crash, whose
# input stays in build/fuzz/NAME-crash-*. make test runs each for a few seconds (fuzz:NAME).
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_TARGETS ?=
FUZZ_OUT     := $(OUT)/fuzz
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_BINS    := $(patsubst tests/fuzz/fuzz_%.c,$(FUZZ_OUT)/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB_SRCS := $(filter-out cli/main.c $(shell grep -l 'skel\.h\|<bpf/' $(CLI_SRCS)),$(CLI_SRCS))
FUZZ_LIB_OBJS := $(patsubst cli/%.c,$(FUZZ_OUT)/cli/%.o,$(FUZZ_LIB_SRCS))

fuzz: $(FUZZ_BINS)
	python3 tests/fuzz/run_fuzz.py --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) $(FUZZ_TARGETS)

# Says what is missing, instead of a compiler or linker error, when clang or libFuzzer's
# runtime is absent (checked whenever a harness is built: 0.2 s).
.PHONY: fuzz-toolchain
fuzz-toolchain: | $(FUZZ_OUT)
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' | \
	 $(CLANG) -fsanitize=fuzzer,address,undefined -x c -o $(FUZZ_OUT)/toolchain-check - \
	 >$(FUZZ_OUT)/toolchain-check.log 2>&1 || { echo "make fuzz: '$(CLANG)" \
	 "-fsanitize=fuzzer,address,undefined' cannot build a harness: install clang and" \
	 "libclang-rt-14-dev (scripts/install-deps.sh)" >&2; \
	 cat $(FUZZ_OUT)/toolchain-check.log >&2; exit 1; }

$(FUZZ_OUT)/cli/%.o: cli/%.c $(CLI_HDRS) $(wildcard include/*.h) | fuzz-toolchain
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_OUT)/libagentleak.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# The process the ELF harnesses point agentleak at (tests/fuzz/holder.h).
$(FUZZ_OUT)/holder: tests/fuzz/holder.c | $(FUZZ_OUT)
	$(CC) -static -s -O2 -Wall -o $@ $<

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_OUT)/libagentleak.a \
		    $(FUZZ_OUT)/holder | fuzz-toolchain
	$(CLANG) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OUT)/libagentleak.a \
		$(LDLIBS)

$(FUZZ_OUT):
	mkdir -p $@
