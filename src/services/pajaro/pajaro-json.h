/* SPDX-License-Identifier: MIT */
/* pajaro-json.h: reading what the networks send.
 *
 * Every byte from the network goes through the engine's strict scanner
 * (jstp-json.h) before json-glib builds a tree of it; the lookups below
 * return %NULL for a member that is missing or of another type, so that
 * the parsers never trust the shape of a document.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jstp-json.h"

G_BEGIN_DECLS

/**
 * pajaro_json_parse:
 * @text: (array length=length): untrusted text
 * @limits: (nullable): the scanner's limits; %NULL for the defaults
 *
 * Returns: (transfer full) (nullable): the tree of @text, or %NULL with
 *   @error set (%JSTP_JSON_ERROR) when the scanner refused it
 */
JsonNode    *pajaro_json_parse      (const char           *text,
                                     gsize                 length,
                                     const JstpJsonLimits *limits,
                                     GError              **error);

/* Members of @object (nullable) of one type, or %NULL. */
const char  *pajaro_json_get_string (JsonObject           *object,
                                     const char           *name);
JsonObject  *pajaro_json_get_object (JsonObject           *object,
                                     const char           *name);
JsonArray   *pajaro_json_get_array  (JsonObject           *object,
                                     const char           *name);
/* Element @index of @array as an object or a string, or %NULL. */
JsonObject  *pajaro_json_array_get_object (JsonArray      *array,
                                     guint                 index);
const char  *pajaro_json_array_get_string (JsonArray      *array,
                                     guint                 index);

G_END_DECLS
