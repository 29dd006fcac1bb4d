#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# What the start-up does to be fast must not show: the CPUs the command may
# run on (the child and aside.c's thread start on other CPUs than their
# creators, then take back the whole set), and the exec looked up ahead by
# that thread (a hostile image's command: a FIFO, loops, endless lines).
# --net=host has no such thread: the same command there is the reference.
# The look-ahead only fills the kernel's caches: that it ran shows in
# bench/ab, not here; here, that it changes nothing and never hangs.

load helpers

cpus_of() { awk '/^Cpus_allowed_list:/ { print $2 }' "$1"; }
# `nroot run ARGS...`: its status and what it printed (stdout and stderr)
outcome() {
    local o
    o=$(timeout -k 5 "$NROOT_TEST_TIMEOUT" "$NROOT" run "$@" 2>&1)
    echo "$? $o"
}

@test "startup: the command and PID 1 may run on the CPUs nroot may run on" {
    local mine
    mine=$(cpus_of /proc/self/status)
    nrun "$IMG" sh -c 'cat /proc/self/status /proc/1/status' >/dev/null
    run grep -c "^Cpus_allowed_list:[[:space:]]*$mine\$" <<<"$output"
    assert_output 2
    # on one CPU of them: that one, in every kind of start
    local one=${mine%%[-,]*} opts
    for opts in "" "--userns=single" "--net=host" "--cap-add=SYS_ADMIN" "--security-opt=seccomp=unconfined"; do
        # shellcheck disable=SC2086 # opts: words
        run timeout 30 taskset -c "$one" "$NROOT" run $opts "$IMG" \
            sh -c 'cat /proc/self/status /proc/1/status'
        assert_success
        run grep -c "^Cpus_allowed_list:[[:space:]]*$one\$" <<<"$output"
        assert_output 2 || fail "with '$opts'"
    done
}

@test "startup: more CPUs than one: the command's set is nroot's, not one without its CPU" {
    local n
    n=$(nproc)
    [ "$n" -ge 2 ] || skip "one CPU: nothing is moved"
    # the child and the thread begin on the other CPUs at every start:
    # one that kept them shows here
    local i
    for i in 1 2 3 4 5 6 7 8; do
        nrun "$IMG" sh -c 'grep ^Cpus_allowed_list: /proc/self/status'
        assert_output "Cpus_allowed_list:	$(cpus_of /proc/self/status)"
    done
}

@test "startup: commands the look-ahead meets end as they do without it" {
    local img
    img=$(copy_image)
    mkfifo "$img/usr/bin/nr-fifo"
    chmod 0755 "$img/usr/bin/nr-fifo"
    # a #! line longer than the page looked at, with no end
    { printf '#!'; printf '/x%.0s' {1..800}; } >"$img/usr/bin/nr-longline"
    # a script that is its own interpreter, and two that loop
    printf '#!/usr/bin/nr-self\n' >"$img/usr/bin/nr-self"
    printf '#!/usr/bin/nr-loop2\n' >"$img/usr/bin/nr-loop1"
    printf '#!/usr/bin/nr-loop1\n' >"$img/usr/bin/nr-loop2"
    # an ELF file whose interpreter is itself, and a script whose
    # interpreter is missing
    python3 - "$img/usr/bin/nr-elfself" <<'PY'
import struct, sys
interp = b"/usr/bin/nr-elfself\0"
eh = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 2, 62, 1,
                 0x400000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
ph = struct.pack("<IIQQQQQQ", 3, 4, 120, 0, 0, len(interp), len(interp), 1)
open(sys.argv[1], "wb").write(eh + ph + interp)
PY
    printf '#!/nonexistent/sh\necho no\n' >"$img/usr/bin/nr-nointerp"
    printf '#!/bin/sh\necho script ok\n' >"$img/usr/bin/nr-script"
    mkdir -p "$img/usr/local/bin/nr-script" # a directory earlier in PATH
    chmod 0755 "$img"/usr/bin/nr-*
    ln -s nr-dangling-target "$img/usr/bin/nr-dangling"
    local c want got
    for c in nr-fifo nr-longline nr-self nr-loop1 nr-elfself nr-nointerp nr-script \
        nr-dangling /usr/bin/nr-fifo ./usr/bin/nr-script nr-missing; do
        want=$(outcome --net=host -w / "$img" "$c")
        got=$(outcome --net=none -w / "$img" "$c")
        assert_equal "$got" "$want" || fail "command $c"
    done
    nrun --net=none "$img" nr-script
    assert_output "script ok"
}

@test "startup: the look-ahead follows the container's PATH, and -e PATH" {
    local img
    img=$(copy_image)
    mkdir -p "$img/opt/a" "$img/opt/b"
    printf '#!/bin/sh\necho a\n' >"$img/opt/a/nr-which"
    printf '#!/bin/sh\necho b\n' >"$img/opt/b/nr-which"
    chmod 0755 "$img"/opt/*/nr-which
    nrun -e PATH=/opt/b:/opt/a:/bin "$img" nr-which
    assert_output b
    nrun -e PATH=/opt/a:/opt/b:/bin "$img" nr-which
    assert_output a
    # a volume over the directory the look-ahead found the command in
    # (mounted after it): the exec runs what the volume holds
    mkdir "$BATS_TEST_TMPDIR/vol"
    printf '#!/bin/sh\necho volume\n' >"$BATS_TEST_TMPDIR/vol/nr-which"
    chmod 0755 "$BATS_TEST_TMPDIR/vol/nr-which"
    nrun -e PATH=/opt/a:/bin -v "$BATS_TEST_TMPDIR/vol:/opt/a" "$img" nr-which
    assert_output volume
}
