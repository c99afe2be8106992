/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "jstp-json.h"
#include "pajaro-line-reader.h"
#include "pajaro-stream.h"

/* Enough of an error body for its message; the rest is not read. */
#define ERROR_BODY_MAX 4096

/* One connection attempt. It holds no reference to its stream: whatever
 * ends the attempt early (a new attempt, stop, dispose) cancels it, and
 * its callbacks check that before touching the stream. */
typedef struct {
  PajaroStream *self;
  GCancellable *cancellable;
  SoupMessage *message;
  GInputStream *body;
} Attempt;

struct _PajaroStream {
  GObject parent_instance;

  SoupSession *session;
  char *uri;
  PajaroStreamHandlers handlers;
  gpointer user_data;

  gsize max_line;
  guint stall_timeout;
  PajaroBackoff backoff;

  PajaroStreamState state;
  gint64 since;               /* wall ms */
  char *error;
  char *last_error;
  gint64 retry_at;            /* wall ms */
  guint64 reconnects;
  guint64 connections;
  guint64 bytes;              /* of finished connections */

  Attempt *attempt;           /* the current one */
  PajaroLineReader *reader;
  gboolean got_line;
  guint stall_id;
  guint retry_id;
};

G_DEFINE_FINAL_TYPE (PajaroStream, pajaro_stream, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_MAX_LINE,
  PROP_STALL_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void connect_now (PajaroStream *self);

static gint64
wall_ms (void)
{
  return g_get_real_time () / 1000;
}

static void
attempt_free (Attempt *attempt)
{
  g_clear_object (&attempt->cancellable);
  g_clear_object (&attempt->message);
  g_clear_object (&attempt->body);
  g_free (attempt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Attempt, attempt_free)

static void
set_state (PajaroStream      *self,
           PajaroStreamState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  self->since = wall_ms ();
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* Ends the current connection or attempt, whatever stage it is at. */
static void
teardown (PajaroStream *self)
{
  g_clear_handle_id (&self->stall_id, g_source_remove);
  if (self->reader)
    {
      self->bytes += pajaro_line_reader_get_bytes_read (self->reader);
      pajaro_line_reader_stop (self->reader);
      g_clear_object (&self->reader);
    }
  if (self->attempt)
    {
      g_cancellable_cancel (self->attempt->cancellable);
      self->attempt = NULL;   /* owned by its pending callback */
    }
}

static gboolean
retry_cb (gpointer user_data)
{
  PajaroStream *self = user_data;

  self->retry_id = 0;
  self->retry_at = 0;
  connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
fail (PajaroStream  *self,
      PajaroFailure  failure,
      const char    *message,
      gint64         hint_ms)
{
  guint64 delay;

  teardown (self);
  delay = pajaro_backoff_next (&self->backoff, failure, hint_ms);
  self->reconnects++;
  g_free (self->error);
  self->error = g_strdup (message);
  g_free (self->last_error);
  self->last_error = g_strdup (message);
  self->retry_at = wall_ms () + (gint64) delay;
  g_debug ("%s: %s; again in %" G_GUINT64_FORMAT " ms", self->uri, message, delay);

  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) MIN (delay, G_MAXUINT),
                                       retry_cb, self, NULL);
  set_state (self, PAJARO_STREAM_BACKING_OFF);
}

static gboolean
stall_cb (gpointer user_data)
{
  PajaroStream *self = user_data;
  g_autofree char *message = NULL;

  self->stall_id = 0;
  message = g_strdup_printf ("nothing received for %u ms", self->stall_timeout);
  fail (self, PAJARO_FAILURE_NETWORK, message, -1);
  return G_SOURCE_REMOVE;
}

static void
arm_stall_timer (PajaroStream *self)
{
  g_clear_handle_id (&self->stall_id, g_source_remove);
  if (self->stall_timeout > 0)
    self->stall_id = g_timeout_add (self->stall_timeout, stall_cb, self);
}

static void
line_cb (const char *line,
         gsize       length,
         gboolean    oversize,
         gpointer    user_data)
{
  g_autoptr(PajaroStream) self = g_object_ref (user_data);

  arm_stall_timer (self);
  if (!self->got_line)
    {
      /* The stream works end to end: the next failure starts afresh. */
      self->got_line = TRUE;
      pajaro_backoff_reset (&self->backoff);
    }
  if (self->handlers.line)
    self->handlers.line (self, line, length, oversize, self->user_data);
}

static void
done_cb (const GError *error,
         gpointer      user_data)
{
  PajaroStream *self = user_data;

  if (error)
    fail (self, PAJARO_FAILURE_NETWORK, error->message, -1);
  else
    fail (self, PAJARO_FAILURE_NETWORK, "the server ended the stream", -1);
}

/* "Too Many Requests: Rate limit exceeded" from a Twitter problem body
 * ({"title", "detail"}) or a Mastodon one ({"error"}); NULL otherwise. */
static char *
error_body_message (GBytes *bytes)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *object;
  const char *parts[3] = { NULL, };
  guint n = 0;
  const char * const keys[] = { "title", "detail", "error" };

  if (size == 0 || !jstp_json_scan (data, size, NULL, NULL, NULL, 0, NULL, NULL))
    return NULL;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, size, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  object = json_node_get_object (json_parser_get_root (parser));
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      JsonNode *node = json_object_get_member (object, keys[i]);

      if (node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        parts[n++] = json_node_get_string (node);
    }
  if (n == 0)
    return NULL;
  return g_strjoinv (": ", (char **) parts);
}

static void
error_body_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(Attempt) attempt = user_data;
  PajaroStream *self = attempt->self;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *message = NULL;
  guint status;
  gint64 hint;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  if (g_cancellable_is_cancelled (attempt->cancellable))
    return;

  status = soup_message_get_status (attempt->message);
  hint = pajaro_backoff_parse_hint (soup_message_get_response_headers (attempt->message),
                                    wall_ms ());
  detail = bytes ? error_body_message (bytes) : NULL;
  message = g_strdup_printf ("HTTP %u %s%s%s", status,
                             soup_message_get_reason_phrase (attempt->message) ?: "",
                             detail ? ": " : "", detail ? detail : "");
  self->attempt = NULL;
  fail (self, status == PAJARO_HTTP_TOO_MANY_REQUESTS ? PAJARO_FAILURE_RATE_LIMIT
                                                       : PAJARO_FAILURE_HTTP,
        message, status == PAJARO_HTTP_TOO_MANY_REQUESTS ? hint : -1);
}

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(Attempt) attempt = user_data;
  PajaroStream *self = attempt->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = NULL;
  guint status;

  body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (g_cancellable_is_cancelled (attempt->cancellable))
    return;
  if (body == NULL)
    {
      self->attempt = NULL;
      fail (self, PAJARO_FAILURE_NETWORK, error->message, -1);
      return;
    }

  status = soup_message_get_status (attempt->message);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      Attempt *reading = g_steal_pointer (&attempt);

      reading->body = g_steal_pointer (&body);
      g_input_stream_read_bytes_async (reading->body, ERROR_BODY_MAX, G_PRIORITY_DEFAULT,
                                       reading->cancellable, error_body_cb, reading);
      return;
    }

  self->attempt = NULL;
  self->connections++;
  self->got_line = FALSE;
  g_clear_pointer (&self->error, g_free);
  self->reader = pajaro_line_reader_new (body, self->max_line);
  set_state (self, PAJARO_STREAM_STREAMING);
  arm_stall_timer (self);
  g_debug ("%s: streaming", self->uri);
  if (self->handlers.connected)
    {
      g_autoptr(PajaroStream) hold = g_object_ref (self);

      self->handlers.connected (self, self->user_data);
      if (self->state != PAJARO_STREAM_STREAMING)
        return;
    }
  pajaro_line_reader_start (self->reader, line_cb, done_cb, self);
}

static void
connect_now (PajaroStream *self)
{
  Attempt *attempt;

  teardown (self);
  attempt = g_new0 (Attempt, 1);
  attempt->self = self;
  attempt->cancellable = g_cancellable_new ();
  attempt->message = soup_message_new (SOUP_METHOD_GET, self->uri);
  g_assert (attempt->message != NULL);   /* checked in pajaro_stream_new() */
  if (self->handlers.prepare)
    self->handlers.prepare (self, attempt->message, self->user_data);
  self->attempt = attempt;

  set_state (self, PAJARO_STREAM_CONNECTING);
  /* Also bounds connecting and waiting for the headers. */
  arm_stall_timer (self);
  soup_session_send_async (self->session, attempt->message, G_PRIORITY_DEFAULT,
                           attempt->cancellable, send_cb, attempt);
}

void
pajaro_stream_start (PajaroStream *self)
{
  g_return_if_fail (PAJARO_IS_STREAM (self));

  if (self->state != PAJARO_STREAM_STOPPED)
    return;
  pajaro_backoff_reset (&self->backoff);
  connect_now (self);
}

void
pajaro_stream_stop (PajaroStream *self)
{
  g_return_if_fail (PAJARO_IS_STREAM (self));

  teardown (self);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_at = 0;
  g_clear_pointer (&self->error, g_free);
  set_state (self, PAJARO_STREAM_STOPPED);
}

void
pajaro_stream_fail (PajaroStream  *self,
                    PajaroFailure  failure,
                    const char    *message)
{
  g_return_if_fail (PAJARO_IS_STREAM (self));
  g_return_if_fail (message != NULL);

  if (self->state == PAJARO_STREAM_STOPPED)
    return;
  fail (self, failure, message, -1);
}

PajaroStream *
pajaro_stream_new (SoupSession         *session,
                   const char          *uri,
                   PajaroBackoffPolicy  policy)
{
  PajaroStream *self;
  g_autoptr(GUri) parsed = NULL;

  g_return_val_if_fail (SOUP_IS_SESSION (session), NULL);
  g_return_val_if_fail (uri != NULL, NULL);
  parsed = g_uri_parse (uri, SOUP_HTTP_URI_FLAGS, NULL);
  g_return_val_if_fail (parsed != NULL, NULL);

  self = g_object_new (PAJARO_TYPE_STREAM, NULL);
  self->session = g_object_ref (session);
  self->uri = g_strdup (uri);
  pajaro_backoff_init (&self->backoff, policy);
  return self;
}

void
pajaro_stream_set_handlers (PajaroStream               *self,
                            const PajaroStreamHandlers *handlers,
                            gpointer                    user_data)
{
  g_return_if_fail (PAJARO_IS_STREAM (self));
  g_return_if_fail (handlers != NULL);

  self->handlers = *handlers;
  self->user_data = user_data;
}

const char *
pajaro_stream_get_uri (PajaroStream *self)
{
  g_return_val_if_fail (PAJARO_IS_STREAM (self), NULL);

  return self->uri;
}

gsize
pajaro_stream_get_max_line (PajaroStream *self)
{
  g_return_val_if_fail (PAJARO_IS_STREAM (self), 0);

  return self->max_line;
}

void
pajaro_stream_set_max_line (PajaroStream *self,
                            gsize         max_line)
{
  g_return_if_fail (PAJARO_IS_STREAM (self));
  g_return_if_fail (max_line > 0);

  if (self->max_line == max_line)
    return;
  /* Takes effect with the next connection. */
  self->max_line = max_line;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_LINE]);
}

guint
pajaro_stream_get_stall_timeout (PajaroStream *self)
{
  g_return_val_if_fail (PAJARO_IS_STREAM (self), 0);

  return self->stall_timeout;
}

void
pajaro_stream_set_stall_timeout (PajaroStream *self,
                                 guint         timeout_ms)
{
  g_return_if_fail (PAJARO_IS_STREAM (self));

  if (self->stall_timeout == timeout_ms)
    return;
  self->stall_timeout = timeout_ms;
  if (self->stall_id)
    arm_stall_timer (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STALL_TIMEOUT]);
}

void
pajaro_stream_set_backoff_scale (PajaroStream *self,
                                 double        scale)
{
  g_return_if_fail (PAJARO_IS_STREAM (self));
  g_return_if_fail (scale >= 0);

  self->backoff.scale = scale;
}

PajaroStreamState
pajaro_stream_get_state (PajaroStream *self)
{
  g_return_val_if_fail (PAJARO_IS_STREAM (self), PAJARO_STREAM_STOPPED);

  return self->state;
}

const char *
pajaro_stream_state_to_string (PajaroStreamState state)
{
  switch (state)
    {
    case PAJARO_STREAM_STOPPED:     return "stopped";
    case PAJARO_STREAM_CONNECTING:  return "connecting";
    case PAJARO_STREAM_STREAMING:   return "streaming";
    case PAJARO_STREAM_BACKING_OFF: return "backing-off";
    default:                        g_assert_not_reached ();
    }
}

const char *
pajaro_stream_get_error (PajaroStream *self)
{
  g_return_val_if_fail (PAJARO_IS_STREAM (self), NULL);

  return self->error;
}

gint64
pajaro_stream_get_retry_at (PajaroStream *self)
{
  g_return_val_if_fail (PAJARO_IS_STREAM (self), 0);

  return self->retry_at;
}

guint64
pajaro_stream_get_reconnects (PajaroStream *self)
{
  g_return_val_if_fail (PAJARO_IS_STREAM (self), 0);

  return self->reconnects;
}

static void
append_time (GString *out,
             gint64   ms)
{
  if (ms > 0)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, ms);
  else
    g_string_append (out, "null");
}

static void
append_nullable (GString    *out,
                 const char *text)
{
  if (text)
    jstp_json_append_string (out, text, -1);
  else
    g_string_append (out, "null");
}

void
pajaro_stream_append_status_json (PajaroStream *self,
                                  GString      *out)
{
  guint64 bytes;

  g_return_if_fail (PAJARO_IS_STREAM (self));

  bytes = self->bytes + (self->reader ? pajaro_line_reader_get_bytes_read (self->reader) : 0);
  g_string_append (out, "{\"state\":");
  jstp_json_append_string (out, pajaro_stream_state_to_string (self->state), -1);
  g_string_append (out, ",\"since\":");
  append_time (out, self->since);
  g_string_append (out, ",\"retry_at\":");
  append_time (out, self->state == PAJARO_STREAM_BACKING_OFF ? self->retry_at : 0);
  g_string_append (out, ",\"error\":");
  append_nullable (out, self->error);
  g_string_append (out, ",\"last_error\":");
  append_nullable (out, self->last_error);
  g_string_append_printf (out, ",\"reconnects\":%" G_GUINT64_FORMAT
                          ",\"connections\":%" G_GUINT64_FORMAT
                          ",\"bytes\":%" G_GUINT64_FORMAT "}",
                          self->reconnects, self->connections, bytes);
}

static void
pajaro_stream_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  PajaroStream *self = PAJARO_STREAM (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_MAX_LINE:
      g_value_set_uint64 (value, self->max_line);
      break;
    case PROP_STALL_TIMEOUT:
      g_value_set_uint (value, self->stall_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pajaro_stream_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  PajaroStream *self = PAJARO_STREAM (object);

  switch (prop_id)
    {
    case PROP_MAX_LINE:
      pajaro_stream_set_max_line (self, g_value_get_uint64 (value));
      break;
    case PROP_STALL_TIMEOUT:
      pajaro_stream_set_stall_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pajaro_stream_dispose (GObject *object)
{
  PajaroStream *self = PAJARO_STREAM (object);

  teardown (self);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (pajaro_stream_parent_class)->dispose (object);
}

static void
pajaro_stream_finalize (GObject *object)
{
  PajaroStream *self = PAJARO_STREAM (object);

  g_free (self->uri);
  g_free (self->error);
  g_free (self->last_error);

  G_OBJECT_CLASS (pajaro_stream_parent_class)->finalize (object);
}

static void
pajaro_stream_class_init (PajaroStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = pajaro_stream_get_property;
  object_class->set_property = pajaro_stream_set_property;
  object_class->dispose = pajaro_stream_dispose;
  object_class->finalize = pajaro_stream_finalize;

  /* A PajaroStreamState; an int, since the enum has no GType. */
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      PAJARO_STREAM_STOPPED, PAJARO_STREAM_BACKING_OFF, PAJARO_STREAM_STOPPED,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MAX_LINE] =
    g_param_spec_uint64 ("max-line", NULL, NULL,
                         1, G_MAXUINT32, PAJARO_STREAM_DEFAULT_MAX_LINE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_uint ("stall-timeout", NULL, NULL,
                       0, G_MAXUINT, PAJARO_STREAM_DEFAULT_STALL_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pajaro_stream_init (PajaroStream *self)
{
  self->max_line = PAJARO_STREAM_DEFAULT_MAX_LINE;
  self->stall_timeout = PAJARO_STREAM_DEFAULT_STALL_TIMEOUT;
  self->state = PAJARO_STREAM_STOPPED;
  pajaro_backoff_init (&self->backoff, PAJARO_BACKOFF_TWITTER);
}
