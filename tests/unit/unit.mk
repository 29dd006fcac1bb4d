# SPDX-License-Identifier: Apache-2.0
# tests/unit/unit.mk — the C unit tests (cmocka) of the pure functions
# (included by the Makefile).
#
#   make unit          build $(BUILD)/unit/NAME for each tests/unit/NAME.c and run them
#   make unit-build    only build them (make check does, then tests/run runs
#                      them and counts them in its summary line)
#   build/unit/NAME    one of them; CMOCKA_MESSAGE_OUTPUT=TAP for TAP output,
#                      CMOCKA_TEST_ABORT=1 to stop in a debugger at a failure
#
# A test links the objects of the binary its code belongs to from an archive,
# so it gets only the ones it needs: the same objects as `nroot` and
# `nroot-unpack` (their main.o left out), built with the same flags -- after
# `make asan`, with ASan and UBSan, and the tests run under them.  A test of
# nroot-unpack's code is named in UNIT_UNPACK, one of nroot-pull's in UNIT_PULL.

UNIT_DIR    := $(BUILD)/unit
UNIT_NAMES  := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/*.c))
UNIT_UNPACK := path
UNIT_PULL   := pull
UNIT_BINS   := $(UNIT_NAMES:%=$(UNIT_DIR)/%)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

$(UNIT_DIR)/libnroot.a: $(filter-out $(BUILD)/nroot/main.o,$(NROOT_OBJS))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^
$(UNIT_DIR)/libunpack.a: $(filter-out $(BUILD)/unpack/unpack/main.o,$(UNPACK_OBJS))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(UNIT_DIR)/libpull.a: $(filter-out $(BUILD)/pull/pull/main.o,$(PULL_OBJS))
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

unit_kind = $(if $(filter $(1),$(UNIT_UNPACK)),unpack,$(if $(filter $(1),$(UNIT_PULL)),pull,nroot))
UNIT_CFLAGS_nroot  = $(NROOT_CFLAGS)
UNIT_CFLAGS_unpack = $(UNPACK_CFLAGS)
UNIT_CFLAGS_pull   = $(PULL_CFLAGS)
UNIT_LIBS_nroot    = $(NROOT_LIBS)
UNIT_LIBS_unpack   = $(UNPACK_LIBS)
UNIT_LIBS_pull     = $(PULL_LIBS)

$(UNIT_DIR)/%.o: tests/unit/%.c tests/unit/unit.h $(HEADERS) Makefile tests/unit/unit.mk $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Isrc -Itests/unit $(CMOCKA_CFLAGS) \
		$(UNIT_CFLAGS_$(call unit_kind,$*)) -c -o $@ $<

.SECONDEXPANSION:
$(UNIT_BINS): $(UNIT_DIR)/%: $(UNIT_DIR)/%.o $(UNIT_DIR)/lib$$(call unit_kind,$$*).a
	$(CC) $(BASE_CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(UNIT_LIBS_$(call unit_kind,$*))

unit-build: $(UNIT_BINS)
.SECONDARY: $(UNIT_NAMES:%=$(UNIT_DIR)/%.o)

# every test runs, the failures are named at the end
unit: unit-build
	@failed=; for t in $(UNIT_BINS); do \
		echo "== $$t"; $$t || failed="$$failed $${t##*/}"; \
	done; \
	if [ -n "$$failed" ]; then echo "unit tests failed:$$failed"; exit 1; fi; \
	echo "unit tests: all $(words $(UNIT_BINS)) programs passed"

.PHONY: unit unit-build
