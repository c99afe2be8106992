/* SPDX-License-Identifier: MIT */
/* monje-sqlite-store.h: documents as JSON text in one SQLite file.
 *
 * Each collection is a table of (id, doc); queries become SQL over the
 * json1 functions (json_extract, json_type, json_each). A field path that
 * queries use repeatedly gets expression indexes on json_extract and
 * json_type of that path, so that later queries on it are index searches.
 *
 * The database runs in WAL mode with synchronous=FULL, on a connection that
 * only the store's worker thread uses. Operations that queue up while a
 * batch runs form the next batch: one transaction, each write in a
 * savepoint of its own (a refused write does not undo the others), one
 * commit, one sync; every write of the batch completes after that commit,
 * so a write is answered only once it is on disk.
 */
#pragma once

#include "monje-store.h"

G_BEGIN_DECLS

#define MONJE_TYPE_SQLITE_STORE (monje_sqlite_store_get_type ())

G_DECLARE_FINAL_TYPE (MonjeSqliteStore, monje_sqlite_store, MONJE, SQLITE_STORE, GObject)

/* Uses of a field path in filters and sorts before it gets indexes. */
#define MONJE_SQLITE_INDEX_AFTER 3
/* Field paths indexed per collection, at most. */
#define MONJE_SQLITE_MAX_INDEXES 16

/**
 * monje_sqlite_store_new:
 * @path: the database file; created when missing
 *
 * Opens (or creates) the database and checks its schema before returning.
 * Returns: (transfer full): the store, or %NULL with @error set
 */
MonjeSqliteStore *monje_sqlite_store_new      (const char        *path,
                                               GError           **error);
const char       *monje_sqlite_store_get_path (MonjeSqliteStore  *self);

G_END_DECLS
