#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# --help, the man pages and the shell completions must not drift apart.

load helpers

REPO_DIR=${NROOT_TEST_REPO:-$BATS_TEST_DIRNAME/..}

# the long options that `nroot run --help` documents
help_long_options() {
    "$NROOT" run --help | grep -oE '(^|[ ,])--[a-z][a-z-]+' | sed 's/^[ ,]*//' | sort -u
}

@test "docs: every run option of --help is in nroot-run(1)" {
    local md=$REPO_DIR/man/nroot-run.1.md opt
    [ -f "$md" ] || fail "no $md"
    run help_long_options
    [ "${#lines[@]}" -ge 10 ] || fail "too few options found in run --help: $output"
    for opt in "${lines[@]}"; do
        grep -qF -- "**$opt**" "$md" || fail "$opt is in run --help but not in $md"
    done
}

@test "docs: every option nroot-run(1) lists is accepted by --help" {
    local md=$REPO_DIR/man/nroot-run.1.md opt help
    [ -f "$md" ] || fail "no $md"
    help=$(help_long_options)
    # option headings of the OPTIONS section: **-x**, **--long**=...
    run sh -c "sed -n '/^## OPTIONS/,/^## /p' '$md' | grep -oE '^\*\*-[^*]*\*\*(, \*\*--[a-z-]+\*\*)?' | grep -oE -- '--[a-z][a-z-]+' | sort -u"
    [ "${#lines[@]}" -ge 10 ] || fail "too few options found in the man page: $output"
    for opt in "${lines[@]}"; do
        grep -qxF -- "$opt" <<<"$help" || fail "$opt is in $md but not in run --help"
    done
}

# the commands `nroot --help` lists
help_commands() {
    "$NROOT" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 { print $1 }'
}

@test "docs: every command has a man page with every option of its --help" {
    local cmd md opt n=0
    for cmd in $(help_commands); do
        n=$((n + 1))
        md=$REPO_DIR/man/nroot-$cmd.1.md
        [ -f "$md" ] || fail "nroot $cmd has no man page $md"
        for opt in $("$NROOT" "$cmd" --help | grep -oE '(^|[ ,])--[a-z][a-z-]+' | sed 's/^[ ,]*//' | sort -u); do
            grep -qF -- "**$opt**" "$md" || fail "$opt is in 'nroot $cmd --help' but not in $md"
        done
        grep -qF "**nroot-$cmd**(1)" "$REPO_DIR/man/nroot.1.md" || fail "nroot(1) does not point to nroot-$cmd(1)"
    done
    [ "$n" -ge 13 ] || fail "only $n commands in nroot --help"
}

@test "docs: the generated man pages match their markdown" {
    command -v go-md2man >/dev/null || skip "go-md2man is not installed"
    local md n=0
    for md in "$REPO_DIR"/man/*.md; do
        [ -f "$md" ] || continue
        n=$((n + 1))
        go-md2man -in "$md" -out "$BATS_TEST_TMPDIR/page"
        cmp -s "$BATS_TEST_TMPDIR/page" "${md%.md}" ||
            fail "${md%.md} is out of date: run make man"
    done
    [ "$n" -gt 0 ] || fail "no man pages in $REPO_DIR/man"
}

@test "docs: man renders every page without a warning" {
    command -v man >/dev/null || skip "man (man-db) is not installed"
    local page warn n=0
    for page in "$REPO_DIR"/man/*.[1-8]; do
        [ -f "$page" ] || continue
        n=$((n + 1))
        # what lintian runs: groff's warnings on a page are its errors
        warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
        [ -z "$warn" ] || fail "$page: $warn"
    done
    [ "$n" -ge 15 ] || fail "only $n man pages in $REPO_DIR/man"
}

@test "license: LICENSE is the Apache License 2.0, and the packages say the same" {
    grep -q 'Apache License' "$REPO_DIR/LICENSE" || fail "LICENSE is not the Apache License"
    grep -q 'Version 2.0, January 2004' "$REPO_DIR/LICENSE" || fail "LICENSE is not version 2.0"
    grep -qx 'License:        Apache-2.0' "$REPO_DIR/packaging/rpm/nroot.spec" ||
        fail "the rpm spec's License is not Apache-2.0"
    grep -qx 'License: Apache-2.0' "$REPO_DIR/packaging/debian/copyright" ||
        fail "packaging/debian/copyright does not name Apache-2.0"
    grep -q 'Apache License, Version 2.0' "$REPO_DIR/README.md" || fail "README's License section"
}

@test "license: every C source, header, script and build file names it (SPDX)" {
    local f missing=()
    while IFS= read -r f; do
        head -n 3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0' || missing+=("$f")
    done < <(cd "$REPO_DIR" && find src include tests fuzz bench completions -type f \
                 \( -name '*.c' -o -name '*.h' -o -name '*.bats' -o -name '*.bash' -o -name '*.sh' \
                    -o -name '*.py' -o -name '*.mk' -o -name '*.fish' -o -name _nroot \) \
                 -not -path 'fuzz/corpus/*' -not -path 'fuzz/regress/*' -printf '%p\n';
             printf '%s\n' Makefile tests/run bench/startup packaging/debian/rules)
    [ ${#missing[@]} -eq 0 ] || fail "no SPDX line in: ${missing[*]}"
}
