#!/usr/bin/env bats
# terminal.bats — nroot on a real terminal (tmux): an interactive shell
# inside gets the terminal's foreground, so Ctrl-C and job control act
# inside the container and not on nroot; Ctrl-Z on a command without job
# control stops nroot like any job, and fg resumes it.

load helpers

setup_file() {
    command -v tmux >/dev/null || skip "tmux is not installed"
}

tmux_setup() {
    command -v tmux >/dev/null || skip "tmux is not installed"
    TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
    # a plain host shell with a recognisable prompt; the test's XDG dirs
    tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 120 -y 40 \
        "env PS1='HOST\$ ' XDG_DATA_HOME=$XDG_DATA_HOME XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR bash --norc --noprofile"
    wait_for 50 screen_has 'HOST\$'
}

tmux_teardown() {
    [ -n "${TMUX_SOCK:-}" ] && tmux -S "$TMUX_SOCK" kill-server 2>/dev/null
    return 0
}

keys() { tmux -S "$TMUX_SOCK" send-keys "$@"; }
screen() { tmux -S "$TMUX_SOCK" capture-pane -p -S -100; }
screen_has() { screen | grep -q -- "$1"; }
# the count of lines matching $1
screen_count() { screen | grep -c -- "$1"; }

teardown() {
    tmux_teardown
    local p
    for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm_tree "$BATS_TEST_TMPDIR"/*
    return 0
}

@test "terminal: Ctrl-C interrupts the foreground job inside, not nroot" {
    tmux_setup
    keys "$NROOT run -q $IMG sh" Enter
    wait_for 50 screen_has '^/ #' || { screen; fail "no shell prompt inside"; }
    keys 'sleep 1000' Enter
    sleep 0.3
    keys C-c
    keys 'echo inside-still-$((6*7))' Enter
    wait_for 50 screen_has 'inside-still-42' || { screen; fail "the shell inside did not survive Ctrl-C"; }
    keys 'exit 7' Enter
    wait_for 50 screen_has '^HOST\$ *$' || { screen; fail "nroot did not exit"; }
    keys 'echo "rc=$?"' Enter
    wait_for 50 screen_has 'rc=7' || { screen; fail "exit status lost"; }
}

@test "terminal: job control works in a shell inside" {
    tmux_setup
    keys "$NROOT run -q $IMG sh" Enter
    wait_for 50 screen_has '^/ #' || { screen; fail "no shell prompt inside"; }
    keys 'sleep 1000' Enter
    sleep 0.3
    keys C-z
    wait_for 50 screen_has 'Stopped' || { screen; fail "Ctrl-Z did not stop the job inside"; }
    keys 'jobs -l; echo jobs-done' Enter
    wait_for 50 screen_has 'jobs-done'
    keys 'kill %1; fg; echo back-$((1+1))' Enter
    wait_for 50 screen_has 'back-2' || { screen; fail "job control inside failed"; }
    keys 'exit' Enter
    wait_for 50 screen_has '^HOST\$ *$' || { screen; fail "nroot did not exit"; }
}

@test "terminal: Ctrl-Z on a command without job control stops nroot; fg resumes it" {
    tmux_setup
    keys "$NROOT run -q $IMG sh -c 'read line; echo got-\$line'" Enter
    sleep 0.5
    keys C-z
    wait_for 50 screen_has 'Stopped' || { screen; fail "nroot was not stopped"; }
    wait_for 50 screen_has '^HOST\$ *$' || { screen; fail "the host shell did not get its prompt back"; }
    keys 'fg' Enter
    sleep 0.3
    keys 'hello' Enter
    wait_for 50 screen_has 'got-hello' || { screen; fail "the command did not get the terminal back"; }
    wait_for 50 screen_has '^HOST\$ *$'
    keys 'echo "rc=$?"' Enter
    wait_for 50 screen_has 'rc=0' || { screen; fail "wrong exit status"; }
}

@test "terminal: the host terminal is the foreground of the host shell again after exit" {
    tmux_setup
    keys "$NROOT run -q $IMG sh -c 'exit 3'; echo \"rc=\$?\"; read -r x; echo host-read-\$x" Enter
    wait_for 50 screen_has 'rc=3' || { screen; fail "nroot did not exit 3"; }
    keys 'ok' Enter
    wait_for 50 screen_has 'host-read-ok' || { screen; fail "the host shell cannot read its terminal"; }
}

@test "terminal: TERM is passed on a terminal" {
    tmux_setup
    keys "$NROOT run -q $IMG sh -c 'echo term=\$TERM'" Enter
    wait_for 50 screen_has 'term=[a-z]' || { screen; fail "TERM missing"; }
}

@test "terminal: the container cannot type into the host shell (TIOCSTI)" {
    tmux_setup
    local proof=$BATS_TEST_TMPDIR/sti-proof
    keys "$NROOT run -q $IMG nr-test sti 'touch $proof'\$'\\n'" Enter
    wait_for 50 screen_has 'sti: ' || { screen; fail "nr-test sti did not run"; }
    screen_has 'sti: pushed' && ! grep -q 1 /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null &&
        skip "this kernel refuses TIOCSTI itself"
    keys 'echo host-$((2+3))' Enter
    wait_for 50 screen_has 'host-5'
    sleep 0.3
    [ ! -e "$proof" ] || { screen; fail "a command typed by the container ran on the host"; }
    screen_has 'sti: Operation not permitted' || { screen; fail "TIOCSTI was not refused"; }
}

@test "terminal: bg after Ctrl-Z runs the container in the background, the shell keeps the terminal" {
    tmux_setup
    keys "$NROOT run -q $IMG sh -c 'sleep 1; echo bg-done-\$((3*3))'" Enter
    sleep 0.4
    keys C-z
    wait_for 50 screen_has 'Stopped' || { screen; fail "nroot was not stopped"; }
    keys 'bg' Enter
    keys 'echo shell-has-terminal-$((4*4))' Enter
    wait_for 50 screen_has 'shell-has-terminal-16' || { screen; fail "the shell lost its terminal"; }
    wait_for 50 screen_has 'bg-done-9' || { screen; fail "the container did not go on in the background"; }
    keys 'wait; echo "rc=$?"' Enter
    wait_for 50 screen_has 'rc=0' || { screen; fail "wrong exit status"; }
}
