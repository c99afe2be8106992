/* SPDX-License-Identifier: MIT */
/* monje-document.h: the rules every document and field path follows, the
 * same for both backends.
 *
 * A document is a JSON object. Its id is the member `_id`, a string of 1 to
 * 128 bytes: given by the writer, or made by Monje (24 hexadecimal digits,
 * the first 8 the creation time in seconds, so that ids sort by age like
 * MongoDB ObjectIds). Member names never start with `$` and never hold a
 * `.`, at any depth: `$` starts operators and `.` separates the segments of
 * a field path, so either would make the member unreachable by queries.
 *
 * A field path is one or more member names joined by `.` ("address.city"):
 * each segment non-empty, not starting with `$`, without `"`, `\` or
 * control characters (SQLite's JSON paths compare member names as written,
 * escapes included, so names that JSON escapes cannot be reached), 32
 * segments and 256 bytes at most.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MONJE_ID_MAX_LENGTH 128

/* A new id: 24 lower-case hexadecimal digits. Free with g_free(). */
char      *monje_document_new_id       (void);

/* TRUE when @id is acceptable as `_id` (and as a resource element). */
gboolean   monje_document_check_id     (const char  *id,
                                        GError     **error);

/* Checks member names at every depth of @value; the message names the
 * offending member by its path. */
gboolean   monje_document_check_value  (JsonNode    *value,
                                        const char  *where,
                                        GError     **error);

/**
 * monje_document_prepare:
 * @body: what the writer sent
 * @id: (nullable): the id the document must have (PUT), or %NULL to take
 *   the body's `_id` or make one (POST)
 *
 * Checks @body and writes it as stored: compact JSON, `_id` first.
 * Returns: (transfer full): the document text, or %NULL with a 400 %JSTP_ERROR
 */
char      *monje_document_prepare      (JsonNode    *body,
                                        const char  *id,
                                        char       **out_id,
                                        GError     **error);

/* Splits and checks a field path. Returns: (transfer full): its segments. */
char     **monje_path_split            (const char  *path,
                                        GError     **error);

/* Parses document text the store wrote. (transfer full) */
JsonObject *monje_document_parse       (const char  *text,
                                        GError     **error);
/* Compact JSON of @object; never fails for trees from JSON text. */
char      *monje_document_to_string    (JsonObject  *object);

/* The node at @segments inside @object, or %NULL; objects only are walked. */
JsonNode  *monje_document_lookup       (JsonObject  *object,
                                        char       **segments);

G_END_DECLS
