/* SPDX-License-Identifier: MIT */
/* monje-worker.h: the one thread a store backend does its work on.
 *
 * Operations are queued from the main context and run in order, in
 * batches: whatever queued up while the previous batch ran is handed over
 * at once, so that the SQLite backend can commit a whole batch with one
 * sync and still answer each operation only after that commit. Results go
 * back to the main context of each task; the worker never touches a GTask.
 */
#pragma once

#include <gio/gio.h>

#include "monje-store.h"

G_BEGIN_DECLS

typedef struct _MonjeWorker MonjeWorker;

/**
 * MonjeWorkerBatchFunc:
 * @ops: (array length=n_ops): the operations, oldest first
 * @errors: (array length=n_ops): set an error for each operation that failed
 *
 * Runs on the worker thread.
 */
typedef void (*MonjeWorkerBatchFunc) (gpointer       user_data,
                                      MonjeStoreOp **ops,
                                      GError       **errors,
                                      guint          n_ops);

MonjeWorker *monje_worker_new   (const char            *name,
                                 guint                  max_batch,
                                 MonjeWorkerBatchFunc   func,
                                 gpointer               user_data);
/* Queues @task (its task data is a #MonjeStoreOp); call from its context. */
void         monje_worker_push  (MonjeWorker           *self,
                                 GTask                 *task);
/* Runs what is queued, then stops and joins the thread. */
void         monje_worker_free  (MonjeWorker           *self);

G_END_DECLS
