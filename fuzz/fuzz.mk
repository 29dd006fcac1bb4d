# fuzz/fuzz.mk — afl++ harnesses and their replay (included by the Makefile;
# see fuzz/README.md).  Nothing here touches the normal build: objects go to
# $(BUILD)/fuzz/afl and $(BUILD)/fuzz/replay.
#
#   make fuzz               afl++ targets $(BUILD)/fuzz/afl-NAME (afl-clang-fast,
#                           AFL_USE_ASAN, AFL_USE_UBSAN, persistent mode)
#   make fuzz-replay-build  replay programs $(BUILD)/fuzz/replay-NAME (cc, ASan+UBSan)
#   make fuzz-replay        them, run over fuzz/corpus/NAME and fuzz/regress/NAME

FUZZ_NAMES  := layer whiteout json kv
FUZZ_DIR    := $(BUILD)/fuzz
AFL_CC      ?= afl-clang-fast
FUZZ_CC     ?= $(CC)
FUZZ_PKGS   := $(sort $(NROOT_PKGS) $(UNPACK_PKGS))
FUZZ_CFLAGS := -std=gnu17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter \
               $(shell $(PKG_CONFIG) --cflags $(FUZZ_PKGS)) -Ifuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined

# the code under test of each harness (src/ files)
FUZZ_SRC_layer    := unpack-layer util error
FUZZ_SRC_whiteout := unpack-layer util error
FUZZ_SRC_json     := unpack-image unpack unpack-layer sync util error
FUZZ_SRC_kv       := container store userns spawn sync util error
FUZZ_LIBS_layer    := $(UNPACK_LIBS)
FUZZ_LIBS_whiteout := $(UNPACK_LIBS)
FUZZ_LIBS_json     := $(UNPACK_LIBS)
FUZZ_LIBS_kv       := $(NROOT_LIBS)

# unpack.c is nroot-unpack's main file: its main() is renamed away
FUZZ_DEFS_unpack := -Dmain=nr_unpack_main
FUZZ_DEPS := $(wildcard include/*.h fuzz/*.h) fuzz/fuzz.mk

fuzz: $(FUZZ_NAMES:%=$(FUZZ_DIR)/afl-%)
fuzz-replay-build: $(FUZZ_NAMES:%=$(FUZZ_DIR)/replay-%)

fuzz-replay: fuzz-replay-build
	@for n in $(FUZZ_NAMES); do \
		echo "replay $$n: $$(ASAN_OPTIONS=$${ASAN_OPTIONS:-abort_on_error=1} \
			$(FUZZ_DIR)/replay-$$n fuzz/corpus/$$n $$(test -d fuzz/regress/$$n && echo fuzz/regress/$$n) \
			2>$(FUZZ_DIR)/replay-$$n.log)" || \
			{ tail -n 40 $(FUZZ_DIR)/replay-$$n.log; echo "replay $$n failed"; exit 1; }; \
	done

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

FUZZ_OBJS := $(foreach k,afl replay,$(foreach n,$(FUZZ_NAMES),$(FUZZ_DIR)/$(k)/fuzz-$(n).o \
               $(FUZZ_SRC_$(n):%=$(FUZZ_DIR)/$(k)/%.o)) $(FUZZ_DIR)/$(k)/fuzz-driver.o)
.SECONDARY: $(FUZZ_OBJS)
.SECONDEXPANSION:
$(FUZZ_DIR)/afl-%: $(FUZZ_DIR)/afl/fuzz-driver.o $(FUZZ_DIR)/afl/fuzz-%.o \
		$$(addprefix $(FUZZ_DIR)/afl/,$$(addsuffix .o,$$(FUZZ_SRC_$$*)))
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1 $(AFL_CC) $(FUZZ_CFLAGS) -o $@ $^ $(FUZZ_LIBS_$*)
$(FUZZ_DIR)/replay-%: $(FUZZ_DIR)/replay/fuzz-driver.o $(FUZZ_DIR)/replay/fuzz-%.o \
		$$(addprefix $(FUZZ_DIR)/replay/,$$(addsuffix .o,$$(FUZZ_SRC_$$*)))
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS_$*)

.PHONY: fuzz fuzz-replay fuzz-replay-build
