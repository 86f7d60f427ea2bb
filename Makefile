# agentleak - build, test, demo and bench.
#
#   make          build build/agentleak (and the test programs)
#   make demo     install missing build deps, build, run the leaking demo service under agentleak
#   make test     install missing deps, build, run every test; last line "N passed, N failed"
#   make bench    malloc+free pair cost (plain, agentleak, empty bpftrace probes), leak
#                 detection latency, FastAPI throughput, cost at scale, classification
#                 cost of 10,000 stacks, start time per mode and each program's verifier cost
#   make install  agentleak to $(PREFIX)/sbin, the man page to $(PREFIX)/share/man/man8

CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
PREFIX	?= /usr/local
OUT	:= build
ARCH	:= x86

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer
CPPFLAGS += -Iinclude -Icli -I$(OUT)
LDLIBS	:= -lbpf -ldw -lelf -lz -lcapstone -lm
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux -Wall \
	      -I/usr/include/$(shell uname -m)-linux-gnu

CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst cli/%.c,$(OUT)/cli/%.o,$(CLI_SRCS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS	 := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/%,$(UNIT_SRCS))

.SECONDARY: $(BPF_OBJS) $(SKELS)

.PHONY: all deps test unit demo bench install clean format check-format workloads

all: $(OUT)/agentleak $(UNIT_BINS) workloads

deps:
	@scripts/install-deps.sh

$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) include/agentleak.h vmlinux/vmlinux.h | $(OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OUT)/cli/%.o: cli/%.c $(wildcard cli/*.h) include/agentleak.h $(SKELS) | $(OUT)/cli
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(OUT)/agentleak: $(CLI_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests link the module they test (test_X.c tests cli/X.c) plus what it needs.
$(OUT)/test_%: tests/unit/test_%.c $(filter-out $(OUT)/cli/main.o,$(CLI_OBJS)) | $(OUT)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O0 -o $@ $< $(filter-out $(OUT)/cli/main.o,$(CLI_OBJS)) $(LDLIBS)

workloads: $(OUT)/demo/leaky_service $(OUT)/demo/loadgen | $(OUT)
	@tests/workloads/build.sh $(OUT)/tests

$(OUT) $(OUT)/cli:
	mkdir -p $@

test: deps all
	python3 tests/run_tests.py

unit: $(UNIT_BINS)
	python3 tests/run_tests.py -k unit

demo: deps all
	demo/run-demo.sh

bench: deps all $(OUT)/bench/classify_bench
	bench/run.sh
	bench/detect_latency.sh
	bench/fastapi_throughput.sh
	bench/scale.sh
	$(OUT)/bench/classify_bench
	bench/startup.py

$(OUT)/bench/classify_bench: bench/classify_bench.c cli/trend.c cli/trend.h
	@mkdir -p $(OUT)/bench
	$(CC) -O2 -Iinclude -Icli -o $@ bench/classify_bench.c cli/trend.c -lm

install: $(OUT)/agentleak
	install -D -m 0755 $(OUT)/agentleak $(DESTDIR)$(PREFIX)/sbin/agentleak
	install -D -m 0644 docs/agentleak.8 $(DESTDIR)$(PREFIX)/share/man/man8/agentleak.8

format:
	clang-format -i cli/*.c cli/*.h bpf/*.c bpf/*.h include/*.h tests/unit/*.c tests/workloads/*.c bench/*.c

check-format:
	clang-format --dry-run --Werror cli/*.c cli/*.h bpf/*.c bpf/*.h include/*.h

clean:
	rm -rf $(OUT)

$(OUT)/demo/%: demo/%.c
	@mkdir -p $(OUT)/demo
	$(CC) -O1 -g -fno-omit-frame-pointer -Wall -o $@ $<
