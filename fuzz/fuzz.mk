# SPDX-License-Identifier: Apache-2.0
# fuzz/fuzz.mk — afl++ harnesses and their replay (included by the Makefile;
# see fuzz/README.md).  Nothing here touches the normal build: objects go to
# $(BUILD)/fuzz/afl and $(BUILD)/fuzz/replay.
#
#   make fuzz               afl++ targets $(BUILD)/fuzz/afl-NAME (afl-clang-fast,
#                           AFL_USE_ASAN, AFL_USE_UBSAN, persistent mode)
#   make fuzz-replay-build  replay programs $(BUILD)/fuzz/replay-NAME (cc, ASan+UBSan)
#   make fuzz-replay        them, run over fuzz/corpus/NAME and fuzz/regress/NAME
#   make fuzz-coverage      line coverage of src/ (clang, llvm-cov) from replaying
#                           FUZZ_COV_IN (default fuzz/corpus/NAME; NAME is replaced
#                           by each harness's name, e.g. /tmp/out/NAME/default/queue)

FUZZ_NAMES  := layer whiteout json kv ocirec
FUZZ_DIR    := $(BUILD)/fuzz
AFL_CC      ?= afl-clang-fast
FUZZ_CC     ?= $(CC)
FUZZ_PKGS   := $(sort $(NROOT_PKGS) $(UNPACK_PKGS))
FUZZ_CFLAGS := -std=gnu17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter \
               $(shell $(PKG_CONFIG) --cflags $(FUZZ_PKGS)) -Ifuzz -Isrc
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined

# the code under test of each harness (src/ files); a harness includes the
# private headers of src/unpack as "unpack/NAME.h" (-Isrc)
FUZZ_SRC_layer    := unpack/layer unpack/path lib/util lib/error
FUZZ_SRC_whiteout := unpack/layer unpack/path lib/util lib/error
FUZZ_SRC_json     := $(patsubst src/%.c,%,$(wildcard src/unpack/*.c)) seccomp/compile ns/sync lib/util lib/error
FUZZ_SRC_kv       := state/ctr state/ctr-config state/network ns/timens host/cgroup lib/devname state/squashfs state/runtime state/store state/rostore lib/conf state/fetch state/pullbar lib/ref ns/userns ns/subid ns/spawn ns/sync lib/fs lib/util lib/error
FUZZ_SRC_ocirec   := oci/records inside/caps lib/hook lib/util lib/error
FUZZ_LIBS_layer    := $(UNPACK_LIBS)
FUZZ_LIBS_whiteout := $(UNPACK_LIBS)
FUZZ_LIBS_json     := $(UNPACK_LIBS)
FUZZ_LIBS_kv       := $(NROOT_LIBS)
FUZZ_LIBS_ocirec   := $(NROOT_LIBS)

# unpack/main.c is nroot-unpack's main file: its main() is renamed away
FUZZ_DEFS_unpack/main := -Dmain=nr_unpack_main
FUZZ_DEPS := $(wildcard include/*.h src/*/*.h fuzz/*.h) fuzz/fuzz.mk

fuzz: $(FUZZ_NAMES:%=$(FUZZ_DIR)/afl-%)
fuzz-replay-build: $(FUZZ_NAMES:%=$(FUZZ_DIR)/replay-%)

fuzz-replay: fuzz-replay-build
	@for n in $(FUZZ_NAMES); do \
		echo "replay $$n: $$(ASAN_OPTIONS=$${ASAN_OPTIONS:-abort_on_error=1} \
			$(FUZZ_DIR)/replay-$$n fuzz/corpus/$$n $$(test -d fuzz/regress/$$n && echo fuzz/regress/$$n) \
			2>$(FUZZ_DIR)/replay-$$n.log)" || \
			{ tail -n 40 $(FUZZ_DIR)/replay-$$n.log; echo "replay $$n failed"; exit 1; }; \
	done

FUZZ_COV_IN ?= fuzz/corpus/NAME
FUZZ_COV_CC ?= clang
FUZZ_COV    := -fprofile-instr-generate -fcoverage-mapping -DNR_FUZZ_COVERAGE
fuzz-coverage: $(FUZZ_NAMES:%=$(FUZZ_DIR)/cov-%)
	@rm -f $(FUZZ_DIR)/cov-*.profraw
	@for n in $(FUZZ_NAMES); do \
		LLVM_PROFILE_FILE=$(FUZZ_DIR)/cov-$$n.profraw NR_FUZZ_PROFILE=$(FUZZ_DIR)/cov-$$n.profraw \
			$(FUZZ_DIR)/cov-$$n \
			$$(echo '$(FUZZ_COV_IN)' | sed "s/NAME/$$n/g") \
			>/dev/null 2>&1 || echo "replay $$n failed"; \
	done
	llvm-profdata merge -o $(FUZZ_DIR)/cov.profdata $(FUZZ_DIR)/cov-*.profraw
	llvm-cov report $(FUZZ_DIR)/cov-layer $(patsubst %,-object $(FUZZ_DIR)/cov-%,$(filter-out layer,$(FUZZ_NAMES))) \
		-instr-profile $(FUZZ_DIR)/cov.profdata $(sort $(foreach n,$(FUZZ_NAMES),$(FUZZ_SRC_$(n):%=src/%.c)))
	@llvm-cov report $(FUZZ_DIR)/cov-layer $(patsubst %,-object $(FUZZ_DIR)/cov-%,$(filter-out layer,$(FUZZ_NAMES))) \
		-instr-profile $(FUZZ_DIR)/cov.profdata -show-functions $(wildcard src/unpack/*.c) src/state/ctr.c src/state/ctr-config.c \
		src/state/store.c src/lib/util.c >$(FUZZ_DIR)/cov-functions.txt
	@echo "the parsers' own functions:"; python3 fuzz/coverage.py $(FUZZ_DIR)/cov-functions.txt

$(FUZZ_DIR)/afl/%.o: src/%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 $(AFL_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_DEFS_$*) -c -o $@ $<
$(FUZZ_DIR)/afl/fuzz-%.o: fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 $(AFL_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -DNR_FUZZ_AFL -c -o $@ $<
$(FUZZ_DIR)/replay/%.o: src/%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) $(FUZZ_DEFS_$*) -c -o $@ $<
$(FUZZ_DIR)/replay/fuzz-%.o: fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -c -o $@ $<

FUZZ_OBJS := $(foreach k,afl replay cov,$(foreach n,$(FUZZ_NAMES),$(FUZZ_DIR)/$(k)/fuzz-$(n).o \
               $(FUZZ_SRC_$(n):%=$(FUZZ_DIR)/$(k)/%.o)) $(FUZZ_DIR)/$(k)/fuzz-driver.o)
.SECONDARY: $(FUZZ_OBJS)

$(FUZZ_DIR)/cov/%.o: src/%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_COV_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_COV) $(FUZZ_DEFS_$*) -c -o $@ $<
$(FUZZ_DIR)/cov/fuzz-%.o: fuzz/%.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_COV_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_COV) -c -o $@ $<

.SECONDEXPANSION:
$(FUZZ_DIR)/afl-%: $(FUZZ_DIR)/afl/fuzz-driver.o $(FUZZ_DIR)/afl/fuzz-%.o \
		$$(addprefix $(FUZZ_DIR)/afl/,$$(addsuffix .o,$$(FUZZ_SRC_$$*)))
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 $(AFL_CC) $(FUZZ_CFLAGS) -o $@ $^ $(FUZZ_LIBS_$*)
$(FUZZ_DIR)/cov-%: $(FUZZ_DIR)/cov/fuzz-driver.o $(FUZZ_DIR)/cov/fuzz-%.o \
		$$(addprefix $(FUZZ_DIR)/cov/,$$(addsuffix .o,$$(FUZZ_SRC_$$*)))
	$(FUZZ_COV_CC) $(FUZZ_CFLAGS) $(FUZZ_COV) -o $@ $^ $(FUZZ_LIBS_$*)
$(FUZZ_DIR)/replay-%: $(FUZZ_DIR)/replay/fuzz-driver.o $(FUZZ_DIR)/replay/fuzz-%.o \
		$$(addprefix $(FUZZ_DIR)/replay/,$$(addsuffix .o,$$(FUZZ_SRC_$$*)))
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS_$*)

.PHONY: fuzz fuzz-replay fuzz-replay-build fuzz-coverage
