#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Resource limits (--memory, --memory-swap, --cpus, --cpu-shares,
# --cpu-weight, --pids-limit) in a cgroup the user may write.  tests/run
# (as root) makes NROOT_TEST_CGROUP in the v1 pids and cpu hierarchies and
# chowns it to the test user, as older clusters delegate per-user
# directories; the tests set cgroup-parent to it.  The memory hierarchy is
# never touched: --memory is the 125 of a host without a writable one.

load helpers

teardown() {
    teardown_containers
}

# the v1 pids and cpu cgroups tests/run made for this run
need_cgroup() {
    [ -n "${NROOT_TEST_CGROUP:-}" ] ||
        skip "no test cgroup: tests/run makes one as root in the v1 pids and cpu hierarchies"
    PIDS_DIR=$(realpath -e /sys/fs/cgroup/pids 2>/dev/null)/$NROOT_TEST_CGROUP
    CPU_DIR=$(realpath -e /sys/fs/cgroup/cpu 2>/dev/null)/$NROOT_TEST_CGROUP
    [ -d "$PIDS_DIR" ] && [ -d "$CPU_DIR" ] || skip "the test cgroup $NROOT_TEST_CGROUP is not there"
    export NROOT_CGROUP_PARENT=$NROOT_TEST_CGROUP
}

# the id of the named container $1
ctr_id() {
    sed -n 's/^id=//p' "$STORE/containers/$1/config"
}

# the container cgroups below the test cgroup, one a line
ctr_cgroups() {
    find "$PIDS_DIR" "$CPU_DIR" -mindepth 1 -maxdepth 1 -type d -name 'nroot-*' | sort
}

@test "limits: bad values and combinations are one line, 125, before anything runs" {
    run_nroot 125 run --memory 12x "$IMG" true
    assert_nroot_error "invalid --memory '12x'"
    run_nroot 125 run --memory 1k "$IMG" true
    assert_nroot_error "below the smallest limit"
    run_nroot 125 run --memory-swap 1g "$IMG" true
    assert_nroot_error "--memory-swap needs --memory"
    run_nroot 125 run --memory 1g --memory-swap 512m "$IMG" true
    assert_nroot_error "below --memory"
    run_nroot 125 run --cpus 0 "$IMG" true
    assert_nroot_error "invalid --cpus '0'"
    run_nroot 125 run --cpus 100000 "$IMG" true
    assert_nroot_error "invalid --cpus"
    run_nroot 125 run --cpu-shares 1 "$IMG" true
    assert_nroot_error "from 2 to 262144"
    run_nroot 125 run --cpu-weight 10001 "$IMG" true
    assert_nroot_error "from 1 to 10000"
    run_nroot 125 run --cpu-shares 512 --cpu-weight 50 "$IMG" true
    assert_nroot_error "give one"
    run_nroot 125 run --pids-limit -2 "$IMG" true
    assert_nroot_error "invalid --pids-limit"
    run_nroot 0 ps -a -q
    assert_output ""
}

@test "limits: --memory without a writable memory cgroup is one line, 125, naming the memory controller; nothing is made" {
    need_cgroup
    local before
    before=$(ctr_cgroups)
    run_nroot 125 run --memory 64m --pids-limit 20 --name m "$IMG" true
    assert_nroot_error "^nroot: error: --memory: the memory controller: .*memory/$NROOT_TEST_CGROUP .*does not exist: an administrator can"
    [ "$(ctr_cgroups)" = "$before" ] || fail "a cgroup was made: $(ctr_cgroups)"
    run_nroot 0 ps -a -q
    assert_output ""
    # without cgroup-parent: the caller's own v1 cgroup, not the user's
    unset NROOT_CGROUP_PARENT
    run_nroot 125 run --pids-limit 20 "$IMG" true
    assert_nroot_error "^nroot: error: --pids-limit: the pids controller: .* is not writable by you: .*cgroup-parent in nroot.conf"
}

@test "limits: a run without limits makes no cgroup and stays in the caller's" {
    need_cgroup
    local before
    before=$(ctr_cgroups)
    run_nroot 0 run -d --name free --net=none "$IMG" sleep 30
    [ "$(ctr_cgroups)" = "$before" ] || fail "a cgroup was made: $(ctr_cgroups)"
    run_nroot 0 ps
    assert_line --index 0 --regexp '^NAME +ID +IMAGE +COMMAND +STATUS +PID +NETWORK +MEM +PIDS +CREATED$'
    assert_line --index 1 --regexp '^free .* - +- +[^ ].* ago$'
}

@test "limits: the container sees its cgroup as /, and the limits are in its cgroup's files" {
    need_cgroup
    run_nroot 0 run -d --name lim --net=none --cpus 0.5 --cpu-shares 512 --pids-limit 40 "$IMG" sleep 30
    local id
    id=$(ctr_id lim)
    [ -d "$PIDS_DIR/nroot-$id" ] || fail "no $PIDS_DIR/nroot-$id"
    [ "$(cat "$PIDS_DIR/nroot-$id/pids.max")" = 40 ]
    [ "$(cat "$CPU_DIR/nroot-$id/cpu.cfs_quota_us")" = 50000 ]
    [ "$(cat "$CPU_DIR/nroot-$id/cpu.cfs_period_us")" = 100000 ]
    [ "$(cat "$CPU_DIR/nroot-$id/cpu.shares")" = 512 ]
    run_nroot 0 exec lim cat /proc/self/cgroup
    local l
    for l in "${lines[@]}"; do
        [[ $l == *:/ ]] || fail "a cgroup path from outside the namespace: $l"
    done
    # exec's command is in the container's cgroups: PID 1, the payload and it
    start_nroot "$BATS_TEST_TMPDIR/exec" exec lim sleep 5
    wait_for 50 eval '[ "$(wc -l <"$PIDS_DIR/nroot-$id/cgroup.procs")" -ge 3 ]' ||
        fail "the exec'd command is not in $PIDS_DIR/nroot-$id: $(cat "$PIDS_DIR/nroot-$id/cgroup.procs")"
    wait_for 50 eval '[ "$(wc -l <"$CPU_DIR/nroot-$id/cgroup.procs")" -ge 3 ]' ||
        fail "the exec'd command is not in $CPU_DIR/nroot-$id"
    run_nroot 0 ps
    assert_line --index 1 --regexp '^lim .* - +[0-9]+ +[^ ].* ago$'
    run_nroot 0 stop lim
    wait_for 50 test ! -d "$PIDS_DIR/nroot-$id" || fail "$PIDS_DIR/nroot-$id is left"
    [ ! -d "$CPU_DIR/nroot-$id" ] || fail "$CPU_DIR/nroot-$id is left"
}

@test "limits: --pids-limit 50 contains a fork bomb; the host is fine and the container ends" {
    need_cgroup
    run_nroot 0 run -d --name bomb --net=none --pids-limit 50 "$IMG" \
        sh -c 'b() { b | b & }; b; sleep 30'
    local id
    id=$(ctr_id bomb)
    sleep 2
    local cur events
    cur=$(cat "$PIDS_DIR/nroot-$id/pids.current")
    events=$(cat "$PIDS_DIR/nroot-$id/pids.events")
    echo "pids.current $cur, pids.events $events"
    [ "$cur" -le 50 ] || fail "pids.current $cur is over the limit"
    [[ $events == "max "[1-9]* ]] || fail "no fork was refused: $events"
    # the host forks as before
    run true
    run_nroot 0 logs bomb
    [[ $output$stderr == *"fork"* ]] || fail "the shell did not see fork fail: $output $stderr"
    run_nroot 0 stop -t 1 bomb
    wait_for 100 test ! -d "$PIDS_DIR/nroot-$id" || fail "$PIDS_DIR/nroot-$id is left"
    run_nroot 0 ps -q
    assert_output ""
}

# utime + stime of the processes in cgroup $1, in clock ticks
cgroup_ticks() {
    local p sum=0 t
    while read -r p; do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || continue
        sum=$((sum + ${t:-0}))
    done <"$1/cgroup.procs"
    echo "$sum"
}

@test "limits: --cpus 0.5 gives a busy loop about half a core" {
    need_cgroup
    run_nroot 0 run -d --name busy --net=none --cpus 0.5 "$IMG" sh -c 'while :; do :; done'
    local id t0 t1 hz s0 s1
    id=$(ctr_id busy)
    hz=$(getconf CLK_TCK)
    sleep 0.5
    t0=$(cgroup_ticks "$CPU_DIR/nroot-$id")
    s0=$(date +%s%N)
    sleep 2
    t1=$(cgroup_ticks "$CPU_DIR/nroot-$id")
    s1=$(date +%s%N)
    local use
    use=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v ns=$((s1 - s0)) 'BEGIN { printf "%.2f", t / hz / (ns / 1e9) }')
    echo "the loop used $use of a CPU"
    awk -v u="$use" 'BEGIN { exit !(u >= 0.3 && u <= 0.7) }' || fail "it used $use CPUs, not about 0.5"
}

@test "limits: after SIGKILL of nroot the container's cgroup is removed by the next run with limits" {
    need_cgroup
    local before dir
    before=$(ctr_cgroups)
    start_nroot "$BATS_TEST_TMPDIR/out" run --net=none --pids-limit 30 "$IMG" sleep 60
    wait_for 100 eval 'dir=$(comm -13 <(echo "$before") <(ctr_cgroups) | head -n 1); [ -n "$dir" ] && [ -n "$(cat "$dir/cgroup.procs")" ]' ||
        fail "no container cgroup appeared: $(cat "$BATS_TEST_TMPDIR/out.err")"
    kill -9 "$NROOT_PID"
    # the container dies with its nroot; its empty cgroup stays
    wait_for 100 eval '[ -z "$(cat "$dir/cgroup.procs")" ]' || fail "processes are left in $dir"
    [ -d "$dir" ] || fail "$dir went already"
    nrun --net=none --pids-limit 30 "$IMG" true
    [ ! -d "$dir" ] || fail "the stale $dir was not removed"
}

@test "limits: start keeps the limits, rm -f of a running container removes its cgroup" {
    need_cgroup
    run_nroot 0 run -d --name keep --net=none --pids-limit 25 --cpu-weight 100 "$IMG" sleep 30
    grep -qx 'pids_limit=25' "$STORE/containers/keep/config" || fail "no pids_limit in the config"
    grep -qx 'cpu_weight=100' "$STORE/containers/keep/config" || fail "no cpu_weight in the config"
    run_nroot 0 stop -t 1 keep
    run_nroot 0 start keep
    local id
    id=$(ctr_id keep)
    wait_for 50 test -d "$PIDS_DIR/nroot-$id" || fail "no cgroup after start"
    [ "$(cat "$PIDS_DIR/nroot-$id/pids.max")" = 25 ]
    # weight 100 on v1: shares 2 + 99 * 262142 / 9999
    [ "$(cat "$CPU_DIR/nroot-$id/cpu.shares")" = 2597 ]
    run_nroot 0 rm -f keep
    wait_for 50 test ! -d "$PIDS_DIR/nroot-$id" || fail "$PIDS_DIR/nroot-$id is left"
}

@test "limits: nroot info names where limits go and the writable controllers" {
    need_cgroup
    run_nroot 0 info
    assert_line --regexp "^cgroups +warning +(v1|hybrid); limits go below cgroup-parent $NROOT_TEST_CGROUP from \\\$NROOT_CGROUP_PARENT; writable there: cpu, pids; memory: "
}

# where the caller's own cgroup2 is delegated with cpu and pids (a systemd
# user session), the same in v2
@test "limits: cgroup v2 with delegation: --pids-limit and --cpus in the caller's delegated subtree" {
    local mnt own
    mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
    own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    [ -n "$mnt" ] && grep -qw pids "$mnt/cgroup.controllers" && grep -qw cpu "$mnt/cgroup.controllers" ||
        skip "no cgroup2 hierarchy with the cpu and pids controllers here (${mnt:-none mounted}: $(cat "$mnt/cgroup.controllers" 2>/dev/null))"
    [ -w "$mnt$own/cgroup.subtree_control" ] ||
        skip "the cgroup2 $mnt$own is not delegated to $(id -un)"
    unset NROOT_CGROUP_PARENT
    run_nroot any run --net=none --pids-limit 20 --cpus 0.5 "$IMG" sh -c 'cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max; cat /proc/self/cgroup'
    if [ "$status" = 125 ]; then
        # a delegated cgroup that holds processes (this shell's) cannot
        # enable controllers below it: nroot says so, naming the fix
        assert_nroot_error "holds processes.*empty cgroup for nroot.*cgroup-parent"
        return 0
    fi
    [ "$status" = 0 ] || fail "status $status: $stderr"
    assert_line 20
    assert_line "50000 100000"
    assert_line "0::/"
}
