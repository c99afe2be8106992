/* SPDX-License-Identifier: MIT */
/* test-stack-store.c: TableroStackStore on real SQLite files in a temporary
 * folder: stacks CRUD, the migration from schema 1, refusal of damaged and
 * foreign files (left byte for byte as they were), export/import, metrics
 * history and the asynchronous calls. */
#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "tablero-stack-store.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("tablero-store-XXXXXX", &error);
  g_assert_no_error (error);
  /* A folder that does not exist yet: the store creates it. */
  f->path = g_build_filename (f->dir, "data", "stacks.db", NULL);
}

static void
remove_tree (GFile *file)
{
  g_autoptr(GFileEnumerator) children =
    g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                               G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);

  if (children != NULL)
    {
      GFileInfo *info;

      while ((info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
        {
          g_autoptr(GFile) child = g_file_get_child (file, g_file_info_get_name (info));
          remove_tree (child);
          g_object_unref (info);
        }
    }
  g_file_delete (file, NULL, NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GFile) dir = g_file_new_for_path (f->dir);

  remove_tree (dir);
  g_free (f->dir);
  g_free (f->path);
}

static TableroStack *
make_stack (const char *name,
            guint       n_nodes)
{
  TableroStack *stack = tablero_stack_new (name);
  TableroNode *prev = NULL;

  for (guint i = 0; i < n_nodes; i++)
    {
      g_autofree char *id = tablero_stack_new_id (stack);
      g_autoptr(TableroNode) node = tablero_node_new (id, i % 3, "Node");
      double x = 0, y = 0;

      tablero_stack_free_position (stack, &x, &y);
      tablero_node_set_position (node, x, y);
      tablero_stack_add_node (stack, node);
      if (prev != NULL)
        {
          g_autofree char *edge_id = tablero_stack_new_id (stack);
          g_autoptr(TableroEdge) edge = tablero_edge_new (edge_id, tablero_node_get_id (prev),
                                                          id, NULL, NULL);
          tablero_stack_add_edge (stack, edge);
        }
      prev = node;
    }
  return stack;
}

static char *
info_name_at (GListModel *model,
              guint       i)
{
  g_autoptr(TableroStackInfo) info = g_list_model_get_item (model, i);
  return g_strdup (tablero_stack_info_get_name (info));
}

static gint64
raw_pragma (const char *path,
            const char *pragma)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, pragma, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static void
raw_exec (const char *path,
          const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  sqlite3_close (db);
}

/* Connected swapped: the counter comes first. */
static void
count_signal (guint *counter)
{
  (*counter)++;
}

static char *
raw_pragma_text (const char *path,
                 const char *pragma)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *value;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, pragma, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

/* Basics */

static void
test_create (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = tablero_stack_store_new (f->path, &error);
  g_autofree char *journal = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_cmpstr (tablero_stack_store_get_path (store), ==, f->path);
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_store_get_stacks (store)), ==, 0);
  g_clear_object (&store);

  g_assert_cmpint (raw_pragma (f->path, "PRAGMA application_id"), ==,
                   TABLERO_STACK_STORE_APPLICATION_ID);
  g_assert_cmpint (raw_pragma (f->path, "PRAGMA user_version"), ==,
                   TABLERO_STACK_STORE_SCHEMA_VERSION);
  /* WAL is persistent: the header says so (bytes 18 and 19 are 2). */
  {
    g_autofree char *contents = NULL;
    gsize length;

    g_assert_true (g_file_get_contents (f->path, &contents, &length, NULL));
    g_assert_cmpuint (length, >=, 100);
    g_assert_cmpint (contents[18], ==, 2);
    g_assert_cmpint (contents[19], ==, 2);
  }

  /* Reopening an existing store works. */
  store = tablero_stack_store_new (f->path, &error);
  g_assert_no_error (error);
}

static void
test_crud (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = tablero_stack_store_new (f->path, &error);
  g_autoptr(TableroStack) alpha = make_stack ("Alpha", 4);
  g_autoptr(TableroStack) beta = make_stack ("beta", 2);
  g_autoptr(TableroStack) loaded = NULL;
  g_autoptr(TableroStack) nameless = tablero_stack_new ("");
  g_autofree char *alpha_json = tablero_stack_to_json (alpha);
  g_autofree char *loaded_json = NULL;
  g_autofree char *long_name = g_strnfill (TABLERO_STACK_STORE_MAX_NAME + 1, 'x');
  GListModel *stacks;
  guint items_changed = 0;

  g_assert_no_error (error);
  stacks = tablero_stack_store_get_stacks (store);
  g_signal_connect_swapped (stacks, "items-changed", G_CALLBACK (count_signal), &items_changed);

  /* Save */
  g_assert_true (tablero_stack_get_modified (alpha));
  g_assert_true (tablero_stack_store_save (store, alpha, &error));
  g_assert_no_error (error);
  g_assert_false (tablero_stack_get_modified (alpha));
  g_assert_true (tablero_stack_store_save (store, beta, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (items_changed, >=, 2);
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 2);
  {
    g_autofree char *first = info_name_at (stacks, 0);
    g_autofree char *second = info_name_at (stacks, 1);
    g_autoptr(TableroStackInfo) info = g_list_model_get_item (stacks, 0);

    /* Sorted by name, case-insensitively. */
    g_assert_cmpstr (first, ==, "Alpha");
    g_assert_cmpstr (second, ==, "beta");
    g_assert_nonnull (tablero_stack_info_get_modified_time (info));
    g_assert_null (tablero_stack_info_get_opened_time (info));
  }
  g_assert_true (tablero_stack_store_contains (store, "Alpha"));
  g_assert_false (tablero_stack_store_contains (store, "Gamma"));

  g_assert_false (tablero_stack_store_save (store, nameless, &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_INVALID_NAME);
  g_clear_error (&error);

  /* Save again replaces. */
  {
    TableroNode *node = g_list_model_get_item (tablero_stack_get_nodes (alpha), 0);
    tablero_stack_rename_node (alpha, node, "Renamed");
    g_object_unref (node);
  }
  g_assert_true (tablero_stack_store_save (store, alpha, &error));
  g_clear_pointer (&alpha_json, g_free);
  alpha_json = tablero_stack_to_json (alpha);
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 2);

  /* Load */
  loaded = tablero_stack_store_load (store, "Alpha", &error);
  g_assert_no_error (error);
  loaded_json = tablero_stack_to_json (loaded);
  g_assert_cmpstr (loaded_json, ==, alpha_json);
  g_assert_false (tablero_stack_get_modified (loaded));
  g_assert_null (tablero_stack_store_load (store, "Gamma", &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "Gamma"));
  g_clear_error (&error);

  /* Rename */
  g_assert_false (tablero_stack_store_rename (store, "Alpha", "beta", &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (tablero_stack_store_rename (store, "Gamma", "Delta", &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (tablero_stack_store_rename (store, "Alpha", long_name, &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_INVALID_NAME);
  g_clear_error (&error);
  g_assert_true (tablero_stack_store_rename (store, "Alpha", "Zeta", &error));
  g_assert_no_error (error);
  g_assert_false (tablero_stack_store_contains (store, "Alpha"));
  {
    g_autoptr(TableroStack) zeta = tablero_stack_store_load (store, "Zeta", &error);
    g_assert_no_error (error);
    /* The row's name wins over the one stored in the document. */
    g_assert_cmpstr (tablero_stack_get_name (zeta), ==, "Zeta");
    g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_get_nodes (zeta)), ==, 4);
  }

  /* Duplicate */
  g_assert_true (tablero_stack_store_duplicate (store, "Zeta", "Zeta copy", &error));
  g_assert_no_error (error);
  g_assert_false (tablero_stack_store_duplicate (store, "Zeta", "beta", &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (tablero_stack_store_duplicate (store, "Nope", "Other", &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 3);

  /* Delete */
  g_assert_true (tablero_stack_store_delete (store, "Zeta copy", &error));
  g_assert_no_error (error);
  g_assert_false (tablero_stack_store_delete (store, "Zeta copy", &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 2);

  /* Everything survives reopening. */
  g_clear_object (&store);
  store = tablero_stack_store_new (f->path, &error);
  g_assert_no_error (error);
  stacks = tablero_stack_store_get_stacks (store);
  g_assert_cmpuint (g_list_model_get_n_items (stacks), ==, 2);
  {
    g_autofree char *first = info_name_at (stacks, 0);
    g_autofree char *second = info_name_at (stacks, 1);
    g_assert_cmpstr (first, ==, "beta");
    g_assert_cmpstr (second, ==, "Zeta");
  }
}

static void
test_recent (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = tablero_stack_store_new (f->path, &error);
  const char *names[] = { "One", "Two", "Three" };
  GListModel *recent;

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(TableroStack) stack = make_stack (names[i], 1);
      g_assert_true (tablero_stack_store_save (store, stack, &error));
    }
  recent = tablero_stack_store_get_recent (store);
  g_assert_cmpuint (g_list_model_get_n_items (recent), ==, 0);

  /* Loads within the same millisecond still order strictly. */
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_object_unref (tablero_stack_store_load (store, names[i], &error));
  g_object_unref (tablero_stack_store_load (store, "Two", &error));
  g_assert_no_error (error);

  g_assert_cmpuint (g_list_model_get_n_items (recent), ==, 3);
  {
    g_autofree char *a = info_name_at (recent, 0);
    g_autofree char *b = info_name_at (recent, 1);
    g_autofree char *c = info_name_at (recent, 2);
    g_autoptr(TableroStackInfo) info = g_list_model_get_item (recent, 0);

    g_assert_cmpstr (a, ==, "Two");
    g_assert_cmpstr (b, ==, "Three");
    g_assert_cmpstr (c, ==, "One");
    g_assert_nonnull (tablero_stack_info_get_opened_time (info));
  }
}

/* Migration */

/* Schema version 1 as Tablero 0.1 wrote it, with one stack. */
static void
write_v1_file (const char *path)
{
  g_autoptr(TableroStack) stack = make_stack ("Old", 3);
  g_autofree char *json = tablero_stack_to_json (stack);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *quoted = NULL;
  g_autofree char *sql = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  quoted = sqlite3_mprintf ("%Q", json);
  sql = g_strdup_printf ("PRAGMA application_id = %d;"
                         "PRAGMA user_version = 1;"
                         "CREATE TABLE stacks ("
                         "  id INTEGER PRIMARY KEY,"
                         "  name TEXT NOT NULL UNIQUE,"
                         "  document TEXT NOT NULL,"
                         "  created INTEGER NOT NULL,"
                         "  modified INTEGER NOT NULL,"
                         "  opened INTEGER"
                         ");"
                         "INSERT INTO stacks (name, document, created, modified) "
                         "VALUES ('Old', %s, 1700000000000, 1700000000000);",
                         TABLERO_STACK_STORE_APPLICATION_ID, quoted);
  sqlite3_free (quoted);
  quoted = NULL;
  raw_exec (path, sql);
}

static void
test_migrate_1_to_2 (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = NULL;
  g_autoptr(TableroStack) old = NULL;
  g_autoptr(GArray) samples = NULL;

  write_v1_file (f->path);
  g_assert_cmpint (raw_pragma (f->path, "PRAGMA user_version"), ==, 1);
  g_assert_cmpint (raw_pragma (f->path,
                               "SELECT count(*) FROM sqlite_master WHERE name = 'metrics'"), ==, 0);

  store = tablero_stack_store_new (f->path, &error);
  g_assert_no_error (error);

  /* The old stack is still there, and the new table works. */
  old = tablero_stack_store_load (store, "Old", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_get_nodes (old)), ==, 3);
  g_assert_true (tablero_stack_store_append_metric (store, "Old", "n1", 1000,
                                                    0.1, 0.2, 0.3, 0.4, 0.5, &error));
  g_assert_no_error (error);
  samples = tablero_stack_store_query_metrics (store, "Old", "n1", 0, G_MAXINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (samples->len, ==, 1);
  /* ...and so does the recorded traffic of version 3. */
  {
    const TableroDispatchRecord records[] = {
      { 1000, "out", "127.0.0.1:1", "{\"method\":\"GET\"}" },
      { 1001, "in", NULL, "{\"method\":\"ANSWER\"}" },
    };

    g_assert_true (tablero_stack_store_append_dispatches (store, "Old", records, 2, &error));
    g_assert_no_error (error);
    g_assert_true (tablero_stack_store_append_dispatches (store, NULL, records, 1, &error));
    g_assert_cmpint (tablero_stack_store_count_dispatches (store, "Old", &error), ==, 2);
    g_assert_cmpint (tablero_stack_store_count_dispatches (store, NULL, &error), ==, 1);
    g_assert_false (tablero_stack_store_append_dispatches (store, "Missing", records, 1, &error));
    g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
  g_clear_object (&store);

  g_assert_cmpint (raw_pragma (f->path, "PRAGMA user_version"), ==,
                   TABLERO_STACK_STORE_SCHEMA_VERSION);
  g_assert_cmpint (raw_pragma (f->path,
                               "SELECT count(*) FROM sqlite_master WHERE name = 'metrics'"), ==, 1);
  g_assert_cmpint (raw_pragma (f->path,
                               "SELECT count(*) FROM sqlite_master WHERE name = 'dispatches'"), ==, 1);
  g_assert_cmpint (raw_pragma (f->path, "PRAGMA application_id"), ==,
                   TABLERO_STACK_STORE_APPLICATION_ID);
  {
    g_autofree char *mode = raw_pragma_text (f->path, "PRAGMA journal_mode");
    g_assert_cmpstr (mode, ==, "wal");
  }
}

/* Damaged and foreign files */

static GBytes *
read_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_bytes_new_take (g_steal_pointer (&contents), length);
}

static void
assert_refused_untouched (const char *path,
                          int         code,
                          const char *message_part)
{
  g_autoptr(GBytes) before = read_file (path);
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = NULL;
  GStatBuf st_before, st_after;
  const char *suffixes[] = { "-wal", "-shm", "-journal" };

  g_assert_cmpint (g_stat (path, &st_before), ==, 0);

  store = tablero_stack_store_new (path, &error);
  g_assert_null (store);
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, code);
  if (strstr (error->message, message_part) == NULL)
    g_error ("Error “%s” does not mention “%s”", error->message, message_part);
  g_test_message ("Refused: %s", error->message);

  after = read_file (path);
  g_assert_true (g_bytes_equal (before, after));
  g_assert_cmpint (g_stat (path, &st_after), ==, 0);
  g_assert_cmpint (st_before.st_mtime, ==, st_after.st_mtime);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *side = g_strconcat (path, suffixes[i], NULL);
      g_assert_false (g_file_test (side, G_FILE_TEST_EXISTS));
    }
}

static void
write_bytes (const char   *path,
             const guint8 *data,
             gsize         length)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, (const char *) data, length, &error);
  g_assert_no_error (error);
}

static void
test_random_bytes (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  guint8 junk[8192];

  for (gsize i = 0; i < sizeof junk; i++)
    junk[i] = g_rand_int_range (rand, 0, 256);
  write_bytes (f->path, junk, sizeof junk);
  assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_NOT_DATABASE, "not a Tablero");

  /* Text, and an empty file. */
  write_bytes (f->path, (const guint8 *) "{\"hello\": 1}\n", 13);
  assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_NOT_DATABASE, "not a Tablero");
  write_bytes (f->path, (const guint8 *) "", 0);
  assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_NOT_DATABASE, "not a Tablero");
}

static void
make_real_store (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = tablero_stack_store_new (path, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *name = g_strdup_printf ("Stack %u", i);
      g_autoptr(TableroStack) stack = make_stack (name, 10);
      g_assert_true (tablero_stack_store_save (store, stack, &error));
    }
}

static void
test_truncated (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GBytes) whole = NULL;
  gsize size;

  make_real_store (f->path);
  whole = read_file (f->path);
  size = g_bytes_get_size (whole);
  g_assert_cmpuint (size, >=, 4 * 4096);

  /* Cut at a page boundary, in the middle of a page, and inside the header. */
  write_bytes (f->path, g_bytes_get_data (whole, NULL), size / 2 - (size / 2) % 4096);
  assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_CORRUPT, "truncated");
  write_bytes (f->path, g_bytes_get_data (whole, NULL), size - 1000);
  assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_CORRUPT, "damaged");
  write_bytes (f->path, g_bytes_get_data (whole, NULL), 60);
  assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_NOT_DATABASE, "not a Tablero");
}

static void
test_foreign (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *dir = g_path_get_dirname (f->path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);

  /* Another program's database, even one with a "stacks" table. */
  raw_exec (f->path, "CREATE TABLE stacks (id INTEGER PRIMARY KEY, colour TEXT);"
                     "INSERT INTO stacks (colour) VALUES ('red');");
  assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_FOREIGN, "another application");
  g_assert_cmpint (g_unlink (f->path), ==, 0);

  /* An empty SQLite file of nobody. */
  raw_exec (f->path, "PRAGMA user_version = 0; VACUUM;");
  if (g_file_test (f->path, G_FILE_TEST_EXISTS))
    {
      GStatBuf st;
      g_assert_cmpint (g_stat (f->path, &st), ==, 0);
      if (st.st_size > 0)
        assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_FOREIGN,
                                  "another application");
      g_unlink (f->path);
    }

  /* Another application id with a matching user_version. */
  raw_exec (f->path, "PRAGMA application_id = 1234; PRAGMA user_version = 2;"
                     "CREATE TABLE t (x);");
  assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_FOREIGN, "another application");
  g_unlink (f->path);

  /* Our application id, but not our tables. */
  {
    g_autofree char *sql = g_strdup_printf ("PRAGMA application_id = %d;"
                                            "PRAGMA user_version = 1;"
                                            "CREATE TABLE stacks (id INTEGER PRIMARY KEY);",
                                            TABLERO_STACK_STORE_APPLICATION_ID);
    raw_exec (f->path, sql);
    assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_CORRUPT, "“stacks”");
    g_unlink (f->path);
  }

  /* Ours, from a newer Tablero. */
  {
    g_autofree char *sql = g_strdup_printf ("PRAGMA application_id = %d;"
                                            "PRAGMA user_version = 99;"
                                            "CREATE TABLE future (x);",
                                            TABLERO_STACK_STORE_APPLICATION_ID);
    raw_exec (f->path, sql);
    assert_refused_untouched (f->path, TABLERO_STACK_STORE_ERROR_TOO_NEW, "newer version");
  }
}

/* A page in the middle overwritten: the header is fine, so opening may
 * succeed, but reading must report damage instead of crashing. */
static void
test_damaged_page (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GBytes) whole = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = NULL;
  g_autofree guint8 *copy = NULL;
  gsize size;
  guint failures = 0;

  make_real_store (f->path);
  whole = read_file (f->path);
  size = g_bytes_get_size (whole);
  copy = g_memdup2 (g_bytes_get_data (whole, NULL), size);
  for (gsize i = 4096; i < size; i++)
    copy[i] = (guint8) (i * 7919);
  write_bytes (f->path, copy, size);

  store = tablero_stack_store_new (f->path, &error);
  if (store == NULL)
    {
      g_autoptr(GBytes) after = read_file (f->path);
      g_autoptr(GBytes) expected = g_bytes_new_static (copy, size);

      g_test_message ("Refused: %s", error->message);
      g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_CORRUPT);
      g_assert_true (g_bytes_equal (after, expected));
      return;
    }
  g_assert_no_error (error);

  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *name = g_strdup_printf ("Stack %u", i);
      g_autoptr(TableroStack) stack = tablero_stack_store_load (store, name, &error);

      if (stack == NULL)
        {
          g_assert_true (error->domain == TABLERO_STACK_STORE_ERROR);
          failures++;
          g_clear_error (&error);
        }
    }
  g_assert_cmpuint (failures, >, 0);
}

/* Export and import */

static void
test_export_import (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = tablero_stack_store_new (f->path, &error);
  g_autoptr(TableroStack) stack = make_stack ("Shared", 5);
  g_autofree char *export_path = g_build_filename (f->dir, "shared.tablero.json", NULL);
  g_autoptr(GFile) export_file = g_file_new_for_path (export_path);
  g_autoptr(GFile) missing = g_file_new_for_path ("/nonexistent/stack.json");
  g_autofree char *bad_path = g_build_filename (f->dir, "bad.json", NULL);
  g_autoptr(GFile) bad_file = g_file_new_for_path (bad_path);
  g_autofree char *name = NULL;
  g_autofree char *name2 = NULL;
  g_autofree char *contents = NULL;

  g_assert_no_error (error);
  g_assert_true (tablero_stack_store_save (store, stack, &error));
  g_assert_true (tablero_stack_store_rename (store, "Shared", "Shared stack", &error));

  g_assert_true (tablero_stack_store_export_file (store, "Shared stack", export_file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (export_path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "\"format\" : \"tablero-stack\""));
  /* The export carries the stored name. */
  g_assert_nonnull (strstr (contents, "\"Shared stack\""));

  g_assert_false (tablero_stack_store_export_file (store, "Nope", export_file, &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Importing under a taken name picks a free one. */
  name = tablero_stack_store_import_file (store, export_file, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "Shared stack (2)");
  name2 = tablero_stack_store_import_file (store, export_file, &error);
  g_assert_cmpstr (name2, ==, "Shared stack (3)");
  {
    g_autoptr(TableroStack) imported = tablero_stack_store_load (store, name, &error);
    g_autoptr(TableroStack) original = tablero_stack_store_load (store, "Shared stack", &error);
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;

    g_assert_no_error (error);
    tablero_stack_set_name (imported, "x");
    tablero_stack_set_name (original, "x");
    a = tablero_stack_to_json (imported);
    b = tablero_stack_to_json (original);
    g_assert_cmpstr (a, ==, b);
  }

  /* Bad files are refused and add nothing. */
  g_assert_null (tablero_stack_store_import_file (store, missing, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (bad_path,
                                      "{\"format\":\"tablero-stack\",\"version\":1,\"name\":\"B\","
                                      "\"nodes\":[],\"edges\":[{\"id\":\"e\",\"source\":\"x\","
                                      "\"target\":\"y\"}]}", -1, NULL));
  g_assert_null (tablero_stack_store_import_file (store, bad_file, &error));
  g_assert_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "edges[0].source"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (bad_path, "{\"format\":\0\"x\"}", 16, NULL));
  g_assert_null (tablero_stack_store_import_file (store, bad_file, &error));
  g_assert_error (error, TABLERO_STACK_ERROR, TABLERO_STACK_ERROR_PARSE);
  g_clear_error (&error);

  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_store_get_stacks (store)), ==, 3);
}

/* Metrics history */

static void
test_metrics (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = tablero_stack_store_new (f->path, &error);
  g_autoptr(TableroStack) stack = make_stack ("Live", 2);
  g_autoptr(GArray) samples = g_array_new (FALSE, FALSE, sizeof (TableroMetricsSample));
  g_autoptr(GPtrArray) node_ids = g_ptr_array_new ();
  g_autoptr(GArray) result = NULL;
  const gint64 t0 = G_GINT64_CONSTANT (1700000000000);
  gint64 start;

  g_assert_no_error (error);
  g_assert_true (tablero_stack_store_save (store, stack, &error));

  /* 2 × 3000 samples, one a second, in one transaction. */
  for (guint i = 0; i < 3000; i++)
    for (guint n = 0; n < 2; n++)
      {
        TableroMetricsSample s = { t0 + i * 1000, i / 3000.0, 0.5, 0.25, 0.125, n ? 1.0 : 0.0 };
        g_array_append_val (samples, s);
        g_ptr_array_add (node_ids, n ? "n2" : "n1");
      }
  start = g_get_monotonic_time ();
  g_assert_true (tablero_stack_store_append_metrics (store, "Live",
                                                     (const char * const *) node_ids->pdata,
                                                     (TableroMetricsSample *) samples->data,
                                                     samples->len, &error));
  g_assert_no_error (error);
  g_test_message ("Appended %u samples in %" G_GINT64_FORMAT " ms", samples->len,
                  (g_get_monotonic_time () - start) / 1000);

  /* Query by node and time range. */
  result = tablero_stack_store_query_metrics (store, "Live", "n1", t0 + 10000, t0 + 19999, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->len, ==, 10);
  g_assert_cmpint (g_array_index (result, TableroMetricsSample, 0).time_ms, ==, t0 + 10000);
  g_assert_cmpfloat (g_array_index (result, TableroMetricsSample, 0).saturation, ==, 0.0);
  g_assert_cmpfloat (g_array_index (result, TableroMetricsSample, 9).cpu, ==, 19 / 3000.0);
  g_clear_pointer (&result, g_array_unref);

  result = tablero_stack_store_query_metrics (store, "Live", "n2", 0, G_MAXINT64, &error);
  g_assert_cmpuint (result->len, ==, 3000);
  g_assert_cmpfloat (g_array_index (result, TableroMetricsSample, 0).saturation, ==, 1.0);
  g_clear_pointer (&result, g_array_unref);

  result = tablero_stack_store_query_metrics (store, "Live", "ghost", 0, G_MAXINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->len, ==, 0);
  g_clear_pointer (&result, g_array_unref);

  /* Unsaved stacks have no history. */
  g_assert_false (tablero_stack_store_append_metric (store, "Unsaved", "n1", t0, 0, 0, 0, 0, 0,
                                                     &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (tablero_stack_store_query_metrics (store, "Unsaved", "n1", 0, 1, &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* History survives reopening and follows a rename. */
  g_clear_object (&store);
  store = tablero_stack_store_new (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (tablero_stack_store_rename (store, "Live", "Live 2", &error));
  result = tablero_stack_store_query_metrics (store, "Live 2", "n1", 0, G_MAXINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->len, ==, 3000);
  g_clear_pointer (&result, g_array_unref);

  /* Retention by age: keep 10 minutes behind the newest sample of a node. */
  tablero_stack_store_set_metrics_retention (store, 10 * 60 * 1000, 0);
  g_assert_true (tablero_stack_store_append_metric (store, "Live 2", "n1", t0 + 3000 * 1000,
                                                    0.5, 0.5, 0.5, 0.5, 0.5, &error));
  result = tablero_stack_store_query_metrics (store, "Live 2", "n1", 0, G_MAXINT64, &error);
  g_assert_cmpuint (result->len, ==, 601);
  g_assert_cmpint (g_array_index (result, TableroMetricsSample, 0).time_ms, ==,
                   t0 + 2400 * 1000);
  g_clear_pointer (&result, g_array_unref);
  /* The other node was not touched by that append. */
  result = tablero_stack_store_query_metrics (store, "Live 2", "n2", 0, G_MAXINT64, &error);
  g_assert_cmpuint (result->len, ==, 3000);
  g_clear_pointer (&result, g_array_unref);

  /* Retention by count. */
  tablero_stack_store_set_metrics_retention (store, 0, 100);
  g_assert_true (tablero_stack_store_append_metric (store, "Live 2", "n2", t0 + 3000 * 1000,
                                                    0.5, 0.5, 0.5, 0.5, 0.5, &error));
  result = tablero_stack_store_query_metrics (store, "Live 2", "n2", 0, G_MAXINT64, &error);
  g_assert_cmpuint (result->len, ==, 100);
  g_assert_cmpint (g_array_index (result, TableroMetricsSample, 99).time_ms, ==, t0 + 3000 * 1000);
  g_clear_pointer (&result, g_array_unref);

  /* Deleting the stack deletes its history; a new stack of that name starts
   * empty. */
  g_assert_true (tablero_stack_store_delete (store, "Live 2", &error));
  tablero_stack_set_name (stack, "Live 2");
  g_assert_true (tablero_stack_store_save (store, stack, &error));
  result = tablero_stack_store_query_metrics (store, "Live 2", "n2", 0, G_MAXINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->len, ==, 0);
}

/* Async */

typedef struct {
  GMainLoop *loop;
  guint pending;
  GPtrArray *order;   /* of const char *, which callback ran when */
  TableroStack *loaded;
  char *imported;
  GArray *samples;
} AsyncState;

static void
async_done (AsyncState *state,
            const char *what)
{
  g_ptr_array_add (state->order, (gpointer) what);
  if (--state->pending == 0)
    g_main_loop_quit (state->loop);
}

static void
on_saved (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tablero_stack_store_save_finish (TABLERO_STACK_STORE (source), result, &error));
  g_assert_no_error (error);
  async_done (user_data, "save");
}

static void
on_appended (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tablero_stack_store_append_metrics_finish (TABLERO_STACK_STORE (source),
                                                            result, &error));
  g_assert_no_error (error);
  async_done (user_data, "append");
}

static void
on_queried (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  AsyncState *state = user_data;
  g_autoptr(GError) error = NULL;

  state->samples = tablero_stack_store_query_metrics_finish (TABLERO_STACK_STORE (source),
                                                             result, &error);
  g_assert_no_error (error);
  async_done (state, "query");
}

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  AsyncState *state = user_data;
  g_autoptr(GError) error = NULL;

  state->loaded = tablero_stack_store_load_finish (TABLERO_STACK_STORE (source), result, &error);
  g_assert_no_error (error);
  async_done (state, "load");
}

static void
on_load_failed (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (tablero_stack_store_load_finish (TABLERO_STACK_STORE (source), result, &error));
  g_assert_error (error, TABLERO_STACK_STORE_ERROR, TABLERO_STACK_STORE_ERROR_NOT_FOUND);
  async_done (user_data, "load-failed");
}

static void
on_exported (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tablero_stack_store_export_file_finish (TABLERO_STACK_STORE (source),
                                                         result, &error));
  g_assert_no_error (error);
  async_done (user_data, "export");
}

static void
on_imported (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  AsyncState *state = user_data;
  g_autoptr(GError) error = NULL;

  state->imported = tablero_stack_store_import_file_finish (TABLERO_STACK_STORE (source),
                                                            result, &error);
  g_assert_no_error (error);
  async_done (state, "import");
}

static void
on_cancelled (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (tablero_stack_store_load_finish (TABLERO_STACK_STORE (source), result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  async_done (user_data, "cancelled");
}

static void
test_async (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) store = tablero_stack_store_new (f->path, &error);
  g_autoptr(TableroStack) stack = make_stack ("Async", 6);
  g_autoptr(TableroStack) edited = make_stack ("Edited", 2);
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autofree char *export_path = g_build_filename (f->dir, "async.json", NULL);
  g_autoptr(GFile) export_file = g_file_new_for_path (export_path);
  g_autofree char *json = NULL;
  g_autofree char *loaded_json = NULL;
  TableroMetricsSample samples[100];
  const char *node_ids[100];
  AsyncState state = { 0 };

  g_assert_no_error (error);
  state.loop = g_main_loop_new (NULL, FALSE);
  state.order = g_ptr_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      samples[i] = (TableroMetricsSample) { 1000 * i, 0.5, 0.5, 0.5, 0.5, 0.5 };
      node_ids[i] = "n1";
    }

  /* Queued jobs run in order: each depends on the one before. */
  tablero_stack_store_save_async (store, stack, NULL, on_saved, &state);
  tablero_stack_store_append_metrics_async (store, "Async", node_ids, samples,
                                            G_N_ELEMENTS (samples), NULL, on_appended, &state);
  tablero_stack_store_query_metrics_async (store, "Async", "n1", 0, G_MAXINT64, NULL,
                                           on_queried, &state);
  tablero_stack_store_load_async (store, "Async", NULL, on_loaded, &state);
  tablero_stack_store_load_async (store, "Missing", NULL, on_load_failed, &state);
  tablero_stack_store_export_file_async (store, "Async", export_file, NULL, on_exported, &state);
  tablero_stack_store_import_file_async (store, export_file, NULL, on_imported, &state);
  g_cancellable_cancel (cancelled);
  tablero_stack_store_load_async (store, "Async", cancelled, on_cancelled, &state);
  state.pending = 8;

  /* The caller's arrays were copied. */
  memset (samples, 0, sizeof samples);
  g_main_loop_run (state.loop);

  g_assert_cmpuint (state.order->len, ==, 8);
  g_assert_cmpstr (g_ptr_array_index (state.order, 0), ==, "save");
  g_assert_cmpstr (g_ptr_array_index (state.order, 1), ==, "append");
  g_assert_cmpstr (g_ptr_array_index (state.order, 2), ==, "query");
  g_assert_cmpstr (g_ptr_array_index (state.order, 3), ==, "load");
  g_assert_cmpuint (state.samples->len, ==, 100);
  g_assert_cmpfloat (g_array_index (state.samples, TableroMetricsSample, 99).cpu, ==, 0.5);

  g_assert_false (tablero_stack_get_modified (stack));
  json = tablero_stack_to_json (stack);
  loaded_json = tablero_stack_to_json (state.loaded);
  g_assert_cmpstr (json, ==, loaded_json);
  g_assert_cmpstr (state.imported, ==, "Async (2)");
  /* The lists were updated before the callbacks ran. */
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_store_get_stacks (store)), ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (tablero_stack_store_get_recent (store)), ==, 1);

  /* A stack edited while its save is on the way stays modified. */
  state.pending = 1;
  tablero_stack_store_save_async (store, edited, NULL, on_saved, &state);
  {
    g_autoptr(TableroNode) node = g_list_model_get_item (tablero_stack_get_nodes (edited), 0);
    tablero_stack_move_node (edited, node, 5000, 5000);
  }
  g_main_loop_run (state.loop);
  g_assert_true (tablero_stack_get_modified (edited));

  g_clear_object (&state.loaded);
  g_free (state.imported);
  g_array_unref (state.samples);
  g_ptr_array_unref (state.order);
  g_main_loop_unref (state.loop);
}

/* Two stores on one file (two windows, or the app and a test) see each
 * other's writes; WAL lets them read while the other writes. */
static void
test_two_connections (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TableroStackStore) a = tablero_stack_store_new (f->path, &error);
  g_autoptr(TableroStackStore) b = tablero_stack_store_new (f->path, &error);
  g_autoptr(TableroStack) stack = make_stack ("Shared", 2);
  g_autoptr(TableroStack) loaded = NULL;

  g_assert_no_error (error);
  g_assert_true (tablero_stack_store_save (a, stack, &error));
  loaded = tablero_stack_store_load (b, "Shared", &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/store/create", test_create);
  ADD ("/store/crud", test_crud);
  ADD ("/store/recent", test_recent);
  ADD ("/store/migrate-1-to-2", test_migrate_1_to_2);
  ADD ("/store/refuse/random-bytes", test_random_bytes);
  ADD ("/store/refuse/truncated", test_truncated);
  ADD ("/store/refuse/foreign", test_foreign);
  ADD ("/store/refuse/damaged-page", test_damaged_page);
  ADD ("/store/export-import", test_export_import);
  ADD ("/store/metrics", test_metrics);
  ADD ("/store/async", test_async);
  ADD ("/store/two-connections", test_two_connections);

#undef ADD

  return g_test_run ();
}
