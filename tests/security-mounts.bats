#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Security of what is mounted (issue 12, items 2 and 15): the
# fuse-overlayfs daemon lives outside the container, volumes under the
# tmpfs directories work with --read-only, and with SYS_ADMIN the :ro
# volumes and the /proc masks stay as they are.

load helpers

need_fuse() {
    fuse_usable || skip "fuse-overlayfs: $FUSE_WHY"
}

# a process is gone, or a zombie nobody reaps (its parent, nroot, was killed)
gone_or_zombie() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$st" ] || [ "$st" = Z ]
}

@test "security-mounts: no fuse-overlayfs process is visible inside an --overlay=fuse container" {
    need_fuse
    nrun --overlay=fuse "$IMG" sh -c 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(cat $p/comm)"; done'
    refute_output --partial fuse-overlayfs
    # the container's own processes are there: the listing worked
    assert_line "1 nroot-init"
}

@test "security-mounts: with SYS_PTRACE, no /proc/N/root inside an --overlay=fuse container reaches the host" {
    need_fuse
    local marker=$BATS_TEST_TMPDIR/host-marker
    echo host >"$marker"
    nrun --overlay=fuse --cap-add=SYS_PTRACE "$IMG" sh -c '
        for p in /proc/[0-9]*; do
            test -e "$p/root$1" && echo "reached through $p ($(cat $p/comm))"
            echo pwned 2>/dev/null >"$p/root$1.w" && echo "wrote through $p"
        done
        echo done' sh "$marker"
    assert_output "done"
    [ ! -e "$marker.w" ] || fail "the container wrote $marker.w on the host"
}

@test "security-mounts: the fuse-overlayfs daemon cannot be stopped from inside" {
    need_fuse
    # SIGSTOP to every process but the shell's own: the daemon, if it can
    # be reached, is resumed at once so that the container's files work
    nrun --overlay=fuse "$IMG" sh -c '
        for p in /proc/[0-9]*; do
            p=${p#/proc/}
            [ "$p" = $$ ] || [ "$p" = 1 ] && continue
            c=$(cat /proc/$p/comm 2>/dev/null) || continue
            [ "$c" = fuse-overlayfs ] || continue
            kill -STOP "$p" && echo "stopped $p" && kill -CONT "$p"
        done
        ls / >/dev/null && echo files-work'
    assert_output "files-work"
}

@test "security-mounts: SIGKILL of nroot leaves no fuse-overlayfs daemon and no mount behind" {
    need_fuse
    start_nroot "$BATS_TEST_TMPDIR/out" run --overlay=fuse --net=none "$IMG" nr-test sleep 30
    local daemon=
    wait_for 100 eval 'daemon=$(pgrep -P "$NROOT_PID" -x fuse-overlayfs)' ||
        fail "no fuse-overlayfs daemon as nroot's child: $(cat "$BATS_TEST_TMPDIR/out.err")"
    kill -9 "$NROOT_PID"
    wait_for 100 gone_or_zombie "$daemon" || fail "fuse-overlayfs ($daemon) outlived nroot"
    ! grep -q fuse-overlayfs /proc/self/mountinfo || fail "a fuse mount is left: $(grep fuse /proc/self/mountinfo)"
}

@test "security-mounts: a fuse-overlayfs that fails is reported in one line" {
    need_fuse
    local bin=$BATS_TEST_TMPDIR/bin
    mkdir -p "$bin"
    printf '#!/bin/sh\necho "a warning" >&2\necho "fuse: cannot mount here" >&2\nexit 1\n' >"$bin/fuse-overlayfs"
    chmod +x "$bin/fuse-overlayfs"
    PATH=$bin:$PATH run_nroot 125 run --overlay=fuse --net=none "$IMG" true
    assert_nroot_error "fuse-overlayfs failed: fuse: cannot mount here"
}

@test "security-mounts: a named --overlay=fuse container keeps its layer and exports it when stopped" {
    need_fuse
    nrun --name keep --overlay=fuse --net=none "$IMG" sh -c 'echo kept > /data/kept.txt; head -c 1048576 /dev/zero > /data/big'
    nrun --name keep --net=none "$IMG" sh -c 'cat /data/kept.txt; wc -c < /data/big'
    assert_output "kept
1048576"
    run_nroot 0 export -o "$BATS_TEST_TMPDIR/keep.tar" keep
    tar -xOf "$BATS_TEST_TMPDIR/keep.tar" ./data/kept.txt >"$BATS_TEST_TMPDIR/kept"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/kept")" "kept"
    ! pgrep -P $$ -x fuse-overlayfs >/dev/null || fail "a fuse-overlayfs daemon outlived export"
}

@test "security-mounts: volumes under /tmp, /run, /var/tmp and /dev/shm, with --read-only and without" {
    local vol=$BATS_TEST_TMPDIR/vol d ro
    mkdir -p "$vol"
    echo vol >"$vol/f"
    echo file >"$BATS_TEST_TMPDIR/file"
    for ro in "" --read-only; do
        for d in /tmp/vol /run/vol /var/tmp/vol /dev/shm/vol; do
            nrun $ro --net=none -v "$vol:$d" -v "$BATS_TEST_TMPDIR/file:$d-file/f:ro" "$IMG" \
                sh -c 'cat "$1/f" "$1-file/f"' sh "$d"
            assert_output "vol
file"
        done
    done
    # a mount point the image lacks on the read-only root comes from
    # nroot's skeleton layer; the root stays read-only
    nrun --read-only --net=none -v "$vol:/data/newdir/x" "$IMG" sh -c 'cat /data/newdir/x/f; touch /data/y 2>/dev/null || echo read-only'
    assert_output "vol
read-only"
}

# a probe for mount(2), umount2(2) and mount_setattr(2), static, bound in
build_mount_probe() {
    PROBE=$BATS_FILE_TMPDIR/mount-probe
    [ -x "$PROBE" ] && return 0
    need_tool gcc
    cat >"$BATS_FILE_TMPDIR/mount-probe.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
/* mount-probe OP PATH: prints "OP PATH ok" or "OP PATH ERRNO-NAME" */
int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const char *op = argv[1], *p = argv[2];
    int r = -1;
    if (!strcmp(op, "remount-rw"))
        r = mount(NULL, p, NULL, MS_REMOUNT | MS_BIND, NULL);
    else if (!strcmp(op, "remount-suid"))
        r = mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
    else if (!strcmp(op, "setattr-rw")) {
        struct mount_attr a = { .attr_clr = MOUNT_ATTR_RDONLY };
        r = (int)syscall(SYS_mount_setattr, AT_FDCWD, p, 0, &a, sizeof a);
    } else if (!strcmp(op, "umount"))
        r = umount2(p, MNT_DETACH);
    else if (!strcmp(op, "tmpfs"))
        r = mount("t", p, "tmpfs", 0, NULL);
    printf("%s %s %s\n", op, p, r == 0 ? "ok" : strerrorname_np(errno));
    return 0;
}
C
    gcc -static -O2 -o "$PROBE" "$BATS_FILE_TMPDIR/mount-probe.c" || skip "cannot build a static probe"
}

@test "security-mounts: with SYS_ADMIN, :ro volumes cannot be made writable or unmounted" {
    build_mount_probe
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir -p "$vol"
    echo orig >"$vol/f"
    nrun --net=none --cap-add=SYS_ADMIN -v "$PROBE:/probe:ro" -v "$vol:/vol:ro" "$IMG" sh -c '
        /probe remount-rw /vol; /probe setattr-rw /vol
        echo changed 2>/dev/null >/vol/f
        /probe umount /vol; /probe umount /probe
        cat /vol/f'
    assert_line --index 0 --regexp '^remount-rw /vol (EPERM|EACCES)$'
    assert_line --index 1 --regexp '^setattr-rw /vol (EPERM|EACCES)$'
    assert_line --index 2 --regexp '^umount /vol (EINVAL|EPERM)$'
    assert_line --index 3 --regexp '^umount /probe (EINVAL|EPERM)$'
    assert_line --index 4 "orig"
    assert_equal "$(cat "$vol/f")" "orig"
}

@test "security-mounts: with SYS_ADMIN, the /proc and /sys masks and read-only /proc/sys stay" {
    build_mount_probe
    local f paths=()
    for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /sys/firmware; do
        [ -e "$f" ] && paths+=("$f")
    done
    nrun --net=none --cap-add=SYS_ADMIN -v "$PROBE:/probe:ro" "$IMG" sh -c '
        for f in "$@"; do /probe umount $f; done
        /probe remount-rw /proc/sys; /probe setattr-rw /proc/sys; /probe umount /proc/sys
        /probe umount /proc; /probe umount /dev; /probe umount /etc/hosts
        nr-test write /proc/sys/net/ipv4/ip_default_ttl; true' sh "${paths[@]}"
    refute_output --regexp ' ok$'
    assert_line --regexp '^(EROFS|EACCES)$'
    assert_line "remount-rw /proc/sys EPERM"
}

@test "security-mounts: with SYS_ADMIN the payload still mounts in its own mount namespace" {
    build_mount_probe
    nrun --net=none --cap-add=SYS_ADMIN -v "$PROBE:/probe:ro" "$IMG" sh -c '
        mkdir -p /mnt/t && /probe tmpfs /mnt/t && echo x > /mnt/t/f && cat /mnt/t/f; id -u'
    assert_output "tmpfs /mnt/t ok
x
0"
}
