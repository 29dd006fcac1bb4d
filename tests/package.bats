#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# package.bats — the packages agree with the Makefile, and the nroot that the
# .deb installed works for an unprivileged user: binary, helper, libslirp,
# man pages and completions where the system looks for them.  CI (.ci/run)
# builds packaging/debian with `make deb` and installs it before `make check`;
# elsewhere the installed-package tests skip unless this version is installed.

load helpers

REPO_DIR=${NROOT_TEST_REPO:-$BATS_TEST_DIRNAME/..}
INSTALLED=/usr/bin/nroot

make_version() {
    sed -n 's/^VERSION *:= *//p' "$REPO_DIR/Makefile"
}

# skip unless dpkg has this version of nroot installed
need_installed() {
    local v st
    command -v dpkg-query >/dev/null || skip "not a dpkg system"
    v=$(dpkg-query -W -f '${Version} ${db:Status-Abbrev}' nroot 2>/dev/null) ||
        skip "the nroot package is not installed (make deb; apt install ./build/deb/nroot_*.deb)"
    st=${v#* }
    v=${v%% *}
    [ "${st:0:2}" = ii ] || skip "the nroot package is not fully installed ($st)"
    [ "${v%-*}" = "$(make_version)" ] ||
        skip "the installed nroot package is $v, this tree is $(make_version)"
    NROOT=$INSTALLED
}

@test "package: the Makefile, debian/changelog and the rpm spec carry one version" {
    local mk deb rpm
    mk=$(make_version)
    [ -n "$mk" ] || fail "no VERSION in the Makefile"
    deb=$(sed -n '1s/^nroot (\([^)]*\)).*/\1/p' "$REPO_DIR/packaging/debian/changelog")
    rpm=$(sed -n 's/^Version: *//p' "$REPO_DIR/packaging/rpm/nroot.spec")
    [ "${deb%-*}" = "$mk" ] || fail "debian/changelog has $deb, the Makefile $mk"
    [ "$rpm" = "$mk" ] || fail "nroot.spec has $rpm, the Makefile $mk"
}

@test "package: the deb depends on uidmap and libslirp0, recommends fuse-overlayfs" {
    local c=$REPO_DIR/packaging/debian/control
    run sed -n '/^Package: nroot$/,/^Description/p' "$c"
    assert_output --regexp 'Depends:[^:]*uidmap'
    assert_output --regexp 'Depends:[^:]*libslirp0 \(>= 4\.5'
    assert_output --regexp 'Recommends:[^:]*fuse-overlayfs'
    run grep -E '^(Requires|Recommends):' "$REPO_DIR/packaging/rpm/nroot.spec"
    assert_line --regexp '^Requires: +shadow-utils'
    assert_line --regexp '^Requires: +libslirp >= 4\.5'
    assert_line --regexp '^Recommends: +fuse-overlayfs'
}

@test "package: the installed nroot is the one the package ships, with its helper" {
    need_installed
    run dpkg-query -L nroot
    assert_line /usr/bin/nroot
    assert_line /usr/libexec/nroot/nroot-unpack
    assert_line /usr/libexec/nroot/nroot-pull
    assert_line /usr/share/man/man7/nroot-rootless.7.gz
    [ "$(readlink -f "$(command -v nroot)")" = "$INSTALLED" ] || fail "nroot on PATH is $(command -v nroot)"
    run_nroot 0 --version
    assert_output "nroot $(make_version)"
}

@test "package: the installed nroot imports and runs an image as an unprivileged user" {
    need_installed
    [ "$(id -u)" != 0 ] || fail "running as root"
    # the helper must come from /usr/libexec, not from a build tree
    unset NROOT_UNPACK
    run_nroot 0 import --name pkgtest "$IMAGES/rootfs.tar.gz"
    run_nroot 0 run --net=none pkgtest cat /data/unchanged.txt
    assert_output original
    run_nroot 3 run --net=none pkgtest sh -c 'exit 3'
    run_nroot 0 images
    assert_output --partial pkgtest
}

@test "package: the installed nroot's network loads the libslirp the package depends on" {
    need_installed
    [ -w /dev/net/tun ] || skip "/dev/net/tun is not usable here"
    run_nroot 0 run --net=slirp "$IMAGES/rootfs.tar" sh -c 'ip -o addr show tap0; cat /etc/resolv.conf'
    assert_output --partial 10.0.2.100/24
    assert_output --partial 'nameserver 10.0.2.3'
}

@test "package: nroot info from the package says this machine can run containers" {
    need_installed
    run_nroot 0 info
    assert_output --partial 'libslirp'
    assert_line --regexp '^nroot can run containers here'
}

@test "package: man finds every installed page" {
    need_installed
    command -v man >/dev/null || skip "man (man-db) is not installed"
    local page
    for page in nroot nroot-run nroot-exec nroot-info nroot-rootless; do
        run man -w "$page"
        [ "$status" = 0 ] || fail "man -w $page: $output"
        assert_output --regexp "^/usr/share/man/man[17]/$page\.[17]\.gz$"
    done
    run env MANWIDTH=80 man -P cat nroot-run
    assert_output --partial 'OPTIONS'
}

@test "package: bash, zsh and fish find the installed completions" {
    need_installed
    local f=/usr/share/bash-completion/completions/nroot
    [ -f "$f" ] || fail "no $f"
    run bash -c 'source "$1"; COMP_WORDS=(nroot r); COMP_CWORD=1; _nroot; printf "%s\n" "${COMPREPLY[@]}"' sh "$f"
    assert_line run
    assert_line rmi
    if command -v zsh >/dev/null; then
        # zsh's own fpath, without any rc file, must reach the function
        run zsh -fc 'autoload -Uz +X _nroot && whence -v _nroot'
        [ "$status" = 0 ] || fail "zsh cannot autoload _nroot: $output"
        assert_output --partial /usr/share/zsh/vendor-completions/_nroot
    fi
    if command -v fish >/dev/null; then
        # (not --no-config: it also empties fish_complete_path)
        run fish -c 'complete -C "nroot ru"'
        [ "$status" = 0 ] || fail "fish: $output"
        assert_output --regexp '(^|[[:space:]])run([[:space:]]|$)'
    fi
}

@test "package: make install puts everything under PREFIX in DESTDIR, and make uninstall takes it away" {
    skip_unless_mode subids  # one build is enough: it does not depend on the mode
    need_tool make
    need_tool cc
    local src=$BATS_TEST_TMPDIR/src dest=$BATS_TEST_TMPDIR/dest p=/opt/nroot f
    mkdir -p "$src"
    cp -a "$REPO_DIR"/{Makefile,README.md,src,include,man,completions} "$src/"
    run make -C "$src" -j2 -s install PREFIX=$p DESTDIR="$dest"
    [ "$status" = 0 ] || fail "make install failed: $output"
    for f in bin/nroot libexec/nroot/nroot-unpack libexec/nroot/nroot-pull share/man/man1/nroot.1 \
             share/man/man1/nroot-run.1 share/man/man7/nroot-rootless.7 \
             share/bash-completion/completions/nroot share/zsh/site-functions/_nroot \
             share/fish/vendor_completions.d/nroot.fish; do
        [ -f "$dest$p/$f" ] || fail "make install did not install $p/$f"
    done
    [ -z "$(find "$dest" -path "$dest$p" -prune -o -type f -print)" ] ||
        fail "make install wrote outside PREFIX: $(find "$dest" -path "$dest$p" -prune -o -type f -print)"
    # the compiled-in helper path is PREFIX's, and the installed binary works
    grep -qaF "$p/libexec/nroot" "$dest$p/bin/nroot" || fail "the binary does not know $p/libexec/nroot"
    NROOT=$dest$p/bin/nroot
    unset NROOT_UNPACK
    run_nroot 0 run --net=none "$IMAGES/rootfs.tar" cat /data/unchanged.txt
    assert_output original
    run make -C "$src" -s uninstall PREFIX=$p DESTDIR="$dest"
    [ "$status" = 0 ] || fail "make uninstall failed: $output"
    run find "$dest" -type f
    assert_output ''
}

@test "package: nroot-slurm holds the SPANK plugin, its helper, the plugstack.conf snippet and nroot-slurm(8)" {
    local c=$REPO_DIR/packaging/debian/control
    run sed -n '/^Package: nroot-slurm$/,/^Description/p' "$c"
    assert_output --regexp 'Depends:[^:]*nroot \(= \$\{binary:Version\}\)'
    run grep -E '^(BuildRequires: +slurm-devel|%package slurm|%files slurm)' "$REPO_DIR/packaging/rpm/nroot.spec"
    assert_line '%package slurm'
    assert_line '%files slurm'
    local deb
    deb=$(ls "$REPO_DIR"/build/deb/nroot-slurm_*.deb 2>/dev/null | head -1)
    if [ -n "$deb" ]; then
        run dpkg-deb -c "$deb"
        assert_output --partial ./usr/lib/nroot/spank_nroot.so
        assert_output --partial ./usr/lib/nroot/nroot-spank-exec
        assert_output --partial ./etc/slurm/plugstack.conf.d/nroot.conf
        assert_output --partial ./usr/share/man/man8/nroot-slurm.8.gz
        run sh -c "dpkg-deb --fsys-tarfile '$deb' | tar -xOf - ./etc/slurm/plugstack.conf.d/nroot.conf"
        assert_line 'optional /usr/lib/nroot/spank_nroot.so nroot=/usr/bin/nroot'
        run dpkg-deb -c "$(ls "$REPO_DIR"/build/deb/nroot_*.deb | head -1)"
        refute_output --partial spank_nroot
    fi
    if command -v dpkg-query >/dev/null && dpkg-query -W nroot-slurm >/dev/null 2>&1; then
        run dpkg-query -L nroot-slurm
        assert_line /usr/lib/nroot/spank_nroot.so
        assert_line /etc/slurm/plugstack.conf.d/nroot.conf
    fi
}
