/* SPDX-License-Identifier: MIT */
/* tablero-stack-store.c: stacks and metrics history in SQLite.
 *
 * Opening never writes to a file before it is known to be ours: the 100-byte
 * SQLite header is read with plain file I/O first (magic, page size, size in
 * pages, application_id, user_version), and the schema is then checked with
 * read-only queries. Only a file that passes both is migrated or written.
 *
 * Threads: SQLite connections are used by one thread each (opened with
 * SQLITE_OPEN_NOMUTEX). The store's own connection serves the synchronous
 * calls in the thread that created the store; a worker thread owns a second
 * connection and runs the _async jobs in order. WAL mode lets the two read
 * concurrently; writers wait for each other through busy_timeout. */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tablero-stack-store.h"
#include "tablero-stack-private.h"

G_DEFINE_QUARK (tablero-stack-store-error-quark, tablero_stack_store_error)

#define BUSY_TIMEOUT_MS 5000

/* Schema migrations: step i takes user_version i to i + 1. Never edit a
 * step that has shipped; append a new one and bump
 * TABLERO_STACK_STORE_SCHEMA_VERSION. */
static const char * const migrations[] = {
  /* 0 -> 1: stacks. The layout is stored in the export format, so loading
   * goes through the same strict validation as importing a file. */
  "CREATE TABLE stacks ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL UNIQUE,"
  "  document TEXT NOT NULL,"
  "  created INTEGER NOT NULL,"   /* ms since the epoch */
  "  modified INTEGER NOT NULL,"
  "  opened INTEGER"              /* NULL: never loaded */
  ");",

  /* 1 -> 2: metrics history. */
  "CREATE TABLE metrics ("
  "  stack_id INTEGER NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,"
  "  node_id TEXT NOT NULL,"
  "  time INTEGER NOT NULL,"      /* ms since the epoch */
  "  cpu REAL NOT NULL,"
  "  memory REAL NOT NULL,"
  "  disk REAL NOT NULL,"
  "  network REAL NOT NULL,"
  "  saturation REAL NOT NULL"
  ");"
  "CREATE INDEX metrics_by_node ON metrics (stack_id, node_id, time);",

  /* 2 -> 3: dispatches the inspector recorded. */
  "CREATE TABLE dispatches ("
  "  stack_id INTEGER REFERENCES stacks (id) ON DELETE CASCADE,"
  "  time INTEGER NOT NULL,"      /* ms since the epoch */
  "  direction TEXT NOT NULL,"
  "  peer TEXT,"
  "  dispatch TEXT NOT NULL"
  ");"
  "CREATE INDEX dispatches_by_stack ON dispatches (stack_id, time);",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == TABLERO_STACK_STORE_SCHEMA_VERSION);

/* Columns each schema version must have, checked before anything is written. */
typedef struct {
  guint since_version;
  const char *table;
  const char *columns;  /* comma-separated, in order */
} TableShape;

static const TableShape table_shapes[] = {
  { 1, "stacks", "id,name,document,created,modified,opened" },
  { 2, "metrics", "stack_id,node_id,time,cpu,memory,disk,network,saturation" },
  { 3, "dispatches", "stack_id,time,direction,peer,dispatch" },
};

/* TableroStackInfo */

struct _TableroStackInfo
{
  GObject parent_instance;

  char *name;
  GDateTime *modified_time;
  GDateTime *opened_time;
};

G_DEFINE_FINAL_TYPE (TableroStackInfo, tablero_stack_info, G_TYPE_OBJECT)

enum {
  INFO_PROP_0,
  INFO_PROP_NAME,
  INFO_PROP_MODIFIED_TIME,
  INFO_PROP_OPENED_TIME,
  INFO_N_PROPS
};

static GParamSpec *info_properties[INFO_N_PROPS];

static void
tablero_stack_info_finalize (GObject *object)
{
  TableroStackInfo *self = TABLERO_STACK_INFO (object);

  g_free (self->name);
  g_clear_pointer (&self->modified_time, g_date_time_unref);
  g_clear_pointer (&self->opened_time, g_date_time_unref);

  G_OBJECT_CLASS (tablero_stack_info_parent_class)->finalize (object);
}

static void
tablero_stack_info_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  TableroStackInfo *self = TABLERO_STACK_INFO (object);

  switch (prop_id)
    {
    case INFO_PROP_NAME: g_value_set_string (value, self->name); break;
    case INFO_PROP_MODIFIED_TIME: g_value_set_boxed (value, self->modified_time); break;
    case INFO_PROP_OPENED_TIME: g_value_set_boxed (value, self->opened_time); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_stack_info_class_init (TableroStackInfoClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tablero_stack_info_finalize;
  object_class->get_property = tablero_stack_info_get_property;

  info_properties[INFO_PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  info_properties[INFO_PROP_MODIFIED_TIME] =
    g_param_spec_boxed ("modified-time", NULL, NULL, G_TYPE_DATE_TIME,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  info_properties[INFO_PROP_OPENED_TIME] =
    g_param_spec_boxed ("opened-time", NULL, NULL, G_TYPE_DATE_TIME,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, INFO_N_PROPS, info_properties);
}

static void
tablero_stack_info_init (TableroStackInfo *self)
{
}

static GDateTime *
date_time_from_ms (gint64 ms)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (ms / 1000);

  if (utc == NULL)
    return NULL;
  return g_date_time_to_local (utc);
}

static TableroStackInfo *
tablero_stack_info_new (const char *name,
                        gint64      modified_ms,
                        gboolean    opened,
                        gint64      opened_ms)
{
  TableroStackInfo *self = g_object_new (TABLERO_TYPE_STACK_INFO, NULL);

  self->name = g_strdup (name);
  self->modified_time = date_time_from_ms (modified_ms);
  if (opened)
    self->opened_time = date_time_from_ms (opened_ms);
  return self;
}

const char *
tablero_stack_info_get_name (TableroStackInfo *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK_INFO (self), NULL);
  return self->name;
}

GDateTime *
tablero_stack_info_get_modified_time (TableroStackInfo *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK_INFO (self), NULL);
  return self->modified_time;
}

GDateTime *
tablero_stack_info_get_opened_time (TableroStackInfo *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK_INFO (self), NULL);
  return self->opened_time;
}

/* SQLite helpers */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static gboolean
set_sqlite_error (GError    **error,
                  sqlite3    *db,
                  int         rc,
                  const char *what)
{
  int code = (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB
    ? TABLERO_STACK_STORE_ERROR_CORRUPT
    : TABLERO_STACK_STORE_ERROR_FAILED;

  /* @what is translated; SQLite's reason is not (it has no translations). */
  g_set_error (error, TABLERO_STACK_STORE_ERROR, code,
               "%s: %s", what, db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
  return FALSE;
}

static gboolean
exec (sqlite3     *db,
      const char  *sql,
      const char  *what,
      GError     **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, db, rc, what);
  return TRUE;
}

static sqlite3_stmt *
prepare (sqlite3     *db,
         const char  *sql,
         const char  *what,
         GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (error, db, rc, what);
      sqlite3_finalize (stmt);
      return NULL;
    }
  return stmt;
}

/* Writes are IMMEDIATE transactions: the write lock is taken at BEGIN, so a
 * busy database fails (after busy_timeout) before any work is done. */
static gboolean
begin (sqlite3     *db,
       const char  *what,
       GError     **error)
{
  return exec (db, "BEGIN IMMEDIATE", what, error);
}

static gboolean
commit (sqlite3     *db,
        const char  *what,
        GError     **error)
{
  if (!exec (db, "COMMIT", what, error))
    {
      sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

static gboolean
rollback (sqlite3 *db)
{
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

static gboolean
pragma_int (sqlite3     *db,
            const char  *sql,
            gint64      *value,
            GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (db, sql, _("Could not read the database"), error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    return set_sqlite_error (error, db, rc, _("Could not read the database"));
  *value = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

static gint64
now_ms (void)
{
  return g_get_real_time () / 1000;
}

static gboolean
check_name (const char  *name,
            GError     **error)
{
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, TABLERO_STACK_STORE_ERROR,
                           TABLERO_STACK_STORE_ERROR_INVALID_NAME,
                           _("A stack needs a name"));
      return FALSE;
    }
  if (strlen (name) > TABLERO_STACK_STORE_MAX_NAME || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_INVALID_NAME,
                   _("A stack name must be valid text of at most %d bytes"),
                   TABLERO_STACK_STORE_MAX_NAME);
      return FALSE;
    }
  return TRUE;
}

static gboolean
not_found (GError    **error,
           const char *name)
{
  g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND,
               _("There is no saved stack called “%s”"), name);
  return FALSE;
}

/* Opening and migrating */

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* Checks the header of an existing file without SQLite, so that nothing
 * (not even a journal rollback) touches a file that is not ours.
 *
 * With a non-empty WAL beside it, the main file's first page may be stale
 * (a new database's application_id can still be in the WAL), so only the
 * magic is trusted and the rest is left to SQLite, on a connection that
 * does not checkpoint on close. */
static gboolean
check_header (const char  *path,
              GError     **error)
{
  static const char magic[16] = "SQLite format 3";  /* with its NUL */
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *wal_path = g_strconcat (path, "-wal", NULL);
  guint8 header[100];
  GStatBuf st, wal_st;
  guint32 page_size, page_count, app_id, user_version;
  gboolean wal_pending;
  gsize got;
  FILE *file;

  file = g_fopen (path, "rb");
  if (file == NULL)
    {
      int saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Could not open “%s”: %s"), display, g_strerror (saved_errno));
      return FALSE;
    }
  got = fread (header, 1, sizeof header, file);
  if (fstat (fileno (file), &st) != 0)
    st.st_size = 0;
  fclose (file);

  if (got < sizeof header || memcmp (header, magic, sizeof magic) != 0)
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_DATABASE,
                   _("“%s” is not a Tablero database: it is not an SQLite file, or it "
                     "is damaged. It was left as it is."), display);
      return FALSE;
    }

  wal_pending = g_stat (wal_path, &wal_st) == 0 && wal_st.st_size > 0;
  if (wal_pending)
    return TRUE;

  page_size = ((guint32) header[16] << 8) | header[17];
  if (page_size == 1)
    page_size = 65536;
  app_id = read_be32 (header + 68);
  user_version = read_be32 (header + 60);

  if (app_id != TABLERO_STACK_STORE_APPLICATION_ID)
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_FOREIGN,
                   _("“%s” is an SQLite database of another application; Tablero will "
                     "not change it"), display);
      return FALSE;
    }

  if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0 ||
      st.st_size % page_size != 0)
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_CORRUPT,
                   _("The Tablero database “%s” is damaged. It was left as it is."), display);
      return FALSE;
    }

  /* The size in pages is valid when its "version-valid-for" matches the
   * change counter. */
  page_count = read_be32 (header + 28);
  if (read_be32 (header + 24) == read_be32 (header + 92) &&
      (guint64) st.st_size < (guint64) page_count * page_size)
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_CORRUPT,
                   _("The Tablero database “%s” is truncated. It was left as it is."),
                   display);
      return FALSE;
    }

  if (user_version > TABLERO_STACK_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_TOO_NEW,
                   _("“%s” was written by a newer version of Tablero (database version %u; "
                     "this version reads up to %u). It was left as it is."),
                   display, user_version, (guint) TABLERO_STACK_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  return TRUE;
}

static gboolean
configure_connection (sqlite3     *db,
                      GError     **error)
{
  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  sqlite3_extended_result_codes (db, TRUE);
  return exec (db, "PRAGMA foreign_keys = ON", _("Could not open the database"), error);
}

static sqlite3 *
open_connection (const char  *path,
                 gboolean     create,
                 GError     **error)
{
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2 (path, &db, flags, NULL);

  if (rc != SQLITE_OK)
    {
      g_autofree char *display = g_filename_display_name (path);
      g_autofree char *what = g_strdup_printf (_("Could not open “%s”"), display);

      set_sqlite_error (error, db, rc, what);
      sqlite3_close (db);
      return NULL;
    }

  if (!configure_connection (db, error))
    {
      sqlite3_close (db);
      return NULL;
    }

  return db;
}

/* Read-only check that the tables of @version are there with their columns. */
static gboolean
check_schema (sqlite3     *db,
              const char  *display,
              gint64       version,
              GError     **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (table_shapes); i++)
    {
      g_autoptr(sqlite3_stmt) stmt = NULL;
      g_autoptr(GString) columns = g_string_new (NULL);
      int rc;

      if (version < table_shapes[i].since_version)
        continue;

      stmt = prepare (db, "SELECT name FROM pragma_table_info (?1) ORDER BY cid",
                      _("Could not read the database"), error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_text (stmt, 1, table_shapes[i].table, -1, SQLITE_STATIC);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          if (columns->len > 0)
            g_string_append_c (columns, ',');
          g_string_append (columns, (const char *) sqlite3_column_text (stmt, 0));
        }
      if (rc != SQLITE_DONE)
        return set_sqlite_error (error, db, rc, _("Could not read the database"));

      if (!g_str_equal (columns->str, table_shapes[i].columns))
        {
          g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_CORRUPT,
                       _("The Tablero database “%s” is damaged: the table “%s” is missing "
                         "or has unexpected columns. It was left as it is."),
                       display, table_shapes[i].table);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
migrate (sqlite3     *db,
         gint64       from,
         GError     **error)
{
  const char *what = _("Could not update the database to the current version");
  g_autofree char *set_version = NULL;

  /* All steps in one transaction: a failure leaves the old version intact. */
  if (!begin (db, what, error))
    return FALSE;

  if (from == 0)
    {
      g_autofree char *set_id = g_strdup_printf ("PRAGMA application_id = %d",
                                                 TABLERO_STACK_STORE_APPLICATION_ID);
      if (!exec (db, set_id, what, error))
        return rollback (db);
    }

  for (gint64 v = from; v < TABLERO_STACK_STORE_SCHEMA_VERSION; v++)
    {
      g_debug ("Migrating stack database from version %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
               v, v + 1);
      if (!exec (db, migrations[v], what, error))
        return rollback (db);
    }

  set_version = g_strdup_printf ("PRAGMA user_version = %d", TABLERO_STACK_STORE_SCHEMA_VERSION);
  if (!exec (db, set_version, what, error))
    return rollback (db);

  return commit (db, what, error);
}

static gboolean
use_wal (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean ok = FALSE;

  if (sqlite3_prepare_v2 (db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    ok = g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), "wal") == 0;

  /* Not fatal: some file systems can't share memory for the WAL index. */
  if (!ok)
    g_debug ("Stack database stays in rollback journal mode");
  return ok;
}

/* Opens (creating or migrating) the database at @path for the store. */
static sqlite3 *
open_database (const char  *path,
               GError     **error)
{
  g_autofree char *display = g_filename_display_name (path);
  sqlite3 *db;
  gint64 app_id = 0, version = 0;
  gboolean exists = g_file_test (path, G_FILE_TEST_EXISTS);

  if (!exists)
    {
      g_autofree char *dir = g_path_get_dirname (path);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          int saved_errno = errno;
          g_autofree char *dir_display = g_filename_display_name (dir);

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Could not create the folder “%s”: %s"),
                       dir_display, g_strerror (saved_errno));
          return NULL;
        }
    }
  else if (!check_header (path, error))
    {
      return NULL;
    }

  db = open_connection (path, !exists, error);
  if (db == NULL)
    return NULL;

  if (exists)
    {
      /* Until the file is known to be ours, closing must not checkpoint a
       * WAL into it. */
      sqlite3_db_config (db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);

      /* The header said so, but ask SQLite: it also reads the WAL. */
      if (!pragma_int (db, "PRAGMA application_id", &app_id, error) ||
          !pragma_int (db, "PRAGMA user_version", &version, error))
        goto fail;

      if (app_id != TABLERO_STACK_STORE_APPLICATION_ID)
        {
          g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_FOREIGN,
                       _("“%s” is an SQLite database of another application; Tablero will "
                         "not change it"), display);
          goto fail;
        }
      if (version > TABLERO_STACK_STORE_SCHEMA_VERSION)
        {
          g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_TOO_NEW,
                       _("“%s” was written by a newer version of Tablero (database version "
                         "%u; this version reads up to %u). It was left as it is."),
                       display, (guint) version, (guint) TABLERO_STACK_STORE_SCHEMA_VERSION);
          goto fail;
        }
      if (version == 0)
        {
          /* Ours but unversioned: only an empty file is acceptable. */
          gint64 n_objects = 0;

          if (!pragma_int (db, "SELECT count(*) FROM sqlite_master", &n_objects, error))
            goto fail;
          if (n_objects != 0)
            {
              g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_CORRUPT,
                           _("The Tablero database “%s” is damaged: it has no version. "
                             "It was left as it is."), display);
              goto fail;
            }
        }
      else if (!check_schema (db, display, version, error))
        {
          goto fail;
        }
    }
  else
    {
      /* Before the first table, so the file is created in WAL mode. */
      use_wal (db);
    }

  if (version < TABLERO_STACK_STORE_SCHEMA_VERSION && !migrate (db, version, error))
    goto fail;

  if (exists)
    {
      use_wal (db);
      sqlite3_db_config (db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
    }

  return db;

fail:
  sqlite3_close (db);
  return NULL;
}

/* Operations on a connection: shared by the synchronous calls and the
 * worker thread. None of them touches a GObject that another thread uses. */

static gboolean
lookup_stack_id (sqlite3     *db,
                 const char  *name,
                 gint64      *id,
                 GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (db, "SELECT id FROM stacks WHERE name = ?1",
                                          _("Could not read the database"), error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    return not_found (error, name);
  if (rc != SQLITE_ROW)
    return set_sqlite_error (error, db, rc, _("Could not read the database"));
  *id = sqlite3_column_int64 (stmt, 0);
  return TRUE;
}

static gboolean
db_contains (sqlite3    *db,
             const char *name)
{
  gint64 id;
  return lookup_stack_id (db, name, &id, NULL);
}

/* Inserts or replaces a stack; the caller holds a transaction. */
static gboolean
save_in_transaction (sqlite3     *db,
                     const char  *name,
                     const char  *document,
                     gboolean     replace,
                     const char  *what,
                     GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = prepare (db,
                  replace
                  ? "INSERT INTO stacks (name, document, created, modified) "
                    "VALUES (?1, ?2, ?3, ?3) "
                    "ON CONFLICT (name) DO UPDATE SET document = excluded.document, "
                    "modified = excluded.modified"
                  : "INSERT INTO stacks (name, document, created, modified) "
                    "VALUES (?1, ?2, ?3, ?3)",
                  what, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, document, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now_ms ());
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, db, rc, what);
  return TRUE;
}

static gboolean
db_save (sqlite3     *db,
         const char  *name,
         const char  *document,
         GError     **error)
{
  const char *what = _("Could not save the stack");

  if (!check_name (name, error) || !begin (db, what, error))
    return FALSE;
  if (!save_in_transaction (db, name, document, TRUE, what, error))
    return rollback (db);
  return commit (db, what, error);
}

/* Reads and validates a stored stack; the row's name wins over the one in
 * the document (rename and duplicate change only the row). */
static TableroStack *
read_stack (sqlite3     *db,
            const char  *name,
            GError     **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (db, "SELECT document FROM stacks WHERE name = ?1",
                                          _("Could not load the stack"), error);
  g_autoptr(GError) local_error = NULL;
  TableroStack *stack;
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      not_found (error, name);
      return NULL;
    }
  if (rc != SQLITE_ROW || sqlite3_column_type (stmt, 0) != SQLITE_TEXT)
    {
      if (rc == SQLITE_ROW)
        g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_CORRUPT,
                     _("The saved stack “%s” is damaged"), name);
      else
        set_sqlite_error (error, db, rc, _("Could not load the stack"));
      return NULL;
    }

  stack = tablero_stack_new_from_json ((const char *) sqlite3_column_text (stmt, 0), &local_error);
  if (stack == NULL)
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_CORRUPT,
                   _("The saved stack “%s” is damaged: %s"), name, local_error->message);
      return NULL;
    }
  tablero_stack_set_name (stack, name);
  return stack;
}

static TableroStack *
db_load (sqlite3     *db,
         const char  *name,
         GError     **error)
{
  const char *what = _("Could not load the stack");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(TableroStack) stack = NULL;
  int rc;

  if (!begin (db, what, error))
    return NULL;

  stack = read_stack (db, name, error);
  if (stack == NULL)
    {
      rollback (db);
      return NULL;
    }

  /* Strictly increasing, so "recent" has a defined order even for two loads
   * in the same millisecond. */
  stmt = prepare (db,
                  "UPDATE stacks SET opened = max (?2, "
                  "  coalesce ((SELECT max (opened) FROM stacks), 0) + 1) WHERE name = ?1",
                  what, error);
  if (stmt == NULL)
    {
      rollback (db);
      return NULL;
    }
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, now_ms ());
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, what);
      rollback (db);
      return NULL;
    }

  if (!commit (db, what, error))
    return NULL;

  tablero_stack_set_modified (stack, FALSE);
  return g_steal_pointer (&stack);
}

static gboolean
db_rename (sqlite3     *db,
           const char  *name,
           const char  *new_name,
           GError     **error)
{
  const char *what = _("Could not rename the stack");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!check_name (new_name, error))
    return FALSE;
  if (g_strcmp0 (name, new_name) == 0)
    return db_contains (db, name) || not_found (error, name);

  if (!begin (db, what, error))
    return FALSE;

  if (db_contains (db, new_name))
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_EXISTS,
                   _("There is already a stack called “%s”"), new_name);
      return rollback (db);
    }

  stmt = prepare (db, "UPDATE stacks SET name = ?2 WHERE name = ?1", what, error);
  if (stmt == NULL)
    return rollback (db);
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, new_name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, what);
      return rollback (db);
    }
  if (sqlite3_changes (db) == 0)
    {
      not_found (error, name);
      return rollback (db);
    }

  return commit (db, what, error);
}

static gboolean
db_duplicate (sqlite3     *db,
              const char  *name,
              const char  *new_name,
              GError     **error)
{
  const char *what = _("Could not duplicate the stack");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!check_name (new_name, error) || !begin (db, what, error))
    return FALSE;

  if (db_contains (db, new_name))
    {
      g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_EXISTS,
                   _("There is already a stack called “%s”"), new_name);
      return rollback (db);
    }

  stmt = prepare (db,
                  "INSERT INTO stacks (name, document, created, modified) "
                  "SELECT ?2, document, ?3, ?3 FROM stacks WHERE name = ?1",
                  what, error);
  if (stmt == NULL)
    return rollback (db);
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, new_name, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, now_ms ());
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, what);
      return rollback (db);
    }
  if (sqlite3_changes (db) == 0)
    {
      not_found (error, name);
      return rollback (db);
    }

  return commit (db, what, error);
}

static gboolean
db_delete (sqlite3     *db,
           const char  *name,
           GError     **error)
{
  const char *what = _("Could not delete the stack");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  if (!begin (db, what, error))
    return FALSE;

  /* Metrics go with it: ON DELETE CASCADE. */
  stmt = prepare (db, "DELETE FROM stacks WHERE name = ?1", what, error);
  if (stmt == NULL)
    return rollback (db);
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, what);
      return rollback (db);
    }
  if (sqlite3_changes (db) == 0)
    {
      not_found (error, name);
      return rollback (db);
    }

  return commit (db, what, error);
}

static gboolean
db_export (sqlite3       *db,
           const char    *name,
           GFile         *file,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(TableroStack) stack = read_stack (db, name, error);
  g_autofree char *json = NULL;

  if (stack == NULL)
    return FALSE;

  json = tablero_stack_to_json (stack);
  /* A local file appears whole or not at all: GIO writes a new file in
   * place, and a reader (or a crash) could catch it half written. */
  if (g_file_peek_path (file) != NULL)
    return g_file_set_contents_full (g_file_peek_path (file), json, -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
  return g_file_replace_contents (file, json, strlen (json), NULL, FALSE,
                                  G_FILE_CREATE_REPLACE_DESTINATION, NULL,
                                  cancellable, error);
}

static char *
db_import (sqlite3       *db,
           GFile         *file,
           GCancellable  *cancellable,
           GError       **error)
{
  const char *what = _("Could not import the stack");
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(TableroStack) stack = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *json = NULL;
  g_autofree char *name = NULL;
  gsize length;

  /* Refuse big files before reading them into memory. */
  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE,
                            cancellable, error);
  if (info == NULL)
    return NULL;
  if (g_file_info_get_size (info) > TABLERO_STACK_MAX_JSON_SIZE)
    {
      g_set_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_TOO_LARGE,
                   _("The stack file is larger than %d MiB"),
                   TABLERO_STACK_MAX_JSON_SIZE / (1024 * 1024));
      return NULL;
    }

  if (!g_file_load_contents (file, cancellable, &contents, &length, NULL, error))
    return NULL;
  if (memchr (contents, '\0', length) != NULL)
    {
      g_set_error_literal (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_PARSE,
                           _("The stack file is not valid UTF-8 text"));
      return NULL;
    }

  stack = tablero_stack_new_from_json (contents, error);
  if (stack == NULL)
    return NULL;

  /* Picking the name and inserting in one transaction: no other writer can
   * take the name in between. */
  if (!begin (db, what, error))
    return NULL;

  name = g_strdup (tablero_stack_get_name (stack));
  for (guint i = 2; db_contains (db, name); i++)
    {
      g_free (name);
      name = g_strdup_printf ("%s (%u)", tablero_stack_get_name (stack), i);
    }
  if (!check_name (name, error))
    {
      rollback (db);
      return NULL;
    }

  tablero_stack_set_name (stack, name);
  json = tablero_stack_to_json (stack);
  if (!save_in_transaction (db, name, json, FALSE, what, error))
    {
      rollback (db);
      return NULL;
    }
  if (!commit (db, what, error))
    return NULL;

  return g_steal_pointer (&name);
}

static double
finite_or_zero (double value)
{
  return isfinite (value) ? value : 0;
}

static gboolean
db_append_metrics (sqlite3                    *db,
                   const char                 *stack_name,
                   const char * const         *node_ids,
                   const TableroMetricsSample *samples,
                   guint                       n_samples,
                   gint64                      max_age_ms,
                   guint                       max_rows,
                   GError                    **error)
{
  const char *what = _("Could not record the metrics history");
  g_autoptr(sqlite3_stmt) insert = NULL;
  g_autoptr(sqlite3_stmt) prune_age = NULL;
  g_autoptr(sqlite3_stmt) prune_rows = NULL;
  g_autoptr(GHashTable) touched = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer node_id;
  gint64 stack_id;
  int rc;

  for (guint i = 0; i < n_samples; i++)
    if (node_ids[i] == NULL || *node_ids[i] == '\0' ||
        strlen (node_ids[i]) > TABLERO_STACK_MAX_STRING)
      {
        g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_FAILED,
                     _("%s: a sample has no valid node id"), what);
        return FALSE;
      }

  if (!begin (db, what, error))
    return FALSE;
  if (!lookup_stack_id (db, stack_name, &stack_id, error))
    return rollback (db);

  insert = prepare (db,
                    "INSERT INTO metrics (stack_id, node_id, time, cpu, memory, disk, network, "
                    "saturation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    what, error);
  if (insert == NULL)
    return rollback (db);

  for (guint i = 0; i < n_samples; i++)
    {
      const TableroMetricsSample *s = &samples[i];

      sqlite3_bind_int64 (insert, 1, stack_id);
      sqlite3_bind_text (insert, 2, node_ids[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64 (insert, 3, s->time_ms);
      sqlite3_bind_double (insert, 4, finite_or_zero (s->cpu));
      sqlite3_bind_double (insert, 5, finite_or_zero (s->memory));
      sqlite3_bind_double (insert, 6, finite_or_zero (s->disk));
      sqlite3_bind_double (insert, 7, finite_or_zero (s->network));
      sqlite3_bind_double (insert, 8, finite_or_zero (s->saturation));
      rc = sqlite3_step (insert);
      if (rc != SQLITE_DONE)
        {
          set_sqlite_error (error, db, rc, what);
          return rollback (db);
        }
      sqlite3_reset (insert);
      g_hash_table_add (touched, (gpointer) node_ids[i]);
    }

  /* Retention, for the nodes that got samples: by age relative to the
   * node's newest sample (so a history replayed from the past is not wiped),
   * then by count. */
  if (max_age_ms > 0)
    {
      prune_age = prepare (db,
                           "DELETE FROM metrics WHERE stack_id = ?1 AND node_id = ?2 AND time < "
                           "(SELECT max (time) FROM metrics WHERE stack_id = ?1 AND node_id = ?2)"
                           " - ?3",
                           what, error);
      if (prune_age == NULL)
        return rollback (db);
    }
  if (max_rows > 0)
    {
      prune_rows = prepare (db,
                            "DELETE FROM metrics WHERE rowid IN (SELECT rowid FROM metrics "
                            "WHERE stack_id = ?1 AND node_id = ?2 "
                            "ORDER BY time DESC, rowid DESC LIMIT -1 OFFSET ?3)",
                            what, error);
      if (prune_rows == NULL)
        return rollback (db);
    }

  g_hash_table_iter_init (&iter, touched);
  while (g_hash_table_iter_next (&iter, &node_id, NULL))
    {
      sqlite3_stmt *prunes[] = { prune_age, prune_rows };

      for (guint k = 0; k < G_N_ELEMENTS (prunes); k++)
        {
          if (prunes[k] == NULL)
            continue;
          sqlite3_bind_int64 (prunes[k], 1, stack_id);
          sqlite3_bind_text (prunes[k], 2, node_id, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (prunes[k], 3, prunes[k] == prune_age ? max_age_ms : max_rows);
          rc = sqlite3_step (prunes[k]);
          sqlite3_reset (prunes[k]);
          if (rc != SQLITE_DONE)
            {
              set_sqlite_error (error, db, rc, what);
              return rollback (db);
            }
        }
    }

  return commit (db, what, error);
}

static GArray *
db_query_metrics (sqlite3     *db,
                  const char  *stack_name,
                  const char  *node_id,
                  gint64       since_ms,
                  gint64       until_ms,
                  GError     **error)
{
  const char *what = _("Could not read the metrics history");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GArray) samples = g_array_new (FALSE, FALSE, sizeof (TableroMetricsSample));
  gint64 stack_id;
  int rc;

  if (!lookup_stack_id (db, stack_name, &stack_id, error))
    return NULL;

  stmt = prepare (db,
                  "SELECT time, cpu, memory, disk, network, saturation FROM metrics "
                  "WHERE stack_id = ?1 AND node_id = ?2 AND time BETWEEN ?3 AND ?4 "
                  "ORDER BY time, rowid",
                  what, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, stack_id);
  sqlite3_bind_text (stmt, 2, node_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, since_ms);
  sqlite3_bind_int64 (stmt, 4, until_ms);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      TableroMetricsSample s = {
        .time_ms = sqlite3_column_int64 (stmt, 0),
        .cpu = sqlite3_column_double (stmt, 1),
        .memory = sqlite3_column_double (stmt, 2),
        .disk = sqlite3_column_double (stmt, 3),
        .network = sqlite3_column_double (stmt, 4),
        .saturation = sqlite3_column_double (stmt, 5),
      };
      g_array_append_val (samples, s);
    }
  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (error, db, rc, what);
      return NULL;
    }

  return g_steal_pointer (&samples);
}

/* Worker thread */

typedef enum {
  JOB_QUIT,
  JOB_LOAD,
  JOB_SAVE,
  JOB_EXPORT,
  JOB_IMPORT,
  JOB_APPEND_METRICS,
  JOB_QUERY_METRICS,
} JobType;

typedef struct {
  JobType type;
  GTask *task;

  /* Input, owned by the job. */
  char *name;
  char *document;
  GFile *file;
  TableroStack *stack;       /* JOB_SAVE: only touched in the task's thread */
  guint64 edit_count;
  GPtrArray *node_ids;
  GArray *samples;
  char *node_id;
  gint64 since_ms, until_ms;
  gint64 max_age_ms;
  guint max_rows;

  /* Output. */
  GError *error;
  TableroStack *result_stack;
  char *result_name;
  GArray *result_samples;
} Job;

static void
job_free (Job *job)
{
  g_clear_object (&job->task);
  g_free (job->name);
  g_free (job->document);
  g_clear_object (&job->file);
  g_clear_object (&job->stack);
  g_clear_pointer (&job->node_ids, g_ptr_array_unref);
  g_clear_pointer (&job->samples, g_array_unref);
  g_free (job->node_id);
  g_clear_error (&job->error);
  g_clear_object (&job->result_stack);
  g_free (job->result_name);
  g_clear_pointer (&job->result_samples, g_array_unref);
  g_free (job);
}

typedef struct {
  gatomicrefcount ref_count;
  char *path;
  GAsyncQueue *queue;   /* Job */
  GThread *thread;
} Worker;

static void
worker_unref (Worker *worker)
{
  if (!g_atomic_ref_count_dec (&worker->ref_count))
    return;
  g_free (worker->path);
  g_async_queue_unref (worker->queue);
  g_free (worker);
}

struct _TableroStackStore
{
  GObject parent_instance;

  char *path;
  sqlite3 *db;
  GListStore *stacks;
  GListStore *recent;
  gint64 max_age_ms;
  guint max_rows;
  Worker *worker;
};

G_DEFINE_FINAL_TYPE (TableroStackStore, tablero_stack_store, G_TYPE_OBJECT)

static void store_refresh (TableroStackStore *self);

/* Back in the task's thread: update the lists, then report. */
static gboolean
job_complete (gpointer data)
{
  Job *job = data;
  TableroStackStore *self = g_task_get_source_object (job->task);

  if (job->error != NULL)
    {
      g_task_return_error (job->task, g_steal_pointer (&job->error));
      job_free (job);
      return G_SOURCE_REMOVE;
    }

  switch (job->type)
    {
    case JOB_LOAD:
      store_refresh (self);
      g_task_return_pointer (job->task, g_steal_pointer (&job->result_stack), g_object_unref);
      break;

    case JOB_SAVE:
      store_refresh (self);
      if (tablero_stack_get_edit_count (job->stack) == job->edit_count)
        tablero_stack_set_modified (job->stack, FALSE);
      g_task_return_boolean (job->task, TRUE);
      break;

    case JOB_IMPORT:
      store_refresh (self);
      g_task_return_pointer (job->task, g_steal_pointer (&job->result_name), g_free);
      break;

    case JOB_EXPORT:
    case JOB_APPEND_METRICS:
      g_task_return_boolean (job->task, TRUE);
      break;

    case JOB_QUERY_METRICS:
      g_task_return_pointer (job->task, g_steal_pointer (&job->result_samples),
                             (GDestroyNotify) g_array_unref);
      break;

    case JOB_QUIT:
    default:
      g_assert_not_reached ();
    }

  job_free (job);
  return G_SOURCE_REMOVE;
}

static void
job_run (Job     *job,
         sqlite3 *db)
{
  GCancellable *cancellable = g_task_get_cancellable (job->task);

  if (g_cancellable_set_error_if_cancelled (cancellable, &job->error))
    return;

  switch (job->type)
    {
    case JOB_LOAD:
      job->result_stack = db_load (db, job->name, &job->error);
      break;
    case JOB_SAVE:
      db_save (db, job->name, job->document, &job->error);
      break;
    case JOB_EXPORT:
      db_export (db, job->name, job->file, cancellable, &job->error);
      break;
    case JOB_IMPORT:
      job->result_name = db_import (db, job->file, cancellable, &job->error);
      break;
    case JOB_APPEND_METRICS:
      db_append_metrics (db, job->name, (const char * const *) job->node_ids->pdata,
                         (const TableroMetricsSample *) job->samples->data, job->samples->len,
                         job->max_age_ms, job->max_rows, &job->error);
      break;
    case JOB_QUERY_METRICS:
      job->result_samples = db_query_metrics (db, job->name, job->node_id, job->since_ms,
                                              job->until_ms, &job->error);
      break;
    case JOB_QUIT:
    default:
      g_assert_not_reached ();
    }
}

static gpointer
worker_thread (gpointer data)
{
  Worker *worker = data;
  sqlite3 *db = NULL;
  GError *open_error = NULL;

  for (;;)
    {
      Job *job = g_async_queue_pop (worker->queue);

      if (job->type == JOB_QUIT)
        {
          job_free (job);
          break;
        }

      /* This thread's own connection, opened on first use. The store
       * created and migrated the file already. */
      if (db == NULL && open_error == NULL)
        db = open_connection (worker->path, FALSE, &open_error);

      if (db != NULL)
        job_run (job, db);
      else
        job->error = g_error_copy (open_error);

      {
        /* Always queued, never run here: g_main_context_invoke() would run
         * job_complete() on this worker thread whenever the owner's
         * context happens to be free, and it updates list models. */
        GSource *idle = g_idle_source_new ();

        g_source_set_callback (idle, job_complete, job, NULL);
        g_source_set_static_name (idle, "[tablero] store job done");
        g_source_attach (idle, g_task_get_context (job->task));
        g_source_unref (idle);
      }
    }

  g_clear_error (&open_error);
  sqlite3_close (db);
  worker_unref (worker);
  return NULL;
}

static Job *
job_new (TableroStackStore   *self,
         JobType              type,
         GCancellable        *cancellable,
         GAsyncReadyCallback  callback,
         gpointer             user_data,
         gpointer             source_tag)
{
  Job *job = g_new0 (Job, 1);

  job->type = type;
  job->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, source_tag);
  /* Once a job has started it runs to the end; its real outcome is
   * reported even if the caller cancelled meanwhile. */
  g_task_set_check_cancellable (job->task, FALSE);
  return job;
}

static void
job_push (TableroStackStore *self,
          Job               *job)
{
  if (self->worker == NULL)
    {
      Worker *worker = g_new0 (Worker, 1);

      g_atomic_ref_count_init (&worker->ref_count);
      worker->path = g_strdup (self->path);
      worker->queue = g_async_queue_new ();
      /* One reference for the thread, one for the store. */
      g_atomic_ref_count_inc (&worker->ref_count);
      worker->thread = g_thread_new ("tablero-stack-store", worker_thread, worker);
      self->worker = worker;
    }

  g_async_queue_push (self->worker->queue, job);
}

/* Lists */

static int
compare_info_names (gconstpointer a,
                    gconstpointer b)
{
  TableroStackInfo *ia = *(TableroStackInfo **) a;
  TableroStackInfo *ib = *(TableroStackInfo **) b;
  g_autofree char *fa = g_utf8_casefold (ia->name, -1);
  g_autofree char *fb = g_utf8_casefold (ib->name, -1);
  /* Case-insensitive, in the user's collation; ties broken bytewise. */
  int cmp = g_utf8_collate (fa, fb);

  return cmp != 0 ? cmp : strcmp (ia->name, ib->name);
}

/* Rebuilds both lists from the database. */
static gboolean
store_reload (TableroStackStore  *self,
              GError            **error)
{
  const char *what = _("Could not read the list of stacks");
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) recent = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  stmt = prepare (self->db,
                  "SELECT name, modified, opened FROM stacks ORDER BY opened DESC NULLS LAST",
                  what, error);
  if (stmt == NULL)
    return FALSE;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gboolean opened = sqlite3_column_type (stmt, 2) != SQLITE_NULL;
      const char *name = (const char *) sqlite3_column_text (stmt, 0);
      TableroStackInfo *info;

      if (name == NULL || !g_utf8_validate (name, -1, NULL))
        {
          g_set_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_CORRUPT,
                       "%s: %s", what, _("a stack name is not valid text"));
          return FALSE;
        }
      info = tablero_stack_info_new (name, sqlite3_column_int64 (stmt, 1),
                                     opened, sqlite3_column_int64 (stmt, 2));
      g_ptr_array_add (all, info);
      if (opened)
        g_ptr_array_add (recent, g_object_ref (info));
    }
  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, self->db, rc, what);

  g_ptr_array_sort (all, compare_info_names);
  g_list_store_splice (self->stacks, 0, g_list_model_get_n_items (G_LIST_MODEL (self->stacks)),
                       all->pdata, all->len);
  g_list_store_splice (self->recent, 0, g_list_model_get_n_items (G_LIST_MODEL (self->recent)),
                       recent->pdata, recent->len);
  return TRUE;
}

/* After a change: the change itself succeeded, so a failure to re-read
 * the list is only worth a warning. */
static void
store_refresh (TableroStackStore *self)
{
  g_autoptr(GError) error = NULL;

  if (!store_reload (self, &error))
    g_warning ("%s", error->message);
}

/* GObject */

static void
tablero_stack_store_dispose (GObject *object)
{
  TableroStackStore *self = TABLERO_STACK_STORE (object);

  if (self->worker != NULL)
    {
      Worker *worker = g_steal_pointer (&self->worker);
      Job *quit = g_new0 (Job, 1);
      GThread *thread = g_thread_ref (worker->thread);

      /* Queued jobs hold a reference to the store, so none is pending. */
      quit->type = JOB_QUIT;
      g_async_queue_push (worker->queue, quit);
      if (thread != g_thread_self ())
        g_thread_join (thread);
      else
        g_thread_unref (thread);
      g_thread_unref (worker->thread);
      worker_unref (worker);
    }

  if (self->stacks != NULL)
    g_list_store_remove_all (self->stacks);
  if (self->recent != NULL)
    g_list_store_remove_all (self->recent);

  G_OBJECT_CLASS (tablero_stack_store_parent_class)->dispose (object);
}

static void
tablero_stack_store_finalize (GObject *object)
{
  TableroStackStore *self = TABLERO_STACK_STORE (object);

  g_clear_pointer (&self->db, sqlite3_close);
  g_clear_object (&self->stacks);
  g_clear_object (&self->recent);
  g_free (self->path);

  G_OBJECT_CLASS (tablero_stack_store_parent_class)->finalize (object);
}

static void
tablero_stack_store_class_init (TableroStackStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tablero_stack_store_dispose;
  object_class->finalize = tablero_stack_store_finalize;
}

static void
tablero_stack_store_init (TableroStackStore *self)
{
  self->stacks = g_list_store_new (TABLERO_TYPE_STACK_INFO);
  self->recent = g_list_store_new (TABLERO_TYPE_STACK_INFO);
  self->max_age_ms = TABLERO_STACK_STORE_DEFAULT_MAX_AGE_MS;
  self->max_rows = TABLERO_STACK_STORE_DEFAULT_MAX_ROWS;
}

TableroStackStore *
tablero_stack_store_new (const char  *path,
                         GError     **error)
{
  g_autoptr(TableroStackStore) self = NULL;
  sqlite3 *db;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  db = open_database (path, error);
  if (db == NULL)
    return NULL;

  self = g_object_new (TABLERO_TYPE_STACK_STORE, NULL);
  self->path = g_strdup (path);
  self->db = db;

  /* Reads every stack's row: damage there is reported now, not later. */
  if (!store_reload (self, error))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_prefix_error (error, _("The Tablero database “%s” is damaged. It was left as it is. "),
                      display);
      sqlite3_db_config (db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
      return NULL;
    }

  return g_steal_pointer (&self);
}

char *
tablero_stack_store_get_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "tablero", "stacks.db", NULL);
}

const char *
tablero_stack_store_get_path (TableroStackStore *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), NULL);
  return self->path;
}

GListModel *
tablero_stack_store_get_stacks (TableroStackStore *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), NULL);
  return G_LIST_MODEL (self->stacks);
}

GListModel *
tablero_stack_store_get_recent (TableroStackStore *self)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), NULL);
  return G_LIST_MODEL (self->recent);
}

gboolean
tablero_stack_store_save (TableroStackStore  *self,
                          TableroStack       *stack,
                          GError            **error)
{
  g_autofree char *json = NULL;

  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (TABLERO_IS_STACK (stack), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  json = tablero_stack_to_json (stack);
  if (!db_save (self->db, tablero_stack_get_name (stack), json, error))
    return FALSE;

  tablero_stack_set_modified (stack, FALSE);
  store_refresh (self);
  return TRUE;
}

TableroStack *
tablero_stack_store_load (TableroStackStore  *self,
                          const char         *name,
                          GError            **error)
{
  TableroStack *stack;

  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stack = db_load (self->db, name, error);
  if (stack != NULL)
    store_refresh (self);
  return stack;
}

gboolean
tablero_stack_store_contains (TableroStackStore *self,
                              const char        *name)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return db_contains (self->db, name);
}

gboolean
tablero_stack_store_rename (TableroStackStore  *self,
                            const char         *name,
                            const char         *new_name,
                            GError            **error)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!db_rename (self->db, name, new_name, error))
    return FALSE;
  store_refresh (self);
  return TRUE;
}

gboolean
tablero_stack_store_duplicate (TableroStackStore  *self,
                               const char         *name,
                               const char         *new_name,
                               GError            **error)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!db_duplicate (self->db, name, new_name, error))
    return FALSE;
  store_refresh (self);
  return TRUE;
}

gboolean
tablero_stack_store_delete (TableroStackStore  *self,
                            const char         *name,
                            GError            **error)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!db_delete (self->db, name, error))
    return FALSE;
  store_refresh (self);
  return TRUE;
}

gboolean
tablero_stack_store_export_file (TableroStackStore  *self,
                                 const char         *name,
                                 GFile              *file,
                                 GError            **error)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return db_export (self->db, name, file, NULL, error);
}

char *
tablero_stack_store_import_file (TableroStackStore  *self,
                                 GFile              *file,
                                 GError            **error)
{
  char *name;

  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  name = db_import (self->db, file, NULL, error);
  if (name != NULL)
    store_refresh (self);
  return name;
}

gboolean
tablero_stack_store_append_metric (TableroStackStore  *self,
                                   const char         *stack_name,
                                   const char         *node_id,
                                   gint64              time_ms,
                                   double              cpu,
                                   double              memory,
                                   double              disk,
                                   double              network,
                                   double              saturation,
                                   GError            **error)
{
  TableroMetricsSample sample = { time_ms, cpu, memory, disk, network, saturation };
  const char *node_ids[] = { node_id, NULL };

  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (stack_name != NULL, FALSE);
  g_return_val_if_fail (node_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return db_append_metrics (self->db, stack_name, node_ids, &sample, 1,
                            self->max_age_ms, self->max_rows, error);
}

gboolean
tablero_stack_store_append_metrics (TableroStackStore          *self,
                                    const char                 *stack_name,
                                    const char * const         *node_ids,
                                    const TableroMetricsSample *samples,
                                    guint                       n_samples,
                                    GError                    **error)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (stack_name != NULL, FALSE);
  g_return_val_if_fail (n_samples == 0 || (node_ids != NULL && samples != NULL), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return db_append_metrics (self->db, stack_name, node_ids, samples, n_samples,
                            self->max_age_ms, self->max_rows, error);
}

GArray *
tablero_stack_store_query_metrics (TableroStackStore  *self,
                                   const char         *stack_name,
                                   const char         *node_id,
                                   gint64              since_ms,
                                   gint64              until_ms,
                                   GError            **error)
{
  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), NULL);
  g_return_val_if_fail (stack_name != NULL, NULL);
  g_return_val_if_fail (node_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return db_query_metrics (self->db, stack_name, node_id, since_ms, until_ms, error);
}

void
tablero_stack_store_set_metrics_retention (TableroStackStore *self,
                                           gint64             max_age_ms,
                                           guint              max_rows)
{
  g_return_if_fail (TABLERO_IS_STACK_STORE (self));
  g_return_if_fail (max_age_ms >= 0);

  self->max_age_ms = max_age_ms;
  self->max_rows = max_rows;
}

/* Async variants */

static gpointer
finish_pointer (TableroStackStore  *self,
                GAsyncResult       *result,
                gpointer            source_tag,
                GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
finish_boolean (TableroStackStore  *self,
                GAsyncResult       *result,
                gpointer            source_tag,
                GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
tablero_stack_store_load_async (TableroStackStore   *self,
                                const char          *name,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Job *job;

  g_return_if_fail (TABLERO_IS_STACK_STORE (self));
  g_return_if_fail (name != NULL);

  job = job_new (self, JOB_LOAD, cancellable, callback, user_data,
                 tablero_stack_store_load_async);
  job->name = g_strdup (name);
  job_push (self, job);
}

TableroStack *
tablero_stack_store_load_finish (TableroStackStore  *self,
                                 GAsyncResult       *result,
                                 GError            **error)
{
  return finish_pointer (self, result, tablero_stack_store_load_async, error);
}

void
tablero_stack_store_save_async (TableroStackStore   *self,
                                TableroStack        *stack,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Job *job;

  g_return_if_fail (TABLERO_IS_STACK_STORE (self));
  g_return_if_fail (TABLERO_IS_STACK (stack));

  job = job_new (self, JOB_SAVE, cancellable, callback, user_data,
                 tablero_stack_store_save_async);
  job->name = g_strdup (tablero_stack_get_name (stack));
  job->document = tablero_stack_to_json (stack);
  job->stack = g_object_ref (stack);
  job->edit_count = tablero_stack_get_edit_count (stack);

  /* Checked here so the error arrives like any other. */
  if (!check_name (job->name, &job->error))
    {
      g_task_return_error (job->task, g_steal_pointer (&job->error));
      job_free (job);
      return;
    }

  job_push (self, job);
}

gboolean
tablero_stack_store_save_finish (TableroStackStore  *self,
                                 GAsyncResult       *result,
                                 GError            **error)
{
  return finish_boolean (self, result, tablero_stack_store_save_async, error);
}

void
tablero_stack_store_export_file_async (TableroStackStore   *self,
                                       const char          *name,
                                       GFile               *file,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  Job *job;

  g_return_if_fail (TABLERO_IS_STACK_STORE (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (G_IS_FILE (file));

  job = job_new (self, JOB_EXPORT, cancellable, callback, user_data,
                 tablero_stack_store_export_file_async);
  job->name = g_strdup (name);
  job->file = g_file_dup (file);  /* GFile is not promised to be thread-safe */
  job_push (self, job);
}

gboolean
tablero_stack_store_export_file_finish (TableroStackStore  *self,
                                        GAsyncResult       *result,
                                        GError            **error)
{
  return finish_boolean (self, result, tablero_stack_store_export_file_async, error);
}

void
tablero_stack_store_import_file_async (TableroStackStore   *self,
                                       GFile               *file,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  Job *job;

  g_return_if_fail (TABLERO_IS_STACK_STORE (self));
  g_return_if_fail (G_IS_FILE (file));

  job = job_new (self, JOB_IMPORT, cancellable, callback, user_data,
                 tablero_stack_store_import_file_async);
  job->file = g_file_dup (file);
  job_push (self, job);
}

char *
tablero_stack_store_import_file_finish (TableroStackStore  *self,
                                        GAsyncResult       *result,
                                        GError            **error)
{
  return finish_pointer (self, result, tablero_stack_store_import_file_async, error);
}

void
tablero_stack_store_append_metrics_async (TableroStackStore          *self,
                                          const char                 *stack_name,
                                          const char * const         *node_ids,
                                          const TableroMetricsSample *samples,
                                          guint                       n_samples,
                                          GCancellable               *cancellable,
                                          GAsyncReadyCallback         callback,
                                          gpointer                    user_data)
{
  Job *job;

  g_return_if_fail (TABLERO_IS_STACK_STORE (self));
  g_return_if_fail (stack_name != NULL);
  g_return_if_fail (n_samples == 0 || (node_ids != NULL && samples != NULL));

  job = job_new (self, JOB_APPEND_METRICS, cancellable, callback, user_data,
                 tablero_stack_store_append_metrics_async);
  job->name = g_strdup (stack_name);
  job->node_ids = g_ptr_array_new_full (n_samples + 1, g_free);
  for (guint i = 0; i < n_samples; i++)
    g_ptr_array_add (job->node_ids, g_strdup (node_ids[i]));
  g_ptr_array_add (job->node_ids, NULL);
  job->samples = g_array_sized_new (FALSE, FALSE, sizeof (TableroMetricsSample), n_samples);
  if (n_samples > 0)
    g_array_append_vals (job->samples, samples, n_samples);
  job->max_age_ms = self->max_age_ms;
  job->max_rows = self->max_rows;
  job_push (self, job);
}

gboolean
tablero_stack_store_append_metrics_finish (TableroStackStore  *self,
                                           GAsyncResult       *result,
                                           GError            **error)
{
  return finish_boolean (self, result, tablero_stack_store_append_metrics_async, error);
}

void
tablero_stack_store_query_metrics_async (TableroStackStore   *self,
                                         const char          *stack_name,
                                         const char          *node_id,
                                         gint64               since_ms,
                                         gint64               until_ms,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  Job *job;

  g_return_if_fail (TABLERO_IS_STACK_STORE (self));
  g_return_if_fail (stack_name != NULL);
  g_return_if_fail (node_id != NULL);

  job = job_new (self, JOB_QUERY_METRICS, cancellable, callback, user_data,
                 tablero_stack_store_query_metrics_async);
  job->name = g_strdup (stack_name);
  job->node_id = g_strdup (node_id);
  job->since_ms = since_ms;
  job->until_ms = until_ms;
  job_push (self, job);
}

GArray *
tablero_stack_store_query_metrics_finish (TableroStackStore  *self,
                                          GAsyncResult       *result,
                                          GError            **error)
{
  return finish_pointer (self, result, tablero_stack_store_query_metrics_async, error);
}

/* Recorded dispatches */

gboolean
tablero_stack_store_append_dispatches (TableroStackStore           *self,
                                       const char                  *stack_name,
                                       const TableroDispatchRecord *records,
                                       guint                        n_records,
                                       GError                     **error)
{
  const char *what = _("Could not record the dispatches");
  g_autoptr(sqlite3_stmt) insert = NULL;
  gint64 stack_id = 0;
  int rc;

  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), FALSE);
  g_return_val_if_fail (n_records == 0 || records != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!begin (self->db, what, error))
    return FALSE;
  if (stack_name != NULL && !lookup_stack_id (self->db, stack_name, &stack_id, error))
    return rollback (self->db);
  insert = prepare (self->db,
                    "INSERT INTO dispatches (stack_id, time, direction, peer, dispatch) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
                    what, error);
  if (insert == NULL)
    return rollback (self->db);
  for (guint i = 0; i < n_records; i++)
    {
      if (stack_name != NULL)
        sqlite3_bind_int64 (insert, 1, stack_id);
      else
        sqlite3_bind_null (insert, 1);
      sqlite3_bind_int64 (insert, 2, records[i].time_ms);
      sqlite3_bind_text (insert, 3, records[i].direction ? records[i].direction : "local", -1,
                         SQLITE_STATIC);
      if (records[i].peer != NULL)
        sqlite3_bind_text (insert, 4, records[i].peer, -1, SQLITE_STATIC);
      else
        sqlite3_bind_null (insert, 4);
      sqlite3_bind_text (insert, 5, records[i].text ? records[i].text : "", -1, SQLITE_STATIC);
      rc = sqlite3_step (insert);
      if (rc != SQLITE_DONE)
        {
          set_sqlite_error (error, self->db, rc, what);
          return rollback (self->db);
        }
      sqlite3_reset (insert);
      sqlite3_clear_bindings (insert);
    }
  return commit (self->db, what, error);
}

gint64
tablero_stack_store_count_dispatches (TableroStackStore  *self,
                                      const char         *stack_name,
                                      GError            **error)
{
  const char *what = _("Could not read the database");
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 stack_id = 0;
  int rc;

  g_return_val_if_fail (TABLERO_IS_STACK_STORE (self), -1);

  if (stack_name != NULL && !lookup_stack_id (self->db, stack_name, &stack_id, error))
    return -1;
  stmt = prepare (self->db,
                  stack_name ? "SELECT count(*) FROM dispatches WHERE stack_id = ?1"
                             : "SELECT count(*) FROM dispatches WHERE stack_id IS NULL",
                  what, error);
  if (stmt == NULL)
    return -1;
  if (stack_name != NULL)
    sqlite3_bind_int64 (stmt, 1, stack_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      set_sqlite_error (error, self->db, rc, what);
      return -1;
    }
  return sqlite3_column_int64 (stmt, 0);
}
