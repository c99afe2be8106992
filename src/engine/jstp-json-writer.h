/* SPDX-License-Identifier: MIT */
/* jstp-json-writer.h: JSON output that is always valid.
 *
 * json-glib 1.6's generator writes `1e+21.0` and `inf.0`, and a raw U+001F
 * inside strings; everything the engine emits goes through these functions. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Shortest text that reads back as @value; FALSE for NaN and infinities. */
gboolean jstp_json_append_double (GString   *out,
                                  double     value);

/* Compact JSON of @node; FALSE (and nothing useful in @out) when the tree
 * holds a non-finite number. */
gboolean jstp_json_append_node   (GString   *out,
                                  JsonNode  *node,
                                  GError   **error);

/* Indented JSON of validated @json text, for people to read. */
char    *jstp_json_prettify      (const char *json,
                                  gsize       length);

G_END_DECLS
