/* SPDX-License-Identifier: MIT */
/* monje-service.h: documents over JSTP.
 *
 * Serves a #MonjeStore on an engine:
 *
 *   GET    ["db"]                  {"collections": [{"name", "count"}...]}
 *   POST   ["db", COLL]            body: the document  -> {"id": ID}
 *   GET    ["db", COLL]            body: a query (monje-query.h)
 *                                  -> {"documents": [...], "more": false}
 *                                  or, with "count": true, {"count": N}
 *   GET    ["db", COLL, ID]        -> the document
 *   PUT    ["db", COLL, ID]        body: the new document -> the document
 *   PATCH  ["db", COLL, ID]        body: operators or a merge patch
 *                                  (monje-update.h) -> the document
 *   DELETE ["db", COLL, ID]        -> {"id": ID}
 *
 * Answers are 200, 400 for a bad request (the body's "message" says what
 * and where), 404 for an unknown document, 500 when the store fails. "more"
 * is true when Monje cut the list short (more than max-results documents,
 * or an answer that would not fit in one frame): ask again with "skip".
 * Collection names are 1 to 64 letters, digits, `_`, `-` and `.`, not
 * starting with `.` or `-` nor with "system.".
 *
 * Change events: after each committed change the service emits, on its own
 * engine, without a transaction:
 *
 *   POST   ["db", COLL]      body: the inserted document, `_id` included
 *   PUT    ["db", COLL, ID]  body: the document as replaced
 *   PATCH  ["db", COLL, ID]  body: the document as updated
 *   DELETE ["db", COLL, ID]  no body
 *
 * each with the extension header `"x-monje-event": true`. They reach every
 * subscriber of a matching endpoint, local or remote (BIND
 * `* ["db", "..."]`, or `POST ["db", "notes"]`). The header is what tells
 * an event from a request on the same resource: the service's own handlers
 * are bound to these endpoints and leave every dispatch that carries it
 * alone, and a subscriber, which also sees the requests of other clients
 * on those endpoints, keeps the dispatches that carry it. A dispatch with
 * the header that arrives from the network is refused before anything is
 * triggered (403 when it carries a transaction, dropped otherwise): it is
 * either a forgery or one of our own events sent back to us, which must
 * not be fanned out again.
 *
 * Posts: with a posts collection (the default, "posts"), the service also
 * stores what Pajaro emits, `POST ["pajaro", "posts", TAG]` with a post as
 * body, as they arrive through a bridge to a Pajaro engine: inserted like
 * `POST ["db", "posts"]` (same event), with `_id` "SOURCE:ID" made from the
 * post's "source" and original "id" (its SHA-256 when that is no valid id),
 * so a second copy of a post is not stored again. The answer, when asked
 * for, is 200 `{"id": ID, "stored": true}`, or `"stored": false` for a copy.
 *
 * Requests are dispatches like any other: they reach the subscribers of a
 * matching endpoint too, with a triggering id of their own. A subscriber
 * should leave them unanswered; the engine then answers 504 for it after
 * its answer timeout, so a client that collects every answer of a request
 * gets Monje's first and that 504 later.
 */
#pragma once

#include "jstp-engine.h"
#include "monje-store.h"

G_BEGIN_DECLS

#define MONJE_EVENT_HEADER "x-monje-event"
#define MONJE_DEFAULT_POSTS_COLLECTION "posts"

#define MONJE_TYPE_SERVICE (monje_service_get_type ())

G_DECLARE_FINAL_TYPE (MonjeService, monje_service, MONJE, SERVICE, GObject)

/**
 * monje_service_new:
 *
 * Binds the endpoints above on @engine; they are released when the service
 * goes away.
 * Returns: (transfer full): the service
 */
MonjeService *monje_service_new              (JstpEngine    *engine,
                                              MonjeStore    *store);
JstpEngine   *monje_service_get_engine       (MonjeService  *self);
MonjeStore   *monje_service_get_store        (MonjeService  *self);

/* Documents one list answer holds at most; default 1 000. */
guint         monje_service_get_max_results  (MonjeService  *self);
void          monje_service_set_max_results  (MonjeService  *self,
                                              guint          max_results);

/* Changes committed since the start (each one emitted an event). */
guint64       monje_service_get_n_changes    (MonjeService  *self);

/* Where Pajaro's posts go; %NULL when they are not stored. Setting "" or
 * %NULL stops storing them; a bad collection name is a 400 error. */
const char   *monje_service_get_posts_collection (MonjeService *self);
gboolean      monje_service_set_posts_collection (MonjeService *self,
                                                  const char   *collection,
                                                  GError      **error);

G_END_DECLS
