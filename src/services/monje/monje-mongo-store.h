/* SPDX-License-Identifier: MIT */
/* monje-mongo-store.h: documents in MongoDB, through libmongoc.
 *
 * One client, used only by the store's worker thread (libmongoc clients are
 * not thread-safe and block), so the engine never waits on the server.
 * Collections map to MongoDB collections of the URI's database ("monje"
 * when it names none). Filters, sorts and projections are sent as they are:
 * Monje checked them, MongoDB evaluates them. Replace and update go through
 * findAndModify, so that the answer and the change event carry the
 * document exactly as that write left it.
 *
 * Writes use the write concern {w: "majority", j: true} unless the URI
 * sets w or journal: a write is answered once a majority of the replica set
 * has it in its journal. A document id that is 24 hexadecimal digits also
 * finds a document whose `_id` is the ObjectId with those digits.
 */
#pragma once

#include "monje-store.h"

G_BEGIN_DECLS

#define MONJE_TYPE_MONGO_STORE (monje_mongo_store_get_type ())

G_DECLARE_FINAL_TYPE (MonjeMongoStore, monje_mongo_store, MONJE, MONGO_STORE, GObject)

/**
 * monje_mongo_store_new:
 * @uri: a MongoDB connection string
 *
 * Connects and runs a ping before returning, so that a wrong URI or an
 * unreachable server is reported at once (server selection waits up to
 * serverSelectionTimeoutMS, 5 s unless the URI says otherwise).
 * Returns: (transfer full): the store, or %NULL with @error set
 */
MonjeMongoStore *monje_mongo_store_new          (const char       *uri,
                                                 GError          **error);
const char      *monje_mongo_store_get_database (MonjeMongoStore  *self);

G_END_DECLS
