/* SPDX-License-Identifier: MIT */
/* monje-bson.h: JSON trees to BSON and back, for the MongoDB backend.
 *
 * JSON integers become int32 when they fit and int64 otherwise, other
 * numbers doubles. Back to JSON, the BSON types JSON has no word for are
 * written plainly: an ObjectId as its 24 hexadecimal digits (so documents
 * that MongoDB gave ids keep working as ["db", COLL, ID]), a date as
 * {"$date": milliseconds}, a decimal as its string, anything else as null.
 */
#pragma once

#include <bson/bson.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* @node must be an object. Returns: (transfer full): free with bson_destroy() */
bson_t   *monje_bson_from_node   (JsonNode       *node);
/* @json is an object's text. NULL with a 500 %JSTP_ERROR when it is not. */
bson_t   *monje_bson_from_text   (const char     *json,
                                  GError        **error);
/* Appends @document as a JSON object. */
void      monje_bson_append_json (GString        *out,
                                  const bson_t   *document);
char     *monje_bson_to_json     (const bson_t   *document);

G_END_DECLS
