#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# cdi.bats — devices through the Container Device Interface (--device,
# --gpus): a fake spec written here binds /dev/null as /dev/fakegpu, mounts
# a libfake.so built here, sets FAKE_VISIBLE=0 and runs an ldconfig hook
# (createContainer, as nvidia-cdi-hook update-ldcache does), so that a
# program linked against libfake runs inside.  The program is dynamic:
# it runs in the Debian image (glibc and its loader), the busybox rootfs
# has no loader.

load helpers


setup_file() {
    local d=$BATS_FILE_TMPDIR
    mkdir -p "$d/lib" "$d/bin"
    command -v gcc >/dev/null || return 0
    printf 'int fake_answer(void) { return 42; }\n' >"$d/fake.c"
    printf '#include <stdio.h>\nint fake_answer(void);\nint main(void) { printf("fake %%d\\n", fake_answer()); return 0; }\n' >"$d/prog.c"
    gcc -shared -fPIC -Wl,-soname,libfake.so -o "$d/lib/libfake.so" "$d/fake.c" &&
        gcc -o "$d/bin/fakeprog" "$d/prog.c" -L"$d/lib" -lfake
    # the hook: the state on stdin names the bundle, whose config.json
    # names the root as this mount namespace sees it
    cat >"$d/ldconfig-hook" <<'EOF'
#!/bin/sh
state=$(cat)
bundle=$(printf '%s' "$state" | sed -n 's/.*"bundle":"\([^"]*\)".*/\1/p')
root=$(sed -n 's/.*"root":{"path":"\([^"]*\)".*/\1/p' "$bundle/config.json")
[ -d "$root/etc" ] || { echo "hook: no root in $bundle/config.json" >&2; exit 1; }
printf '%s\n' "$state" >"$root/tmp/hook-state"
exec /sbin/ldconfig -r "$root" /usr/lib/fake
EOF
    chmod +x "$d/ldconfig-hook"
}

teardown() {
    teardown_containers
}

teardown_file() {
    teardown_debian_store
}

# the fake spec in $SPECS, as YAML or JSON
write_spec() {
    local d=$BATS_FILE_TMPDIR
    SPECS=$BATS_TEST_TMPDIR/cdi
    mkdir -p "$SPECS"
    export NROOT_CDI_SPEC_DIRS=$SPECS
    if [ "$1" = yaml ]; then
        cat >"$SPECS/fake.yaml" <<EOF
cdiVersion: "0.6.0"
kind: example.com/fakegpu
devices:
  - name: "0"
    containerEdits:
      deviceNodes:
        - path: /dev/fakegpu
          hostPath: /dev/null
          type: c
          permissions: rw
  - name: all
    containerEdits:
      deviceNodes:
        - {path: /dev/fakegpu, hostPath: /dev/null}
containerEdits:
  env:
    - FAKE_VISIBLE=0
  mounts:
    - hostPath: $d/lib/libfake.so
      containerPath: /usr/lib/fake/libfake.so
      options: [ro, nosuid, nodev, bind]
  hooks:
    - hookName: createContainer
      path: $d/ldconfig-hook
      args: [nvidia-cdi-hook, update-ldcache, --folder, /usr/lib/fake]
      timeout: 30
EOF
    else
        # JSON as a driver's tool writes it: tabs, an escaped slash
        printf '{\n\t"cdiVersion": "0.5.0",\n\t"kind": "example.com\\/fakegpu",\n' >"$SPECS/fake.json"
        cat >>"$SPECS/fake.json" <<EOF
	"devices": [{"name": "0", "containerEdits": {"deviceNodes": [{"path": "/dev/fakegpu", "hostPath": "/dev/null"}]}},
	            {"name":"all","containerEdits":{"deviceNodes":[{"path":"/dev/fakegpu","hostPath":"/dev/null"}]}}],
	"containerEdits": {
		"env": ["FAKE_VISIBLE=0"],
		"mounts": [{"hostPath": "$d/lib/libfake.so", "containerPath": "/usr/lib/fake/libfake.so", "options": ["ro", "nosuid", "nodev", "bind"]}],
		"hooks": [{"hookName": "createContainer", "path": "$d/ldconfig-hook", "args": ["nvidia-cdi-hook", "update-ldcache"]}]
	}
}
EOF
    fi
}

need_debian_fake() {
    need_debian
    [ -x "$BATS_FILE_TMPDIR/bin/fakeprog" ] || skip "gcc could not build libfake and its program"
}

# inside: the device, the library (a program linked against it runs), the
# variable, the hook's state
check_inside() {
    need_debian_fake
    nrun -q --net=none "$@" -v "$BATS_FILE_TMPDIR/bin/fakeprog:/usr/local/bin/fakeprog:ro" \
        "$DEBIAN" sh -c 'test -c /dev/fakegpu && echo device; fakeprog; echo "visible=$FAKE_VISIBLE"; cat /tmp/hook-state; ls /usr/lib/fake'
    assert_line device
    assert_line "fake 42"
    assert_line "visible=0"
    assert_line --regexp '^\{"ociVersion":"1\.0\.[0-9]+","id":"[0-9a-f]{12}","status":"creating","pid":1,"bundle":"/.*","annotations":\{\}\}$'
    assert_line libfake.so
}

@test "cdi: a YAML spec's device, library, variable and createContainer hook" {
    write_spec yaml
    check_inside --device example.com/fakegpu=0
}

@test "cdi: a JSON spec (tabs, \\/) gives the same" {
    write_spec json
    check_inside --device example.com/fakegpu=all
}

@test "cdi: --gpus all is nvidia.com/gpu=all" {
    write_spec yaml
    sed -i 's|^kind: .*|kind: nvidia.com/gpu|' "$SPECS/fake.yaml"
    check_inside --gpus all
    run_nroot 125 run --net=none --gpus 2 "$IMG" true
    assert_nroot_error "unknown CDI device 'nvidia.com/gpu=0' \(known: nvidia.com/gpu=0|unknown CDI device 'nvidia.com/gpu=1' \(known: "
    run_nroot 125 run --net=none --gpus device=7 "$IMG" true
    assert_nroot_error "unknown CDI device 'nvidia.com/gpu=7' \(known: nvidia.com/gpu=0, nvidia.com/gpu=all\)"
}

@test "cdi: --read-only gets mount points for the spec's mounts and its nodes outside /dev" {
    need_debian_fake
    write_spec yaml
    # a read-only root cannot take ldconfig's cache: no hook; a node
    # outside /dev's tmpfs, where the image has no such file
    sed -i '/^  hooks:/,$d' "$SPECS/fake.yaml"
    sed -i 's|^        - path: /dev/fakegpu|        - path: /opt/fake/gpu0\n          hostPath: /dev/null\n&|' "$SPECS/fake.yaml"
    nrun -q --net=none --read-only --device example.com/fakegpu=0 \
        -v "$BATS_FILE_TMPDIR/bin/fakeprog:/usr/local/bin/fakeprog:ro" "$DEBIAN" \
        sh -c 'test -c /opt/fake/gpu0 && test -c /dev/fakegpu && echo devices; LD_LIBRARY_PATH=/usr/lib/fake fakeprog; touch /x 2>/dev/null || echo read-only'
    assert_line devices
    assert_line "fake 42"
    assert_line read-only
}

@test "cdi: an unknown device is one line listing the known ones" {
    write_spec yaml
    run_nroot 125 run --net=none --device example.com/fakegpu=9 "$IMG" true
    assert_nroot_error "unknown CDI device 'example.com/fakegpu=9' \(known: example.com/fakegpu=0, example.com/fakegpu=all\)"
    export NROOT_CDI_SPEC_DIRS=$BATS_TEST_TMPDIR/none
    run_nroot 125 run --net=none --device example.com/fakegpu=0 "$IMG" true
    assert_nroot_error "no CDI spec was found in $BATS_TEST_TMPDIR/none"
    run_nroot 125 run --device 'not a device' "$IMG" true
    assert_nroot_error "invalid --device 'not a device'"
    run_nroot 125 run --gpus lots "$IMG" true
    assert_nroot_error "invalid --gpus 'lots'"
}

@test "cdi: a bad spec is one line naming the file and the problem, and is skipped" {
    write_spec yaml
    printf 'cdiVersion: "0.6.0"\nkind: example.com/bad\ndevices:\n  - name: x\n    containerEdits:\n      mounts: [{hostPath: /x}]\n' >"$SPECS/bad.yaml"
    printf '{"cdiVersion": "0.9.0", "kind": "a.com/b", "devices": [{"name": "x"}]}' >"$SPECS/new.json"
    printf 'cdiVersion: [\n' >"$SPECS/broken.yml"
    run_nroot 125 run --net=none --device example.com/bad=x "$IMG" true
    output=$stderr
    lines=("${stderr_lines[@]}")
    assert_line "nroot: warning: CDI spec '$SPECS/bad.yaml': line 6: a mount needs an absolute containerPath (skipped)"
    assert_line --regexp "^nroot: warning: CDI spec '$SPECS/new.json': line 1: cdiVersion '0.9.0' is not one nroot reads \(0.3.0 to 0.8.0\) \(skipped\)$"
    assert_line --regexp "^nroot: warning: CDI spec '$SPECS/broken.yml': line [0-9]+: .* \(skipped\)$"
    assert_line --partial "nroot: error: unknown CDI device 'example.com/bad=x' (known: example.com/fakegpu=0"
    # the good spec still works
    run_nroot 0 run -q --net=none --device example.com/fakegpu=0 "$IMG" sh -c 'test -c /dev/fakegpu && echo "$FAKE_VISIBLE"'
    assert_output 0
    run_nroot 0 info
    assert_line --regexp "^cdi spec +warning +$SPECS/bad.yaml: line 6: a mount needs"
}

@test "cdi: a host device path is bound, at its own path or another" {
    run_nroot 0 run -q --net=none --device /dev/null:/dev/mynull:rw --device /dev/zero "$IMG" \
        sh -c 'test -c /dev/mynull && test -c /dev/zero && echo x >/dev/mynull && head -c 3 /dev/zero | wc -c'
    assert_output 3
    run_nroot 125 run --net=none --device /nonexistent "$IMG" true
    assert_nroot_error "--device '/nonexistent': device node '/nonexistent'"
    run_nroot 125 run --device /dev/null:relative "$IMG" true
    assert_nroot_error "invalid --device"
}

@test "cdi: hooks of every stage run, each with the state; a failing one ends the start" {
    SPECS=$BATS_TEST_TMPDIR/cdi
    mkdir -p "$SPECS"
    export NROOT_CDI_SPEC_DIRS=$SPECS
    local log=$BATS_TEST_TMPDIR/stages
    # stage NAME STATUS: NAME logged when the state on stdin has STATUS
    cat >"$BATS_TEST_TMPDIR/stage" <<'EOF'
#!/bin/sh
grep -q "\"status\":\"$2\"" && echo "$1" >>"${0%/*}/stages"
EOF
    chmod +x "$BATS_TEST_TMPDIR/stage"
    cat >"$SPECS/s.yaml" <<EOF
cdiVersion: 0.8.0
kind: example.com/stages
devices:
  - name: all
    containerEdits:
      hooks:
        - {hookName: createRuntime, path: $BATS_TEST_TMPDIR/stage, args: [stage, createRuntime, creating]}
        - {hookName: poststart, path: $BATS_TEST_TMPDIR/stage, args: [stage, poststart, running]}
        - {hookName: poststop, path: $BATS_TEST_TMPDIR/stage, args: [stage, poststop, stopped]}
        - {hookName: startContainer, path: /bin/sh, args: [sh, -c, 'grep -q created && echo started >/tmp/started']}
  - name: failing
    containerEdits:
      hooks:
        - {hookName: createContainer, path: /bin/false}
EOF
    run_nroot 0 run -q --net=none --device example.com/stages=all "$IMG" cat /tmp/started
    assert_output started
    run cat "$log"
    assert_output "createRuntime
poststart
poststop"
    run_nroot 125 run -q --net=none --device example.com/stages=failing "$IMG" true
    assert_nroot_error "the createContainer hook '/bin/false' failed \(exit status 1\)"
}

@test "cdi: a startContainer hook runs as the command does: its user, capabilities, no_new_privs, seccomp" {
    SPECS=$BATS_TEST_TMPDIR/cdi
    mkdir -p "$SPECS"
    export NROOT_CDI_SPEC_DIRS=$SPECS
    cat >"$SPECS/s.yaml" <<EOF
cdiVersion: 0.8.0
kind: example.com/start
devices:
  - name: all
    containerEdits:
      hooks:
        - {hookName: startContainer, path: /bin/sh, args: [sh, -c, 'grep -E "^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status >/tmp/hook']}
EOF
    run_nroot 0 run -q --net=none --cap-drop ALL --device example.com/start=all "$IMG" \
        sh -c 'grep -E "^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | cmp - /tmp/hook && echo same; cat /tmp/hook'
    assert_line same
    assert_line --regexp '^CapEff:[[:space:]]+0+$'
    assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
    assert_line --regexp '^Seccomp:[[:space:]]+2$'
}

@test "cdi: hooks get stdio and no other fd, not the caller's fds the command gets" {
    SPECS=$BATS_TEST_TMPDIR/cdi
    mkdir -p "$SPECS"
    export NROOT_CDI_SPEC_DIRS=$SPECS
    # the hook shell's fds 3 to 9, each looked at by the shell itself (ls
    # would show its own; a shell keeps its script at 10 or above)
    cat >"$BATS_TEST_TMPDIR/fds" <<'EOF'
#!/bin/sh
fds=
for fd in 3 4 5 6 7 8 9; do [ -e /proc/self/fd/$fd ] && fds="$fds $fd"; done
echo "open:$fds" >"${0%/*}/fds.$1"
EOF
    chmod +x "$BATS_TEST_TMPDIR/fds"
    cat >"$SPECS/fds.yaml" <<EOF
cdiVersion: 0.8.0
kind: example.com/fds
devices:
  - name: all
    containerEdits:
      hooks:
        - {hookName: createRuntime, path: $BATS_TEST_TMPDIR/fds, args: [fds, createRuntime]}
        - {hookName: createContainer, path: $BATS_TEST_TMPDIR/fds, args: [fds, createContainer]}
        - {hookName: startContainer, path: /bin/sh, args: [sh, -c, 'fds=; for fd in 3 4 5 6 7 8 9; do [ -e /proc/self/fd/\$fd ] && fds="\$fds \$fd"; done; echo "open:\$fds" >/tmp/fds']}
        - {hookName: poststop, path: $BATS_TEST_TMPDIR/fds, args: [fds, poststop]}
EOF
    # fd 3 open in nroot and passed on: the command gets it, no hook does
    run bash -c '"$1" run -q --net=none --preserve-fds 1 --device example.com/fds=all "$2" sh -c "cat /tmp/fds; test -e /proc/self/fd/3 && echo payload has 3" 3</dev/null' \
        _ "$NROOT" "$IMG"
    assert_success
    assert_output "open:
payload has 3"
    for stage in createRuntime createContainer poststop; do
        run cat "$BATS_TEST_TMPDIR/fds.$stage"
        assert_output "open:"
    done
}

@test "cdi: a named container keeps its devices for start" {
    write_spec yaml
    run_nroot 0 run -q --net=none --name gpu --device example.com/fakegpu=0 "$IMG" sh -c 'test -c /dev/fakegpu && echo "$FAKE_VISIBLE"'
    assert_output 0
    run grep -x 'device=example.com/fakegpu=0' "$STORE/containers/gpu/config"
    assert_success
    run_nroot 0 start -a gpu
    assert_output 0
    run_nroot 0 rm gpu
}

@test "cdi: exec gets the devices' environment without a word about the specs; export reads none" {
    write_spec yaml
    run_nroot 0 run -d -q --name dev --net=none --device example.com/fakegpu=0 "$IMG" sleep 1000
    # a spec broken after the start: the start would warn, exec does not
    printf 'cdiVersion: [\n' >"$SPECS/broken.yml"
    run_nroot 0 exec dev sh -c 'echo "visible=$FAKE_VISIBLE"'
    assert_output "visible=0"
    [ -z "$stderr" ] || fail "exec printed: $stderr"
    run_nroot 0 rm -f dev
    run_nroot 0 run -q --name stopped --net=none --device example.com/fakegpu=0 "$IMG" true
    run_nroot 0 export -o "$BATS_TEST_TMPDIR/stopped.tar" stopped
    [ -z "$stderr" ] || fail "export printed: $stderr"
    run_nroot 0 rm stopped
}

@test "cdi: nroot info shows the spec directories and the devices found" {
    write_spec yaml
    run_nroot 0 info
    assert_line --regexp "^cdi spec dirs +ok +$SPECS$"
    assert_line --regexp "^cdi devices +ok +example.com/fakegpu=0,all \($SPECS/fake.yaml\)$"
}
