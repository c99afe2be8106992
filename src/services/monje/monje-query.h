/* SPDX-License-Identifier: MIT */
/* monje-query.h: the body of GET ["db", COLLECTION], parsed and checked.
 *
 * Two shapes are accepted:
 *
 * - a bare filter: `{"status": "open", "votes": {"$gt": 3}}`;
 * - an options object, recognised when every one of its members is one of
 *   `filter`, `sort`, `limit`, `skip`, `projection`, `count`:
 *   `{"filter": {...}, "sort": {"votes": -1}, "limit": 10, "skip": 20,
 *     "projection": {"title": 1}, "count": false}`.
 *   To filter on a field that is called like an option, use this shape:
 *   `{"filter": {"limit": 3}}`.
 *
 * No body, `null` or `{}` lists everything.
 *
 * The filter is the MongoDB query language, this subset:
 * - `{"path": value}`: equality (`$eq`); a field holding an array also
 *   matches when one of its elements equals the value; `null` matches a
 *   missing field too;
 * - `{"path": {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte": value}}`, several
 *   operators on one field all apply; the order operators compare numbers
 *   with numbers and strings with strings (byte order) and take only those
 *   two types as operands;
 * - `{"path": {"$in"|"$nin": [values]}}`, `{"path": {"$exists": true|false}}`;
 * - `{"$and": [filters]}`, `{"$or": [filters]}`, `{"$nor": [filters]}`.
 * Paths are dotted ("address.city") and walk through objects (see
 * monje-document.h); what a path crossing an array matches is left to the
 * backend. `sort` maps paths to 1 or -1, applied in order, documents that
 * compare equal keep their insertion order; missing and null sort first.
 * Sorting a field that mixes types other than null, numbers and strings is
 * backend-defined. `limit` 0 means none. `projection` maps paths either all
 * to 1/true (keep those, and `_id` unless `"_id": 0`) or all to 0/false
 * (drop those); a kept document keeps its member order.
 * `count: true` answers the number of matching documents instead of them.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  MONJE_CONDITION_AND,
  MONJE_CONDITION_OR,
  MONJE_CONDITION_NOR,
  MONJE_CONDITION_FIELD,
} MonjeConditionKind;

typedef enum {
  MONJE_OPERATOR_EQ,
  MONJE_OPERATOR_NE,
  MONJE_OPERATOR_GT,
  MONJE_OPERATOR_GTE,
  MONJE_OPERATOR_LT,
  MONJE_OPERATOR_LTE,
  MONJE_OPERATOR_IN,
  MONJE_OPERATOR_NIN,
  MONJE_OPERATOR_EXISTS,
} MonjeOperator;

/* One node of a checked filter; read-only once parsed. */
typedef struct _MonjeCondition MonjeCondition;
struct _MonjeCondition {
  MonjeConditionKind kind;
  GPtrArray *children;      /* AND, OR, NOR: MonjeCondition */
  char *path;               /* FIELD */
  char **segments;
  MonjeOperator op;
  JsonNode *value;          /* the operand; an array for IN and NIN */
};

typedef struct {
  char *path;
  char **segments;
  int direction;            /* 1 or -1 */
} MonjeSortKey;

/* A parsed query. Shared between the main thread and a backend's thread,
 * so read-only once parsed (apart from @limit, set before submitting). */
typedef struct {
  MonjeCondition *filter;   /* never NULL: an AND of nothing matches all */
  JsonNode *filter_json;    /* the filter object, as MongoDB reads it */
  GPtrArray *sort;          /* MonjeSortKey, in order */
  gint64 limit;             /* 0: no limit */
  gint64 skip;
  JsonNode *projection_json;/* NULL: whole documents */
  gboolean projection_keeps;/* TRUE: the listed paths are kept, else dropped */
  gboolean projection_id;   /* `_id` is kept */
  gboolean count;
} MonjeQuery;

/**
 * monje_query_new:
 * @body: (nullable): the request body
 *
 * Returns: (transfer full): the query, or %NULL with a 400 %JSTP_ERROR
 *   whose message names what is wrong and where
 */
MonjeQuery *monje_query_new          (JsonNode    *body,
                                      GError     **error);
MonjeQuery *monje_query_ref          (MonjeQuery  *query);
void        monje_query_unref        (MonjeQuery  *query);

/* Adds every field path of the filter and the sort, once each, to @paths
 * (a string set), for backends that index what is queried. */
void        monje_query_collect_paths (MonjeQuery *query,
                                      GHashTable  *paths);

/* The projection applied to @document. Returns: (transfer full) */
JsonObject *monje_query_project      (MonjeQuery  *query,
                                      JsonObject  *document);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MonjeQuery, monje_query_unref)

G_END_DECLS
