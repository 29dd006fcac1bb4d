#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# network-cli.bats — `nroot network create|ls|inspect|rm|prune`: the
# records in STORE/networks, subnets (the first free default, the rules of
# --subnet), bad names and values (one line, 125, nothing changed),
# damaged records, and rm of a network in use refused (its lock held: by a
# container's nroot, faked here with flock(1)).  The containers on a
# network come from `run --net=NAME` (tests/network.bats): the tests that
# need one skip where this nroot has none.

load helpers

teardown() {
    teardown_containers
}

# field FIELD [INDEX]: a field of `network inspect`'s or `ls --format
# json`'s object INDEX (default 0) in $output, as JSON
field() {
    python3 -c '
import json, sys
v = json.loads(sys.stdin.read())
print(json.dumps(v[int(sys.argv[2])][sys.argv[1]]))' "$1" "${2:-0}" <<<"$output"
}

# the networks in the store, by their directories
stored() {
    ls -A "$STORE/networks" 2>/dev/null | tr '\n' ' '
}

# hold NETWORK's lock shared in the background, as a container's nroot
# does, until the test ends
hold_lock() {
    local lock=$STORE/networks/$1/lock
    [ -f "$lock" ] || fail "no lock file $lock"
    ( exec 9<"$lock"; flock -s 9; touch "$BATS_TEST_TMPDIR/held-$1"; exec sleep 1000 ) &
    BG_PIDS+=($!)
    HOLD_PID=$!
    wait_for 50 test -e "$BATS_TEST_TMPDIR/held-$1" || fail "flock did not take the lock"
}

# tests that run a container on a network: its way out is a tap device
need_run_net() {
    [ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
        skip "/dev/net/tun is not read-writable by $(id -un)"
}

@test "network-cli: create prints the name, ls shows it, the record is key=value data" {
    run_nroot 0 network create web
    assert_output web
    assert_equal "$stderr" ""
    run_nroot 0 network ls
    assert_line --index 0 --regexp '^NAME +SUBNET +INTERNAL +CONTAINERS$'
    assert_line --index 1 --regexp '^web +10\.89\.1\.0/24 +no +0$'
    [ "${#lines[@]}" = 2 ] || fail "ls printed more: $output"
    run cat "$STORE/networks/web/config"
    assert_line --index 0 version=1
    assert_line --index 1 name=web
    assert_line --index 2 subnet=10.89.1.0/24
    assert_line --index 3 internal=0
    assert_line --index 4 --regexp '^created=[0-9]+$'
    [ -f "$STORE/networks/web/lock" ] || fail "no lock file"
}

@test "network-cli: the default subnet is the first free 10.89.N.0/24, a freed one is taken again" {
    local n
    for n in a b c; do run_nroot 0 network create "$n"; done
    run_nroot 0 network create d --subnet 10.89.4.0/23 # takes 4 and 5
    run_nroot 0 network create e
    run_nroot 0 network inspect a b c e
    assert_equal "$(field subnet 0)" '"10.89.1.0/24"'
    assert_equal "$(field subnet 1)" '"10.89.2.0/24"'
    assert_equal "$(field subnet 2)" '"10.89.3.0/24"'
    assert_equal "$(field subnet 3)" '"10.89.6.0/24"'
    run_nroot 0 network rm b
    assert_output b
    run_nroot 0 network create f
    run_nroot 0 network inspect f
    assert_equal "$(field subnet)" '"10.89.2.0/24"'
}

@test "network-cli: concurrent creates get distinct subnets (the store lock)" {
    local i pids=()
    for i in 1 2 3 4 5 6; do
        "$NROOT" network create "par$i" >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || fail "a create failed: $(cat "$BATS_TEST_TMPDIR"/out*)"; done
    run_nroot 0 network ls --format json
    run python3 -c '
import json, sys
v = json.loads(sys.argv[1])
s = [n["subnet"] for n in v]
print(len(v), len(set(s)))' "$output"
    assert_output "6 6"
}

@test "network-cli: --subnet and --internal; inspect is a JSON array with the addresses of the subnet" {
    run_nroot 0 network create lan --subnet 192.168.77.0/24
    run_nroot 0 network create closed --internal --subnet 172.20.0.0/16
    run_nroot 0 network inspect lan closed
    assert_equal "$(field name 0)" '"lan"'
    assert_equal "$(field subnet 0)" '"192.168.77.0/24"'
    assert_equal "$(field gateway 0)" '"192.168.77.2"'
    assert_equal "$(field dns 0)" '"192.168.77.1"'
    assert_equal "$(field internal 0)" false
    assert_equal "$(field containers 0)" '[]'
    [[ $(field created 0) =~ ^\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\"$ ]] ||
        fail "created is not RFC 3339: $(field created 0)"
    assert_equal "$(field subnet 1)" '"172.20.0.0/16"'
    assert_equal "$(field internal 1)" true
    assert_equal "$(field gateway 1)" null # no way out
    assert_equal "$(field dns 1)" '"172.20.0.1"'
    run_nroot 0 network ls
    assert_line --regexp '^closed +172\.20\.0\.0/16 +yes +0$'
    assert_line --regexp '^lan +192\.168\.77\.0/24 +no +0$'
}

@test "network-cli: ls -q and ls --format json, sorted by name; an empty store lists nothing" {
    run_nroot 0 network ls -q
    assert_output ''
    run_nroot 0 network ls --format json
    assert_output '[]'
    run_nroot 0 network ls
    assert_output --regexp '^NAME +SUBNET +INTERNAL +CONTAINERS$'
    run_nroot 0 network create zeta
    run_nroot 0 network create alpha --internal
    run_nroot 0 network list -q
    assert_output "$(printf 'alpha\nzeta')"
    run_nroot 0 network ls --format json
    assert_equal "$(field name 0)" '"alpha"'
    assert_equal "$(field name 1)" '"zeta"'
    assert_equal "$(field internal 0)" true
    run_nroot 125 network ls --format yaml
    assert_nroot_error 'yaml'
}

@test "network-cli: bad names are one line and 125, and make nothing" {
    local name long
    long=$(printf 'n%.0s' {1..64})
    for name in a/b ../x none host slirp "$long" 'a b' .hidden _x 'x:y' ''; do
        run_nroot 125 network create "$name"
        assert_nroot_error 'invalid network name'
    done
    run_nroot 0 network create "${long:1}" # 63: the longest
    run_nroot 0 network ls -q
    assert_output "${long:1}"
}

@test "network-cli: bad subnets are one line and 125, and make nothing" {
    local s
    for s in 10.89.1.0 10.89.1.0/ 10.89.1/24 10.89.1.0/x 300.1.1.0/24 fd00::/64 'x' ''; do
        run_nroot 125 network create n --subnet "$s"
        assert_nroot_error 'A\.B\.C\.D/PREFIX'
    done
    for s in 10.89.0.0/15 10.89.1.0/29 10.0.0.0/8 10.89.1.0/32; do
        run_nroot 125 network create n --subnet "$s"
        assert_nroot_error '/16 to /28'
    done
    for s in 8.8.8.0/24 172.32.0.0/16 192.169.0.0/16 127.0.0.0/16; do
        run_nroot 125 network create n --subnet "$s"
        assert_nroot_error 'not a private range'
    done
    run_nroot 125 network create n --subnet 10.89.1.7/24
    assert_nroot_error 'host bits are set \(the network is 10\.89\.1\.0/24\)'
    for s in 10.0.2.0/24 10.0.0.0/16 10.0.2.64/26; do
        run_nroot 125 network create n --subnet "$s"
        assert_nroot_error '10\.0\.2\.0/24.*--net=slirp'
    done
    run_nroot 125 network create n --subnet
    assert_nroot_error
    [ -z "$(stored)" ] || fail "something was made: $(stored)"
}

@test "network-cli: a duplicate name or an overlapping subnet is refused, naming the other network" {
    run_nroot 0 network create web
    run_nroot 125 network create web
    assert_nroot_error "network 'web' already exists"
    run_nroot 125 network create web --subnet 10.90.0.0/24
    assert_nroot_error 'already exists'
    run_nroot 125 network create other --subnet 10.89.0.0/16
    assert_nroot_error "overlaps 10\.89\.1\.0/24 of network 'web'"
    run_nroot 125 network create other --subnet 10.89.1.128/25
    assert_nroot_error "network 'web'"
    run_nroot 0 network create other --subnet 10.89.2.0/25
    assert_equal "$(stored)" "other web "
    run_nroot 0 network inspect web
    assert_equal "$(field subnet)" '"10.89.1.0/24"'
}

@test "network-cli: usage errors are one line and 125" {
    run_nroot 125 network
    assert_nroot_error 'missing COMMAND'
    run_nroot 125 network bogus
    assert_nroot_error "unknown network command 'bogus'"
    run_nroot 125 network --bogus
    assert_nroot_error "unknown option '--bogus'"
    run_nroot 125 network create
    assert_nroot_error 'missing NAME'
    run_nroot 125 network create a b
    assert_nroot_error "unexpected argument 'b'"
    run_nroot 125 network ls extra
    assert_nroot_error "unexpected argument 'extra'"
    run_nroot 125 network prune extra
    assert_nroot_error
    run_nroot 125 network inspect
    assert_nroot_error 'missing NAME'
    run_nroot 125 network rm
    assert_nroot_error 'missing NAME'
    run_nroot 125 network create --internal=1 x
    assert_nroot_error
    run_nroot 125 network ls --subnet 10.89.1.0/24 # create's option
    assert_nroot_error "unknown option '--subnet'"
    [[ $(nroot_hint) == *"nroot network ls --help"* ]] || fail "hint: $(nroot_hint)"
    [ -z "$(stored)" ] || fail "something was made: $(stored)"
}

@test "network-cli: --help of network and of each of its commands" {
    run_nroot 0 network --help
    assert_line --partial 'Usage: nroot network COMMAND'
    local sub help=$output
    for sub in create ls inspect rm prune; do
        grep -q "^  $sub " <<<"$help" || fail "network --help does not list $sub"
        run_nroot 0 network "$sub" --help
        assert_line --index 0 --partial "Usage: nroot network $sub"
        assert_equal "$stderr" ""
    done
    run_nroot 0 network create --help
    assert_output --partial --subnet
    assert_output --partial --internal
    run_nroot 0 --help
    assert_line --regexp '^  network +manage user networks'
}

@test "network-cli: inspect of a missing network is one line and 125; the others are still shown" {
    run_nroot 0 network create web
    run_nroot 125 network inspect nope
    assert_nroot_error "no network 'nope'"
    [[ $(nroot_hint) == *"nroot network create nope"* ]] || fail "hint: $(nroot_hint)"
    assert_output '[]'
    run_nroot 125 network inspect nope web
    assert_nroot_error "no network 'nope'"
    assert_equal "$(field name 0)" '"web"'
}

@test "network-cli: rm removes the record and prints the name; a missing one is 125, the others still go" {
    run_nroot 0 network create a
    run_nroot 0 network create b
    run_nroot 125 network rm a nope b
    assert_nroot_error "no network 'nope'"
    assert_output "$(printf 'a\nb')"
    [ -z "$(stored)" ] || fail "left in the store: $(stored)"
    run_nroot 125 network rm ../a
    assert_nroot_error 'no network'
}

@test "network-cli: rm of a network in use (its lock held) is refused, and works once it is free" {
    run_nroot 0 network create busy
    hold_lock busy
    run_nroot 125 network rm busy
    assert_nroot_error "network 'busy' is in use"
    [[ $(nroot_hint) == *"nroot network rm -f busy"* ]] || fail "hint: $(nroot_hint)"
    [ -f "$STORE/networks/busy/config" ] || fail "the record went"
    # -f stops the containers on it: none is recorded, the lock stays held
    run_nroot 125 network rm -f busy
    assert_nroot_error "network 'busy' is in use"
    run_nroot 0 network ls
    assert_line --regexp '^busy '
    kill "$HOLD_PID"
    wait "$HOLD_PID" 2>/dev/null || true
    run_nroot 0 network rm busy
    assert_output busy
    [ -z "$(stored)" ] || fail "left in the store: $(stored)"
}

@test "network-cli: prune removes the networks not in use and prints them" {
    run_nroot 0 network create free1
    run_nroot 0 network create busy
    run_nroot 0 network create free2 --internal
    hold_lock busy
    run_nroot 0 network prune
    assert_output "$(printf 'free1\nfree2')"
    run_nroot 0 network ls -q
    assert_output busy
    run_nroot 0 network prune
    assert_output ''
}

@test "network-cli: a damaged record is one warning, and blocks neither the others nor rm" {
    run_nroot 0 network create good
    mkdir -p "$STORE/networks/bad" "$STORE/networks/empty"
    printf 'version=1\nname=bad\nsubnet=banana\ninternal=0\ncreated=1\n' >"$STORE/networks/bad/config"
    run_nroot 0 network ls -q
    assert_output good
    local warn=()
    mapfile -t warn <<<"$stderr"
    [ "${#warn[@]}" = 2 ] || fail "expected two warnings: $stderr"
    [[ ${warn[0]} == "nroot: warning: "*"is damaged"*"nroot network rm "* ]] || fail "${warn[0]}"
    run_nroot 125 network inspect bad
    assert_nroot_error "bad/config' is damaged: its subnet is not valid"
    run_nroot 125 network inspect empty
    assert_nroot_error "network 'empty' is damaged: it has no config"
    run_nroot 0 network create another
    run_nroot 0 network inspect another
    assert_equal "$(field subnet)" '"10.89.2.0/24"'
    run_nroot 0 network prune
    assert_output "$(printf 'another\ngood')" # the damaged ones stay: rm names them
    run_nroot 0 network rm bad empty
    assert_output "$(printf 'bad\nempty')"
    run_nroot 0 network ls -q
    assert_output ''
    assert_equal "$stderr" ""
}

@test "network-cli: what a killed create or rm left (a dot directory) is ignored and cleared" {
    mkdir -p "$STORE/networks/.tmp-abcdef" "$STORE/networks/.rm-ghijkl/n"
    echo x >"$STORE/networks/.rm-ghijkl/n/config"
    run_nroot 0 network ls -q
    assert_output ''
    assert_equal "$stderr" ""
    run_nroot 0 network create web
    assert_equal "$(stored)" "web "
}

@test "network-cli: completion offers the network commands and the network names" {
    run_nroot 0 network create web
    run_nroot 0 network create wiki
    run_nroot 0 __complete network ''
    assert_output "$(printf 'create\nls\ninspect\nrm\nprune')"
    run_nroot 0 __complete network rm w
    assert_output "$(printf 'web\nwiki')"
    run_nroot 0 __complete network inspect --help w
    assert_output "$(printf 'web\nwiki')"
    run_nroot 0 __complete network create --
    assert_output "$(printf -- '--subnet\n--internal\n--help')"
    run_nroot 0 __complete run --net=w
    assert_output "$(printf -- '--net=web\n--net=wiki')"
}

# ---- containers on a network (run --net=NAME, part N1) ----

@test "network-cli: ls and inspect show the running containers on a network, rm refuses, rm -f stops them" {
    need_run_net
    run_nroot 0 network create web
    run_nroot 0 network create other
    run_nroot 0 run -d --name webctr --net=web "$IMG" sleep 1000
    run_nroot 0 network ls
    assert_line --regexp '^web +10\.89\.[0-9]+\.0/24 +no +1$'
    assert_line --regexp '^other +.* 0$'
    run_nroot 0 network inspect web
    run python3 -c '
import json, sys
c = json.loads(sys.argv[1])[0]["containers"]
print(len(c), c[0]["name"], len(c[0]["id"]), c[0]["address"])' "$output"
    assert_output --regexp '^1 webctr 12 10\.89\.[0-9]+\.[0-9]+$'
    run_nroot 125 network rm web
    assert_nroot_error "network 'web' is in use by container webctr"
    run_nroot 0 network prune
    assert_output other
    run_nroot 0 network rm -f web
    assert_output web
    run_nroot 0 ps -q
    assert_output ''
}
