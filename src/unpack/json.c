/* SPDX-License-Identifier: Apache-2.0 */
/* json.c — the JSON documents of an image (manifests, indexes, configs)
 * and seccomp profiles: bounded parsing, and typed members. */
#include <string.h>

#include "json.h"

/* JSON nested deeper than `max` (arrays and objects, counted outside
 * strings)?  json-glib parses recursively: a deep document would overflow
 * the stack before any limit of its own */
bool nr_json_too_deep(const char *buf, size_t len, int max)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}

JsonNode *nr_json_parse(const char *data, size_t len, const char *what, const char *name,
                        NrError *err)
{
    if (len > NR_JSON_MAX_SIZE) {
        nr_error_msg(err, "%s: '%s' is too large for image metadata (%zu bytes, at most %u)", what,
                     name, len, NR_JSON_MAX_SIZE);
        return NULL;
    }
    if (nr_json_too_deep(data, len, NR_JSON_MAX_DEPTH)) {
        nr_error_msg(err, "%s: '%s' is nested more than %d levels deep: not image metadata", what,
                     name, NR_JSON_MAX_DEPTH);
        return NULL;
    }
    g_autoptr(JsonParser) p = json_parser_new_immutable();
    g_autoptr(GError) gerr = NULL;
    if (!json_parser_load_from_data(p, data && len ? data : "", (gssize)len, &gerr)) {
        nr_error_msg(err, "%s: '%s' is not valid JSON: %s", what, name, gerr->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(p);
    if (!root) {
        nr_error_msg(err, "%s: '%s' is empty", what, name);
        return NULL;
    }
    return json_node_copy(root);
}

const char *nr_json_get_string(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

JsonObject *nr_json_get_object(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

JsonArray *nr_json_get_array(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}
