/* SPDX-License-Identifier: MIT */
/* monje-worker.c: a queue, a thread, and completions sent home. */
#include "config.h"

#include "monje-worker.h"

typedef struct {
  GTask *task;              /* touched on its own context only */
  GMainContext *context;
  MonjeStoreOp *op;         /* the task's data: read and filled by the worker */
  GError *error;
} Job;

struct _MonjeWorker {
  GThread *thread;
  GAsyncQueue *queue;       /* Job, or the quit sentinel */
  guint max_batch;
  MonjeWorkerBatchFunc func;
  gpointer user_data;
};

static Job quit_sentinel;

static gboolean
complete_cb (gpointer data)
{
  GPtrArray *jobs = data;

  for (guint i = 0; i < jobs->len; i++)
    {
      Job *job = g_ptr_array_index (jobs, i);

      if (job->error)
        g_task_return_error (job->task, g_steal_pointer (&job->error));
      else
        g_task_return_boolean (job->task, TRUE);
      g_object_unref (job->task);
      g_main_context_unref (job->context);
      g_free (job);
    }
  g_ptr_array_unref (jobs);
  return G_SOURCE_REMOVE;
}

/* Completions go home one context at a time, in the order they ran. */
static void
send_home (GPtrArray *batch)
{
  GPtrArray *jobs = NULL;
  GMainContext *context = NULL;

  for (guint i = 0; i < batch->len; i++)
    {
      Job *job = g_ptr_array_index (batch, i);

      if (jobs && job->context != context)
        {
          g_main_context_invoke (context, complete_cb, jobs);
          jobs = NULL;
        }
      if (jobs == NULL)
        {
          jobs = g_ptr_array_new ();
          context = job->context;
        }
      g_ptr_array_add (jobs, job);
    }
  if (jobs)
    g_main_context_invoke (context, complete_cb, jobs);
}

static gpointer
worker_thread (gpointer data)
{
  MonjeWorker *self = data;
  gboolean quit = FALSE;

  while (!quit)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new ();
      g_autofree MonjeStoreOp **ops = NULL;
      g_autofree GError **errors = NULL;
      Job *job = g_async_queue_pop (self->queue);

      if (job == &quit_sentinel)
        break;
      g_ptr_array_add (batch, job);
      while (batch->len < self->max_batch && (job = g_async_queue_try_pop (self->queue)))
        {
          if (job == &quit_sentinel)
            {
              quit = TRUE;
              break;
            }
          g_ptr_array_add (batch, job);
        }

      ops = g_new0 (MonjeStoreOp *, batch->len);
      errors = g_new0 (GError *, batch->len);
      for (guint i = 0; i < batch->len; i++)
        ops[i] = ((Job *) g_ptr_array_index (batch, i))->op;
      self->func (self->user_data, ops, errors, batch->len);
      for (guint i = 0; i < batch->len; i++)
        ((Job *) g_ptr_array_index (batch, i))->error = errors[i];
      send_home (batch);
    }
  return NULL;
}

MonjeWorker *
monje_worker_new (const char           *name,
                  guint                 max_batch,
                  MonjeWorkerBatchFunc  func,
                  gpointer              user_data)
{
  MonjeWorker *self = g_new0 (MonjeWorker, 1);

  self->queue = g_async_queue_new ();
  self->max_batch = MAX (max_batch, 1);
  self->func = func;
  self->user_data = user_data;
  self->thread = g_thread_new (name, worker_thread, self);
  return self;
}

void
monje_worker_push (MonjeWorker *self,
                   GTask       *task)
{
  Job *job = g_new0 (Job, 1);

  job->task = g_object_ref (task);
  job->context = g_main_context_ref (g_task_get_context (task));
  job->op = g_task_get_task_data (task);
  g_async_queue_push (self->queue, job);
}

void
monje_worker_free (MonjeWorker *self)
{
  if (self == NULL)
    return;
  g_async_queue_push (self->queue, &quit_sentinel);
  g_thread_join (self->thread);
  g_async_queue_unref (self->queue);
  g_free (self);
}
