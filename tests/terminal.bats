#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# terminal.bats — nroot on a real terminal (tmux).  Without -t the host
# terminal never enters the container: nroot relays it through pipes
# (stdin only with -i), Ctrl-C and Ctrl-Z act on nroot, which forwards
# SIGINT to the command and stops like any job (fg resumes it).  With -t
# the container has a terminal of its own, relayed by nroot with the host
# terminal in raw mode: its size follows the window, Ctrl-C and job
# control act inside, and the host terminal's mode is restored however
# nroot ends.

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

# a shell inside, started from the host shell with nroot OPTIONS (the host
# terminal's mode saved first in mode.before), at its prompt
shell_inside() {
    keys "stty -g >$BATS_TEST_TMPDIR/mode.before; $NROOT run -q $* $IMG sh" Enter
    wait_for 50 screen_has '^/ #' || { screen; fail "no shell prompt inside"; }
}
# the host shell's prompt is back
host_prompt() {
    wait_for 50 screen_has '^HOST\$ *$' || { screen; fail "nroot did not exit"; }
}
# the host terminal's mode is what it was before nroot started; NAME marks the check
mode_restored() {
    keys "stty -g | cmp - $BATS_TEST_TMPDIR/mode.before && echo mode-ok-$1" Enter
    wait_for 50 screen_has "mode-ok-$1" || { screen; fail "the host terminal's mode was not restored ($1)"; }
}

# signal SIG to the nroot the host shell of the pane runs (not to every
# nroot of the user: other tests may run at the same time)
signal_nroot() {
    local shell pid
    shell=$(tmux -S "$TMUX_SOCK" display-message -p '#{pane_pid}')
    pid=$(pgrep -P "$shell" -x nroot) || { screen; fail "no nroot under the pane's shell"; }
    kill "-$1" "$pid"
}

teardown() {
    tmux_teardown
    local p id
    for id in $("$NROOT" ps -q 2>/dev/null); do
        timeout 20 "$NROOT" rm -f "$id" >/dev/null 2>&1
    done
    for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm_tree "$BATS_TEST_TMPDIR"/*
    return 0
}

@test "terminal: -i without -t: the command reads pipes, Ctrl-C reaches it as SIGINT through nroot" {
    tmux_setup
    keys "$NROOT run -q -i $IMG sh -c 'trap \"echo got-int; exit 7\" INT; for f in 0 1 2; do readlink /proc/self/fd/\$f; done; read line; echo line-\$line; while :; do sleep 0.1; done'" Enter
    wait_for 50 screen_has '^pipe:' || { screen; fail "no output"; }
    [ "$(screen_count '^pipe:')" = 3 ] || { screen; fail "the container's stdio is not three pipes"; }
    keys 'typed' Enter
    wait_for 50 screen_has 'line-typed' || { screen; fail "the keystrokes did not reach the command"; }
    keys C-c
    wait_for 50 screen_has 'got-int' || { screen; fail "Ctrl-C did not reach the command"; }
    host_prompt
    keys 'echo "rc=$?"' Enter
    wait_for 50 screen_has 'rc=7' || { screen; fail "exit status lost"; }
}

@test "terminal: -it: job control works in a shell inside" {
    tmux_setup
    shell_inside -it
    keys 'sleep 1000' Enter
    sleep 0.3
    keys C-z
    wait_for 50 screen_has 'Stopped' || { screen; fail "Ctrl-Z did not stop the job inside"; }
    keys 'jobs -l; echo jobs-done' Enter
    wait_for 50 screen_has 'jobs-done'
    keys 'kill %1; fg; echo back-$((1+1))' Enter
    wait_for 50 screen_has 'back-2' || { screen; fail "job control inside failed"; }
    keys 'exit' Enter
    host_prompt
}

@test "terminal: Ctrl-Z on a command without job control stops nroot; fg resumes it" {
    tmux_setup
    keys "$NROOT run -q -i $IMG sh -c 'read line; echo got-\$line'" Enter
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
    keys "$NROOT run -q -i $IMG sh -c 'exit 3'; echo \"rc=\$?\"; read -r x; echo host-read-\$x" Enter
    wait_for 50 screen_has 'rc=3' || { screen; fail "nroot did not exit 3"; }
    keys 'ok' Enter
    wait_for 50 screen_has 'host-read-ok' || { screen; fail "the host shell cannot read its terminal"; }
}

@test "terminal: TERM is passed on a terminal" {
    tmux_setup
    keys "$NROOT run -q $IMG sh -c 'echo term=\$TERM'" Enter
    wait_for 50 screen_has 'term=[a-z]' || { screen; fail "TERM missing"; }
}

@test "terminal: the container cannot type into the host shell (TIOCSTI), with or without -i" {
    tmux_setup
    local opt proof
    for opt in -q -i; do
        proof=$BATS_TEST_TMPDIR/sti-proof$opt
        keys "$NROOT run -q $opt $IMG nr-test sti 'touch $proof'\$'\\n'; echo sti-done$opt" Enter
        wait_for 50 screen_has "sti-done$opt" || { screen; fail "nr-test sti did not run ($opt)"; }
        keys 'echo host-$((2+3))' Enter
        wait_for 50 screen_has 'host-5'
        sleep 0.3
        [ ! -e "$proof" ] || { screen; fail "a command typed by the container ran on the host ($opt)"; }
    done
    [ "$(screen_count 'sti: pushed')" = 0 ] || { screen; fail "TIOCSTI was not refused"; }
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

# -t: the container's own terminal

@test "terminal: -it gives a terminal of the container's own, sized like the window, following resizes" {
    tmux_setup
    shell_inside -it
    keys 'echo "tty=$(tty) size=$(stty size)"' Enter
    wait_for 50 screen_has 'tty=/dev/pts/[0-9]* size=40 120' || { screen; fail "wrong tty or size"; }
    tmux -S "$TMUX_SOCK" resize-window -x 100 -y 30
    sleep 0.5
    keys 'echo "now=$(stty size)"' Enter
    wait_for 50 screen_has 'now=30 100' || { screen; fail "the size did not follow the window"; }
    keys 'exit 4' Enter
    host_prompt
    keys 'echo rc=$?' Enter
    wait_for 50 screen_has 'rc=4' || { screen; fail "exit status lost"; }
    mode_restored exit
}

@test "terminal: -it: Ctrl-C reaches the command inside as a key through its terminal" {
    tmux_setup
    shell_inside -it
    keys 'sleep 1000' Enter
    sleep 0.5
    keys C-c
    keys 'echo still-$((8*8))' Enter
    wait_for 50 screen_has 'still-64' || { screen; fail "the shell inside or nroot did not survive Ctrl-C"; }
    keys 'exit' Enter
    host_prompt
}

@test "terminal: -it: the host terminal's mode is restored after a signal and after a failed start" {
    tmux_setup
    keys "stty -g >$BATS_TEST_TMPDIR/mode.before" Enter
    # in the foreground (in the background it would stop on SIGTTOU, as
    # any program that sets the terminal's mode), killed from outside
    keys "$NROOT run -q -it $IMG sleep 1000; echo rc=\$?" Enter
    sleep 1
    signal_nroot TERM
    wait_for 100 screen_has 'rc=143' || { screen; fail "nroot did not end with 143 after SIGTERM"; }
    mode_restored sigterm
    keys "$NROOT run -q -it $IMG no-such-command; echo rc=\$?" Enter
    wait_for 50 screen_has 'rc=127' || { screen; fail "no 127 for a missing command"; }
    mode_restored failed-start
}

@test "terminal: -t without -i: output comes through, keystrokes do not reach the command" {
    tmux_setup
    # read waits (no input, no end of file) and times out
    keys "$NROOT run -q -t $IMG sh -c 'echo started; read -t 2 line; echo \"read=\$? line=\$line\"'" Enter
    wait_for 50 screen_has '^started' || { screen; fail "no output"; }
    keys 'typed' Enter
    wait_for 50 screen_has 'read=[1-9][0-9]* line=$' || { screen; fail "stdin reached the command without -i"; }
}

@test "terminal: -i in the background: reading the terminal stops nroot, not the shell's input" {
    tmux_setup
    keys "$NROOT run -q -i $IMG sh -c 'read line; echo got-\$line' &" Enter
    # bash reports the stop at its next prompt: ask until it does
    wait_for 25 eval "keys 'jobs' Enter; sleep 0.3; screen_has 'Stopped'" ||
        { screen; fail "the background nroot was not stopped by SIGTTIN"; }
    keys 'echo shell-reads-$((6*6))' Enter
    wait_for 50 screen_has 'shell-reads-36' || { screen; fail "the shell lost its input"; }
    keys 'fg' Enter
    sleep 0.3
    keys 'typed' Enter
    wait_for 50 screen_has 'got-typed' || { screen; fail "fg did not give the container the terminal"; }
}

@test "terminal: -it: Ctrl-Z stops nroot with the host terminal's mode restored; fg goes on" {
    tmux_setup
    shell_inside -it
    # Ctrl-Z goes to the shell inside, like any key: stop nroot from outside
    signal_nroot TSTP
    wait_for 50 screen_has 'Stopped' || { screen; fail "nroot did not stop"; }
    mode_restored stopped
    keys 'fg' Enter
    sleep 0.3
    keys 'echo resumed-$((7*3))' Enter
    wait_for 50 screen_has 'resumed-21' || { screen; fail "the shell inside did not come back"; }
    keys 'exit' Enter
    host_prompt
}

@test "terminal: exec -it: a second shell in a running container, on a terminal of its own" {
    tmux_setup
    run_nroot 0 run -d --name box --hostname box "$IMG" sleep 1000
    keys "stty -g >$BATS_TEST_TMPDIR/mode.before; $NROOT exec -it box sh" Enter
    wait_for 50 screen_has '^/ #' || { screen; fail "no shell prompt inside"; }
    keys 'echo "tty=$(tty) size=$(stty size) host=$(hostname)"' Enter
    wait_for 50 screen_has 'tty=/dev/pts/[0-9]* size=40 120 host=box' || { screen; fail "wrong tty, size or host"; }
    keys 'sleep 1000' Enter
    sleep 0.5
    keys C-c
    keys 'echo still-$((9*9))' Enter
    wait_for 50 screen_has 'still-81' || { screen; fail "the shell did not survive Ctrl-C"; }
    keys 'exit 6' Enter
    host_prompt
    keys 'echo rc=$?' Enter
    wait_for 50 screen_has 'rc=6' || { screen; fail "exit status lost"; }
    mode_restored exec
    # the container goes on
    run_nroot 0 exec box echo alive
    assert_output alive
}

@test "terminal: exec -i without -t on a terminal: the command reads keystrokes through nroot" {
    tmux_setup
    run_nroot 0 run -d --name box2 "$IMG" sleep 1000
    keys "$NROOT exec -i box2 sh -c 'read line; echo got-\$line'" Enter
    sleep 0.5
    keys 'typed' Enter
    wait_for 50 screen_has 'got-typed' || { screen; fail "the command did not read the terminal"; }
    host_prompt
}
