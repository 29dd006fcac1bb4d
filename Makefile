# SPDX-License-Identifier: Apache-2.0
# nroot — one Makefile for everything.  `make`, `make check`, `make unit`, `make asan`,
# `make demo`, `make man`, `make install DESTDIR=...`, `make dist`,
# `make deb` (packaging/debian), `make rpm` (packaging/rpm/nroot.spec).

VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
LIBDIR     ?= $(PREFIX)/lib
SYSCONFDIR ?= $(PREFIX)/etc
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DESTDIR    ?=

CC         ?= cc
comma      := ,
PKG_CONFIG ?= pkg-config

# The launcher links only libcap and libseccomp: every library it loads costs start-up
# time (glib alone adds ~0.6 ms, libarchive with its codecs ~4.5 ms, measured
# with hyperfine on an empty main).  Unpacking lives in nroot-unpack, which
# links libarchive and glib and runs only when an image is imported.
NROOT_PKGS  := libcap libseccomp
UNPACK_PKGS := libarchive glib-2.0 json-glib-1.0 libcrypto libcap libseccomp
# nroot-pull, the registry client (libcurl), runs on the host as the user
PULL_PKGS   := libcurl json-glib-1.0 libcrypto
# nroot-squashfs, the FUSE server for squashfs images (`nroot run X.sqsh`):
# built where libsquashfuse and libfuse3 are; nroot falls back to squashfuse_ll
SQFS_PKGS   := squashfuse fuse3

WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter -Wnull-dereference \
            -Wundef -Wpointer-arith -Wcast-align -Wvla
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection \
            -fPIE -fcf-protection
OPT      ?= -O2 -g
CFLAGS   ?=
BUILD    ?= build
# `make asan` leaves $(BUILD)/asan behind: until `make clean`, every build of
# this tree (`make check` too) keeps the sanitizers instead of rebuilding
# without them because the flags differ.
ifneq ($(wildcard $(BUILD)/asan),)
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
HARDEN   := -fPIE
LDFLAGS  += -fsanitize=address,undefined
endif
CPPFLAGS += -D_GNU_SOURCE -Iinclude -DNR_VERSION='"$(VERSION)"' \
            -DNR_LIBEXECDIR='"$(LIBEXECDIR)/nroot"' -DNR_SYSCONFDIR='"$(SYSCONFDIR)"'
BASE_CFLAGS := -std=gnu17 $(OPT) $(WARN) $(HARDEN) $(CFLAGS)
LDHARDEN := -pie -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
ifeq ($(WERROR),1)
BASE_CFLAGS += -Werror
endif

# The tree shows the process model (HACKING.md): every .c file of a folder
# belongs to the binary that folder serves.  nroot-unpack shares only the
# error, util, ref and sync code and the seccomp compiler with the launcher.
NROOT_DIRS  := cli cmd host inside oci state ns lib seccomp
NROOT_SRCS  := src/main.c $(sort $(foreach d,$(NROOT_DIRS),$(wildcard src/$(d)/*.c)))
UNPACK_SRCS := $(sort $(wildcard src/unpack/*.c)) src/seccomp/compile.c src/ns/sync.c \
               src/lib/error.c src/lib/util.c src/lib/ref.c
PULL_SRCS   := $(sort $(wildcard src/pull/*.c)) src/lib/error.c src/lib/util.c src/lib/ref.c
# nroot-ocispec: nroot-unpack's --oci-spec alone, with fewer libraries (it
# starts in half the time: `nroot oci run` waits on it)
OCISPEC_SRCS := src/ocispec/main.c src/unpack/ocispec.c src/unpack/seccomp.c src/unpack/json.c \
                src/seccomp/compile.c src/ns/sync.c src/lib/error.c src/lib/util.c src/lib/ref.c
OCISPEC_OBJS := $(OCISPEC_SRCS:src/%.c=$(BUILD)/unpack/%.o)

NROOT_OBJS  := $(NROOT_SRCS:src/%.c=$(BUILD)/nroot/%.o)
UNPACK_OBJS := $(UNPACK_SRCS:src/%.c=$(BUILD)/unpack/%.o)
PULL_OBJS   := $(PULL_SRCS:src/%.c=$(BUILD)/pull/%.o)
SQFS_SRCS   := $(sort $(wildcard src/sqfs/*.c)) src/ns/sync.c src/lib/error.c src/lib/util.c
SQFS_OBJS   := $(SQFS_SRCS:src/%.c=$(BUILD)/sqfs/%.o)
HEADERS     := $(wildcard include/*.h src/*/*.h)

# libslirp (--net=slirp) and libyaml (CDI specs, --device) are dlopen()ed
# when a container needs them: their headers only.  libsubid (an nsswitch
# subid: provider) has no pkg-config file; src/ns/subid.c declares the
# four calls it makes.
NROOT_CFLAGS  := $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(NROOT_PKGS) slirp yaml-0.1)
# libcap and libseccomp go into nroot statically where their archives are
# installed (Debian's libcap-dev and libseccomp-dev ship them): ld.so
# mapping and binding two more shared objects cost each start ~0.1 ms
# (hyperfine, `nroot --version`: 0.78 -> 0.69 ms).  NROOT_STATIC=no links
# them shared; the helpers always do.
NROOT_STATIC ?= auto
NROOT_STATIC_LIBS := $(if $(filter no,$(NROOT_STATIC)),,$(and \
    $(wildcard $(shell $(CC) -print-file-name=libcap.a)), \
    $(wildcard $(shell $(CC) -print-file-name=libseccomp.a))))
NROOT_LIBS    := $(if $(NROOT_STATIC_LIBS),-Wl$(comma)-Bstatic) $(shell $(PKG_CONFIG) --libs \
    $(NROOT_PKGS)) $(if $(NROOT_STATIC_LIBS),-Wl$(comma)-Bdynamic) -ldl
UNPACK_CFLAGS := $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(UNPACK_PKGS))
UNPACK_LIBS   := $(shell $(PKG_CONFIG) --libs $(UNPACK_PKGS))
OCISPEC_LIBS  := $(shell $(PKG_CONFIG) --libs glib-2.0 json-glib-1.0 libcap libseccomp)
PULL_CFLAGS   := $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(PULL_PKGS))
PULL_LIBS     := $(shell $(PKG_CONFIG) --libs $(PULL_PKGS))
ifeq ($(shell $(PKG_CONFIG) --exists $(SQFS_PKGS) && echo y),y)
SQFS_BINS     := nroot-squashfs
# <squashfuse/...>: its own -I would put its config.h, util.h... in our path
SQFS_CFLAGS   := $(BASE_CFLAGS) $(filter-out %/squashfuse,$(shell $(PKG_CONFIG) --cflags $(SQFS_PKGS)))
SQFS_LIBS     := $(shell $(PKG_CONFIG) --libs $(SQFS_PKGS))
endif

# The SPANK plugin (src/slurm, nroot-slurm(8)) and the helper slurmstepd execs
# for its tasks: built where Slurm's spank.h is (libslurm-dev; pkg-config
# when a slurm.pc is shipped, Debian 12 has none).  `make spank` asks for it.
SLURM_CFLAGS := $(shell $(PKG_CONFIG) --cflags slurm 2>/dev/null)
ifneq ($(shell $(PKG_CONFIG) --exists slurm 2>/dev/null && echo y)$(wildcard /usr/include/slurm/spank.h),)
SPANK_BINS := spank_nroot.so nroot-spank-exec
endif
SPANK_CPPFLAGS := -DNR_BINDIR='"$(BINDIR)"' $(SLURM_CFLAGS)

all: nroot nroot-unpack nroot-ocispec nroot-pull $(SQFS_BINS) $(SPANK_BINS)

# The compiled-in paths (LIBEXECDIR) and flags are part of every object: when
# they change (`make install PREFIX=/usr` after a plain `make`), rebuild.
FLAGS_NOW := $(CC) $(CPPFLAGS) $(SPANK_CPPFLAGS) $(NROOT_CFLAGS) $(UNPACK_CFLAGS) $(PULL_CFLAGS) $(LDHARDEN) $(LDFLAGS) $(NROOT_LIBS) $(UNPACK_LIBS) $(PULL_LIBS) $(SQFS_LIBS)
ifneq ($(filter-out clean dist man demo format format-check deb rpm fuzz fuzz-replay fuzz-replay-build fuzz-coverage,$(or $(MAKECMDGOALS),all)),)
ifneq ($(FLAGS_NOW),$(file <$(BUILD)/flags))
$(shell mkdir -p $(BUILD))
$(file >$(BUILD)/flags,$(FLAGS_NOW))
endif
endif

nroot: $(NROOT_OBJS)
	$(CC) $(BASE_CFLAGS) $(LDHARDEN) $(LDFLAGS) -o $@ $^ $(NROOT_LIBS)

nroot-unpack: $(UNPACK_OBJS)
	$(CC) $(BASE_CFLAGS) $(LDHARDEN) $(LDFLAGS) -o $@ $^ $(UNPACK_LIBS)

nroot-ocispec: $(OCISPEC_OBJS)
	$(CC) $(BASE_CFLAGS) $(LDHARDEN) $(LDFLAGS) -o $@ $^ $(OCISPEC_LIBS)

nroot-pull: $(PULL_OBJS)
	$(CC) $(BASE_CFLAGS) $(LDHARDEN) $(LDFLAGS) -o $@ $^ $(PULL_LIBS)

nroot-squashfs: $(SQFS_OBJS)
	$(CC) $(BASE_CFLAGS) $(LDHARDEN) $(LDFLAGS) -o $@ $^ $(SQFS_LIBS)

$(BUILD)/nroot/%.o: src/%.c $(HEADERS) Makefile $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(NROOT_CFLAGS) -c -o $@ $<

$(BUILD)/unpack/%.o: src/%.c $(HEADERS) Makefile $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(UNPACK_CFLAGS) -c -o $@ $<

$(BUILD)/pull/%.o: src/%.c $(HEADERS) Makefile $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PULL_CFLAGS) -c -o $@ $<

$(BUILD)/sqfs/%.o: src/%.c $(HEADERS) Makefile $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SQFS_CFLAGS) -c -o $@ $<

spank: spank_nroot.so nroot-spank-exec

# slurm_error() and the spank_*() calls resolve in srun and slurmstepd;
# never sanitized: srun and slurmd, which load it, are not (`make asan`
# would leave a Slurm that cannot load it, and the Slurm tests skip)
NOSAN = $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(1))
spank_nroot.so: src/slurm/spank_nroot.c src/slurm/spank_nroot.lds Makefile $(BUILD)/flags
	$(CC) $(CPPFLAGS) $(SPANK_CPPFLAGS) $(call NOSAN,$(BASE_CFLAGS)) -fPIC -shared -Wl,-z,relro \
		-Wl,-z,now -Wl,--version-script=src/slurm/spank_nroot.lds $(call NOSAN,$(LDFLAGS)) -o $@ $<

nroot-spank-exec: src/slurm/spank-exec.c Makefile $(BUILD)/flags
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(LDHARDEN) $(LDFLAGS) -o $@ $<

# AddressSanitizer + UndefinedBehaviorSanitizer build, same binary names, so
# `make asan && make check` runs the suite under the sanitizers.
asan:
	$(MAKE) clean
	mkdir -p $(BUILD) && touch $(BUILD)/asan
	$(MAKE) all

# the unit tests (tests/unit/unit.mk) are run and counted by tests/run
check: all unit-build
	NROOT_TEST_UNIT=$(UNIT_DIR) tests/run

demo:
	./tests/demo

# .clang-format is the style; `make format` applies it, `make format-check`
# (CI) fails on a difference
CLANG_FORMAT ?= clang-format
FORMAT_FILES = $(wildcard src/*.c src/*/*.c src/*/*.h include/*.h tests/unit/*.c tests/unit/*.h \
                          tests/helper/*.c fuzz/*.c fuzz/*.h)
format:
	$(CLANG_FORMAT) -i $(FORMAT_FILES)
format-check:
	$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_FILES)

MAN_SRCS := $(wildcard man/*.md)
MAN_OUT  := $(MAN_SRCS:.md=)
man: $(MAN_OUT)
man/%: man/%.md
	go-md2man -in $< -out $@

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/nroot $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 nroot $(DESTDIR)$(BINDIR)/nroot
	ln -sf nroot $(DESTDIR)$(BINDIR)/nroot-oci
	install -m 0755 nroot-unpack $(DESTDIR)$(LIBEXECDIR)/nroot/nroot-unpack
	install -m 0755 nroot-ocispec $(DESTDIR)$(LIBEXECDIR)/nroot/nroot-ocispec
	install -m 0755 nroot-pull $(DESTDIR)$(LIBEXECDIR)/nroot/nroot-pull
ifneq ($(SQFS_BINS),)
	install -m 0755 nroot-squashfs $(DESTDIR)$(LIBEXECDIR)/nroot/nroot-squashfs
endif
	for m in man/*.1; do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in man/*.5; do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in man/*.7; do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man7/; done
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0644 completions/nroot.bash $(DESTDIR)$(BASHCOMPDIR)/nroot
	install -m 0644 completions/_nroot $(DESTDIR)$(ZSHCOMPDIR)/_nroot
	install -m 0644 completions/nroot.fish $(DESTDIR)$(FISHCOMPDIR)/nroot.fish
ifneq ($(SPANK_BINS),)
	install -d $(DESTDIR)$(LIBDIR)/nroot $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d
	install -m 0644 spank_nroot.so $(DESTDIR)$(LIBDIR)/nroot/spank_nroot.so
	install -m 0755 nroot-spank-exec $(DESTDIR)$(LIBDIR)/nroot/nroot-spank-exec
	install -m 0644 man/nroot-slurm.8 $(DESTDIR)$(MANDIR)/man8/nroot-slurm.8
	printf '%s\n' '# nroot-slurm(8): srun, sbatch and salloc --container-image=IMAGE' \
		'optional $(LIBDIR)/nroot/spank_nroot.so nroot=$(BINDIR)/nroot' \
		> $(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d/nroot.conf
endif

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nroot $(DESTDIR)$(BINDIR)/nroot-oci $(DESTDIR)$(LIBEXECDIR)/nroot/nroot-unpack \
		$(DESTDIR)$(LIBEXECDIR)/nroot/nroot-pull $(DESTDIR)$(LIBEXECDIR)/nroot/nroot-squashfs \
		$(DESTDIR)$(LIBEXECDIR)/nroot/nroot-ocispec
	-rmdir $(DESTDIR)$(LIBEXECDIR)/nroot
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$$(basename $$m); done
	for m in man/*.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$$(basename $$m); done
	for m in man/*.7; do rm -f $(DESTDIR)$(MANDIR)/man7/$$(basename $$m); done
	rm -f $(DESTDIR)$(BASHCOMPDIR)/nroot $(DESTDIR)$(ZSHCOMPDIR)/_nroot $(DESTDIR)$(FISHCOMPDIR)/nroot.fish
	rm -f $(DESTDIR)$(LIBDIR)/nroot/spank_nroot.so $(DESTDIR)$(LIBDIR)/nroot/nroot-spank-exec \
		$(DESTDIR)$(MANDIR)/man8/nroot-slurm.8 $(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d/nroot.conf
	-rmdir $(DESTDIR)$(LIBDIR)/nroot

dist:
	git archive --format=tar.gz --prefix=nroot-$(VERSION)/ -o nroot-$(VERSION).tar.gz HEAD

# Packages are built from a copy of the source tree (what `make dist` ships:
# no git needed) in $(BUILD)/deb and $(BUILD)/rpm; the results stay there.
PKG_FILES := Makefile README.md LICENSE src include man completions packaging
DEB_SRC   := $(BUILD)/deb/nroot-$(VERSION)
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC)
	cp -a $(PKG_FILES) $(DEB_SRC)/
	cp -a packaging/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc
	@if command -v lintian >/dev/null; then \
		echo "lintian $(BUILD)/deb/*.changes"; \
		lintian --fail-on error,warning $(BUILD)/deb/*.changes || exit 1; \
	else echo "lintian is not installed: the package is not checked"; fi
	@ls $(BUILD)/deb/*.deb

RPM_TOP := $(CURDIR)/$(BUILD)/rpm
rpm:
	rm -rf $(RPM_TOP) && mkdir -p $(RPM_TOP)/SOURCES $(RPM_TOP)/src/nroot-$(VERSION)
	cp -a $(PKG_FILES) $(RPM_TOP)/src/nroot-$(VERSION)/
	tar -C $(RPM_TOP)/src -czf $(RPM_TOP)/SOURCES/nroot-$(VERSION).tar.gz nroot-$(VERSION)
	rpmbuild -bb $(RPMFLAGS) --define '_topdir $(RPM_TOP)' packaging/rpm/nroot.spec
	@ls $(RPM_TOP)/RPMS/*/*.rpm

# afl++ harnesses (make fuzz) and the replay of their corpus (make fuzz-replay);
# not in the package builds' copy of the tree (PKG_FILES), hence -include
-include fuzz/fuzz.mk
# cmocka unit tests: make unit (not in the package builds' copy either)
-include tests/unit/unit.mk

clean:
	rm -rf $(BUILD) nroot nroot-unpack nroot-ocispec nroot-pull nroot-squashfs spank_nroot.so nroot-spank-exec

.PHONY: all spank asan check demo format format-check man install uninstall dist deb rpm clean
