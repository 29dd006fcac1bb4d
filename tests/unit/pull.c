/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/pull.c — nroot-pull's pure parts (src/pull): the
 * WWW-Authenticate challenge, digests, manifest kinds (schema 1 refused),
 * the platform chosen from an index. */
#include "pull/pull.h"
#include "unit.h"

static void test_challenge(void **state)
{
    NrChallenge c;
    assert_true(nr_auth_challenge_parse(
        "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
        "scope=\"repository:samalba/my-app:pull,push\"",
        &c));
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:samalba/my-app:pull,push");
    nr_auth_challenge_clear(&c);

    /* unquoted values, spaces, escapes, case */
    assert_true(nr_auth_challenge_parse(
        "bearer  Realm = https://h/t , service=\"a \\\"q\\\" b\", error=\"invalid_token\"", &c));
    assert_string_equal(c.realm, "https://h/t");
    assert_string_equal(c.service, "a \"q\" b");
    assert_null(c.scope);
    nr_auth_challenge_clear(&c);

    /* several challenges: Bearer wins over Basic whatever the order */
    assert_true(nr_auth_challenge_parse("Basic realm=\"x, y\", Bearer realm=\"https://t\"", &c));
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "https://t");
    nr_auth_challenge_clear(&c);
    assert_true(nr_auth_challenge_parse("Basic realm=\"Registry Realm\"", &c));
    assert_string_equal(c.scheme, "basic");
    assert_string_equal(c.realm, "Registry Realm");
    nr_auth_challenge_clear(&c);

    assert_false(nr_auth_challenge_parse("Negotiate", &c));
    assert_false(nr_auth_challenge_parse("", &c));
    /* an unterminated quote ends the value, no overrun */
    assert_true(nr_auth_challenge_parse("Bearer realm=\"https://t", &c));
    assert_string_equal(c.realm, "https://t");
    nr_auth_challenge_clear(&c);
}

static void test_digest(void **state)
{
    const char *ok = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_ptr_equal(nr_pull_digest_hex(ok), ok + 7);
    assert_null(nr_pull_digest_hex("sha256:0123"));
    assert_null(nr_pull_digest_hex(
        "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_null(nr_pull_digest_hex(
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/"));
    assert_null(nr_pull_digest_hex(
        "sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_null(nr_pull_digest_hex(NULL));
}

static void test_kind(void **state)
{
    NrError err = { 0 };
    bool index = true;
    const char *m = "{\"schemaVersion\":2,\"layers\":[]}";
    assert_nr_ok(nr_manifest_kind(NR_MT_OCI_MANIFEST, m, strlen(m), &index, &err), err);
    assert_false(index);
    assert_nr_ok(nr_manifest_kind(NR_MT_DOCKER_LIST "; charset=utf-8", m, strlen(m), &index, &err),
                 err);
    assert_true(index);
    assert_nr_ok(nr_manifest_kind("application/json", m, strlen(m), &index, &err), err);
    assert_false(index);
    const char *i = "{\"schemaVersion\":2,\"manifests\":[]}";
    assert_nr_ok(nr_manifest_kind(NULL, i, strlen(i), &index, &err), err);
    assert_true(index);
    const char *s1 = "{\"schemaVersion\":1,\"fsLayers\":[]}";
    assert_nr_error(nr_manifest_kind("application/vnd.docker.distribution.manifest.v1+prettyjws",
                                     s1, strlen(s1), &index, &err),
                    err, "schema 1");
    assert_nr_error(nr_manifest_kind("application/json", s1, strlen(s1), &index, &err), err,
                    "schema 1");
}

static const char idx[] =
    "{\"schemaVersion\":2,\"manifests\":["
    "{\"digest\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
    "{\"digest\":\"sha256:2222222222222222222222222222222222222222222222222222222222222222\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
    "{\"digest\":\"sha256:3333333333333333333333333333333333333333333333333333333333333333\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
    "{\"digest\":\"sha256:4444444444444444444444444444444444444444444444444444444444444444\","
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"digest\":\"sha256:5555555555555555555555555555555555555555555555555555555555555555\","
    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";

static void chosen(const char *platform, char digit)
{
    NrError err = { 0 };
    char *d = NULL;
    assert_nr_ok(nr_manifest_choose(idx, strlen(idx), platform, &d, &err), err);
    assert_int_equal(d[7], digit);
    free(d);
}

static void test_choose(void **state)
{
    chosen("linux/amd64", '4');
    chosen("linux/arm64", '3');
    chosen("linux/arm64/v8", '3');
    chosen("linux/arm/v7", '2');
    chosen("linux/arm", '1'); /* no variant asked: the first arm */
    NrError err = { 0 };
    char *d = NULL;
    assert_nr_error(nr_manifest_choose(idx, strlen(idx), "linux/s390x", &d, &err), err,
                    "offers: linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/amd64)");
    assert_nr_error(nr_manifest_choose(idx, strlen(idx), "linux", &d, &err), err,
                    "invalid platform");
    assert_non_null(strchr(nr_manifest_host_platform(), '/'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_challenge),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_choose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
