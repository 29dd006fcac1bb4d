#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# ctr-config.bats — a named container's config keeps the options it was
# made with as data (format 1: one key per option): start runs them again,
# exec and rm read them; a config of the nroot before (format 0: the
# canonical `run` arguments) still starts; a damaged one is one line, 125.

load helpers

teardown() {
    teardown_containers
}

# what the probe prints: every option a container can be given, seen from inside
PROBE='hostname; echo "A=$A F=$FROM_FILE"; pwd; cat /vol/f
touch /written 2>/dev/null && echo root-writable || echo root-read-only
awk '"'"'$2 == "/vol" { split($4, o, ","); print $2 "-" o[1] }'"'"' /proc/self/mounts
grep -E "^(CapBnd|Seccomp):" /proc/self/status; ls /sys/class/net'

# the user the probe runs as: another one where subordinate ids exist
probe_user() {
    if [ "$NROOT_TEST_MODE" = single ]; then echo 0:0; else echo 1000:1000; fi
}

config_of() { echo "$STORE/containers/$1/config"; }

@test "ctr-config: a container made, stopped and started keeps every option" {
    mkdir "$BATS_TEST_TMPDIR/vol"
    echo on-the-volume >"$BATS_TEST_TMPDIR/vol/f"
    echo 'FROM_FILE=from-file' >"$BATS_TEST_TMPDIR/env"
    # root (the image's owner): only --read-only keeps it from writing /
    run_nroot 0 run --name all --net=none --hostname optbox -e A=1 --env-file "$BATS_TEST_TMPDIR/env" \
        -w /tmp -v "$BATS_TEST_TMPDIR/vol:/vol:ro" --read-only \
        --cap-drop ALL --cap-add SYS_CHROOT --cap-add KILL --security-opt seccomp=unconfined \
        --root-emulation=off "$IMG" sh -c "$PROBE"
    local first=$output
    [ "$(sed -n 1p <<<"$first")" = optbox ] || fail "no hostname: $first"
    assert_line "A=1 F=from-file"
    assert_line /tmp
    assert_line on-the-volume
    assert_line root-read-only
    assert_line /vol-ro
    assert_line "CapBnd:	0000000000040020"
    assert_line --regexp '^Seccomp:[[:space:]]+0$'
    assert_line lo
    refute_line tap0
    # the config keeps them as data, not as arguments
    file_has "$(config_of all)" '^version=1$' || fail "no version: $(cat "$(config_of all)")"
    file_has "$(config_of all)" '^net=none$' || fail "no net: $(cat "$(config_of all)")"
    file_has "$(config_of all)" '^root_emulation=off$' || fail "no root_emulation: $(cat "$(config_of all)")"
    ! file_has "$(config_of all)" '^arg=' || fail "arguments kept: $(cat "$(config_of all)")"

    # stopped (it ended), started in the foreground: the same, word for word
    run_nroot 0 start -a all
    assert_equal "$output" "$first"
    # in the background, with its output in the log
    run_nroot 0 start all
    run_nroot 0 wait all
    assert_output 0
    run_nroot 0 logs all
    assert_equal "$output" "$first"
    run_nroot 0 rm all
    [ ! -e "$STORE/containers/all" ] || fail "rm left the container's files"
}

@test "ctr-config: a container restarted keeps its command's words and its user; exec its env, workdir and volumes" {
    mkdir "$BATS_TEST_TMPDIR/vol"
    echo on-the-volume >"$BATS_TEST_TMPDIR/vol/f"
    local u
    u=$(probe_user)
    run_nroot 0 run -d --name up --net=none -e 'SPACED=a  b' -w /vol -u "$u" \
        -v "$BATS_TEST_TMPDIR/vol:/vol" "$IMG" sh -c 'echo "$1|$2|$(id -u)" > /tmp/words; exec sleep 1000' \
        sh 'one two' ''
    run_nroot 0 stop up
    run_nroot 0 start up
    run_nroot 0 exec up sh -c 'cat /tmp/words; echo "$SPACED"; pwd; id -u; cat /vol/f'
    assert_line --index 0 "one two||${u%:*}"
    assert_line --index 1 'a  b'
    assert_line --index 2 /vol
    assert_line --index 3 "${u%:*}"
    assert_line --index 4 on-the-volume
    run_nroot 0 rm -f up
}

@test "ctr-config: published ports and the network come back with start" {
    [ -c /dev/net/tun ] && [ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
        skip "/dev/net/tun is not read-writable by $(id -un)"
    local lo p
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || lo=0
    p=$(( 10000 + ($$ * 17 + BATS_TEST_NUMBER * 103) % (${lo:-0} > 12000 ? lo - 10000 : 30000) ))
    run_nroot 0 run -d --name web -p "127.0.0.1:$p:8080" --host-loopback "$IMG" \
        httpd -f -p 8080 -h /etc
    wait_for 100 busybox wget -q -O /dev/null "http://127.0.0.1:$p/hostname" || fail "no answer on $p"
    run_nroot 0 stop web
    ! busybox wget -q -O /dev/null -T 2 "http://127.0.0.1:$p/hostname" 2>/dev/null ||
        fail "still answering after stop"
    file_has "$(config_of web)" "^port.0.spec=127.0.0.1:$p:8080\$" || fail "$(cat "$(config_of web)")"
    run_nroot 0 start web
    wait_for 100 busybox wget -q -O /dev/null "http://127.0.0.1:$p/hostname" ||
        fail "the port did not come back on start"
    run_nroot 0 rm -f web
}

# the config as the nroot before format 1 wrote it (b1b35d5, src/container.c):
# the record, then the canonical `run` arguments, IMAGE as the image key
write_old_config() {   # NAME ID KEY
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir -p "$STORE/containers/$1"
    printf '%s\n' "id=$2" "name=$1" "image=$IMG" "image_key=$3" "created=1700000000" \
        "tty=0" "interactive=0" "cmd=sh" "cmd=-c" 'cmd=echo "$OLD"; hostname; pwd; cat /vol/f' \
        "arg=run" "arg=--volume=$vol:/vol:ro" "arg=--overlay=auto" "arg=--workdir=/vol" \
        "arg=--userns=auto" "arg=--cap-drop=ALL" "arg=--cap-add=CAP_CHOWN" "arg=--env=OLD=yes" \
        "arg=--hostname=oldbox" "arg=--net=none" "arg=$3" "arg=--" "arg=sh" "arg=-c" \
        'arg=echo "$OLD"; hostname; pwd; cat /vol/f; grep CapBnd /proc/self/status' \
        >"$(config_of "$1")"
}

@test "ctr-config: a container whose config the nroot before wrote (format 0) starts, and is rewritten" {
    mkdir "$BATS_TEST_TMPDIR/vol"
    echo old-volume >"$BATS_TEST_TMPDIR/vol/f"
    # the image key this store gives the image
    nrun --name probe --net=none "$IMG" true
    local key
    key=$(sed -n 's/^image_key=//p' "$(config_of probe)")
    run_nroot 0 rm probe
    write_old_config old a1b2c3d4e5f6 "$key"

    run_nroot 0 ps -a
    assert_line --regexp '^old +a1b2c3d4e5f6 '
    run_nroot 0 start -a old
    assert_equal "$output" "$(printf '%s\n' yes oldbox /vol old-volume 'CapBnd:	0000000000000001')"
    # written anew in the current format, with the same id and options
    file_has "$(config_of old)" '^version=1$' || fail "not rewritten: $(cat "$(config_of old)")"
    file_has "$(config_of old)" '^id=a1b2c3d4e5f6$' || fail "another id: $(cat "$(config_of old)")"
    run_nroot 0 start -a old
    assert_equal "$output" "$(printf '%s\n' yes oldbox /vol old-volume 'CapBnd:	0000000000000001')"

    # exec and rm read a format-0 config too
    run_nroot 0 run -d --name old2 --net=none "$IMG" sleep 1000
    local id
    id=$(sed -n 's/^id=//p' "$(config_of old2)")
    write_old_config old2 "$id" "$key"
    run_nroot 0 exec -w / old2 sh -c 'echo "$OLD"; pwd'
    assert_equal "$output" "$(printf '%s\n' yes /)"
    run_nroot 0 rm -f old2 old
    [ ! -e "$STORE/containers/old" ] && [ ! -e "$STORE/containers/old2" ] ||
        fail "rm left files: $(ls "$STORE/containers")"
}

@test "ctr-config: a damaged config is one line and 125 for start and exec, nothing is lost, rm -f removes it" {
    nrun --name d --net=none "$IMG" sh -c 'echo kept > /kept'
    local cfg good bad
    cfg=$(config_of d)
    good=$BATS_TEST_TMPDIR/config.good
    cp "$cfg" "$good"
    for bad in 'version=2' 'version=x' 'version=' 'net=bogus' 'userns=root' 'overlay=both' \
               'caps=0xZZ' 'caps=12' 'read_only=yes' 'rm=2' 'workdir=tmp' 'user=a b' \
               'hostname=a/b' 'env==x' 'env=NOVALUE' 'seccomp=p.json' 'volume.0.src=relative' \
               'volume.0.ro=maybe' 'volume.99999.src=/x' 'volume.x.src=/x' 'volume.2.dst=/x' \
               'port.0.host_port=70000' 'port.0.proto=sctp' 'port.0.host_ip=not-an-ip' \
               'port.0.spec=1:2' 'net=container:' 'net=container:-x' 'net=container:a/b' \
               'memory=1' 'memory=1g' 'memory_swap=-2' 'memory_swap=1073741824' \
               'cpu_quota=5' 'cpu_shares=1' 'cpu_weight=0' 'pids_limit=0' 'pids_limit=x' \
               'net=bad/name' 'net=web' 'network_alias=a b' 'network_alias=web1'; do
        cp "$good" "$cfg"
        echo "$bad" >>"$cfg"
        run_nroot 125 start -a d
        assert_nroot_error "containers/d/config' "
    done
    # a config without its caps, or of no known format
    grep -v '^caps=' "$good" >"$cfg"
    run_nroot 125 start d
    assert_nroot_error "containers/d/config' is damaged: it has no 'caps'"
    cp "$good" "$cfg"
    echo 'version=7' >>"$cfg"
    run_nroot 125 start d
    assert_nroot_error "containers/d/config' is of format 7, of a newer nroot"

    # nothing was lost: the good config starts the same container
    cp "$good" "$cfg"
    run_nroot 0 start -a d
    run_nroot 0 run --name d --net=none "$IMG" cat /kept
    assert_output kept

    # exec of a running container whose config was damaged meanwhile
    run_nroot 0 run -d --name live --net=none "$IMG" sleep 1000
    cp "$(config_of live)" "$BATS_TEST_TMPDIR/live.good"
    echo 'net=bogus' >>"$(config_of live)"
    run_nroot 125 exec live true
    assert_nroot_error "containers/live/config' is damaged: the value of 'net' is not valid"
    cp "$BATS_TEST_TMPDIR/live.good" "$(config_of live)"
    run_nroot 0 rm -f live

    # rm -f removes a damaged one
    echo 'net=bogus' >>"$cfg"
    run_nroot 125 rm d
    assert_nroot_error
    run_nroot 0 rm -f d
    assert_output d
    [ ! -e "$STORE/containers/d" ] || fail "the damaged container is still there"
}

@test "ctr-config: --rm is kept: a container whose nroot was killed is removed when start's run ends" {
    run_nroot 0 run -d --rm --name r --net=none "$IMG" \
        sh -c 'test -e /once && exit 0; touch /once; exec sleep 1000'
    local id pid
    id=$(sed -n 's/^id=//p' "$(config_of r)")
    pid=$(sed -n 's/^pid=//p' "$XDG_RUNTIME_DIR/nroot/containers/$id/state")
    kill -9 "$pid"
    wait_for 50 eval '"$NROOT" ps -a | grep -q "Exited (unknown)"' || fail "$("$NROOT" ps -a)"
    [ -e "$STORE/containers/r" ] || fail "removed although its nroot was killed"
    run_nroot 0 start -a r
    [ ! -e "$STORE/containers/r" ] || fail "start's run did not remove it"
}
