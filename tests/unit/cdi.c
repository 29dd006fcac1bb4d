/* SPDX-License-Identifier: Apache-2.0 */
/* tests/unit/cdi.c — src/host/cdi.c: CDI names, --device and --gpus, JSON
 * made readable as YAML, the hooks' stage names and state. */
#include <stdlib.h>
#include <string.h>

#include "nr-cdi.h"
#include "nr-devname.h"
#include "nr-hook.h"
#include "unit.h"

static void test_names(void **state)
{
    assert_true(nr_devname_valid("nvidia.com/gpu=0"));
    assert_true(nr_devname_valid("nvidia.com/gpu=all"));
    assert_true(nr_devname_valid("nvidia.com/gpu=GPU-1a2b:3"));
    assert_true(nr_devname_valid("a/b=c"));
    assert_false(nr_devname_valid("nvidia.com/gpu"));     /* no name */
    assert_false(nr_devname_valid("gpu=0"));              /* no class */
    assert_false(nr_devname_valid("1vendor.com/gpu=0"));  /* vendor starts with a digit */
    assert_false(nr_devname_valid("vendor./gpu=0"));      /* ends with a dot */
    assert_false(nr_devname_valid("vendor.com/gpu=-0"));  /* name starts with '-' */
    assert_false(nr_devname_valid("vendor.com/gpu=0:"));  /* ends with ':' */
    assert_false(nr_devname_valid("vendor.com/gpu=a b")); /* a space */
    assert_false(nr_devname_valid("vendor.com/gp/u=0"));
}

static void test_device_option(void **state)
{
    NrStrv d = { 0 };
    NrError err = { 0 };
    assert_int_equal(nr_devname_add_device(&d, "vendor.com/fpga=x", &err), 0);
    assert_int_equal(nr_devname_add_device(&d, "/dev/fuse", &err), 0);
    assert_int_equal(nr_devname_add_device(&d, "/dev/fuse:rw", &err), 0);
    assert_int_equal(nr_devname_add_device(&d, "/dev/fuse:/dev/f:rwm", &err), 0);
    assert_int_equal(d.n, 4);
    assert_int_equal(nr_devname_add_device(&d, "/dev/fuse:f", &err), -1);
    assert_int_equal(nr_devname_add_device(&d, "/dev/fuse:/dev/f:rx", &err), -1);
    assert_int_equal(nr_devname_add_device(&d, "/dev/fuse:/dev/f:r:w", &err), -1);
    assert_int_equal(nr_devname_add_device(&d, "fpga", &err), -1);
    assert_int_equal(err.code, 125);
    assert_int_equal(d.n, 4);
    nr_strv_clear(&d);
}

static void test_gpus(void **state)
{
    NrStrv d = { 0 };
    NrError err = { 0 };
    assert_int_equal(nr_devname_add_gpus(&d, "all", &err), 0);
    assert_int_equal(nr_devname_add_gpus(&d, "2", &err), 0);
    assert_int_equal(nr_devname_add_gpus(&d, "device=3,GPU-abc", &err), 0);
    assert_int_equal(d.n, 5);
    /* docker's quoted form (a CSV field): --gpus '"device=0,1"' */
    assert_int_equal(nr_devname_add_gpus(&d, "\"device=0,1\"", &err), 0);
    assert_int_equal(nr_devname_add_gpus(&d, "\"all\"", &err), 0);
    assert_int_equal(d.n, 8);
    assert_string_equal(d.v[5], "nvidia.com/gpu=0");
    assert_string_equal(d.v[6], "nvidia.com/gpu=1");
    assert_string_equal(d.v[7], "nvidia.com/gpu=all");
    assert_string_equal(d.v[0], "nvidia.com/gpu=all");
    assert_string_equal(d.v[1], "nvidia.com/gpu=0");
    assert_string_equal(d.v[2], "nvidia.com/gpu=1");
    assert_string_equal(d.v[3], "nvidia.com/gpu=3");
    assert_string_equal(d.v[4], "nvidia.com/gpu=GPU-abc");
    assert_int_equal(nr_devname_add_gpus(&d, "0", &err), -1);
    assert_int_equal(nr_devname_add_gpus(&d, "device=", &err), -1);
    assert_int_equal(nr_devname_add_gpus(&d, "device=1,-x", &err), -1);
    assert_int_equal(nr_devname_add_gpus(&d, "lots", &err), -1);
    assert_int_equal(nr_devname_add_gpus(&d, "\"device=0", &err), -1);
    assert_int_equal(nr_devname_add_gpus(&d, "\"\"", &err), -1);
    assert_int_equal(d.n, 8);
    nr_strv_clear(&d);
}

static void test_json_to_yaml(void **state)
{
    const char *in = "{\t\"a\":\t\"x\\/y\\t\\\"\t\"}";
    char *out = nr_cdi_json_to_yaml(in, strlen(in));
    /* tabs between tokens become spaces, a tab in a string stays; \/ is / */
    assert_string_equal(out, "{ \"a\": \"x/y\\t\\\"\t\"}");
    free(out);
}

static void test_hook_state(void **state)
{
    assert_int_equal(nr_hook_stage("prestart"), NR_HOOK_PRESTART);
    assert_int_equal(nr_hook_stage("createContainer"), NR_HOOK_CREATE_CONTAINER);
    assert_int_equal(nr_hook_stage("poststop"), NR_HOOK_POSTSTOP);
    assert_int_equal(nr_hook_stage("later"), -1);
    char *s = nr_hook_state("abc", "creating", 7, "/b\"x", NULL);
    assert_string_equal(s, "{\"ociVersion\":\"1.0.2\",\"id\":\"abc\",\"status\":\"creating\","
                           "\"pid\":7,\"bundle\":\"/b\\\"x\",\"annotations\":{}}");
    free(s);
    char *ann[] = { "a.b=1", "c=x=y", NULL };
    s = nr_hook_state("id", "running", 0, "/b", ann);
    assert_string_equal(s, "{\"ociVersion\":\"1.0.2\",\"id\":\"id\",\"status\":\"running\","
                           "\"bundle\":\"/b\",\"annotations\":{\"a.b\":\"1\",\"c\":\"x=y\"}}");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),      cmocka_unit_test(test_device_option),
        cmocka_unit_test(test_gpus),       cmocka_unit_test(test_json_to_yaml),
        cmocka_unit_test(test_hook_state),
    };
    return cmocka_run_group_tests_name("cdi", tests, NULL, NULL);
}
