/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/ref.c — src/lib/ref.c: image references normalised as docker
 * does it.
 *
 * The cases come from distribution/reference's own tables (normalize_test.go:
 * TestValidateReferenceName, TestValidateRemoteName, TestParseRepositoryInfo,
 * TestParseReferenceWithTagAndDigest, TestInvalidReferenceComponents;
 * reference_test.go: TestReferenceParse), with the result
 * ParseNormalizedNamed + TagNameOnly gives (FamiliarString for the familiar
 * form), then nroot's own: docker://, hostile input, the boundaries.
 * Every expected result of a case without "docker://" is what
 * distribution/reference (commit 0965666) gives, except the two refusals
 * marked "see ref.c"; checked by running both on these inputs and on
 * 600,000 random ones. */
#include "nr-ref.h"
#include "nr-util.h"
#include "unit.h"

#define H64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define B64 "86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
#define ID64 "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
#define HUB "registry-1.docker.io"

typedef struct Case {
    const char *input;
    const char *full;     /* the canonical string; NULL: an error */
    const char *familiar; /* or, for an error, a part of its message */
    const char *host;
} Case;

#define OK(in, full, fam, host) \
    { \
        in, full, fam, host \
    }
#define BAD(in, part) \
    { \
        in, NULL, part, NULL \
    }

static const Case cases[] = {
    /* normalize_test.go TestValidateReferenceName: valid */
    OK("docker/docker", "docker.io/docker/docker:latest", "docker/docker:latest", HUB),
    OK("library/debian", "docker.io/library/debian:latest", "debian:latest", HUB),
    OK("debian", "docker.io/library/debian:latest", "debian:latest", HUB),
    OK("localhost/library/debian", "localhost/library/debian:latest",
       "localhost/library/debian:latest", "localhost"),
    OK("localhost/debian", "localhost/debian:latest", "localhost/debian:latest", "localhost"),
    OK("LOCALDOMAIN/library/debian", "LOCALDOMAIN/library/debian:latest",
       "LOCALDOMAIN/library/debian:latest", "LOCALDOMAIN"),
    OK("LOCALDOMAIN/debian", "LOCALDOMAIN/debian:latest", "LOCALDOMAIN/debian:latest",
       "LOCALDOMAIN"),
    OK("docker.io/docker/docker", "docker.io/docker/docker:latest", "docker/docker:latest", HUB),
    OK("docker.io/library/debian", "docker.io/library/debian:latest", "debian:latest", HUB),
    OK("docker.io/debian", "docker.io/library/debian:latest", "debian:latest", HUB),
    OK("index.docker.io/docker/docker", "docker.io/docker/docker:latest", "docker/docker:latest",
       HUB),
    OK("index.docker.io/library/debian", "docker.io/library/debian:latest", "debian:latest", HUB),
    OK("index.docker.io/debian", "docker.io/library/debian:latest", "debian:latest", HUB),
    OK("127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker:latest",
       "127.0.0.1:5000/docker/docker:latest", "127.0.0.1:5000"),
    OK("127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian:latest",
       "127.0.0.1:5000/library/debian:latest", "127.0.0.1:5000"),
    OK("127.0.0.1:5000/debian", "127.0.0.1:5000/debian:latest", "127.0.0.1:5000/debian:latest",
       "127.0.0.1:5000"),
    OK("192.168.0.1", "docker.io/library/192.168.0.1:latest", "192.168.0.1:latest", HUB),
    OK("192.168.0.1:80", "docker.io/library/192.168.0.1:80", "192.168.0.1:80", HUB),
    OK("192.168.0.1:8/debian", "192.168.0.1:8/debian:latest", "192.168.0.1:8/debian:latest",
       "192.168.0.1:8"),
    OK("192.168.0.2:25000/debian", "192.168.0.2:25000/debian:latest",
       "192.168.0.2:25000/debian:latest", "192.168.0.2:25000"),
    OK("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
       "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
       "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest", HUB),
    OK("[fc00::1]:5000/docker", "[fc00::1]:5000/docker:latest", "[fc00::1]:5000/docker:latest",
       "[fc00::1]:5000"),
    OK("[fc00::1]:5000/docker/docker", "[fc00::1]:5000/docker/docker:latest",
       "[fc00::1]:5000/docker/docker:latest", "[fc00::1]:5000"),
    OK("[fc00:1:2:3:4:5:6:7]:5000/library/debian",
       "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest",
       "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest", "[fc00:1:2:3:4:5:6:7]:5000"),
    OK("docker.io/" ID64, "docker.io/library/" ID64 ":latest", ID64 ":latest", HUB),
    OK("Docker/docker", "Docker/docker:latest", "Docker/docker:latest", "Docker"),
    OK("DOCKER/docker", "DOCKER/docker:latest", "DOCKER/docker:latest", "DOCKER"),
    /* TestValidateReferenceName: invalid */
    BAD("https://github.com/docker/docker", "'https:' is not a registry domain"),
    BAD("docker/Docker", "'docker/Docker' must be lowercase"),
    BAD("-docker", "'-docker' is not a valid repository name component"),
    BAD("-docker/docker", "'-docker' is not a valid repository name component"),
    BAD("-docker.io/docker/docker", "'-docker.io' is not a registry domain"),
    BAD("docker///docker", "an empty component"),
    BAD("docker.io/docker/Docker", "must be lowercase"),
    BAD("docker.io/docker///docker", "an empty component"),
    BAD("[fc00::1]", "'[fc00' is not a valid repository name component"),
    BAD("[fc00::1]:5000", "'[fc00' is not a valid repository name component"),
    BAD("fc00::1:5000/debian", "'fc00::1:5000' is not a registry domain"),
    BAD("[fe80::1%eth0]:5000/debian", "is not a registry domain"),
    BAD("[2001:db8:3:4::192.0.2.33]:5000/debian", "is not a registry domain"),
    BAD(ID64, "is an image id, not a repository name"),
    /* TestValidateRemoteName */
    OK("docker-rules/docker", "docker.io/docker-rules/docker:latest", "docker-rules/docker:latest",
       HUB),
    OK("docker---rules/docker", "docker.io/docker---rules/docker:latest",
       "docker---rules/docker:latest", HUB),
    OK("doc/docker", "docker.io/doc/docker:latest", "doc/docker:latest", HUB),
    OK("d/docker", "docker.io/d/docker:latest", "d/docker:latest", HUB),
    OK("jess/t", "docker.io/jess/t:latest", "jess/t:latest", HUB),
    OK("dock__er/docker", "docker.io/dock__er/docker:latest", "dock__er/docker:latest", HUB),
    BAD("docker-/docker", "'docker-' is not a valid repository name component"),
    BAD("-docker-/docker", "'-docker-' is not a valid repository name component"),
    BAD("____/____", "'____' is not a valid repository name component"),
    BAD("_docker/_docker", "'_docker' is not a valid repository name component"),
    BAD("dock..er/docker", "'dock..er' is not a registry domain"),
    BAD("dock_.er/docker", "'dock_.er' is not a registry domain"),
    BAD("dock-.er/docker", "'dock-.er' is not a registry domain"),
    BAD("docker/", "an empty component"),
    /* TestParseRepositoryInfo (familiar, full and ambiguous names) */
    OK("localhost/fooo", "localhost/fooo:latest", "localhost/fooo:latest", "localhost"),
    OK("localhost/fooo/bar", "localhost/fooo/bar:latest", "localhost/fooo/bar:latest", "localhost"),
    OK("fooo/bar", "docker.io/fooo/bar:latest", "fooo/bar:latest", HUB),
    OK("index.docker.io/fooo/bar", "docker.io/fooo/bar:latest", "fooo/bar:latest", HUB),
    OK("ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest", HUB),
    OK("nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu:latest", "nonlibrary/ubuntu:latest", HUB),
    OK("other/library", "docker.io/other/library:latest", "other/library:latest", HUB),
    OK("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase:latest",
       "127.0.0.1:8000/private/moonbase:latest", "127.0.0.1:8000"),
    OK("example.com/privatebase", "example.com/privatebase:latest",
       "example.com/privatebase:latest", "example.com"),
    OK("example.com:8000/privatebasee", "example.com:8000/privatebasee:latest",
       "example.com:8000/privatebasee:latest", "example.com:8000"),
    OK("ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base:latest",
       "ubuntu-12.04-base:latest", HUB),
    OK("index.docker.io/library/ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base:latest",
       "ubuntu-12.04-base:latest", HUB),
    OK("docker.io/foo", "docker.io/library/foo:latest", "foo:latest", HUB),
    OK("library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest", HUB),
    OK("store/foo/bar", "docker.io/store/foo/bar:latest", "store/foo/bar:latest", HUB),
    OK("Foo/bar", "Foo/bar:latest", "Foo/bar:latest", "Foo"),
    OK("FOO/bar", "FOO/bar:latest", "FOO/bar:latest", "FOO"),
    /* TestParseReferenceWithTagAndDigest: both kept */
    OK("busybox:latest@sha256:" B64, "docker.io/library/busybox:latest@sha256:" B64,
       "busybox:latest@sha256:" B64, HUB),
    /* TestInvalidReferenceComponents */
    BAD("-foo", "'-foo' is not a valid repository name component"),
    /* reference_test.go TestReferenceParse, normalised */
    OK("test_com", "docker.io/library/test_com:latest", "test_com:latest", HUB),
    OK("test.com:tag", "docker.io/library/test.com:tag", "test.com:tag", HUB),
    OK("test.com:5000", "docker.io/library/test.com:5000", "test.com:5000", HUB),
    OK("test.com/repo:tag", "test.com/repo:tag", "test.com/repo:tag", "test.com"),
    OK("test:5000/repo", "test:5000/repo:latest", "test:5000/repo:latest", "test:5000"),
    OK("test:5000/repo:tag", "test:5000/repo:tag", "test:5000/repo:tag", "test:5000"),
    OK("test:5000/repo@sha256:" H64, "test:5000/repo@sha256:" H64, "test:5000/repo@sha256:" H64,
       "test:5000"),
    OK("test:5000/repo:tag@sha256:" H64, "test:5000/repo:tag@sha256:" H64,
       "test:5000/repo:tag@sha256:" H64, "test:5000"),
    BAD("", "an empty image reference"),
    BAD(":justtag", "no repository name"),
    BAD("@sha256:" H64, "no repository name"),
    BAD("repo@sha256:ffffffffffffffffffffffffffffffffff",
        "a sha256 digest is 64 lowercase hexadecimal digits (34 given)"),
    BAD("validname@invaliddigest:" H64,
        "digest algorithm 'invaliddigest' is not supported (sha256, sha512)"),
    BAD("Uppercase:tag", "the repository name 'library/Uppercase' must be lowercase"),
    BAD("test:5000/Uppercase/lowercase:tag", "'Uppercase/lowercase' must be lowercase"),
    OK("lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase", HUB),
    BAD("aa/asdf$$^/aa", "'asdf$$^' is not a valid repository name component"),
    OK("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux:latest",
       "sub-dom1.foo.com/bar/baz/quux:latest", "sub-dom1.foo.com"),
    OK("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
       "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com"),
    OK("b.gcr.io/test.example.com/my-app:test.example.com",
       "b.gcr.io/test.example.com/my-app:test.example.com",
       "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io"),
    OK("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com",
       "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com"),
    OK("xn--7o8h.com/myimage:xn--7o8h.com@sha256:" H64,
       "xn--7o8h.com/myimage:xn--7o8h.com@sha256:" H64,
       "xn--7o8h.com/myimage:xn--7o8h.com@sha256:" H64, "xn--7o8h.com"),
    OK("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080", HUB),
    OK("foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080", HUB),
    OK("192.168.1.1:tag", "docker.io/library/192.168.1.1:tag", "192.168.1.1:tag", HUB),
    OK("192.168.1.1/repo", "192.168.1.1/repo:latest", "192.168.1.1/repo:latest", "192.168.1.1"),
    OK("192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050",
       "192.168.1.1:5000"),
    BAD("[2001:db8::1]", "is not a valid repository name component"),
    BAD("[2001:db8::1]:5000", "is not a valid repository name component"),
    BAD("[2001:db8::1]:tag", "is not a valid repository name component"),
    OK("[2001:db8::1]/repo", "[2001:db8::1]/repo:latest", "[2001:db8::1]/repo:latest",
       "[2001:db8::1]"),
    OK("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]/repo:tag",
       "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]"),
    OK("[2001:db8::1]:5000/repo:tag@sha256:" H64, "[2001:db8::1]:5000/repo:tag@sha256:" H64,
       "[2001:db8::1]:5000/repo:tag@sha256:" H64, "[2001:db8::1]:5000"),
    OK("[2001:db8::]:5000/repo", "[2001:db8::]:5000/repo:latest", "[2001:db8::]:5000/repo:latest",
       "[2001:db8::]:5000"),
    OK("[::1]:5000/repo", "[::1]:5000/repo:latest", "[::1]:5000/repo:latest", "[::1]:5000"),
    BAD("[fe80::1%eth0]:5000/repo", "'[fe80::1%eth0]:5000' is not a registry domain"),
    BAD("[fe80::1%@invalidzone]:5000/repo", "is not a registry domain"),

    /* nroot: an explicit docker:// */
    OK("docker://debian", "docker.io/library/debian:latest", "debian:latest", HUB),
    OK("docker://localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000"),
    OK("docker://docker.io/library/debian:12", "docker.io/library/debian:12", "debian:12", HUB),
    BAD("docker://", "no image name after docker://"),
    BAD("docker://docker://debian", "'docker:' is not a registry domain"),
    BAD("DOCKER://debian", "'DOCKER:' is not a registry domain"),
    /* localhost: a domain only before a '/' (normalize.go's FIXME) */
    OK("localhost", "docker.io/library/localhost:latest", "localhost:latest", HUB),
    OK("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest", "localhost:5000"),
    OK("localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", HUB),
    /* the issue's own examples */
    OK("debian:12", "docker.io/library/debian:12", "debian:12", HUB),
    OK("user/app", "docker.io/user/app:latest", "user/app:latest", HUB),
    OK("quay.io/org/app:v1.2.3", "quay.io/org/app:v1.2.3", "quay.io/org/app:v1.2.3", "quay.io"),
    OK("ghcr.io/o/r@sha256:" H64, "ghcr.io/o/r@sha256:" H64, "ghcr.io/o/r@sha256:" H64, "ghcr.io"),
    OK("debian@sha256:" B64, "docker.io/library/debian@sha256:" B64, "debian@sha256:" B64, HUB),
    OK("REGISTRY.Example.COM:443/a/b", "REGISTRY.Example.COM:443/a/b:latest",
       "REGISTRY.Example.COM:443/a/b:latest", "REGISTRY.Example.COM:443"),
    /* sha512 is registered by docker (reference_test.go's case fails only
     * because its test binary does not import crypto/sha512) */
    OK("validname@sha512:" H64 H64, "docker.io/library/validname@sha512:" H64 H64,
       "validname@sha512:" H64 H64, HUB),
    /* tags */
    OK("debian:_x", "docker.io/library/debian:_x", "debian:_x", HUB),
    OK("debian:A.b-C_9", "docker.io/library/debian:A.b-C_9", "debian:A.b-C_9", HUB),
    BAD("debian:", "nothing after ':'"),
    BAD("debian:-x", "'-x' is not a valid tag"),
    BAD("debian:.x", "'.x' is not a valid tag"),
    BAD("debian:1.0:2", "'1.0:2' is not a valid tag"),
    BAD("debian:a/b", "'debian:a' is not a registry domain"), /* the first '/' ends a domain */
    BAD("debian:ü", "is not a valid tag"),
    /* digests */
    BAD("debian@", "nothing after '@'"),
    BAD("debian@sha256", "the digest is not ALGORITHM:HEX"),
    BAD("debian@sha256:", "the digest is not ALGORITHM:HEX"),
    BAD("debian@:" H64, "the digest is not ALGORITHM:HEX"),
    BAD("debian@sha256:" H64 "@sha256:" H64, "more than one '@'"),
    BAD("debian@@sha256:" H64, "more than one '@'"),
    BAD("debian@sha256:fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "64 lowercase hexadecimal digits (63 given)"),
    BAD("debian@sha256:" H64 "f", "64 lowercase hexadecimal digits (65 given)"),
    BAD("debian@sha256:gfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "(64 given, not all of them)"),
    BAD("debian@sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        "(64 given, not all of them)"),
    BAD("debian@sha512:" H64, "a sha512 digest is 128 lowercase hexadecimal digits (64 given)"),
    BAD("debian@md5:ffffffffffffffffffffffffffffffff", "digest algorithm 'md5' is not supported"),
    /* go-digest knows sha384 too; nroot refuses it (see ref.c) */
    BAD("debian@sha384:" H64 "ffffffffffffffffffffffffffffffff",
        "digest algorithm 'sha384' is not supported"),
    BAD("debian@SHA256:" H64, "digest algorithm 'SHA256' is not supported"),
    /* names: hostile and odd */
    BAD("..", "'..' is not a valid repository name component"),
    BAD(".", "'.' is not a valid repository name component"),
    BAD("../x", "'..' is not a registry domain"),
    BAD("./debian", "'.' is not a registry domain"),
    BAD("/abs/path", "an empty component"),
    BAD("~/x", "'~' is not a valid repository name component"),
    BAD("Debian", "the repository name 'library/Debian' must be lowercase"),
    BAD("debian latest", "'debian latest' is not a valid repository name component"),
    BAD(" debian", "is not a valid repository name component"),
    BAD("debian ", "is not a valid repository name component"),
    BAD("debian: latest", "' latest' is not a valid tag"),
    BAD("deb\nian", "is not a valid repository name component"),
    BAD("debian\t", "is not a valid repository name component"),
    BAD("\x1b[31mred", "is not a valid repository name component"),
    BAD("debian:1\x7f", "is not a valid tag"),
    BAD("local\x01host/x", "is not a valid repository name component"),
    BAD("exa\x01mple.com/x", "is not a registry domain"),
    BAD("example.com:/x", "'example.com:' is not a registry domain"),
    BAD("example.com:50a0/x", "is not a registry domain"),
    BAD("example..com/x", "is not a registry domain"),
    BAD(".example.com/x", "is not a registry domain"),
    BAD("example.com./x", "is not a registry domain"),
    BAD("[]:5000/x", "is not a registry domain"),
    BAD("[::1/x", "is not a registry domain"),
    BAD("dëbian", "is not a valid repository name component"),
    BAD("a/b//c", "an empty component"),
    BAD("a/b/", "an empty component"),
    BAD("example.com/", "no repository name"),
    /* a first component with '_' and a '.': distribution/reference takes it
     * as the path with no domain at all; nroot refuses it (see ref.c) */
    BAD("foo_bar.com/x", "'foo_bar.com' is not a registry domain"),
};

static void check_case(const Case *c)
{
    NrRef ref = { 0 };
    NrError err = { 0 };
    int r = nr_ref_parse(c->input, &ref, &err);
    if (!c->full) {
        if (r == 0)
            fail_msg("'%s' parsed as %s, expected an error with \"%s\"", c->input, ref.full,
                     c->familiar);
        assert_nr_error(r, err, c->familiar);
        assert_null(ref.domain); /* untouched */
        if (c->input[0] && !strstr(err.msg, c->input))
            fail_msg("the error \"%s\" does not name the reference '%s'", err.msg, c->input);
        return;
    }
    if (r != 0)
        fail_msg("'%s': unexpected failure: %s", c->input, err.msg);
    if (strcmp(nr_ref_string(&ref), c->full) != 0)
        fail_msg("'%s': canonical %s, expected %s", c->input, nr_ref_string(&ref), c->full);
    if (strcmp(nr_ref_familiar(&ref), c->familiar) != 0)
        fail_msg("'%s': familiar %s, expected %s", c->input, nr_ref_familiar(&ref), c->familiar);
    if (strcmp(nr_ref_registry_host(&ref), c->host) != 0)
        fail_msg("'%s': host %s, expected %s", c->input, nr_ref_registry_host(&ref), c->host);
    /* the parts add up to the canonical string */
    char *again = nr_strdup_printf("%s/%s%s%s%s%s", ref.domain, ref.path, ref.tag ? ":" : "",
                                   ref.tag ? ref.tag : "", ref.digest ? "@" : "",
                                   ref.digest ? ref.digest : "");
    assert_string_equal(again, c->full);
    free(again);
    char *name = nr_strdup_printf("%s/%s", ref.domain, ref.path);
    assert_string_equal(ref.name, name);
    free(name);
    /* the canonical string and the familiar one parse back to themselves */
    const char *forms[] = { c->full, c->familiar };
    for (size_t i = 0; i < 2; i++) {
        NrRef back = { 0 };
        assert_nr_ok(nr_ref_parse(forms[i], &back, &err), err);
        assert_string_equal(nr_ref_string(&back), c->full);
        nr_ref_clear(&back);
    }
    nr_ref_clear(&ref);
    assert_null(ref.full);
}

static void test_table(void **state)
{
    size_t ok = 0, bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case(&cases[i]);
        if (cases[i].full)
            ok++;
        else
            bad++;
    }
    print_message("ref: %zu cases, %zu valid, %zu errors\n", ok + bad, ok, bad);
}

/* the fields one by one, and what is fetched */
static void test_fields(void **state)
{
    NrRef ref = { 0 };
    NrError err = { 0 };
    assert_nr_ok(nr_ref_parse("debian", &ref, &err), err);
    assert_string_equal(ref.domain, "docker.io");
    assert_string_equal(ref.path, "library/debian");
    assert_string_equal(ref.tag, "latest");
    assert_null(ref.digest);
    assert_string_equal(ref.name, "docker.io/library/debian");
    assert_string_equal(nr_ref_manifest_ref(&ref), "latest");
    nr_ref_clear(&ref);

    assert_nr_ok(nr_ref_parse("localhost:5000/a/b:1@sha512:" H64 H64, &ref, &err), err);
    assert_string_equal(ref.domain, "localhost:5000");
    assert_string_equal(ref.path, "a/b");
    assert_string_equal(ref.tag, "1");
    assert_string_equal(ref.digest, "sha512:" H64 H64);
    assert_string_equal(nr_ref_manifest_ref(&ref), "sha512:" H64 H64); /* the digest wins */
    assert_string_equal(nr_ref_registry_host(&ref), "localhost:5000");
    nr_ref_clear(&ref);

    assert_nr_ok(nr_ref_parse("debian@sha256:" B64, &ref, &err), err);
    assert_null(ref.tag); /* no "latest" beside a digest */
    assert_string_equal(nr_ref_manifest_ref(&ref), "sha256:" B64);
    nr_ref_clear(&ref);
    nr_ref_clear(&ref); /* twice is harmless */

    /* a failure leaves *ret as it was */
    NrRef kept = { .domain = (char *)"kept" };
    assert_nr_error(nr_ref_parse("Debian", &kept, &err), err, "must be lowercase");
    assert_string_equal(kept.domain, "kept");
    assert_nr_error(nr_ref_parse(NULL, &ref, &err), err, "an empty image reference");
}

static char *repeat(const char *s, size_t n, const char *after)
{
    size_t l = strlen(s);
    char *p = nr_xmalloc(l * n + strlen(after) + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(p + i * l, s, l);
    strcpy(p + l * n, after);
    return p;
}

static void parse_ok(const char *text, const char *full)
{
    NrRef ref = { 0 };
    NrError err = { 0 };
    assert_nr_ok(nr_ref_parse(text, &ref, &err), err);
    assert_string_equal(nr_ref_string(&ref), full);
    nr_ref_clear(&ref);
}

static void parse_bad(const char *text, const char *part)
{
    NrRef ref = { 0 };
    NrError err = { 0 };
    assert_nr_error(nr_ref_parse(text, &ref, &err), err, part);
    if (!strchr(err.msg, '\'') || strlen(err.msg) > 600)
        fail_msg("error message \"%s\" does not quote the reference, or is too long", err.msg);
}

/* the limits: a path of 255 (with library/), a tag of 128, long input */
static void test_lengths(void **state)
{
    /* reference_test.go: "domain/" + 256 a + ":tag" is too long,
     * "example.com/" + 255 a + ":tag" is not, nor 127 "a/" + "a" */
    char *s = repeat("a", 256, ":tag"), *t = nr_strdup_printf("domain/%s", s);
    parse_bad(t, "the repository name is 263 characters, more than 255");
    free(s), free(t);
    s = repeat("a", 255, ":tag"), t = nr_strdup_printf("example.com/%s", s);
    char *full = nr_strdup_printf("example.com/%s", s);
    parse_ok(t, full);
    free(s), free(t), free(full);
    s = repeat("a/", 127, "a:tag-puts-this-over-max");
    t = nr_strdup_printf("docker.io/%s", s);
    parse_ok(s, t);
    free(s), free(t);
    s = repeat("a", 256, "");
    parse_bad(s, "the repository name is 264 characters, more than 255"); /* library/ */
    free(s);
    /* library/ counts: 247 + 8 = 255, 248 + 8 = 256 */
    s = repeat("b", 247, ""), t = nr_strdup_printf("docker.io/library/%s:latest", s);
    parse_ok(s, t);
    free(s), free(t);
    s = repeat("b", 248, "");
    parse_bad(s, "the repository name is 256 characters, more than 255");
    free(s);
    /* normalize_test.go TestValidateRemoteName: namespace too long */
    parse_bad("this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_"
              "a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
              "namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_"
              "because_its_lenth_is_greater_than_255/docker",
              "more than 255");
    /* a tag of 128 is the most */
    s = repeat("t", 128, ""), t = nr_strdup_printf("debian:%s", s);
    full = nr_strdup_printf("docker.io/library/debian:%s", s);
    parse_ok(t, full);
    free(s), free(t), free(full);
    s = repeat("t", 129, ""), t = nr_strdup_printf("debian:%s", s);
    parse_bad(t, "is not a valid tag");
    free(s), free(t);
    /* a long domain (no limit in docker's grammar) and huge input: the
     * message stays short */
    s = repeat("x", 300, ".example.com/a");
    t = nr_strdup_printf("%s:latest", s);
    parse_ok(s, t);
    free(s), free(t);
    s = repeat("A", 100000, "");
    parse_bad(s, "must be lowercase");
    free(s);
    s = repeat("a", 100000, "");
    parse_bad(s, "more than 255");
    free(s);
    s = repeat("x.", 5000, "/a");
    parse_bad(s, "is not a registry domain");
    free(s);
    s = repeat("@", 5000, "");
    parse_bad(s, "no repository name");
    free(s);
}

/* what the launcher asks before the network */
static void test_looks_like(void **state)
{
    static const struct {
        const char *text;
        bool yes;
    } cases_ll[] = {
        { "debian", true },
        { "debian:12", true },
        { "docker.io/library/debian:12", true },
        { "localhost:5000/x", true },
        { "quay.io/org/app@sha256:" H64, true },
        { "rootfs", true }, /* a missing directory of a plain name: also a reference */
        { "docker://debian", true },
        { "docker://", true }, /* explicit: nr_ref_parse says what is wrong */
        { "docker://Debian", true },
        { "", false },
        { "Debian", false },
        { "./rootfs", false },
        { "/tmp/rootfs", false },
        { "../image.tar", false },
        { "image.tar", false },
        { "debian.tar.gz", false },
        { "images/debian.tgz", false },
        { "out.d/rootfs.tar", false },
        { "x.tar.zst", false },
        { "x.sqfs", false },
        { "x.tar:1", false },
        { "x.tar-1", true },
        { "tar", true },
        { ID64, false },
        { "debian latest", false },
        { "debian@md5:ffffffffffffffffffffffffffffffff", false },
    };
    for (size_t i = 0; i < sizeof cases_ll / sizeof cases_ll[0]; i++)
        if (nr_ref_looks_like(cases_ll[i].text) != cases_ll[i].yes)
            fail_msg("nr_ref_looks_like(\"%s\") is not %s", cases_ll[i].text,
                     cases_ll[i].yes ? "true" : "false");
    assert_false(nr_ref_looks_like(NULL));
    /* every valid case of the table looks like one, unless it ends like a file */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].full && !nr_ref_looks_like(cases[i].input))
            fail_msg("'%s' parses but does not look like a reference", cases[i].input);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_looks_like),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
