#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Root emulation (--root-emulation, seccomp/rootemu.c): with only one id
# mapped, chown, the set*id calls, setgroups and mknod of devices succeed
# without effect; mkfifo stays real; off, they fail as before.  Most tests
# force --userns=single, so they hold in every mode; the ones about auto's
# choice look at the mode.  The Debian tests (dpkg, apt) use the minbase of
# tests/run (debian.tar.zst) and build their package with dpkg-deb.

load helpers

eval "helpers_$(declare -f setup)"

setup() {
    unset NROOT_ROOT_EMULATION SLURM_JOB_ID SLURM_STEP_ID
    helpers_setup
}

teardown() {
    teardown_containers
}

teardown_file() {
    teardown_debian_store
}

# a package whose maintainer script gives files to _apt and to uid 42,
# and a flat apt repository holding it: $REPO/nrtest_1.0_all.deb, Packages
make_repo() {
    need_tool dpkg-deb
    local pkg=$BATS_TEST_TMPDIR/pkg
    REPO=$BATS_TEST_TMPDIR/repo
    mkdir -p "$pkg/DEBIAN" "$pkg/usr/share/nrtest" "$REPO"
    cat >"$pkg/DEBIAN/control" <<'EOF'
Package: nrtest
Version: 1.0
Architecture: all
Maintainer: nroot tests <nroot@example.invalid>
Description: root emulation test package
 Its postinst chowns, as packages that add a system user do.
EOF
    cat >"$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
chown _apt:nogroup /usr/share/nrtest/file
chown 42:42 /usr/share/nrtest
echo postinst-ran >/usr/share/nrtest/done
EOF
    chmod 0755 "$pkg/DEBIAN/postinst"
    echo data >"$pkg/usr/share/nrtest/file"
    dpkg-deb --root-owner-group -b "$pkg" "$REPO/nrtest_1.0_all.deb" >/dev/null
    # the index apt-get update reads: dpkg-scanpackages if there, else
    # written from the control file (the same fields)
    if command -v dpkg-scanpackages >/dev/null; then
        (cd "$REPO" && dpkg-scanpackages . /dev/null >Packages 2>/dev/null)
    else
        {
            dpkg-deb -f "$REPO/nrtest_1.0_all.deb"
            echo "Filename: ./nrtest_1.0_all.deb"
            echo "Size: $(stat -c %s "$REPO/nrtest_1.0_all.deb")"
            echo "SHA256: $(sha256sum "$REPO/nrtest_1.0_all.deb" | cut -d' ' -f1)"
        } >"$REPO/Packages"
    fi
    grep -q '^Package: nrtest' "$REPO/Packages"
}

# ---------------------------------------------------------- x86_64 calls --

@test "rootemu: chown 1:1 succeeds and the file stays root's; setuid, setgroups and device mknod succeed, mkfifo is real" {
    nrun -q --userns=single "$IMG" sh -c '
        touch /x && chown 1:1 /x && echo chown=ok
        stat -c "%u:%g" /x
        mkfifo /fifo && stat -c "%F" /fifo
        mknod /null c 1 3 && echo mknod=ok
        [ -e /null ] || echo no-device
        mknod /fifo2 p && stat -c "%F" /fifo2
        id -u'
    assert_output "chown=ok
0:0
fifo
mknod=ok
no-device
fifo
0"
}

@test "rootemu: mknod c 0 0, the overlay whiteout the kernel lets anyone make, is made for real; b 0 0 is faked" {
    # on /tmp, a tmpfs: overlayfs itself refuses to make a whiteout
    nrun -q --userns=single --root-emulation=on "$IMG" sh -c '
        mknod /tmp/w c 0 0 && stat -c "%F %t:%T" /tmp/w
        mknod /tmp/b b 0 0 && echo blk=ok
        [ -e /tmp/b ] || echo no-blk'
    assert_output "character special file 0:0
blk=ok
no-blk"
}

@test "rootemu: --root-emulation=off: chown and device mknod fail as without it, mkfifo works" {
    run_nroot 0 run -q --userns=single --root-emulation=off "$IMG" sh -c '
        touch /x; chown 1:1 /x 2>&1; echo chown=$?
        mknod /null c 1 3 2>&1; echo mknod=$?
        mkfifo /fifo && stat -c "%F" /fifo'
    assert_line --partial "Invalid argument"
    assert_line "chown=1"
    assert_line --partial "Operation not permitted"
    assert_line "mknod=1"
    assert_line fifo
}

@test "rootemu: its filter is compiled once and cached, also beside seccomp=unconfined and a JSON profile" {
    local cache=$XDG_RUNTIME_DIR/nroot/seccomp opt f ino
    echo '{ "defaultAction": "SCMP_ACT_ALLOW" }' >"$BATS_TEST_TMPDIR/p.json"
    for opt in unconfined "$BATS_TEST_TMPDIR/p.json"; do
        rm -rf "$cache"
        nrun -q --userns=single --security-opt "seccomp=$opt" "$IMG" sh -c 'touch /x; chown 1:1 /x && echo faked'
        assert_output faked
        f=("$cache"/rootemu-*.bpf)
        [ -f "${f[0]}" ] || fail "seccomp=$opt: root emulation's filter was not cached"
        ino=$(stat -c %i "${f[0]}")
        # read from the cache, not compiled and written again
        nrun -q --userns=single --security-opt "seccomp=$opt" "$IMG" sh -c 'touch /x; chown 1:1 /x && echo faked'
        assert_output faked
        [ "$(stat -c %i "${f[0]}")" = "$ino" ] || fail "seccomp=$opt: the cached filter was written again"
    done
}

@test "rootemu: only what the container's root could do: --cap-drop CHOWN leaves chown failing, setuid still faked" {
    nrun -q --userns=single --cap-drop CHOWN "$IMG" sh -c '
        touch /x; chown 1:1 /x 2>/dev/null && echo chown=faked || echo chown=refused
        mknod /null c 1 3 2>/dev/null && echo mknod=faked || echo mknod=refused'
    assert_output "chown=refused
mknod=faked"
    nrun -q --userns=single --cap-drop ALL "$IMG" sh -c 'touch /x; chown 1:1 /x 2>/dev/null && echo faked || echo refused'
    assert_output refused
}

@test "rootemu: auto follows the mapping: on with a single id, off with subordinate ids (real chown); on forces it" {
    if [ "$NROOT_TEST_MODE" = single ]; then
        nrun -q "$IMG" sh -c 'touch /x && chown 1:1 /x && stat -c "%u:%g" /x'
        assert_output "0:0"
        return
    fi
    skip_unless_subids
    nrun -q "$IMG" sh -c 'touch /x && chown 1:1 /x && stat -c "%u:%g" /x'
    assert_output "1:1"
    nrun -q --root-emulation=on "$IMG" sh -c 'touch /x && chown 1:1 /x && stat -c "%u:%g" /x'
    assert_output "0:0"
}

@test "rootemu: keep-id is not emulated by auto: the command is your own id, and chown to root fails" {
    run_nroot 0 run -q --userns=keep-id "$IMG" sh -c 'touch /tmp/x; chown 0 /tmp/x 2>/dev/null; echo $?'
    assert_output 1
}

@test "rootemu: a command that starts as another user gets no emulation: -u and keep-id with on, exec -u" {
    local probe='touch /tmp/x; chown 0:0 /tmp/x 2>/dev/null && echo faked || echo refused; id -u'
    # keep-id: the command is your own id, without capabilities
    run_nroot 0 run -q --userns=keep-id --root-emulation=on "$IMG" sh -c "$probe"
    assert_line --index 0 refused
    skip_unless_subids
    nrun -q --root-emulation=on -u 1000 "$IMG" sh -c "$probe"
    assert_output "refused
1000"
    run_nroot 0 run -d -q --name re-user --root-emulation=on "$IMG" sleep 60
    run_nroot 0 exec -u 1000 re-user sh -c "$probe"
    assert_output "refused
1000"
    # root's commands in the same container keep it
    run_nroot 0 exec re-user sh -c "$probe"
    assert_output "faked
0"
}

@test "rootemu: a root command has the filter however its user is given: none, -u 0, -u 0:0, -u root" {
    # with no -u or a numeric 0 the set-up's thread loads it ahead, with a
    # name the command itself: the same filters either way, once
    local probe='touch /tmp/x; chown 1:1 /tmp/x && echo faked; id -u; grep "^Seccomp_filters:" /proc/self/status'
    for u in "" "-u 0" "-u 0:0" "-u root"; do
        # shellcheck disable=SC2086
        nrun -q --root-emulation=on $u "$IMG" sh -c "$probe"
        assert_output "faked
0
Seccomp_filters:	2"
    done
    # and none where the profile is off: the emulation alone
    nrun -q --root-emulation=on --security-opt seccomp=unconfined "$IMG" sh -c "$probe"
    assert_output "faked
0
Seccomp_filters:	1"
}

@test "rootemu: on with subordinate ids, a root command still gets the group and groups it asks for" {
    # the filter fakes setresgid and setgroups: loaded after the command's
    # own switch to its ids, which must really happen
    skip_unless_subids
    nrun -q --root-emulation=on -u 0:100 "$IMG" sh -c 'id -u; id -g; id -G'
    assert_output "0
100
100"
}

@test "rootemu: the single-id notice says root emulation, in its one line; off or -q, it does not" {
    skip_unless_mode single
    run_nroot 0 run "$IMG" true
    assert_equal "${#stderr_lines[@]}" 1
    [[ ${stderr_lines[0]} == "nroot: notice: "*"single-id mapping"*"root emulation makes chown and setuid succeed without effect"* ]] ||
        fail "notice: $stderr"
    run_nroot 0 run --root-emulation=off "$IMG" true
    assert_equal "${#stderr_lines[@]}" 1
    [[ ${stderr_lines[0]} != *"root emulation"* ]] || fail "notice with off: $stderr"
    run_nroot 0 run -q "$IMG" true
    assert_equal "$stderr" ""
}

@test "rootemu: NROOT_ROOT_EMULATION and nroot.conf set the default; the option wins, then the variable" {
    local probe='touch /x; chown 1:1 /x 2>/dev/null && echo faked || echo real'
    mkdir -p "$XDG_CONFIG_HOME/nroot"
    echo "root-emulation = off" >"$XDG_CONFIG_HOME/nroot/nroot.conf"
    nrun -q --userns=single "$IMG" sh -c "$probe"
    assert_output real
    NROOT_ROOT_EMULATION=on nrun -q --userns=single "$IMG" sh -c "$probe"
    assert_output faked
    NROOT_ROOT_EMULATION=on nrun -q --userns=single --root-emulation=off "$IMG" sh -c "$probe"
    assert_output real
    rm "$XDG_CONFIG_HOME/nroot/nroot.conf"
    NROOT_ROOT_EMULATION=off nrun -q --userns=single "$IMG" sh -c "$probe"
    assert_output real
    NROOT_ROOT_EMULATION=off nrun -q --userns=single --root-emulation=auto "$IMG" sh -c "$probe"
    assert_output faked
}

@test "rootemu: a bad value is one line and 125, from the option, the variable or nroot.conf" {
    run_nroot 125 run --root-emulation=maybe "$IMG" true
    assert_nroot_error "invalid value 'maybe' for --root-emulation: expected one of: auto on off"
    NROOT_ROOT_EMULATION=yes run_nroot 125 run "$IMG" true
    assert_nroot_error '^nroot: error: \$NROOT_ROOT_EMULATION: invalid value .yes.'
    mkdir -p "$XDG_CONFIG_HOME/nroot"
    echo "root-emulation = sometimes" >"$XDG_CONFIG_HOME/nroot/nroot.conf"
    run_nroot 125 run "$IMG" true
    assert_nroot_error "nroot.conf: root-emulation: invalid value 'sometimes'"
}

@test "rootemu: nroot info shows the default and where it comes from" {
    run_nroot 0 info
    assert_line --regexp '^root emulation +ok +auto \(the default\): (on|off), '
    NROOT_ROOT_EMULATION=off run_nroot 0 info
    assert_line --regexp '^root emulation +ok +off \(\$NROOT_ROOT_EMULATION\)'
    NROOT_ROOT_EMULATION=off run_nroot 0 info --format json
    assert_output --partial '"name": "root emulation", "state": "ok", "value": "off ($NROOT_ROOT_EMULATION)"'
}

# ------------------------------------------------- containers keep theirs --

@test "rootemu: a named container records its choice; start and exec get it, not the caller's default" {
    local probe='touch /x; chown 1:1 /x 2>/dev/null && echo faked || echo real'
    nrun -q --name re-off --userns=single --root-emulation=off "$IMG" sh -c "$probe"
    assert_output real
    grep -qx 'root_emulation=off' "$STORE/containers/re-off/config" ||
        fail "not recorded: $(cat "$STORE/containers/re-off/config")"
    NROOT_ROOT_EMULATION=on run_nroot 0 start -a re-off
    assert_output real

    # auto is recorded as it was decided
    nrun -q --name re-auto --userns=single "$IMG" true
    grep -qx 'root_emulation=on' "$STORE/containers/re-auto/config" ||
        fail "auto not recorded as on: $(cat "$STORE/containers/re-auto/config")"

    # exec: the running container's filter, whatever the environment says
    run_nroot 0 run -d -q --name re-exec --userns=single "$IMG" sleep 60
    NROOT_ROOT_EMULATION=off run_nroot 0 exec re-exec sh -c "$probe"
    assert_output faked
    run_nroot 0 run -d -q --name re-exec-off --userns=single --root-emulation=off "$IMG" sleep 60
    NROOT_ROOT_EMULATION=on run_nroot 0 exec re-exec-off sh -c "$probe"
    assert_output real
}

@test "rootemu: --join joiners get the creator's choice, not their own option" {
    export NROOT_JOIN_TIMEOUT=20
    local out=$BATS_TEST_TMPDIR/creator
    start_nroot "$out" run -q --join=rekey --userns=single --root-emulation=off "$IMG" \
        sh -c 'touch /x; echo up; sleep 30'
    # the creator first: a joiner that came before it would create the
    # container itself, with its own option
    wait_for 100 file_has "$out" '^up$' || fail "no start: $(cat "$out.err")"
    run_nroot 0 run -q --join=rekey --userns=single --root-emulation=on "$IMG" \
        sh -c 'touch /y; chown 1:1 /y 2>/dev/null && echo faked || echo real'
    assert_output real
}

# --------------------------------------------------------------- i386 ABI --

@test "rootemu: the i386 ABI (int 0x80): chown32, the 16-bit calls, setuid32, setgroups32 and mknod are faked too" {
    need_tool gcc
    local probe=$BATS_TEST_TMPDIR/probe32
    gcc -m32 -static -O2 -o "$probe" "$BATS_TEST_DIRNAME/helper/rootemu-probe.c" 2>"$BATS_TEST_TMPDIR/cc.err" ||
        skip "gcc -m32 -static cannot build here (gcc-multilib): $(tail -n 1 "$BATS_TEST_TMPDIR/cc.err")"
    nrun -q --userns=single -v "$probe:/probe:ro" "$IMG" sh -c 'touch /x; mkdir /tmp/n; /probe /x /tmp/n'
    local c
    for c in chown32 chown16 lchown16 fchown32 setgroups32 setresgid32 setgid32 setresuid32 \
        setuid32 setuid16 mknod_chr mknod_fifo mknod_whiteout getuid32; do
        assert_line "$c=0"
    done
    assert_line "owner=0:0"
    assert_line "dev=absent"
    assert_line "fifo=fifo"
    assert_line "whiteout=0:0"
    # off: the same calls fail, EINVAL (22) or EPERM (1)
    nrun -q --userns=single --root-emulation=off -v "$probe:/probe:ro" "$IMG" sh -c 'touch /x; mkdir /tmp/n; /probe /x /tmp/n'
    assert_line "chown32=-22"
    assert_line "setuid32=-22"
    assert_line "setgroups32=-1"
    assert_line "mknod_chr=-1"
    assert_line "fifo=fifo"
    assert_line "whiteout=0:0"
}

# ------------------------------------------------------------- Debian --

@test "rootemu: debian: chroot --userspec=1:1 / true, and dpkg -i of a package whose postinst chowns" {
    need_debian
    make_repo
    nrun -q --userns=single -v "$REPO:/repo:ro" "$DEBIAN" sh -c '
        chroot --userspec=1:1 / true && echo chroot=ok
        dpkg -i /repo/nrtest_1.0_all.deb >/dev/null && echo dpkg=ok
        cat /usr/share/nrtest/done
        stat -c "%n %u:%g" /usr/share/nrtest /usr/share/nrtest/file
        dpkg-query -W -f="\${Status}\n" nrtest'
    assert_output "chroot=ok
dpkg=ok
postinst-ran
/usr/share/nrtest 0:0
/usr/share/nrtest/file 0:0
install ok installed"
}

@test "rootemu: debian: apt-get install ./pkg.deb and apt-get update && apt-get install from a local repository, with apt's _apt sandbox" {
    need_debian
    make_repo
    nrun -q --userns=single --net=none -v "$REPO:/repo:ro" "$DEBIAN" sh -c '
        set -e
        apt-config dump APT::Sandbox::User
        cp /repo/nrtest_1.0_all.deb /tmp/
        cd /tmp && apt-get install -y ./nrtest_1.0_all.deb >/tmp/log 2>&1 || { cat /tmp/log; exit 1; }
        cat /usr/share/nrtest/done
        dpkg --purge nrtest >/dev/null
        echo "deb [trusted=yes] file:/repo ./" >/etc/apt/sources.list
        rm -f /etc/apt/sources.list.d/*
        { apt-get update && apt-get install -y nrtest; } >/tmp/log 2>&1 || { cat /tmp/log; exit 1; }
        dpkg-query -W -f="\${Status}\n" nrtest'
    assert_output 'APT::Sandbox::User "_apt";
postinst-ran
install ok installed'
}

@test "rootemu: debian: the apt drop-in is read-only: root inside cannot turn apt's checks back on" {
    need_debian
    nrun -q --userns=single "$DEBIAN" sh -c '
        f=/etc/apt/apt.conf.d/99nroot-root-emulation
        grep -c "Verify.*false" $f
        echo "APT::Sandbox::Verify::IDs \"true\";" 2>&1 >>$f | grep -o "Read-only file system"
        grep -c Verify $f'
    assert_output "2
Read-only file system
2"
    # --read-only: the mount point is in the skeleton over the image
    nrun -q --userns=single --read-only "$DEBIAN" grep -c Verify /etc/apt/apt.conf.d/99nroot-root-emulation
    assert_output 2
}

@test "rootemu: debian: the drop-in's mount point is not in a named container's layer, nor in its export" {
    need_debian
    local probe='echo x >/etc/apt/apt.conf.d/50mine; grep -c Verify /etc/apt/apt.conf.d/99nroot-root-emulation'
    nrun -q --name re-apt --userns=single "$DEBIAN" sh -c "$probe"
    assert_output 2
    local layer=$STORE/containers/re-apt/upper/etc/apt/apt.conf.d
    [ -e "$layer/50mine" ] || fail "the container's layer is not at $layer"
    [ ! -e "$layer/99nroot-root-emulation" ] || fail "the mount point is in the container's layer"
    run_nroot 0 export -o "$BATS_TEST_TMPDIR/re.tar" re-apt
    tar -tf "$BATS_TEST_TMPDIR/re.tar" >"$BATS_TEST_TMPDIR/list"
    grep -qx './etc/apt/apt.conf.d/50mine' "$BATS_TEST_TMPDIR/list" || fail "no 50mine: $(grep apt.conf.d "$BATS_TEST_TMPDIR/list")"
    ! grep -q '99nroot-root-emulation' "$BATS_TEST_TMPDIR/list" || fail "the export has the drop-in's mount point"
    # started again, it has the drop-in again
    run_nroot 0 start -a re-apt
    assert_output 2
}

@test "rootemu: debian: with --root-emulation=off, dpkg -i and apt-get update fail as today" {
    need_debian
    make_repo
    run_nroot 0 run -q --userns=single --root-emulation=off --net=none -v "$REPO:/repo:ro" "$DEBIAN" sh -c '
        dpkg -i /repo/nrtest_1.0_all.deb >/dev/null 2>&1; echo dpkg=$?
        echo "deb [trusted=yes] file:/repo ./" >/etc/apt/sources.list
        rm -f /etc/apt/sources.list.d/*
        apt-get update 2>&1 | grep "^E: Method"
        [ -e /etc/apt/apt.conf.d/99nroot-root-emulation ] && echo drop-in || echo no-drop-in'
    assert_line "dpkg=1"
    assert_line --partial "Failed to setgroups"
    assert_line "no-drop-in"
}
