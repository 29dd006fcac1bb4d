#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# What is mounted inside: /proc, /dev, /sys, /tmp, generated /etc files,
# and -v volumes.

load helpers

@test "mounts: /proc is a fresh procfs" {
    nrun "$IMG" nr-test mnt /proc
    assert_output --regexp '^proc '
}

@test "mounts: /proc/kcore, /proc/keys and /proc/timer_list are masked" {
    local f want="" paths=()
    for f in /proc/kcore /proc/keys /proc/timer_list; do
        # a file the host's kernel does not have cannot be masked
        [ -e "$f" ] || continue
        paths+=("$f")
        want+="$f 0"$'\n'
    done
    [ "${#paths[@]}" -gt 0 ] || skip "the host has none of /proc/kcore /proc/keys /proc/timer_list"
    nrun "$IMG" sh -c 'for f in "$@"; do
        test -e $f || { echo "$f missing"; continue; }
        echo "$f $(cat $f 2>/dev/null | wc -c)"; done' sh "${paths[@]}"
    assert_output "${want%$'\n'}"
}

@test "mounts: /proc/sys and /proc/sysrq-trigger are read-only" {
    # with NET_ADMIN the container's root may write its own net sysctls:
    # only the read-only mount stops it (EROFS instead of EINVAL for "x")
    nrun --cap-add NET_ADMIN "$IMG" sh -c 'nr-test write /proc/sys/net/ipv4/ip_default_ttl; nr-test mnt /proc/sys; true'
    assert_line --index 0 "EROFS"
    assert_line --index 1 --regexp '^proc ro[, ]'
    # reading still works
    nrun "$IMG" cat /proc/sys/kernel/ostype
    assert_output "Linux"
    if [ -e /proc/sysrq-trigger ]; then
        nrun "$IMG" nr-test mnt /proc/sysrq-trigger
        assert_output --regexp '^[a-z]+ ro[, ]'
    fi
}

@test "mounts: /dev is a tmpfs with null zero full random urandom tty" {
    nrun "$IMG" sh -c 'nr-test mnt /dev; for d in null zero full random urandom tty; do test -c /dev/$d && echo $d; done'
    assert_line --index 0 --regexp '^tmpfs '
    assert_equal "$(printf '%s\n' "${lines[@]:1}")" "null
zero
full
random
urandom
tty"
}

@test "mounts: the /dev devices work" {
    nrun "$IMG" sh -c '
        echo x > /dev/null && echo null-ok
        test "$(head -c 4 /dev/zero | od -An -tx1 | tr -d " ")" = 00000000 && echo zero-ok
        head -c 16 /dev/urandom | wc -c
        head -c 16 /dev/random | wc -c
        echo x 2>/dev/null > /dev/full || echo full-ok'
    assert_equal "$output" "null-ok
zero-ok
16
16
full-ok"
}

@test "mounts: /dev holds no host device besides the allowed ones" {
    nrun "$IMG" sh -c 'find /dev -type b; find /dev \( -type c -o -type b \) ! -path "/dev/pts/*" | sort'
    local l
    for l in "${lines[@]}"; do
        case $l in
            /dev/null | /dev/zero | /dev/full | /dev/random | /dev/urandom | /dev/tty | /dev/ptmx | /dev/console) ;;
            *) fail "unexpected device in /dev: $l" ;;
        esac
    done
}

@test "mounts: /dev/pts is the container's own devpts and ptys work" {
    nrun "$IMG" sh -c 'test -c /dev/ptmx || test -L /dev/ptmx && echo ptmx; nr-test mnt /dev/pts; nr-test pty'
    assert_line --index 0 "ptmx"
    assert_line --index 1 --regexp '^devpts '
    # a new devpts instance numbers from 0
    assert_line --index 2 "/dev/pts/0"
}

@test "mounts: /dev/shm is a writable tmpfs and /dev/mqueue is mqueue" {
    nrun "$IMG" sh -c 'nr-test mnt /dev/shm; nr-test write /dev/shm/x; nr-test mnt /dev/mqueue'
    assert_line --index 0 --regexp '^tmpfs rw'
    assert_line --index 1 "ok"
    assert_line --index 2 --regexp '^mqueue '
}

@test "mounts: /tmp is a writable tmpfs" {
    nrun "$IMG" sh -c 'nr-test mnt /tmp; nr-test write /tmp/x'
    assert_line --index 0 --regexp '^tmpfs rw'
    assert_line --index 1 "ok"
}

@test "mounts: /sys is a read-only sysfs" {
    nrun "$IMG" sh -c 'nr-test mnt /sys; nr-test write /sys/kernel/x; ls /sys/kernel >/dev/null && echo readable; true'
    assert_line --index 0 --regexp '^sysfs ro[, ]'
    assert_line --index 1 "EROFS"
    assert_line --index 2 "readable"
}

@test "mounts: /etc/hosts, /etc/hostname and /etc/resolv.conf are generated" {
    nrun --hostname box7 "$IMG" sh -c 'cat /etc/hostname; grep -w box7 /etc/hosts >/dev/null && echo hosts-ok; grep -w localhost /etc/hosts >/dev/null && echo localhost-ok; test -f /etc/resolv.conf && echo resolv-ok'
    assert_equal "$output" "box7
hosts-ok
localhost-ok
resolv-ok"
}

@test "mounts: /etc/hosts has the default hostname" {
    nrun "$IMG" sh -c 'h=$(hostname); grep -w "$h" /etc/hosts >/dev/null && echo ok'
    assert_output "ok"
}

@test "mounts: the generated /etc files do not leak into the image" {
    local img before
    img=$(copy_image)
    before=$(tree_sum "$img")
    nrun --hostname leak "$img" cat /etc/hostname
    assert_output "leak"
    assert_equal "$(tree_sum "$img")" "$before"
    [ ! -e "$img/etc/hostname" ] || fail "$img/etc/hostname appeared"
}

@test "mounts: only the container's own mount points are visible" {
    nrun "$IMG" awk '{ print $5 }' /proc/self/mountinfo
    local mp
    for mp in "${lines[@]}"; do
        case $mp in
            / | /proc | /proc/* | /dev | /dev/* | /sys | /sys/* | /tmp) ;;
            /etc/hosts | /etc/hostname | /etc/resolv.conf) ;;
            *) fail "unexpected mount point inside: $mp (all: ${lines[*]})" ;;
        esac
    done
    assert_line /
    assert_line /proc
    assert_line /tmp
}

@test "mounts: -v HOST:CTR binds read-write; new files belong to the caller" {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir "$vol"
    echo from-host >"$vol/in"
    nrun -v "$vol:/mnt/vol" "$IMG" sh -c 'cat /mnt/vol/in; echo from-container > /mnt/vol/out; mkdir /mnt/vol/d'
    assert_output "from-host"
    assert_equal "$(cat "$vol/out")" "from-container"
    assert_equal "$(stat -c %u "$vol/out")" "$(id -u)"
    assert_equal "$(stat -c %u "$vol/d")" "$(id -u)"
}

@test "mounts: -v HOST:CTR:rw is the same as no flag" {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir "$vol"
    nrun --volume "$vol:/mnt/vol:rw" "$IMG" sh -c 'echo x > /mnt/vol/out'
    assert_equal "$(cat "$vol/out")" "x"
}

@test "mounts: -v HOST:CTR:ro cannot be written" {
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir "$vol"
    echo keep >"$vol/in"
    nrun -v "$vol:/mnt/vol:ro" "$IMG" sh -c 'cat /mnt/vol/in; nr-test write /mnt/vol/new; nr-test write /mnt/vol/in; true'
    assert_equal "$output" "keep
EROFS
EROFS"
    assert_equal "$(ls -A "$vol")" "in"
    assert_equal "$(cat "$vol/in")" "keep"
}

@test "mounts: -v creates a missing mount point and does not touch the image" {
    local vol=$BATS_TEST_TMPDIR/vol img before
    mkdir "$vol"
    echo v >"$vol/f"
    img=$(copy_image)
    before=$(tree_sum "$img")
    nrun -v "$vol:/new/mount/point" "$img" cat /new/mount/point/f
    assert_output "v"
    assert_equal "$(tree_sum "$img")" "$before"
}

@test "mounts: -v binds a single file" {
    echo filedata >"$BATS_TEST_TMPDIR/file"
    nrun -v "$BATS_TEST_TMPDIR/file:/etc/myfile:ro" "$IMG" cat /etc/myfile
    assert_output "filedata"
}

@test "mounts: several -v in one run" {
    mkdir "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
    echo a >"$BATS_TEST_TMPDIR/a/f"
    echo b >"$BATS_TEST_TMPDIR/b/f"
    nrun -v "$BATS_TEST_TMPDIR/a:/mnt/a" -v "$BATS_TEST_TMPDIR/b:/mnt/b:ro" "$IMG" cat /mnt/a/f /mnt/b/f
    assert_output "a
b"
}

@test "mounts: -v with a missing host path fails with 125" {
    run_nroot 125 run -v /nonexistent-nroot-test:/x "$IMG" true
    assert_nroot_error 'nonexistent-nroot-test'
}

@test "mounts: malformed -v fails with 125" {
    local spec
    for spec in foo "" ":/x" "$BATS_TEST_TMPDIR:" "$BATS_TEST_TMPDIR:relative" \
                "$BATS_TEST_TMPDIR:/x:bogus" "$BATS_TEST_TMPDIR:/x:ro:rw"; do
        run_nroot 125 run -v "$spec" "$IMG" true
        assert_nroot_error
    done
}

@test "mounts: an image whose /dev and /proc are symlinks out cannot make nroot write on the host" {
    local img t1 t2
    img=$(copy_image)
    # host directories outside /tmp (the container's /tmp is a tmpfs that
    # would hide the same paths inside the image)
    t1=$(mktemp -d /var/tmp/nroot-escape-test.XXXXXX)
    t2=$(mktemp -d /var/tmp/nroot-escape-test.XXXXXX)
    mkdir -p "$img/$t1" "$img/$t2"
    rm -rf "$img/dev" "$img/proc"
    ln -s "$t1" "$img/dev"
    ln -s "$t2" "$img/proc"
    run_nroot 0 run "$img" sh -c 'echo x > /dev/null && test -c /dev/zero && test -r /proc/self/status && echo fine'
    local out=$output
    run_nroot 0 run --read-only "$img" sh -c 'test -c /dev/null && echo fine'
    local out_ro=$output
    run ls -A "$t1" "$t2"
    rm -rf "$t1" "$t2"
    assert_equal "$out" "fine"
    assert_equal "$out_ro" "fine"
    refute_output --regexp '^[^/]'
}
