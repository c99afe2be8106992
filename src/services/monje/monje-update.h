/* SPDX-License-Identifier: MIT */
/* monje-update.h: the body of PATCH ["db", COLLECTION, ID], parsed and checked.
 *
 * Two shapes, told apart by their member names:
 *
 * - update operators, when every member starts with `$`:
 *   `{"$set": {"title": "x", "meta.seen": true}, "$unset": {"draft": ""},
 *     "$inc": {"votes": 1}}`. `$set` creates missing objects on its path,
 *   `$unset` ignores paths that lead nowhere, `$inc` adds to a number (a
 *   missing field starts from 0). A path whose way goes through a value that
 *   is not an object, or `$inc` on something other than a number, is refused
 *   (400) and the document stays as it was.
 * - a JSON merge patch (RFC 7396), when no member starts with `$`:
 *   `{"title": "x", "draft": null, "meta": {"seen": true}}`. It is applied as
 *   the operators it amounts to: `null` unsets, an object is merged member by
 *   member, anything else is set. Two differences from RFC 7396 follow, the
 *   same on both backends: an object cannot replace a value that is not an
 *   object (400, as for `$set` through it), and an empty object changes nothing.
 *
 * Mixing the shapes is refused. `_id` never changes: a patch may repeat it
 * unchanged, nothing else. Paths are checked as in monje-document.h; two
 * paths of one update may not overlap ("a" and "a.b").
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  MONJE_UPDATE_SET,
  MONJE_UPDATE_UNSET,
  MONJE_UPDATE_INC,
} MonjeUpdateKind;

typedef struct {
  MonjeUpdateKind kind;
  char *path;
  char **segments;
  JsonNode *value;            /* SET: the value; INC: the number */
} MonjeUpdateStep;

/* Read-only once parsed; shared with a backend's thread. */
typedef struct {
  GPtrArray *steps;           /* MonjeUpdateStep, in order */
  JsonNode *operators_json;   /* the same as MongoDB update operators */
} MonjeUpdate;

/**
 * monje_update_new:
 * @id: the document's id, which a merge patch may repeat
 *
 * Returns: (transfer full): the update, or %NULL with a 400 %JSTP_ERROR
 */
MonjeUpdate *monje_update_new     (JsonNode     *body,
                                   const char   *id,
                                   GError      **error);
MonjeUpdate *monje_update_ref     (MonjeUpdate  *update);
void         monje_update_unref   (MonjeUpdate  *update);

/* Applies every step to @document; on a 400 %JSTP_ERROR @document may be
 * half changed: apply to a copy you can drop. */
gboolean     monje_update_apply   (MonjeUpdate  *update,
                                   JsonObject   *document,
                                   GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MonjeUpdate, monje_update_unref)

G_END_DECLS
