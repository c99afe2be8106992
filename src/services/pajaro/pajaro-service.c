/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "jstp-json.h"
#include "jstp-json-writer.h"
#include "pajaro-service.h"

/* A PUT or DELETE is answered by then even if a network has not: the
 * engine would answer 504 at 10 s, and the source keeps trying anyway
 * (its state says "pending"). */
#define ANSWER_DEADLINE_MS 6000

/* Past this, the oldest remembered ids go even inside the window. */
#define MAX_SEEN 200000
#define RATE_SLOTS 60
#define RATE_WINDOW 10

/* Posts per second, one slot per second of the last minute. */
typedef struct {
  gint64 second[RATE_SLOTS];
  guint32 count[RATE_SLOTS];
} Rate;

typedef struct {
  PajaroTrack *track;
  gint64 since;               /* wall ms */
  guint64 delivered;
  guint64 dropped;
  guint64 deleted;
  Rate rate;
} Tag;

typedef struct {
  char *key;                  /* source \x1f id \x1f tag */
  gint64 expires;             /* monotonic µs */
} Seen;

struct _PajaroService {
  GObject parent_instance;

  JstpEngine *engine;
  GPtrArray *sources;
  GArray *bindings;           /* guint64 */
  guint hook_id;
  gboolean started;

  GHashTable *tags;           /* tag → Tag */
  guint max_tags;

  GHashTable *seen;           /* key → Seen, owned by the queue */
  GQueue seen_order;
  guint dedupe_window;

  guint stats_interval;
  guint stats_id;

  guint64 delivered;
  guint64 deleted;
  guint64 dropped_malformed;
  guint64 dropped_oversize;
  guint64 dropped_duplicate;
  Rate rate;
};

G_DEFINE_FINAL_TYPE (PajaroService, pajaro_service, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_DEDUPE_WINDOW,
  PROP_STATS_INTERVAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gint64
wall_ms (void)
{
  return g_get_real_time () / 1000;
}

/* ---- counting ---------------------------------------------------------- */

static gint64
now_second (void)
{
  return g_get_monotonic_time () / G_USEC_PER_SEC;
}

static void
rate_add (Rate *rate)
{
  gint64 second = now_second ();
  guint slot = (guint) (second % RATE_SLOTS);

  if (rate->second[slot] != second)
    {
      rate->second[slot] = second;
      rate->count[slot] = 0;
    }
  rate->count[slot]++;
}

/* Posts in the last @seconds whole seconds, the current one included. */
static guint64
rate_count (const Rate *rate,
            guint       seconds)
{
  gint64 now = now_second ();
  guint64 total = 0;

  for (guint i = 0; i < RATE_SLOTS; i++)
    if (rate->count[i] > 0 && now - rate->second[i] >= 0 && now - rate->second[i] < seconds)
      total += rate->count[i];
  return total;
}

static void
tag_free (gpointer data)
{
  Tag *tag = data;

  pajaro_track_unref (tag->track);
  g_free (tag);
}

static void
seen_free (gpointer data)
{
  Seen *seen = data;

  g_free (seen->key);
  g_free (seen);
}

static char *
seen_key (const char *source,
          const char *id,
          const char *tag)
{
  return g_strjoin ("\x1f", source, id, tag, NULL);
}

/* Forgets what left the window, and the oldest past MAX_SEEN. A key
 * delivered again after expiring is queued twice: the table points at
 * the newest entry, which the older one must not take with it. */
static void
seen_prune (PajaroService *self)
{
  gint64 now = g_get_monotonic_time ();
  Seen *seen;

  while ((seen = g_queue_peek_head (&self->seen_order)) &&
         (seen->expires <= now || g_queue_get_length (&self->seen_order) > MAX_SEEN))
    {
      g_queue_pop_head (&self->seen_order);
      if (g_hash_table_lookup (self->seen, seen->key) == seen)
        g_hash_table_remove (self->seen, seen->key);
      seen_free (seen);
    }
}

static gboolean
seen_contains (PajaroService *self,
               const char    *key)
{
  Seen *seen = g_hash_table_lookup (self->seen, key);

  return seen && seen->expires > g_get_monotonic_time ();
}

static void
seen_add (PajaroService *self,
          char          *key)
{
  Seen *seen = g_new0 (Seen, 1);

  seen->key = key;
  seen->expires = g_get_monotonic_time () + (gint64) self->dedupe_window * G_USEC_PER_SEC;
  g_queue_push_tail (&self->seen_order, seen);
  g_hash_table_replace (self->seen, seen->key, seen);
  seen_prune (self);
}

/* ---- from the sources -------------------------------------------------- */

static void
post_cb (PajaroSource  *source,
         PajaroPost    *post,
         PajaroService *self)
{
  /* A copy: a subscriber could change what is tracked as it receives. */
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) tags = NULL;

  for (guint i = 0; i < post->tags->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (post->tags, i));
  tags = g_strv_builder_end (builder);
  for (guint i = 0; tags[i]; i++)
    {
      const char *name = tags[i];
      Tag *tag = g_hash_table_lookup (self->tags, name);
      g_autofree char *key = NULL;
      g_autofree char *body = NULL;
      g_autoptr(JstpDispatch) dispatch = NULL;
      g_autoptr(GError) error = NULL;

      if (tag == NULL)
        continue;   /* untracked while the network still sends it */

      key = seen_key (post->source, post->id, name);
      if (seen_contains (self, key))
        {
          tag->dropped++;
          self->dropped_duplicate++;
          continue;
        }

      body = pajaro_post_to_json (post, name);
      dispatch = jstp_dispatch_new (JSTP_METHOD_POST,
                                    (const char * const[]) { "pajaro", "posts", name, NULL });
      if (!jstp_dispatch_set_body_json (dispatch, body, &error))
        {
          /* Our JSON is valid: only the engine's size limits can refuse it. */
          g_debug ("post %s refused by the engine: %s", post->id, error->message);
          tag->dropped++;
          self->dropped_oversize++;
          continue;
        }
      seen_add (self, g_steal_pointer (&key));

      /* Counted first: a subscriber may untrack the tag as it receives. */
      tag->delivered++;
      rate_add (&tag->rate);
      self->delivered++;
      rate_add (&self->rate);
      jstp_engine_emit (self->engine, dispatch, NULL, NULL, NULL);
    }
}

static void
deleted_cb (PajaroSource  *source,
            const char    *id,
            const char    *name,
            PajaroService *self)
{
  Tag *tag = g_hash_table_lookup (self->tags, name);
  g_autofree char *key = NULL;
  g_autoptr(GString) body = NULL;
  g_autoptr(JstpDispatch) dispatch = NULL;

  key = seen_key (pajaro_source_get_name (source), id, name);
  if (tag == NULL || !seen_contains (self, key))
    return;   /* never delivered, or too long ago to be told */

  body = g_string_new ("{\"id\":");
  jstp_json_append_string (body, id, -1);
  g_string_append (body, ",\"source\":");
  jstp_json_append_string (body, pajaro_source_get_name (source), -1);
  g_string_append (body, ",\"tag\":");
  jstp_json_append_string (body, name, -1);
  g_string_append_c (body, '}');

  dispatch = jstp_dispatch_new (JSTP_METHOD_DELETE,
                                (const char * const[]) { "pajaro", "posts", name, NULL });
  if (!jstp_dispatch_set_body_json (dispatch, body->str, NULL))
    return;
  tag->deleted++;
  self->deleted++;
  jstp_engine_emit (self->engine, dispatch, NULL, NULL, NULL);
}

static void
dropped_cb (PajaroSource  *source,
            const char    *name,
            const char    *reason,
            PajaroService *self)
{
  Tag *tag = name ? g_hash_table_lookup (self->tags, name) : NULL;

  if (g_str_equal (reason, "oversize"))
    self->dropped_oversize++;
  else
    self->dropped_malformed++;
  if (tag)
    tag->dropped++;
}

/* ---- JSON -------------------------------------------------------------- */

static guint64
tag_reconnects (PajaroService *self,
                const char    *name)
{
  guint64 total = 0;

  for (guint i = 0; i < self->sources->len; i++)
    total += pajaro_source_get_reconnects (g_ptr_array_index (self->sources, i), name);
  return total;
}

static void
append_entry (PajaroService *self,
              Tag           *tag,
              GString       *out)
{
  const char *name = tag->track->tag;
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  pajaro_track_append_json (tag->track, out);
  g_string_append_printf (out, ",\"since\":%" G_GINT64_FORMAT
                          ",\"delivered\":%" G_GUINT64_FORMAT
                          ",\"dropped\":%" G_GUINT64_FORMAT
                          ",\"deleted\":%" G_GUINT64_FORMAT
                          ",\"reconnects\":%" G_GUINT64_FORMAT ",\"rate\":",
                          tag->since, tag->delivered, tag->dropped, tag->deleted,
                          tag_reconnects (self, name));
  /* Not printf: a locale could write a decimal comma. */
  jstp_json_append_double (out, (double) rate_count (&tag->rate, RATE_WINDOW) / RATE_WINDOW);
  g_string_append_printf (out, ",\"per_minute\":%" G_GUINT64_FORMAT ",\"sources\":{",
                          rate_count (&tag->rate, RATE_SLOTS));
  for (guint i = 0; i < self->sources->len; i++)
    {
      PajaroSource *source = g_ptr_array_index (self->sources, i);
      g_autofree char *state = pajaro_source_dup_tag_state (source, name);

      if (state == NULL)
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      jstp_json_append_string (out, pajaro_source_get_name (source), -1);
      g_string_append_c (out, ':');
      jstp_json_append_string (out, state, -1);
    }
  g_string_append (out, "}}");
}

static GList *
sorted_tags (PajaroService *self)
{
  return g_list_sort (g_hash_table_get_keys (self->tags), (GCompareFunc) g_strcmp0);
}

char *
pajaro_service_dup_tracks_json (PajaroService *self)
{
  g_autoptr(GList) names = NULL;
  GString *out;

  g_return_val_if_fail (PAJARO_IS_SERVICE (self), NULL);

  names = sorted_tags (self);
  out = g_string_new ("{\"tags\":[");
  for (GList *l = names; l; l = l->next)
    {
      if (l != names)
        g_string_append_c (out, ',');
      append_entry (self, g_hash_table_lookup (self->tags, l->data), out);
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

char *
pajaro_service_dup_stats_json (PajaroService *self)
{
  g_autoptr(GList) names = NULL;
  GString *out;

  g_return_val_if_fail (PAJARO_IS_SERVICE (self), NULL);

  names = sorted_tags (self);
  out = g_string_new (NULL);
  g_string_append_printf (out, "{\"delivered\":%" G_GUINT64_FORMAT
                          ",\"dropped\":%" G_GUINT64_FORMAT
                          ",\"deleted\":%" G_GUINT64_FORMAT
                          ",\"dropped_by_reason\":{\"malformed\":%" G_GUINT64_FORMAT
                          ",\"oversize\":%" G_GUINT64_FORMAT
                          ",\"duplicate\":%" G_GUINT64_FORMAT "},\"rate\":",
                          self->delivered,
                          self->dropped_malformed + self->dropped_oversize +
                          self->dropped_duplicate,
                          self->deleted, self->dropped_malformed, self->dropped_oversize,
                          self->dropped_duplicate);
  jstp_json_append_double (out, (double) rate_count (&self->rate, RATE_WINDOW) / RATE_WINDOW);
  g_string_append_printf (out, ",\"per_minute\":%" G_GUINT64_FORMAT ",\"dedupe_window\":%u,"
                          "\"tags\":{", rate_count (&self->rate, RATE_SLOTS), self->dedupe_window);
  for (GList *l = names; l; l = l->next)
    {
      if (l != names)
        g_string_append_c (out, ',');
      jstp_json_append_string (out, l->data, -1);
      g_string_append_c (out, ':');
      append_entry (self, g_hash_table_lookup (self->tags, l->data), out);
    }
  g_string_append (out, "},\"sources\":[");
  for (guint i = 0; i < self->sources->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      pajaro_source_append_status_json (g_ptr_array_index (self->sources, i), out);
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

static char *
error_json (const char *message)
{
  GString *out = g_string_new ("{\"error\":");

  jstp_json_append_string (out, message, -1);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* ---- tracking ---------------------------------------------------------- */

typedef struct {
  char *name;
  gboolean done;
  gboolean ok;
  GError *error;
} SourceResult;

typedef struct {
  PajaroService *self;
  PajaroTrack *track;
  gboolean created;
  guint pending;
  GArray *results;            /* SourceResult, in source order */
  guint deadline_id;
  gboolean answered;
} TrackOp;

static void
track_op_free (gpointer data)
{
  TrackOp *op = data;

  g_clear_handle_id (&op->deadline_id, g_source_remove);
  for (guint i = 0; i < op->results->len; i++)
    {
      SourceResult *result = &g_array_index (op->results, SourceResult, i);

      g_free (result->name);
      g_clear_error (&result->error);
    }
  g_array_unref (op->results);
  pajaro_track_unref (op->track);
  g_object_unref (op->self);
  g_free (op);
}

static void
track_op_answer (GTask *task)
{
  TrackOp *op = g_task_get_task_data (task);
  PajaroService *self = op->self;
  g_autoptr(GString) body = g_string_new ("{");
  g_autoptr(GString) errors = g_string_new (NULL);
  guint ok = 0, unsupported = 0, refused = 0;
  guint status;
  Tag *tag;

  g_assert (!op->answered);
  op->answered = TRUE;
  g_clear_handle_id (&op->deadline_id, g_source_remove);
  for (guint i = 0; i < op->results->len; i++)
    {
      SourceResult *result = &g_array_index (op->results, SourceResult, i);

      /* Still working on it: as good as accepted. */
      if (result->ok || !result->done)
        ok++;
      else if (g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
        unsupported++;
      else if (g_error_matches (result->error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
        refused++;
      if (result->error)
        g_string_append_printf (errors, "%s%s: %s", errors->len ? "; " : "", result->name,
                                result->error->message);
    }

  tag = g_hash_table_lookup (self->tags, op->track->tag);
  if (ok > 0)
    status = JSTP_STATUS_OK;
  else
    {
      if (op->results->len == 0 || unsupported == op->results->len)
        status = JSTP_STATUS_NOT_IMPLEMENTED;
      else if (refused > 0)
        status = JSTP_STATUS_BAD_DISPATCH;
      else
        status = JSTP_STATUS_UNREACHABLE;
      /* Nothing follows it: it is not tracked (unless changed since). */
      if (tag && tag->track == op->track)
        g_hash_table_remove (self->tags, op->track->tag);
      g_string_append (body, "\"error\":");
      jstp_json_append_string (body, op->results->len ? errors->str : "no source is configured",
                               -1);
      g_string_append_c (body, ',');
    }

  pajaro_track_append_json (op->track, body);
  g_string_append_printf (body, ",\"created\":%s,\"sources\":{", op->created ? "true" : "false");
  for (guint i = 0; i < op->results->len; i++)
    {
      SourceResult *result = &g_array_index (op->results, SourceResult, i);
      g_autofree char *state = NULL;

      if (i > 0)
        g_string_append_c (body, ',');
      jstp_json_append_string (body, result->name, -1);
      g_string_append (body, ":{\"state\":");
      if (!result->done)
        g_string_append (body, "\"pending\",\"error\":null}");
      else if (result->ok)
        {
          PajaroSource *source = g_ptr_array_index (self->sources, i);

          state = pajaro_source_dup_tag_state (source, op->track->tag);
          jstp_json_append_string (body, state ? state : "pending", -1);
          g_string_append (body, ",\"error\":null}");
        }
      else
        {
          jstp_json_append_string (body,
                                   g_error_matches (result->error, G_IO_ERROR,
                                                    G_IO_ERROR_NOT_SUPPORTED)
                                   ? "unsupported" : "failed", -1);
          g_string_append (body, ",\"error\":");
          jstp_json_append_string (body, result->error->message, -1);
          g_string_append_c (body, '}');
        }
    }
  g_string_append (body, "}}");

  g_debug ("track %s: %u %s", op->track->tag, status, body->str);
  g_object_set_data (G_OBJECT (task), "status", GUINT_TO_POINTER (status));
  g_task_return_pointer (task, g_string_free (g_steal_pointer (&body), FALSE), g_free);
}

typedef struct {
  GTask *task;
  guint index;
} SourceCall;

static void
source_tracked_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  SourceCall *call = user_data;
  g_autoptr(GTask) task = call->task;
  TrackOp *op = g_task_get_task_data (task);
  SourceResult *slot = &g_array_index (op->results, SourceResult, call->index);

  slot->ok = pajaro_source_track_finish (PAJARO_SOURCE (object), result, &slot->error);
  slot->done = TRUE;
  g_free (call);
  if (--op->pending == 0 && !op->answered)
    track_op_answer (task);
}

static gboolean
track_deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  TrackOp *op = g_task_get_task_data (task);

  op->deadline_id = 0;
  track_op_answer (task);
  return G_SOURCE_REMOVE;
}

void
pajaro_service_track_async (PajaroService       *self,
                            PajaroTrack         *track,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TrackOp *op;
  Tag *tag;

  g_return_if_fail (PAJARO_IS_SERVICE (self));
  g_return_if_fail (track != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pajaro_service_track_async);

  op = g_new0 (TrackOp, 1);
  op->self = g_object_ref (self);
  op->track = pajaro_track_ref (track);
  op->results = g_array_new (FALSE, TRUE, sizeof (SourceResult));
  g_task_set_task_data (task, op, track_op_free);

  tag = g_hash_table_lookup (self->tags, track->tag);
  if (tag == NULL && g_hash_table_size (self->tags) >= self->max_tags)
    {
      g_autofree char *message = g_strdup_printf ("%u tags are tracked already, the most "
                                                  "this engine follows", self->max_tags);

      g_object_set_data (G_OBJECT (task), "status", GUINT_TO_POINTER (JSTP_STATUS_SATURATED));
      g_task_return_pointer (task, error_json (message), g_free);
      return;
    }

  if (tag == NULL)
    {
      tag = g_new0 (Tag, 1);
      tag->since = wall_ms ();
      tag->track = pajaro_track_ref (track);
      g_hash_table_replace (self->tags, g_strdup (track->tag), tag);
      op->created = TRUE;
    }
  else
    {
      /* Same tag, maybe another kind: the counters carry on. */
      pajaro_track_unref (tag->track);
      tag->track = pajaro_track_ref (track);
    }

  g_array_set_size (op->results, self->sources->len);
  op->pending = self->sources->len;
  if (op->pending == 0)
    {
      track_op_answer (task);
      return;
    }
  for (guint i = 0; i < self->sources->len; i++)
    {
      PajaroSource *source = g_ptr_array_index (self->sources, i);
      SourceCall *call = g_new0 (SourceCall, 1);

      g_array_index (op->results, SourceResult, i).name =
        g_strdup (pajaro_source_get_name (source));
      call->task = g_object_ref (task);
      call->index = i;
      pajaro_source_track_async (source, track, NULL, source_tracked_cb, call);
    }
  /* The task outlives the deadline: every source call holds it. */
  if (op->pending > 0)
    op->deadline_id = g_timeout_add (ANSWER_DEADLINE_MS, track_deadline_cb, task);
}

char *
pajaro_service_track_finish (PajaroService *self,
                             GAsyncResult  *result,
                             guint         *status)
{
  g_return_val_if_fail (PAJARO_IS_SERVICE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (status)
    *status = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "status"));
  return g_task_propagate_pointer (G_TASK (result), NULL);
}

/* ---- the resources ----------------------------------------------------- */

static void
answer_json (PajaroService *self,
             JstpDispatch  *dispatch,
             guint          status,
             char          *body)
{
  jstp_engine_answer (self->engine, dispatch, status, body);
  g_free (body);
}

/* The normalized :tag of a dispatch, or NULL after answering 400. */
static char *
capture_tag (PajaroService      *self,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures)
{
  const JstpElement *element = jstp_captures_lookup (captures, "tag");
  g_autoptr(GError) error = NULL;
  char *tag;

  if (element == NULL || element->type != JSTP_JSON_STRING)
    {
      answer_json (self, dispatch, JSTP_STATUS_BAD_DISPATCH, error_json ("the tag is a string"));
      return NULL;
    }
  tag = pajaro_track_normalize_tag (element->text, element->length, &error);
  if (tag == NULL)
    answer_json (self, dispatch, JSTP_STATUS_BAD_DISPATCH, error_json (error->message));
  return tag;
}

static void
put_tracked_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(JstpDispatch) dispatch = user_data;
  PajaroService *self = PAJARO_SERVICE (object);
  guint status;
  char *body = pajaro_service_track_finish (self, result, &status);

  answer_json (self, dispatch, status, body);
}

static void
put_track_cb (JstpEngine         *engine,
              JstpDispatch       *dispatch,
              const JstpCaptures *captures,
              gpointer            user_data)
{
  PajaroService *self = user_data;
  g_autofree char *name = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(PajaroTrack) track = NULL;
  g_autoptr(GError) error = NULL;
  Tag *tag;

  name = capture_tag (self, dispatch, captures);
  if (name == NULL)
    return;
  body = jstp_dispatch_dup_body (dispatch);
  track = pajaro_track_new_from_body (name, body, &error);
  if (track == NULL)
    {
      answer_json (self, dispatch, JSTP_STATUS_BAD_DISPATCH, error_json (error->message));
      return;
    }

  tag = g_hash_table_lookup (self->tags, name);
  if (tag && pajaro_track_equal (tag->track, track))
    {
      GString *out = g_string_new ("{");

      pajaro_track_append_json (tag->track, out);
      g_string_append (out, ",\"created\":false}");
      answer_json (self, dispatch, JSTP_STATUS_OK, g_string_free (out, FALSE));
      return;
    }

  pajaro_service_track_async (self, track, NULL, put_tracked_cb, jstp_dispatch_ref (dispatch));
}

typedef struct {
  PajaroService *self;
  JstpDispatch *dispatch;
  GString *body;
  guint pending;
  gboolean first;
  guint deadline_id;
  gboolean answered;
} UntrackOp;

static void
untrack_op_answer (UntrackOp *op)
{
  g_autoptr(GString) body = g_string_new (op->body->str);

  op->answered = TRUE;
  g_clear_handle_id (&op->deadline_id, g_source_remove);
  /* Sources that did not say yet go on untracking by themselves. */
  if (op->pending > 0)
    g_string_append_printf (body, "%s\"pending\":%u", op->first ? "" : ",", op->pending);
  g_string_append (body, "}}");
  answer_json (op->self, op->dispatch, JSTP_STATUS_OK,
               g_string_free (g_steal_pointer (&body), FALSE));
}

static void
untrack_op_free (UntrackOp *op)
{
  g_clear_handle_id (&op->deadline_id, g_source_remove);
  g_string_free (op->body, TRUE);
  jstp_dispatch_unref (op->dispatch);
  g_object_unref (op->self);
  g_free (op);
}

static gboolean
untrack_deadline_cb (gpointer user_data)
{
  UntrackOp *op = user_data;

  op->deadline_id = 0;
  untrack_op_answer (op);
  return G_SOURCE_REMOVE;
}

static void
source_untracked_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  UntrackOp *op = user_data;
  PajaroSource *source = PAJARO_SOURCE (object);
  g_autoptr(GError) error = NULL;

  if (!op->first)
    g_string_append_c (op->body, ',');
  op->first = FALSE;
  jstp_json_append_string (op->body, pajaro_source_get_name (source), -1);
  g_string_append_c (op->body, ':');
  if (pajaro_source_untrack_finish (source, result, &error))
    g_string_append (op->body, "\"removed\"");
  else
    {
      g_autofree char *text = g_strdup_printf ("failed: %s", error->message);

      jstp_json_append_string (op->body, text, -1);
    }
  if (--op->pending == 0)
    {
      if (!op->answered)
        untrack_op_answer (op);
      untrack_op_free (op);
    }
}

static void
delete_track_cb (JstpEngine         *engine,
                 JstpDispatch       *dispatch,
                 const JstpCaptures *captures,
                 gpointer            user_data)
{
  PajaroService *self = user_data;
  g_autofree char *name = NULL;
  UntrackOp *op;
  Tag *tag;

  name = capture_tag (self, dispatch, captures);
  if (name == NULL)
    return;
  tag = g_hash_table_lookup (self->tags, name);
  if (tag == NULL)
    {
      answer_json (self, dispatch, JSTP_STATUS_NOT_FOUND, error_json ("not tracked"));
      return;
    }

  op = g_new0 (UntrackOp, 1);
  op->self = g_object_ref (self);
  op->dispatch = jstp_dispatch_ref (dispatch);
  op->first = TRUE;
  op->body = g_string_new ("{");
  pajaro_track_append_json (tag->track, op->body);
  g_string_append_printf (op->body, ",\"delivered\":%" G_GUINT64_FORMAT
                          ",\"dropped\":%" G_GUINT64_FORMAT
                          ",\"deleted\":%" G_GUINT64_FORMAT ",\"sources\":{",
                          tag->delivered, tag->dropped, tag->deleted);
  g_hash_table_remove (self->tags, name);

  op->pending = self->sources->len + 1;
  for (guint i = 0; i < self->sources->len; i++)
    pajaro_source_untrack_async (g_ptr_array_index (self->sources, i), name, NULL,
                                 source_untracked_cb, op);
  /* Held until every source was called, whether or not they complete at once. */
  if (--op->pending == 0)
    {
      untrack_op_answer (op);
      untrack_op_free (op);
      return;
    }
  op->deadline_id = g_timeout_add (ANSWER_DEADLINE_MS, untrack_deadline_cb, op);
}

static void
get_tracks_cb (JstpEngine         *engine,
               JstpDispatch       *dispatch,
               const JstpCaptures *captures,
               gpointer            user_data)
{
  PajaroService *self = user_data;

  answer_json (self, dispatch, JSTP_STATUS_OK, pajaro_service_dup_tracks_json (self));
}

static void
get_track_cb (JstpEngine         *engine,
              JstpDispatch       *dispatch,
              const JstpCaptures *captures,
              gpointer            user_data)
{
  PajaroService *self = user_data;
  g_autofree char *name = NULL;
  GString *out;
  Tag *tag;

  name = capture_tag (self, dispatch, captures);
  if (name == NULL)
    return;
  tag = g_hash_table_lookup (self->tags, name);
  if (tag == NULL)
    {
      answer_json (self, dispatch, JSTP_STATUS_NOT_FOUND, error_json ("not tracked"));
      return;
    }
  out = g_string_new (NULL);
  append_entry (self, tag, out);
  answer_json (self, dispatch, JSTP_STATUS_OK, g_string_free (out, FALSE));
}

static void
get_stats_cb (JstpEngine         *engine,
              JstpDispatch       *dispatch,
              const JstpCaptures *captures,
              gpointer            user_data)
{
  PajaroService *self = user_data;

  answer_json (self, dispatch, JSTP_STATUS_OK, pajaro_service_dup_stats_json (self));
}

/* Posts come from the service alone: a peer emitting into
 * ["pajaro","posts",...] would feed forged posts to every subscriber. */
static guint
posts_guard (JstpEngine      *engine,
             JstpConnection  *connection,
             JstpDispatch    *dispatch,
             char           **message,
             gpointer         user_data)
{
  const JstpElement *resource;
  guint n;

  if (connection == NULL || jstp_dispatch_get_morphology (dispatch) != JSTP_MORPHOLOGY_REGULAR)
    return 0;
  resource = jstp_dispatch_get_resource (dispatch, &n);
  if (n >= 2 && resource[0].type == JSTP_JSON_STRING && resource[1].type == JSTP_JSON_STRING &&
      resource[0].length == 6 && memcmp (resource[0].text, "pajaro", 6) == 0 &&
      resource[1].length == 5 && memcmp (resource[1].text, "posts", 5) == 0 &&
      jstp_dispatch_get_method (dispatch) != JSTP_METHOD_GET)
    {
      if (message)
        *message = g_strdup ("only Pajaro emits into [\"pajaro\",\"posts\",...]");
      return JSTP_STATUS_FORBIDDEN;
    }
  return 0;
}

static void
bind (PajaroService      *self,
      const char         *method,
      const char * const *resource,
      JstpBindFunc        callback)
{
  g_autoptr(GError) error = NULL;
  guint64 id = jstp_engine_bind (self->engine, method, resource, callback, self, NULL, &error);

  g_assert_no_error (error);
  g_array_append_val (self->bindings, id);
}

static gboolean
stats_tick_cb (gpointer user_data)
{
  PajaroService *self = user_data;
  g_autofree char *body = pajaro_service_dup_stats_json (self);
  g_autoptr(JstpDispatch) dispatch =
    jstp_dispatch_new (JSTP_METHOD_PUT, (const char * const[]) { "pajaro", "stats", NULL });

  if (jstp_dispatch_set_body_json (dispatch, body, NULL))
    jstp_engine_emit (self->engine, dispatch, NULL, NULL, NULL);
  return G_SOURCE_CONTINUE;
}

static void
restart_stats_timer (PajaroService *self)
{
  g_clear_handle_id (&self->stats_id, g_source_remove);
  if (self->started && self->stats_interval > 0)
    self->stats_id = g_timeout_add (self->stats_interval, stats_tick_cb, self);
}

/* ---- public ------------------------------------------------------------ */

PajaroService *
pajaro_service_new (JstpEngine *engine)
{
  g_return_val_if_fail (JSTP_IS_ENGINE (engine), NULL);

  return g_object_new (PAJARO_TYPE_SERVICE, "engine", engine, NULL);
}

JstpEngine *
pajaro_service_get_engine (PajaroService *self)
{
  g_return_val_if_fail (PAJARO_IS_SERVICE (self), NULL);

  return self->engine;
}

void
pajaro_service_add_source (PajaroService *self,
                           PajaroSource  *source)
{
  g_return_if_fail (PAJARO_IS_SERVICE (self));
  g_return_if_fail (PAJARO_IS_SOURCE (source));
  g_return_if_fail (!self->started);

  g_ptr_array_add (self->sources, g_object_ref (source));
  g_signal_connect_object (source, "post", G_CALLBACK (post_cb), self, 0);
  g_signal_connect_object (source, "deleted", G_CALLBACK (deleted_cb), self, 0);
  g_signal_connect_object (source, "dropped", G_CALLBACK (dropped_cb), self, 0);
}

void
pajaro_service_start (PajaroService *self)
{
  g_return_if_fail (PAJARO_IS_SERVICE (self));

  if (self->started)
    return;
  self->started = TRUE;
  for (guint i = 0; i < self->sources->len; i++)
    pajaro_source_start (g_ptr_array_index (self->sources, i));
  restart_stats_timer (self);
}

void
pajaro_service_stop (PajaroService *self)
{
  g_return_if_fail (PAJARO_IS_SERVICE (self));

  self->started = FALSE;
  for (guint i = 0; i < self->sources->len; i++)
    pajaro_source_stop (g_ptr_array_index (self->sources, i));
  restart_stats_timer (self);
}

guint
pajaro_service_get_dedupe_window (PajaroService *self)
{
  g_return_val_if_fail (PAJARO_IS_SERVICE (self), 0);

  return self->dedupe_window;
}

void
pajaro_service_set_dedupe_window (PajaroService *self,
                                  guint          seconds)
{
  g_return_if_fail (PAJARO_IS_SERVICE (self));

  if (self->dedupe_window == seconds)
    return;
  /* Applies to ids delivered from now on. */
  self->dedupe_window = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEDUPE_WINDOW]);
}

guint
pajaro_service_get_stats_interval (PajaroService *self)
{
  g_return_val_if_fail (PAJARO_IS_SERVICE (self), 0);

  return self->stats_interval;
}

void
pajaro_service_set_stats_interval (PajaroService *self,
                                   guint          interval_ms)
{
  g_return_if_fail (PAJARO_IS_SERVICE (self));

  if (self->stats_interval == interval_ms)
    return;
  self->stats_interval = interval_ms;
  restart_stats_timer (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATS_INTERVAL]);
}

/* ---- GObject ----------------------------------------------------------- */

static void
pajaro_service_constructed (GObject *object)
{
  PajaroService *self = PAJARO_SERVICE (object);

  G_OBJECT_CLASS (pajaro_service_parent_class)->constructed (object);

  g_assert (self->engine != NULL);
  bind (self, "PUT", (const char * const[]) { "pajaro", "track", ":tag", NULL }, put_track_cb);
  bind (self, "DELETE", (const char * const[]) { "pajaro", "track", ":tag", NULL },
        delete_track_cb);
  bind (self, "GET", (const char * const[]) { "pajaro", "track", NULL }, get_tracks_cb);
  bind (self, "GET", (const char * const[]) { "pajaro", "track", ":tag", NULL }, get_track_cb);
  bind (self, "GET", (const char * const[]) { "pajaro", "stats", NULL }, get_stats_cb);
  self->hook_id = jstp_engine_add_admission_hook (self->engine, posts_guard, NULL, NULL);
}

static void
pajaro_service_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PajaroService *self = PAJARO_SERVICE (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_DEDUPE_WINDOW:
      g_value_set_uint (value, self->dedupe_window);
      break;
    case PROP_STATS_INTERVAL:
      g_value_set_uint (value, self->stats_interval);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pajaro_service_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  PajaroService *self = PAJARO_SERVICE (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      self->engine = g_value_dup_object (value);
      break;
    case PROP_DEDUPE_WINDOW:
      pajaro_service_set_dedupe_window (self, g_value_get_uint (value));
      break;
    case PROP_STATS_INTERVAL:
      pajaro_service_set_stats_interval (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pajaro_service_dispose (GObject *object)
{
  PajaroService *self = PAJARO_SERVICE (object);

  g_clear_handle_id (&self->stats_id, g_source_remove);
  for (guint i = 0; i < self->sources->len; i++)
    {
      PajaroSource *source = g_ptr_array_index (self->sources, i);

      g_signal_handlers_disconnect_by_data (source, self);
      pajaro_source_stop (source);
    }
  g_ptr_array_set_size (self->sources, 0);
  if (self->engine)
    {
      for (guint i = 0; i < self->bindings->len; i++)
        jstp_engine_release (self->engine, g_array_index (self->bindings, guint64, i));
      g_array_set_size (self->bindings, 0);
      if (self->hook_id)
        jstp_engine_remove_admission_hook (self->engine, self->hook_id);
      self->hook_id = 0;
    }
  g_clear_object (&self->engine);

  G_OBJECT_CLASS (pajaro_service_parent_class)->dispose (object);
}

static void
pajaro_service_finalize (GObject *object)
{
  PajaroService *self = PAJARO_SERVICE (object);

  g_ptr_array_unref (self->sources);
  g_array_unref (self->bindings);
  g_hash_table_unref (self->tags);
  g_hash_table_unref (self->seen);
  g_queue_clear_full (&self->seen_order, seen_free);

  G_OBJECT_CLASS (pajaro_service_parent_class)->finalize (object);
}

static void
pajaro_service_class_init (PajaroServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = pajaro_service_constructed;
  object_class->get_property = pajaro_service_get_property;
  object_class->set_property = pajaro_service_set_property;
  object_class->dispose = pajaro_service_dispose;
  object_class->finalize = pajaro_service_finalize;

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, JSTP_TYPE_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DEDUPE_WINDOW] =
    g_param_spec_uint ("dedupe-window", NULL, NULL,
                       0, G_MAXINT32, PAJARO_SERVICE_DEFAULT_DEDUPE_WINDOW,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STATS_INTERVAL] =
    g_param_spec_uint ("stats-interval", NULL, NULL,
                       0, G_MAXUINT, PAJARO_SERVICE_DEFAULT_STATS_INTERVAL,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pajaro_service_init (PajaroService *self)
{
  self->sources = g_ptr_array_new_with_free_func (g_object_unref);
  self->bindings = g_array_new (FALSE, FALSE, sizeof (guint64));
  self->tags = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, tag_free);
  self->max_tags = PAJARO_SERVICE_DEFAULT_MAX_TAGS;
  self->seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&self->seen_order);
  self->dedupe_window = PAJARO_SERVICE_DEFAULT_DEDUPE_WINDOW;
  self->stats_interval = PAJARO_SERVICE_DEFAULT_STATS_INTERVAL;
}
