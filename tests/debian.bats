#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# A real distribution: a Debian bookworm minbase made by mmdebstrap (see
# build_debian_image in tests/run), imported from its zstd tarball.

load helpers

teardown_file() {
    teardown_debian_store
}

@test "debian: a minbase from mmdebstrap runs dpkg and apt-get" {
    need_debian
    nrun "$DEBIAN" sh -c '. /etc/os-release; echo "$VERSION_CODENAME"; dpkg-query -W -f="\${Package}\n" dpkg apt bash coreutils; apt-get --version | head -n 1'
    assert_line --index 0 bookworm
    assert_line dpkg
    assert_line apt
    assert_line bash
    assert_line --partial "apt 2."
}

@test "debian: usrmerge symlinks and the shell work" {
    need_debian
    nrun "$DEBIAN" bash -c 'readlink /bin /lib /sbin; ls /bin/ls >/dev/null && echo ok'
    assert_output "usr/bin
usr/lib
usr/sbin
ok"
}

@test "debian: modes, setuid bits and group owners survive the import" {
    need_debian
    nrun "$DEBIAN" stat -c '%n %a %U:%G' /etc/shadow /usr/bin/passwd /var/mail /tmp
    assert_line --index 1 "/usr/bin/passwd 4755 root:root"
    assert_line --index 3 "/tmp 1777 root:root"
    if [ "$NROOT_TEST_MODE" = single ]; then
        # a single-id mapping has no group shadow or mail: all is root's
        assert_line --index 0 "/etc/shadow 640 root:root"
        assert_line --index 2 "/var/mail 2775 root:root"
    else
        assert_line --index 0 "/etc/shadow 640 root:shadow"
        assert_line --index 2 "/var/mail 2775 root:mail"
    fi
}

@test "debian: a second run uses the store and does not unpack again" {
    need_debian
    nrun "$DEBIAN" true
    local before
    before=$(ls "$STORE/images")
    nrun "$DEBIAN" sh -c 'echo written >/etc/motd && cat /etc/motd'
    assert_output written
    [ "$(ls "$STORE/images")" = "$before" ] || fail "a second image appeared: $(ls "$STORE/images")"
    nrun "$DEBIAN" cat /etc/motd
    refute_output written
}
