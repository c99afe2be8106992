/* SPDX-License-Identifier: MIT */
/* monje-sqlite-store.c: the embedded backend.
 *
 * Collection names never reach SQL text: the catalogue table maps each
 * name to a table called c<N>. Field paths do (an expression index is only
 * used when the query spells the same expression), as JSON path literals
 * built from checked segments, quoted twice. Every value is a bound
 * parameter. */
#include "config.h"

#include <string.h>
#include <sqlite3.h>

#include "monje-sqlite-store.h"

#include "jstp-error.h"
#include "jstp-json-writer.h"
#include "monje-document.h"
#include "monje-worker.h"

#define SCHEMA_VERSION 1
#define MAX_BATCH      256

struct _MonjeSqliteStore {
  GObject parent_instance;

  char *path;
  MonjeWorker *worker;

  /* Everything below belongs to the worker thread once it started. */
  sqlite3 *db;
  GHashTable *tables;       /* collection name -> table name */
  GHashTable *path_uses;    /* "table\npath" -> uses (GUINT_TO_POINTER) */
  GHashTable *indexed;      /* "table\npath" */
};

static void monje_sqlite_store_iface_init (MonjeStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MonjeSqliteStore, monje_sqlite_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MONJE_TYPE_STORE,
                                                      monje_sqlite_store_iface_init))

/* ---- SQLite helpers ----------------------------------------------------- */

static gboolean
fail (sqlite3     *db,
      GError     **error,
      const char  *doing)
{
  g_set_error (error, JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR, "SQLite, %s: %s", doing,
               sqlite3_errmsg (db));
  return FALSE;
}

static gboolean
exec (sqlite3     *db,
      const char  *sql,
      GError     **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return fail (db, error, sql);
  return TRUE;
}

static sqlite3_stmt *
prepare (sqlite3     *db,
         const char  *sql,
         GError     **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      fail (db, error, "preparing a statement");
      return NULL;
    }
  return stmt;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static char *
path_key (const char *table,
          const char *path)
{
  return g_strconcat (table, "\n", path, NULL);
}

/* '$."a"."b"' as an SQL string literal; segments never hold `"`. */
static void
append_json_path (GString  *sql,
                  char    **segments)
{
  g_string_append (sql, "'$");
  for (guint i = 0; segments[i]; i++)
    {
      g_string_append (sql, ".\"");
      for (const char *c = segments[i]; *c; c++)
        {
          if (*c == '\'')
            g_string_append_c (sql, '\'');
          g_string_append_c (sql, *c);
        }
      g_string_append_c (sql, '"');
    }
  g_string_append_c (sql, '\'');
}

/* ---- schema and catalogue ---------------------------------------------- */

static gboolean
load_catalogue (MonjeSqliteStore  *self,
                GError           **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  g_hash_table_remove_all (self->tables);
  stmt = prepare (self->db, "SELECT name, n FROM monje_collections", error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_insert (self->tables, g_strdup ((const char *) sqlite3_column_text (stmt, 0)),
                         g_strdup_printf ("c%" G_GINT64_FORMAT,
                                          (gint64) sqlite3_column_int64 (stmt, 1)));
  if (rc != SQLITE_DONE)
    return fail (self->db, error, "reading the collections");

  g_clear_pointer (&stmt, sqlite3_finalize);
  g_hash_table_remove_all (self->indexed);
  stmt = prepare (self->db, "SELECT tbl, path FROM monje_indexes", error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_add (self->indexed, path_key ((const char *) sqlite3_column_text (stmt, 0),
                                               (const char *) sqlite3_column_text (stmt, 1)));
  if (rc != SQLITE_DONE)
    return fail (self->db, error, "reading the indexes");
  return TRUE;
}

static gboolean
open_database (MonjeSqliteStore  *self,
               GError           **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int version;

  /* NOMUTEX: one thread at a time uses the connection, the worker. */
  if (sqlite3_open_v2 (self->path, &self->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR, "cannot open %s: %s",
                   self->path, self->db ? sqlite3_errmsg (self->db) : "out of memory");
      return FALSE;
    }
  sqlite3_busy_timeout (self->db, 5000);

  stmt = prepare (self->db, "PRAGMA journal_mode=WAL", error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW ||
      g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), "wal") != 0)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR,
                   "%s cannot use write-ahead logging", self->path);
      return FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  /* FULL syncs the WAL at every commit: an answered write survives a
   * power cut, not only a crash of the process. */
  if (!exec (self->db, "PRAGMA synchronous=FULL", error))
    return FALSE;

  stmt = prepare (self->db, "PRAGMA user_version", error);
  if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
    return fail (self->db, error, "reading the schema version");
  version = sqlite3_column_int (stmt, 0);
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR,
                   "%s was written by a newer Monje (schema %d, this one knows %d)",
                   self->path, version, SCHEMA_VERSION);
      return FALSE;
    }
  if (version < 1 &&
      !exec (self->db,
             "BEGIN;"
             "CREATE TABLE monje_collections (n INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
             "CREATE TABLE monje_indexes (tbl TEXT NOT NULL, path TEXT NOT NULL,"
             " PRIMARY KEY (tbl, path));"
             "PRAGMA user_version=1;"
             "COMMIT", error))
    return FALSE;

  return load_catalogue (self, error);
}

/* The table of @collection; with @create, made when missing. NULL without
 * an error: no such collection. */
static const char *
lookup_table (MonjeSqliteStore  *self,
              const char        *collection,
              gboolean           create,
              GError           **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = NULL;
  char *table;

  table = g_hash_table_lookup (self->tables, collection);
  if (table || !create)
    return table;

  stmt = prepare (self->db, "INSERT INTO monje_collections (name) VALUES (?)", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, collection, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      fail (self->db, error, "adding a collection");
      return NULL;
    }
  table = g_strdup_printf ("c%" G_GINT64_FORMAT, (gint64) sqlite3_last_insert_rowid (self->db));
  sql = g_strdup_printf ("CREATE TABLE %s (id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL)", table);
  if (!exec (self->db, sql, error))
    {
      g_free (table);
      return NULL;
    }
  g_hash_table_insert (self->tables, g_strdup (collection), table);
  return table;
}

/* ---- indexes for queried paths ------------------------------------------ */

static guint
count_indexes (MonjeSqliteStore *self,
               const char       *table)
{
  g_autofree char *prefix = g_strconcat (table, "\n", NULL);
  GHashTableIter iter;
  gpointer key;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->indexed);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (g_str_has_prefix (key, prefix))
      n++;
  return n;
}

static gboolean
create_indexes (MonjeSqliteStore  *self,
                const char        *table,
                const char        *path,
                GError           **error)
{
  g_auto(GStrv) segments = monje_path_split (path, error);
  g_autofree char *digest = NULL;
  g_autoptr(GString) sql = g_string_new (NULL);
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (segments == NULL)
    return FALSE;
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, path, -1);
  digest[16] = '\0';

  /* json_type as well as json_extract: the array branch of a condition
   * searches json_type(...) = 'array', so a whole OR stays an index search. */
  g_string_append_printf (sql, "CREATE INDEX IF NOT EXISTS %s_v_%s ON %s (json_extract(doc, ",
                          table, digest, table);
  append_json_path (sql, segments);
  g_string_append_printf (sql, "));CREATE INDEX IF NOT EXISTS %s_t_%s ON %s (json_type(doc, ",
                          table, digest, table);
  append_json_path (sql, segments);
  g_string_append (sql, "))");
  if (!exec (self->db, sql->str, error))
    return FALSE;

  stmt = prepare (self->db, "INSERT OR IGNORE INTO monje_indexes (tbl, path) VALUES (?, ?)",
                  error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, table, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, path, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return fail (self->db, error, "recording an index");
  g_debug ("indexed %s.%s", table, path);
  return TRUE;
}

/* Counts the uses of the query's paths and indexes those used often. An
 * index that cannot be made costs speed, not correctness: it is logged. */
static void
note_paths (MonjeSqliteStore *self,
            const char       *table,
            MonjeQuery       *query)
{
  g_autoptr(GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer path;

  monje_query_collect_paths (query, paths);
  g_hash_table_iter_init (&iter, paths);
  while (g_hash_table_iter_next (&iter, &path, NULL))
    {
      g_autoptr(GError) error = NULL;
      char *key;
      guint uses;

      if (g_str_equal (path, "_id"))
        continue;
      key = path_key (table, path);
      if (g_hash_table_contains (self->indexed, key))
        {
          g_free (key);
          continue;
        }
      uses = GPOINTER_TO_UINT (g_hash_table_lookup (self->path_uses, key)) + 1;
      g_hash_table_insert (self->path_uses, key, GUINT_TO_POINTER (uses));
      if (uses < MONJE_SQLITE_INDEX_AFTER ||
          count_indexes (self, table) >= MONJE_SQLITE_MAX_INDEXES)
        continue;
      if (create_indexes (self, table, path, &error))
        g_hash_table_add (self->indexed, path_key (table, path));
      else
        g_warning ("cannot index %s: %s", (const char *) path, error->message);
    }
}

/* ---- filters as SQL ------------------------------------------------------ */

typedef struct {
  GString *sql;
  GPtrArray *params;        /* JsonNode, borrowed from the query */
} Builder;

static void
param (Builder  *b,
       JsonNode *value)
{
  g_ptr_array_add (b->params, value);
  g_string_append_printf (b->sql, "?%u", b->params->len);
}

static const char *
bracket (JsonNode *value)
{
  if (JSON_NODE_HOLDS_OBJECT (value))
    return "('object')";
  if (JSON_NODE_HOLDS_ARRAY (value))
    return "('array')";
  switch (json_node_get_value_type (value))
    {
    case G_TYPE_STRING:
      return "('text')";
    case G_TYPE_BOOLEAN:
      return json_node_get_boolean (value) ? "('true')" : "('false')";
    default:
      return "('integer','real')";
    }
}

static void
append_extract (Builder    *b,
                const char *function,
                char      **segments)
{
  g_string_append_printf (b->sql, "%s(doc, ", function);
  append_json_path (b->sql, segments);
  g_string_append_c (b->sql, ')');
}

/* The field equals @value or, being an array, holds an element that does:
 * MongoDB's reading of {"path": value} and of $gt and friends. The scalar
 * side filters types with `+json_type`, which keeps the planner on the
 * json_extract index; the array side is found through the json_type index. */
static void
append_compare (Builder     *b,
                char       **segments,
                const char  *op,
                JsonNode    *value)
{
  gboolean structured = JSON_NODE_HOLDS_OBJECT (value) || JSON_NODE_HOLDS_ARRAY (value);
  gboolean boolean = JSON_NODE_HOLDS_VALUE (value) &&
                     json_node_get_value_type (value) == G_TYPE_BOOLEAN;

  if (JSON_NODE_HOLDS_NULL (value))
    {
      /* Only equality reaches here with null. */
      g_string_append (b->sql, "(");
      append_extract (b, "json_type", segments);
      g_string_append (b->sql, " IS NULL OR ");
      append_extract (b, "json_type", segments);
      g_string_append (b->sql, " = 'null' OR (");
      append_extract (b, "json_type", segments);
      g_string_append (b->sql, " = 'array' AND EXISTS (SELECT 1 FROM ");
      append_extract (b, "json_each", segments);
      g_string_append (b->sql, " WHERE type = 'null')))");
      return;
    }

  g_string_append (b->sql, "((");
  if (boolean)
    {
      append_extract (b, "json_type", segments);
      g_string_append_printf (b->sql, " IN %s", bracket (value));
    }
  else
    {
      append_extract (b, "json_extract", segments);
      g_string_append_printf (b->sql, " %s ", op);
      if (structured)
        g_string_append (b->sql, "json(");
      param (b, value);
      if (structured)
        g_string_append (b->sql, ")");
      g_string_append (b->sql, " AND +");
      append_extract (b, "json_type", segments);
      g_string_append_printf (b->sql, " IN %s", bracket (value));
    }
  g_string_append (b->sql, ") OR (");
  append_extract (b, "json_type", segments);
  g_string_append (b->sql, " = 'array' AND EXISTS (SELECT 1 FROM ");
  append_extract (b, "json_each", segments);
  g_string_append_printf (b->sql, " WHERE type IN %s", bracket (value));
  if (!boolean)
    {
      g_string_append_printf (b->sql, " AND value %s ", op);
      if (structured)
        g_string_append (b->sql, "json(");
      param (b, value);
      if (structured)
        g_string_append (b->sql, ")");
    }
  g_string_append (b->sql, ")))");
}

static void append_condition (Builder *b, MonjeCondition *condition);

static void
append_in (Builder        *b,
           MonjeCondition *condition)
{
  JsonArray *values = json_node_get_array (condition->value);
  guint n = json_array_get_length (values);

  if (n == 0)
    {
      g_string_append (b->sql, "0");
      return;
    }
  g_string_append_c (b->sql, '(');
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (b->sql, " OR ");
      append_compare (b, condition->segments, "=", json_array_get_element (values, i));
    }
  g_string_append_c (b->sql, ')');
}

static void
append_field (Builder        *b,
              MonjeCondition *condition)
{
  switch (condition->op)
    {
    case MONJE_OPERATOR_EQ:
      append_compare (b, condition->segments, "=", condition->value);
      break;
    case MONJE_OPERATOR_NE:
      /* A missing field is "not equal": NULLs must not swallow the NOT. */
      g_string_append (b->sql, "NOT ifnull(");
      append_compare (b, condition->segments, "=", condition->value);
      g_string_append (b->sql, ", 0)");
      break;
    case MONJE_OPERATOR_GT:
      append_compare (b, condition->segments, ">", condition->value);
      break;
    case MONJE_OPERATOR_GTE:
      append_compare (b, condition->segments, ">=", condition->value);
      break;
    case MONJE_OPERATOR_LT:
      append_compare (b, condition->segments, "<", condition->value);
      break;
    case MONJE_OPERATOR_LTE:
      append_compare (b, condition->segments, "<=", condition->value);
      break;
    case MONJE_OPERATOR_IN:
      append_in (b, condition);
      break;
    case MONJE_OPERATOR_NIN:
      g_string_append (b->sql, "NOT ifnull(");
      append_in (b, condition);
      g_string_append (b->sql, ", 0)");
      break;
    case MONJE_OPERATOR_EXISTS:
      append_extract (b, "json_type", condition->segments);
      g_string_append (b->sql, json_node_get_boolean (condition->value) ? " IS NOT NULL"
                                                                         : " IS NULL");
      break;
    }
}

static void
append_condition (Builder        *b,
                  MonjeCondition *condition)
{
  const char *joint = " AND ";

  switch (condition->kind)
    {
    case MONJE_CONDITION_FIELD:
      append_field (b, condition);
      return;
    case MONJE_CONDITION_AND:
      if (condition->children->len == 0)
        {
          g_string_append (b->sql, "1");
          return;
        }
      break;
    case MONJE_CONDITION_OR:
      joint = " OR ";
      break;
    case MONJE_CONDITION_NOR:
      joint = " OR ";
      g_string_append (b->sql, "NOT ifnull(");
      break;
    }

  g_string_append_c (b->sql, '(');
  for (guint i = 0; i < condition->children->len; i++)
    {
      if (i > 0)
        g_string_append (b->sql, joint);
      append_condition (b, g_ptr_array_index (condition->children, i));
    }
  g_string_append_c (b->sql, ')');
  if (condition->kind == MONJE_CONDITION_NOR)
    g_string_append (b->sql, ", 0)");
}

static gboolean
bind_params (sqlite3_stmt  *stmt,
             GPtrArray     *params,
             GError       **error)
{
  for (guint i = 0; i < params->len; i++)
    {
      JsonNode *value = g_ptr_array_index (params, i);
      int column = (int) i + 1;

      if (JSON_NODE_HOLDS_OBJECT (value) || JSON_NODE_HOLDS_ARRAY (value))
        {
          g_autoptr(GString) text = g_string_new (NULL);

          if (!jstp_json_append_node (text, value, error))
            return FALSE;
          sqlite3_bind_text (stmt, column, text->str, (int) text->len, SQLITE_TRANSIENT);
        }
      else if (json_node_get_value_type (value) == G_TYPE_INT64)
        sqlite3_bind_int64 (stmt, column, json_node_get_int (value));
      else if (json_node_get_value_type (value) == G_TYPE_DOUBLE)
        sqlite3_bind_double (stmt, column, json_node_get_double (value));
      else if (json_node_get_value_type (value) == G_TYPE_STRING)
        sqlite3_bind_text (stmt, column, json_node_get_string (value), -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null (stmt, column);
    }
  return TRUE;
}

/* SELECT @what FROM @table WHERE <filter> [ORDER BY ... LIMIT ... OFFSET ...] */
static sqlite3_stmt *
prepare_query (MonjeSqliteStore  *self,
               const char        *what,
               const char        *table,
               MonjeQuery        *query,
               gboolean           whole,
               GError           **error)
{
  Builder b = { g_string_new (NULL), g_ptr_array_new () };
  sqlite3_stmt *stmt = NULL;

  g_string_append_printf (b.sql, "SELECT %s FROM %s WHERE ", what, table);
  append_condition (&b, query->filter);
  if (whole)
    {
      g_string_append (b.sql, " ORDER BY ");
      for (guint i = 0; i < query->sort->len; i++)
        {
          MonjeSortKey *key = g_ptr_array_index (query->sort, i);

          append_extract (&b, "json_extract", key->segments);
          g_string_append (b.sql, key->direction > 0 ? " ASC, " : " DESC, ");
        }
      /* Equal keys keep insertion order, as a natural-order scan would. */
      g_string_append (b.sql, "rowid");
      g_string_append_printf (b.sql, " LIMIT %" G_GINT64_FORMAT " OFFSET %" G_GINT64_FORMAT,
                              query->limit > 0 ? query->limit : (gint64) -1, query->skip);
    }

  stmt = prepare (self->db, b.sql->str, error);
  if (stmt && !bind_params (stmt, b.params, error))
    g_clear_pointer (&stmt, sqlite3_finalize);
  g_string_free (b.sql, TRUE);
  g_ptr_array_unref (b.params);
  return stmt;
}

/* ---- operations ---------------------------------------------------------- */

static gboolean
not_found (const char  *collection,
           const char  *id,
           GError     **error)
{
  g_set_error (error, JSTP_ERROR, JSTP_STATUS_NOT_FOUND, "no document “%s” in “%s”",
               id, collection);
  return FALSE;
}

static gboolean
run_insert (MonjeSqliteStore  *self,
            MonjeStoreOp      *op,
            GError           **error)
{
  const char *table = lookup_table (self, op->collection, TRUE, error);
  g_autofree char *sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (table == NULL)
    return FALSE;
  sql = g_strdup_printf ("INSERT INTO %s (id, doc) VALUES (json_extract(?1, '$._id'), ?1)",
                         table);
  if ((stmt = prepare (self->db, sql, error)) == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, op->document, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_CONSTRAINT)
    {
      g_autoptr(JsonObject) document = monje_document_parse (op->document, NULL);

      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "a document with _id “%s” is in “%s” already",
                   document ? json_object_get_string_member (document, "_id") : "?",
                   op->collection);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return fail (self->db, error, "inserting");
  op->result = g_strdup (op->document);
  return TRUE;
}

static gboolean
run_find (MonjeSqliteStore  *self,
          MonjeStoreOp      *op,
          GError           **error)
{
  const char *table = lookup_table (self, op->collection, FALSE, error);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean count = op->kind == MONJE_STORE_OP_COUNT;
  int rc;

  op->results = g_ptr_array_new_with_free_func (g_free);
  if (table == NULL)
    return TRUE;

  note_paths (self, table, op->query);
  stmt = prepare_query (self, count ? "count(*)" : "doc", table, op->query, !count, error);
  if (stmt == NULL)
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *text = (const char *) sqlite3_column_text (stmt, 0);

      if (count)
        {
          op->count = sqlite3_column_int64 (stmt, 0);
          continue;
        }
      if (op->query->projection_json)
        {
          g_autoptr(JsonObject) document = monje_document_parse (text, error);
          g_autoptr(JsonObject) projected = NULL;

          if (document == NULL)
            return FALSE;
          projected = monje_query_project (op->query, document);
          g_ptr_array_add (op->results, monje_document_to_string (projected));
        }
      else
        g_ptr_array_add (op->results, g_strdup (text));
    }
  if (rc != SQLITE_DONE)
    return fail (self->db, error, "querying");
  return TRUE;
}

/* The document @id as stored, or NULL (with a 404 when @error is given). */
static char *
read_document (MonjeSqliteStore  *self,
               const char        *table,
               MonjeStoreOp      *op,
               GError           **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT doc FROM %s WHERE id = ?", table);
  g_autoptr(sqlite3_stmt) stmt = prepare (self->db, sql, error);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, op->id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  if (rc == SQLITE_DONE)
    not_found (op->collection, op->id, error);
  else
    fail (self->db, error, "reading a document");
  return NULL;
}

static gboolean
run_get (MonjeSqliteStore  *self,
         MonjeStoreOp      *op,
         GError           **error)
{
  const char *table = lookup_table (self, op->collection, FALSE, error);

  if (table == NULL)
    return not_found (op->collection, op->id, error);
  op->result = read_document (self, table, op, error);
  return op->result != NULL;
}

static gboolean
write_document (MonjeSqliteStore  *self,
                const char        *table,
                MonjeStoreOp      *op,
                const char        *document,
                GError           **error)
{
  g_autofree char *sql = g_strdup_printf ("UPDATE %s SET doc = ? WHERE id = ?", table);
  g_autoptr(sqlite3_stmt) stmt = prepare (self->db, sql, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, document, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, op->id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return fail (self->db, error, "writing a document");
  if (sqlite3_changes (self->db) == 0)
    return not_found (op->collection, op->id, error);
  return TRUE;
}

static gboolean
run_replace (MonjeSqliteStore  *self,
             MonjeStoreOp      *op,
             GError           **error)
{
  const char *table = lookup_table (self, op->collection, FALSE, error);

  if (table == NULL)
    return not_found (op->collection, op->id, error);
  if (!write_document (self, table, op, op->document, error))
    return FALSE;
  op->result = g_strdup (op->document);
  return TRUE;
}

static gboolean
run_update (MonjeSqliteStore  *self,
            MonjeStoreOp      *op,
            GError           **error)
{
  const char *table = lookup_table (self, op->collection, FALSE, error);
  g_autofree char *old = NULL;
  g_autoptr(JsonObject) document = NULL;
  g_autofree char *text = NULL;

  if (table == NULL)
    return not_found (op->collection, op->id, error);
  if ((old = read_document (self, table, op, error)) == NULL)
    return FALSE;
  if ((document = monje_document_parse (old, error)) == NULL)
    return FALSE;
  if (!monje_update_apply (op->update, document, error))
    return FALSE;
  text = monje_document_to_string (document);
  if (!write_document (self, table, op, text, error))
    return FALSE;
  op->result = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
run_remove (MonjeSqliteStore  *self,
            MonjeStoreOp      *op,
            GError           **error)
{
  const char *table = lookup_table (self, op->collection, FALSE, error);
  g_autofree char *sql = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;

  if (table == NULL)
    return not_found (op->collection, op->id, error);
  sql = g_strdup_printf ("DELETE FROM %s WHERE id = ?", table);
  if ((stmt = prepare (self->db, sql, error)) == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, op->id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return fail (self->db, error, "removing a document");
  if (sqlite3_changes (self->db) == 0)
    return not_found (op->collection, op->id, error);
  return TRUE;
}

static int
compare_infos (gconstpointer a,
               gconstpointer b)
{
  const MonjeCollectionInfo *x = *(MonjeCollectionInfo **) a;
  const MonjeCollectionInfo *y = *(MonjeCollectionInfo **) b;

  return strcmp (x->name, y->name);
}

static gboolean
run_list (MonjeSqliteStore  *self,
          MonjeStoreOp      *op,
          GError           **error)
{
  GHashTableIter iter;
  gpointer name, table;

  op->results = g_ptr_array_new_with_free_func ((GDestroyNotify) monje_collection_info_free);
  g_hash_table_iter_init (&iter, self->tables);
  while (g_hash_table_iter_next (&iter, &name, &table))
    {
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", (char *) table);
      g_autoptr(sqlite3_stmt) stmt = prepare (self->db, sql, error);
      MonjeCollectionInfo *info;

      if (stmt == NULL)
        return FALSE;
      if (sqlite3_step (stmt) != SQLITE_ROW)
        return fail (self->db, error, "counting documents");
      info = g_new0 (MonjeCollectionInfo, 1);
      info->name = g_strdup (name);
      info->count = sqlite3_column_int64 (stmt, 0);
      g_ptr_array_add (op->results, info);
    }
  g_ptr_array_sort (op->results, compare_infos);
  return TRUE;
}

static gboolean
run_op (MonjeSqliteStore  *self,
        MonjeStoreOp      *op,
        GError           **error)
{
  switch (op->kind)
    {
    case MONJE_STORE_OP_INSERT:
      return run_insert (self, op, error);
    case MONJE_STORE_OP_FIND:
    case MONJE_STORE_OP_COUNT:
      return run_find (self, op, error);
    case MONJE_STORE_OP_GET:
      return run_get (self, op, error);
    case MONJE_STORE_OP_REPLACE:
      return run_replace (self, op, error);
    case MONJE_STORE_OP_UPDATE:
      return run_update (self, op, error);
    case MONJE_STORE_OP_REMOVE:
      return run_remove (self, op, error);
    case MONJE_STORE_OP_LIST_COLLECTIONS:
      return run_list (self, op, error);
    }
  g_assert_not_reached ();
}

static gboolean
is_write (MonjeStoreOp *op)
{
  return op->kind == MONJE_STORE_OP_INSERT || op->kind == MONJE_STORE_OP_REPLACE ||
         op->kind == MONJE_STORE_OP_UPDATE || op->kind == MONJE_STORE_OP_REMOVE;
}

static void
clear_outputs (MonjeStoreOp *op)
{
  g_clear_pointer (&op->result, g_free);
  g_clear_pointer (&op->results, g_ptr_array_unref);
  op->count = 0;
}

static void
run_batch (gpointer       user_data,
           MonjeStoreOp **ops,
           GError       **errors,
           guint          n_ops)
{
  MonjeSqliteStore *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!exec (self->db, "BEGIN IMMEDIATE", &error))
    {
      for (guint i = 0; i < n_ops; i++)
        errors[i] = g_error_copy (error);
      return;
    }

  for (guint i = 0; i < n_ops; i++)
    {
      if (!is_write (ops[i]))
        {
          if (!run_op (self, ops[i], &errors[i]))
            clear_outputs (ops[i]);
          continue;
        }
      if (!exec (self->db, "SAVEPOINT op", &errors[i]))
        continue;
      if (!run_op (self, ops[i], &errors[i]))
        {
          clear_outputs (ops[i]);
          exec (self->db, "ROLLBACK TO op", NULL);
          /* A collection made by the undone write is gone again. */
          if (!load_catalogue (self, &error))
            g_warning ("%s", error->message);
          g_clear_error (&error);
        }
      exec (self->db, "RELEASE op", NULL);
    }

  if (!exec (self->db, "COMMIT", &error))
    {
      g_warning ("%s", error->message);
      exec (self->db, "ROLLBACK", NULL);
      for (guint i = 0; i < n_ops; i++)
        if (is_write (ops[i]) && errors[i] == NULL)
          {
            clear_outputs (ops[i]);
            errors[i] = g_error_copy (error);
          }
      g_clear_error (&error);
      if (!load_catalogue (self, &error))
        g_warning ("%s", error->message);
    }
}

/* ---- GObject and the interface ------------------------------------------ */

static void
monje_sqlite_store_submit (MonjeStore *store,
                           GTask      *task)
{
  MonjeSqliteStore *self = MONJE_SQLITE_STORE (store);

  monje_worker_push (self->worker, task);
}

static const char *
monje_sqlite_store_get_backend (MonjeStore *store)
{
  return "sqlite";
}

static void
monje_sqlite_store_iface_init (MonjeStoreInterface *iface)
{
  iface->submit = monje_sqlite_store_submit;
  iface->get_backend = monje_sqlite_store_get_backend;
}

static void
monje_sqlite_store_finalize (GObject *object)
{
  MonjeSqliteStore *self = MONJE_SQLITE_STORE (object);

  g_clear_pointer (&self->worker, monje_worker_free);
  if (self->db)
    sqlite3_close (self->db);
  g_clear_pointer (&self->tables, g_hash_table_unref);
  g_clear_pointer (&self->path_uses, g_hash_table_unref);
  g_clear_pointer (&self->indexed, g_hash_table_unref);
  g_free (self->path);

  G_OBJECT_CLASS (monje_sqlite_store_parent_class)->finalize (object);
}

static void
monje_sqlite_store_class_init (MonjeSqliteStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = monje_sqlite_store_finalize;
}

static void
monje_sqlite_store_init (MonjeSqliteStore *self)
{
  self->tables = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->path_uses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->indexed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

MonjeSqliteStore *
monje_sqlite_store_new (const char  *path,
                        GError     **error)
{
  g_autoptr(MonjeSqliteStore) self = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (MONJE_TYPE_SQLITE_STORE, NULL);
  self->path = g_strdup (path);
  if (!open_database (self, error))
    return NULL;
  /* From here on only the worker uses the connection. */
  self->worker = monje_worker_new ("monje-sqlite", MAX_BATCH, run_batch, self);
  return g_steal_pointer (&self);
}

const char *
monje_sqlite_store_get_path (MonjeSqliteStore *self)
{
  g_return_val_if_fail (MONJE_IS_SQLITE_STORE (self), NULL);
  return self->path;
}
