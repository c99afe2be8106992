/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <sodium.h>

#include "pajaro-backoff.h"
#include "pajaro-json.h"
#include "pajaro-stream.h"
#include "pajaro-twitter-source.h"

#define STREAM_PATH "/2/tweets/search/stream"
#define RULES_PATH  "/2/tweets/search/stream/rules"
#define STREAM_QUERY \
  "?tweet.fields=created_at,author_id,entities,attachments" \
  "&expansions=author_id,attachments.media_keys" \
  "&user.fields=username,name" \
  "&media.fields=url,preview_image_url"

/* The API sends a keep-alive every 20 s; a little more than that without
 * one means the connection is gone, even if TCP has not noticed. */
#define DEFAULT_STALL_TIMEOUT   30000
#define DEFAULT_REQUEST_TIMEOUT  8000
/* A thousand rules fit well within this. */
#define MAX_REST_BODY (1024 * 1024)

#define WEB_URL "https://x.com"

typedef struct {
  char *id;
  char *value;
  char *tag;    /* nullable */
} Rule;

typedef struct _RestCall RestCall;

typedef void (*RestDone) (PajaroTwitterSource *self,
                          SoupMessage         *message,
                          GBytes              *body,
                          const GError        *error);

/* One REST request with its whole (bounded) answer. Like a stream
 * attempt, it holds no reference to the source: stop and dispose cancel
 * it, and its callbacks check that first. */
struct _RestCall {
  PajaroTwitterSource *self;
  SoupMessage *message;
  GCancellable *cancellable;
  GInputStream *stream;
  GByteArray *body;
  guint timeout_id;
  RestDone done;
};

struct _PajaroTwitterSource {
  GObject parent_instance;

  char *base_url;             /* without a trailing slash */
  char *bearer;               /* sodium_malloc()ed */
  SoupSession *session;
  PajaroStream *stream;
  gboolean started;
  JstpJsonLimits limits;
  guint request_timeout;

  GHashTable *tracks;         /* tag → PajaroTrack: what we want */
  GHashTable *owned;          /* tags tracked here once: their rules are ours */
  GHashTable *reconnect_base; /* tag → the stream's reconnects when tracked */
  GHashTable *rules;          /* id → Rule: the server's, as last seen */

  /* Rule changes, one at a time. */
  RestCall *rest_call;
  gboolean syncing;
  gboolean sync_again;
  GPtrArray *waiting_now;     /* GTasks the running change completes */
  GPtrArray *waiting_next;
  GPtrArray *sync_deletes;    /* ids */
  GPtrArray *sync_adds;       /* PajaroTrack */
  PajaroBackoff rules_backoff;
  guint rules_retry_id;
  gint64 rules_retry_at;
  char *rules_error;
  GHashTable *refused;        /* tag → why the API refused its rule */

  guint64 ignored;
};

static void pajaro_twitter_source_iface_init (PajaroSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PajaroTwitterSource, pajaro_twitter_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PAJARO_TYPE_SOURCE,
                                                      pajaro_twitter_source_iface_init))

enum {
  PROP_0,
  PROP_MAX_LINE,
  PROP_STALL_TIMEOUT,
  PROP_REQUEST_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void run_sync (PajaroTwitterSource *self);

static gint64
wall_ms (void)
{
  return g_get_real_time () / 1000;
}

static void
rule_free (gpointer data)
{
  Rule *rule = data;

  g_free (rule->id);
  g_free (rule->value);
  g_free (rule->tag);
  g_free (rule);
}

/* ---- parsing the stream ------------------------------------------------ */

/* The v2 API escapes these three in tweet text, and nothing else. */
static char *
unescape_text (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));
  static const struct { const char *entity; char c; } entities[] = {
    { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
  };

  for (const char *p = text; *p; )
    {
      gboolean replaced = FALSE;

      if (*p == '&')
        for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
          if (g_str_has_prefix (p, entities[i].entity))
            {
              g_string_append_c (out, entities[i].c);
              p += strlen (entities[i].entity);
              replaced = TRUE;
              break;
            }
      if (!replaced)
        g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

static JsonObject *
find_by (JsonArray  *array,
         const char *key,
         const char *value)
{
  if (value == NULL)
    return NULL;
  for (guint i = 0; array && i < json_array_get_length (array); i++)
    {
      JsonObject *object = pajaro_json_array_get_object (array, i);

      if (g_strcmp0 (pajaro_json_get_string (object, key), value) == 0)
        return object;
    }
  return NULL;
}

static char *
join_errors (JsonArray *errors)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (errors) && i < 4; i++)
    {
      JsonObject *error = pajaro_json_array_get_object (errors, i);
      const char *title = pajaro_json_get_string (error, "title");
      const char *detail = pajaro_json_get_string (error, "detail");

      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append (text, title ? title : "error");
      if (detail)
        g_string_append_printf (text, ": %s", detail);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

PajaroPost *
pajaro_twitter_source_parse_line (const char            *line,
                                  gsize                  length,
                                  const JstpJsonLimits  *limits,
                                  GStrv                 *rule_ids,
                                  char                 **server_error,
                                  GError               **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(PajaroPost) post = NULL;
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_autofree char *text = NULL;
  JsonObject *message, *data, *includes, *author, *entities, *attachments;
  JsonArray *users, *media, *keys, *urls, *matching, *errors;
  const char *id, *raw_text;

  g_return_val_if_fail (line != NULL, NULL);

  root = pajaro_json_parse (line, length, limits, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "a stream message is a JSON object");
      return NULL;
    }
  message = json_node_get_object (root);
  data = pajaro_json_get_object (message, "data");
  errors = pajaro_json_get_array (message, "errors");
  if (data == NULL && errors != NULL)
    {
      if (server_error)
        *server_error = join_errors (errors);
      return NULL;
    }

  id = pajaro_json_get_string (data, "id");
  raw_text = pajaro_json_get_string (data, "text");
  if (id == NULL || *id == '\0' || raw_text == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "not a tweet: data.id and data.text are required");
      return NULL;
    }

  post = pajaro_post_new ("twitter", id);
  text = unescape_text (raw_text);
  g_free (post->text);
  post->text = g_steal_pointer (&text);
  pajaro_post_set_created_at (post, pajaro_json_get_string (data, "created_at"));

  includes = pajaro_json_get_object (message, "includes");
  users = pajaro_json_get_array (includes, "users");
  media = pajaro_json_get_array (includes, "media");

  post->author_id = g_strdup (pajaro_json_get_string (data, "author_id"));
  author = find_by (users, "id", post->author_id);
  if (author)
    {
      const char *username = pajaro_json_get_string (author, "username");

      post->author_username = g_strdup (username);
      post->author_name = g_strdup (pajaro_json_get_string (author, "name"));
      if (username)
        post->author_url = g_strdup_printf (WEB_URL "/%s", username);
    }
  post->url = g_strdup_printf (WEB_URL "/%s/status/%s",
                               post->author_username ? post->author_username : "i/web", id);

  /* Links to the tweet's own photos are media, not links. */
  entities = pajaro_json_get_object (data, "entities");
  urls = pajaro_json_get_array (entities, "urls");
  for (guint i = 0; urls && i < json_array_get_length (urls); i++)
    {
      JsonObject *url = pajaro_json_array_get_object (urls, i);
      const char *expanded = pajaro_json_get_string (url, "expanded_url");

      if (url == NULL || pajaro_json_get_string (url, "media_key"))
        continue;
      pajaro_post_add_link (post, expanded ? expanded : pajaro_json_get_string (url, "url"));
    }

  attachments = pajaro_json_get_object (data, "attachments");
  keys = pajaro_json_get_array (attachments, "media_keys");
  for (guint i = 0; keys && i < json_array_get_length (keys); i++)
    {
      JsonObject *item = find_by (media, "media_key", pajaro_json_array_get_string (keys, i));

      if (item)
        pajaro_post_add_media (post, pajaro_json_get_string (item, "type"),
                               pajaro_json_get_string (item, "url"),
                               pajaro_json_get_string (item, "preview_image_url"));
    }

  matching = pajaro_json_get_array (message, "matching_rules");
  for (guint i = 0; matching && i < json_array_get_length (matching); i++)
    {
      JsonObject *rule = pajaro_json_array_get_object (matching, i);
      const char *rule_id = pajaro_json_get_string (rule, "id");

      pajaro_post_add_tag (post, pajaro_json_get_string (rule, "tag"));
      if (rule_id)
        g_strv_builder_add (ids, rule_id);
    }
  if (rule_ids)
    *rule_ids = g_strv_builder_end (ids);
  return g_steal_pointer (&post);
}

/* ---- rules ------------------------------------------------------------- */

/* What the rule of @track says. Keywords were checked to hold no quotes. */
static char *
rule_value (PajaroTrack *track)
{
  if (track->kind == PAJARO_TRACK_KEYWORD)
    return strpbrk (track->keyword, " \t") ? g_strdup_printf ("\"%s\"", track->keyword)
                                           : g_strdup (track->keyword);
  return g_strdup_printf ("#%s", track->tag);
}

/* Whether a tracked tag wants a rule with @value. */
static gboolean
value_wanted (PajaroTwitterSource *self,
              const char          *value)
{
  GHashTableIter iter;
  gpointer track;

  g_hash_table_iter_init (&iter, self->tracks);
  while (g_hash_table_iter_next (&iter, NULL, &track))
    {
      g_autofree char *wanted = rule_value (track);

      if (g_str_equal (wanted, value))
        return TRUE;
    }
  return FALSE;
}

static Rule *
rule_with_value (PajaroTwitterSource *self,
                 const char          *value)
{
  GHashTableIter iter;
  gpointer rule;

  g_hash_table_iter_init (&iter, self->rules);
  while (g_hash_table_iter_next (&iter, NULL, &rule))
    if (g_str_equal (((Rule *) rule)->value, value))
      return rule;
  return NULL;
}

static void
rule_remember (PajaroTwitterSource *self,
               const char          *id,
               const char          *value,
               const char          *tag)
{
  Rule *rule = g_new0 (Rule, 1);

  rule->id = g_strdup (id);
  rule->value = g_strdup (value);
  rule->tag = g_strdup (tag);
  g_hash_table_replace (self->rules, rule->id, rule);
}

static void
add_authorization (PajaroTwitterSource *self,
                   SoupMessage         *message)
{
  g_autofree char *value = g_strconcat ("Bearer ", self->bearer, NULL);

  soup_message_headers_replace (soup_message_get_request_headers (message),
                                "Authorization", value);
  sodium_memzero (value, strlen (value));
}

static void
rest_call_free (RestCall *call)
{
  g_clear_object (&call->message);
  g_clear_object (&call->cancellable);
  g_clear_object (&call->stream);
  g_byte_array_unref (call->body);
  g_free (call);
}

static void
rest_finish (RestCall     *call,
             GBytes       *body,
             const GError *error)
{
  PajaroTwitterSource *self = call->self;

  g_clear_handle_id (&call->timeout_id, g_source_remove);
  if (self->rest_call == call)
    self->rest_call = NULL;
  call->done (self, call->message, body, error);
}

static void
rest_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  RestCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (g_cancellable_is_cancelled (call->cancellable))
    {
      rest_call_free (call);
      return;
    }
  if (bytes == NULL)
    {
      rest_finish (call, NULL, error);
      rest_call_free (call);
      return;
    }
  if (g_bytes_get_size (bytes) == 0)
    {
      g_autoptr(GBytes) body = g_byte_array_free_to_bytes (g_steal_pointer (&call->body));

      call->body = g_byte_array_new ();
      rest_finish (call, body, NULL);
      rest_call_free (call);
      return;
    }
  if (call->body->len + g_bytes_get_size (bytes) > MAX_REST_BODY)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "answer larger than %d bytes", MAX_REST_BODY);
      rest_finish (call, NULL, error);
      g_cancellable_cancel (call->cancellable);
      rest_call_free (call);
      return;
    }
  g_byte_array_append (call->body, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_input_stream_read_bytes_async (call->stream, 16384, G_PRIORITY_DEFAULT, call->cancellable,
                                   rest_read_cb, call);
}

static void
rest_send_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  RestCall *call = user_data;
  g_autoptr(GError) error = NULL;

  call->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (g_cancellable_is_cancelled (call->cancellable))
    {
      rest_call_free (call);
      return;
    }
  if (call->stream == NULL)
    {
      rest_finish (call, NULL, error);
      rest_call_free (call);
      return;
    }
  g_input_stream_read_bytes_async (call->stream, 16384, G_PRIORITY_DEFAULT, call->cancellable,
                                   rest_read_cb, call);
}

static gboolean
rest_timeout_cb (gpointer user_data)
{
  RestCall *call = user_data;
  g_autoptr(GError) error = NULL;

  call->timeout_id = 0;
  g_set_error (&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no answer in %u ms",
               call->self->request_timeout);
  /* The pending callback sees the cancellation and frees the call. */
  g_cancellable_cancel (call->cancellable);
  rest_finish (call, NULL, error);
  return G_SOURCE_REMOVE;
}

static void
rest_request (PajaroTwitterSource *self,
              const char          *method,
              const char          *body_json,
              RestDone             done)
{
  g_autofree char *uri = g_strconcat (self->base_url, RULES_PATH, NULL);
  RestCall *call = g_new0 (RestCall, 1);

  g_assert (self->rest_call == NULL);

  call->self = self;
  call->done = done;
  call->body = g_byte_array_new ();
  call->cancellable = g_cancellable_new ();
  call->message = soup_message_new (method, uri);
  add_authorization (self, call->message);
  if (body_json)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body_json, strlen (body_json));

      soup_message_set_request_body_from_bytes (call->message, "application/json", bytes);
    }
  if (self->request_timeout > 0)
    call->timeout_id = g_timeout_add (self->request_timeout, rest_timeout_cb, call);
  self->rest_call = call;
  soup_session_send_async (self->session, call->message, G_PRIORITY_DEFAULT, call->cancellable,
                           rest_send_cb, call);
}

static void
rest_cancel (PajaroTwitterSource *self)
{
  RestCall *call = g_steal_pointer (&self->rest_call);

  if (call == NULL)
    return;
  g_clear_handle_id (&call->timeout_id, g_source_remove);
  g_cancellable_cancel (call->cancellable);
}

/* The answer's JSON object, or NULL with @message set to what went wrong
 * and @failure to how to back off. */
static JsonNode *
read_answer (PajaroTwitterSource  *self,
             SoupMessage          *message,
             GBytes               *body,
             const GError         *error,
             PajaroFailure        *failure,
             gint64               *hint,
             char                **text)
{
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(JsonNode) root = NULL;
  guint status;
  gsize size = 0;
  const char *data = body ? g_bytes_get_data (body, &size) : NULL;

  *hint = -1;
  if (error)
    {
      *failure = PAJARO_FAILURE_NETWORK;
      *text = g_strdup_printf ("rules: %s", error->message);
      return NULL;
    }

  status = soup_message_get_status (message);
  root = pajaro_json_parse (data ? data : "", size, &self->limits, &parse_error);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      JsonObject *object = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root)
                                                                 : NULL;
      const char *title = pajaro_json_get_string (object, "title");
      const char *detail = pajaro_json_get_string (object, "detail");

      *failure = status == PAJARO_HTTP_TOO_MANY_REQUESTS ? PAJARO_FAILURE_RATE_LIMIT
                                                         : PAJARO_FAILURE_HTTP;
      if (status == PAJARO_HTTP_TOO_MANY_REQUESTS)
        *hint = pajaro_backoff_parse_hint (soup_message_get_response_headers (message),
                                           wall_ms ());
      *text = g_strdup_printf ("rules: HTTP %u %s%s%s%s%s", status,
                               soup_message_get_reason_phrase (message) ?: "",
                               title ? ": " : "", title ? title : "",
                               detail ? ": " : "", detail ? detail : "");
      return NULL;
    }
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      *failure = PAJARO_FAILURE_HTTP;
      *text = g_strdup_printf ("rules: the answer is not a JSON object%s%s",
                               parse_error ? ": " : "",
                               parse_error ? parse_error->message : "");
      return NULL;
    }
  return g_steal_pointer (&root);
}

static void
complete_waiting (PajaroTwitterSource *self,
                  GPtrArray           *waiting,
                  const char          *failure_message)
{
  /* Completing may queue more work: take the list first. */
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);

  while (waiting->len > 0)
    g_ptr_array_add (tasks, g_ptr_array_steal_index (waiting, 0));
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);
      const char *tag = g_task_get_task_data (task);
      const char *refused = tag ? g_hash_table_lookup (self->refused, tag) : NULL;

      if (refused)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                 "%s", refused);
      else if (failure_message)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", failure_message);
      else
        g_task_return_boolean (task, TRUE);
    }
}

static gboolean
rules_retry_cb (gpointer user_data)
{
  PajaroTwitterSource *self = user_data;

  self->rules_retry_id = 0;
  self->rules_retry_at = 0;
  run_sync (self);
  return G_SOURCE_REMOVE;
}

static void
sync_done (PajaroTwitterSource *self)
{
  /* The waiting tasks may hold the last references to us. */
  g_autoptr(PajaroTwitterSource) hold = g_object_ref (self);

  self->syncing = FALSE;
  pajaro_backoff_reset (&self->rules_backoff);
  g_clear_pointer (&self->rules_error, g_free);
  complete_waiting (self, self->waiting_now, NULL);
  if (self->sync_again && self->started)
    run_sync (self);
}

/* Transient or not, a failed change is retried later; the waiting
 * callers learn of it now rather than after a long backoff. Errors the
 * credentials cause (401, 403) fail them; others leave them pending. */
static void
sync_failed (PajaroTwitterSource *self,
             PajaroFailure        failure,
             gint64               hint,
             const char          *message,
             gboolean             fatal)
{
  g_autoptr(PajaroTwitterSource) hold = g_object_ref (self);
  guint64 delay;

  self->syncing = FALSE;
  g_free (self->rules_error);
  self->rules_error = g_strdup (message);
  delay = pajaro_backoff_next (&self->rules_backoff, failure, hint);
  self->rules_retry_at = wall_ms () + (gint64) delay;
  g_clear_handle_id (&self->rules_retry_id, g_source_remove);
  self->rules_retry_id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) MIN (delay, G_MAXUINT),
                                             rules_retry_cb, self, NULL);
  g_debug ("%s; rules again in %" G_GUINT64_FORMAT " ms", message, delay);

  g_ptr_array_extend_and_steal (self->waiting_now, g_steal_pointer (&self->waiting_next));
  self->waiting_next = g_ptr_array_new_with_free_func (g_object_unref);
  self->sync_again = FALSE;
  complete_waiting (self, self->waiting_now, fatal ? message : NULL);
}

static gboolean
is_fatal (SoupMessage *message)
{
  guint status = soup_message_get_status (message);

  return status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN;
}

static void
added_cb (PajaroTwitterSource *self,
          SoupMessage         *message,
          GBytes              *body,
          const GError        *error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  PajaroFailure failure;
  gint64 hint;
  JsonObject *object;
  JsonArray *data, *errors;

  root = read_answer (self, message, body, error, &failure, &hint, &text);
  if (root == NULL)
    {
      sync_failed (self, failure, hint, text, !error && is_fatal (message));
      return;
    }
  object = json_node_get_object (root);

  data = pajaro_json_get_array (object, "data");
  for (guint i = 0; data && i < json_array_get_length (data); i++)
    {
      JsonObject *rule = pajaro_json_array_get_object (data, i);
      const char *id = pajaro_json_get_string (rule, "id");
      const char *value = pajaro_json_get_string (rule, "value");

      if (id && value)
        rule_remember (self, id, value, pajaro_json_get_string (rule, "tag"));
    }

  /* A rule can be refused for itself (too long, bad syntax): its track
   * fails for good. A duplicate is no failure: the rule is there. */
  errors = pajaro_json_get_array (object, "errors");
  for (guint i = 0; errors && i < json_array_get_length (errors); i++)
    {
      JsonObject *item = pajaro_json_array_get_object (errors, i);
      const char *value = pajaro_json_get_string (item, "value");
      const char *title = pajaro_json_get_string (item, "title");
      const char *id = pajaro_json_get_string (item, "id");

      if (value == NULL)
        continue;
      if (g_strcmp0 (title, "DuplicateRule") == 0)
        {
          if (id && rule_with_value (self, value) == NULL)
            rule_remember (self, id, value, NULL);
          continue;
        }
      for (guint j = 0; j < self->sync_adds->len; j++)
        {
          PajaroTrack *track = g_ptr_array_index (self->sync_adds, j);
          g_autofree char *wanted = rule_value (track);
          JsonArray *details = pajaro_json_get_array (item, "details");
          const char *detail = pajaro_json_array_get_string (details, 0);

          if (!g_str_equal (wanted, value))
            continue;
          g_hash_table_replace (self->refused, g_strdup (track->tag),
                                g_strdup_printf ("the rule %s was refused: %s%s%s", value,
                                                 title ? title : "error",
                                                 detail ? ": " : "", detail ? detail : ""));
          if (g_hash_table_lookup (self->tracks, track->tag) == track)
            g_hash_table_remove (self->tracks, track->tag);
        }
    }
  sync_done (self);
}

static void
add_rules (PajaroTwitterSource *self)
{
  g_autoptr(GString) body = g_string_new ("{\"add\":[");

  if (self->sync_adds->len == 0)
    {
      sync_done (self);
      return;
    }
  for (guint i = 0; i < self->sync_adds->len; i++)
    {
      PajaroTrack *track = g_ptr_array_index (self->sync_adds, i);
      g_autofree char *value = rule_value (track);

      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append (body, "{\"value\":");
      jstp_json_append_string (body, value, -1);
      g_string_append (body, ",\"tag\":");
      jstp_json_append_string (body, track->tag, -1);
      g_string_append_c (body, '}');
    }
  g_string_append (body, "]}");
  rest_request (self, SOUP_METHOD_POST, body->str, added_cb);
}

static void
deleted_cb (PajaroTwitterSource *self,
            SoupMessage         *message,
            GBytes              *body,
            const GError        *error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  PajaroFailure failure;
  gint64 hint;

  root = read_answer (self, message, body, error, &failure, &hint, &text);
  if (root == NULL)
    {
      sync_failed (self, failure, hint, text, !error && is_fatal (message));
      return;
    }
  /* Ids the API did not know are gone all the same. */
  for (guint i = 0; i < self->sync_deletes->len; i++)
    g_hash_table_remove (self->rules, g_ptr_array_index (self->sync_deletes, i));
  add_rules (self);
}

static void
plan_changes (PajaroTwitterSource *self)
{
  GHashTableIter iter;
  gpointer key, value;

  g_ptr_array_set_size (self->sync_deletes, 0);
  g_ptr_array_set_size (self->sync_adds, 0);

  g_hash_table_iter_init (&iter, self->rules);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Rule *rule = value;

      if (rule->tag && g_hash_table_contains (self->owned, rule->tag) &&
          !value_wanted (self, rule->value))
        g_ptr_array_add (self->sync_deletes, g_strdup (rule->id));
    }

  g_hash_table_iter_init (&iter, self->tracks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      PajaroTrack *track = value;
      g_autofree char *wanted = rule_value (track);
      gboolean planned = FALSE;

      /* Two tags may want the same rule: it is added once. */
      for (guint i = 0; i < self->sync_adds->len; i++)
        {
          g_autofree char *other = rule_value (g_ptr_array_index (self->sync_adds, i));

          planned = planned || g_str_equal (other, wanted);
        }
      if (!planned && rule_with_value (self, wanted) == NULL)
        g_ptr_array_add (self->sync_adds, pajaro_track_ref (track));
    }
}

static void
listed_cb (PajaroTwitterSource *self,
           SoupMessage         *message,
           GBytes              *body,
           const GError        *error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GString) ids = NULL;
  PajaroFailure failure;
  gint64 hint;
  JsonArray *data;

  root = read_answer (self, message, body, error, &failure, &hint, &text);
  if (root == NULL)
    {
      sync_failed (self, failure, hint, text, !error && is_fatal (message));
      return;
    }

  g_hash_table_remove_all (self->rules);
  data = pajaro_json_get_array (json_node_get_object (root), "data");
  for (guint i = 0; data && i < json_array_get_length (data); i++)
    {
      JsonObject *rule = pajaro_json_array_get_object (data, i);
      const char *id = pajaro_json_get_string (rule, "id");
      const char *value = pajaro_json_get_string (rule, "value");

      if (id && value)
        rule_remember (self, id, value, pajaro_json_get_string (rule, "tag"));
    }

  plan_changes (self);
  if (self->sync_deletes->len == 0)
    {
      add_rules (self);
      return;
    }
  ids = g_string_new ("{\"delete\":{\"ids\":[");
  for (guint i = 0; i < self->sync_deletes->len; i++)
    {
      if (i > 0)
        g_string_append_c (ids, ',');
      jstp_json_append_string (ids, g_ptr_array_index (self->sync_deletes, i), -1);
    }
  g_string_append (ids, "]}}");
  rest_request (self, SOUP_METHOD_POST, ids->str, deleted_cb);
}

/* Reads the rules, then deletes and adds what differs from the tracks. */
static void
run_sync (PajaroTwitterSource *self)
{
  g_assert (!self->syncing);

  self->syncing = TRUE;
  self->sync_again = FALSE;
  g_ptr_array_extend_and_steal (self->waiting_now, g_steal_pointer (&self->waiting_next));
  self->waiting_next = g_ptr_array_new_with_free_func (g_object_unref);
  rest_request (self, SOUP_METHOD_GET, NULL, listed_cb);
}

static void
request_sync (PajaroTwitterSource *self,
              GTask               *task)
{
  if (!self->started || self->rules_retry_id != 0)
    {
      /* Before the start, or while backing off, the change waits for the
       * next attempt; its caller need not. */
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_ptr_array_add (self->waiting_next, g_object_ref (task));
  if (self->syncing)
    self->sync_again = TRUE;
  else
    run_sync (self);
}

/* ---- the stream -------------------------------------------------------- */

static void
stream_prepare (PajaroStream *stream,
                SoupMessage  *message,
                gpointer      user_data)
{
  add_authorization (user_data, message);
}

/* The tracked tags a tweet is for: those its rules are tagged with, and
 * those whose rule value one of its rules has (a rule may predate us, or
 * belong to another tag). */
static void
route (PajaroTwitterSource *self,
       PajaroPost          *post,
       GStrv                rule_ids)
{
  g_autoptr(GPtrArray) tags = g_steal_pointer (&post->tags);
  GHashTableIter iter;
  gpointer value;

  post->tags = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < tags->len; i++)
    if (g_hash_table_contains (self->tracks, g_ptr_array_index (tags, i)))
      pajaro_post_add_tag (post, g_ptr_array_index (tags, i));

  for (guint i = 0; rule_ids && rule_ids[i]; i++)
    {
      Rule *rule = g_hash_table_lookup (self->rules, rule_ids[i]);

      if (rule == NULL)
        continue;
      g_hash_table_iter_init (&iter, self->tracks);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          g_autofree char *wanted = rule_value (value);

          if (g_str_equal (wanted, rule->value))
            pajaro_post_add_tag (post, ((PajaroTrack *) value)->tag);
        }
    }
}

static void
stream_line (PajaroStream *stream,
             const char   *line,
             gsize         length,
             gboolean      oversize,
             gpointer      user_data)
{
  PajaroTwitterSource *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PajaroPost) post = NULL;
  g_auto(GStrv) rule_ids = NULL;
  g_autofree char *server_error = NULL;
  gsize i;

  if (oversize)
    {
      g_debug ("dropped a line of %" G_GSIZE_FORMAT " bytes", length);
      pajaro_source_emit_dropped (PAJARO_SOURCE (self), NULL, "oversize");
      return;
    }
  for (i = 0; i < length && g_ascii_isspace (line[i]); i++)
    ;
  if (i == length)
    return;   /* a keep-alive */

  post = pajaro_twitter_source_parse_line (line, length, &self->limits, &rule_ids,
                                           &server_error, &error);
  if (server_error)
    {
      /* An operational disconnect: the server closes next; do not wait. */
      pajaro_stream_fail (stream, PAJARO_FAILURE_NETWORK, server_error);
      return;
    }
  if (post == NULL)
    {
      g_debug ("dropped a malformed line: %s", error->message);
      pajaro_source_emit_dropped (PAJARO_SOURCE (self), NULL, "malformed");
      return;
    }

  route (self, post, rule_ids);
  if (post->tags->len == 0)
    {
      self->ignored++;
      return;
    }
  pajaro_source_emit_post (PAJARO_SOURCE (self), post);
}

/* ---- PajaroSource ------------------------------------------------------ */

static const char *
pajaro_twitter_source_get_name (PajaroSource *source)
{
  return "twitter";
}

static void
pajaro_twitter_source_start (PajaroSource *source)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (source);

  if (self->started)
    return;
  self->started = TRUE;
  pajaro_stream_start (self->stream);
  /* Tracks given before the start, and rules left from an earlier run. */
  if (g_hash_table_size (self->tracks) > 0 && !self->syncing)
    run_sync (self);
}

static void
pajaro_twitter_source_stop (PajaroSource *source)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (source);

  self->started = FALSE;
  pajaro_stream_stop (self->stream);
  rest_cancel (self);
  g_clear_handle_id (&self->rules_retry_id, g_source_remove);
  self->rules_retry_at = 0;
  if (self->syncing)
    {
      self->syncing = FALSE;
      g_ptr_array_extend_and_steal (self->waiting_now, g_steal_pointer (&self->waiting_next));
      self->waiting_next = g_ptr_array_new_with_free_func (g_object_unref);
      complete_waiting (self, self->waiting_now, "stopped");
    }
}

static void
pajaro_twitter_source_track_async (PajaroSource        *source,
                                   PajaroTrack         *track,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (source);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  guint64 *base;

  g_task_set_source_tag (task, pajaro_twitter_source_track_async);
  if (track->kind == PAJARO_TRACK_PUBLIC)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "the filtered stream has no public timeline");
      return;
    }

  g_task_set_task_data (task, g_strdup (track->tag), g_free);
  g_hash_table_remove (self->refused, track->tag);
  g_hash_table_replace (self->tracks, g_strdup (track->tag), pajaro_track_ref (track));
  g_hash_table_add (self->owned, g_strdup (track->tag));
  base = g_new (guint64, 1);
  *base = pajaro_stream_get_reconnects (self->stream);
  g_hash_table_replace (self->reconnect_base, g_strdup (track->tag), base);
  request_sync (self, task);
}

static gboolean
pajaro_twitter_source_track_finish (PajaroSource  *source,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
pajaro_twitter_source_untrack_async (PajaroSource        *source,
                                     const char          *tag,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (source);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, pajaro_twitter_source_untrack_async);
  g_hash_table_remove (self->reconnect_base, tag);
  g_hash_table_remove (self->refused, tag);
  if (!g_hash_table_remove (self->tracks, tag))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  request_sync (self, task);
}

static gboolean
pajaro_twitter_source_untrack_finish (PajaroSource  *source,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static char *
pajaro_twitter_source_dup_tag_state (PajaroSource *source,
                                     const char   *tag)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (source);
  PajaroTrack *track = g_hash_table_lookup (self->tracks, tag);
  g_autofree char *wanted = NULL;

  if (track == NULL)
    return NULL;
  wanted = rule_value (track);
  return g_strdup (rule_with_value (self, wanted) ? "active" : "pending");
}

static guint64
pajaro_twitter_source_get_reconnects (PajaroSource *source,
                                      const char   *tag)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (source);
  guint64 *base = g_hash_table_lookup (self->reconnect_base, tag);

  if (base == NULL)
    return 0;
  return pajaro_stream_get_reconnects (self->stream) - *base;
}

static void
pajaro_twitter_source_append_status_json (PajaroSource *source,
                                          GString      *out)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (source);
  const char *rules_state;

  if (self->syncing)
    rules_state = "syncing";
  else if (self->rules_retry_id)
    rules_state = "backing-off";
  else
    rules_state = "synced";

  g_string_append (out, "{\"name\":\"twitter\",\"url\":");
  jstp_json_append_string (out, self->base_url, -1);
  g_string_append (out, ",\"state\":");
  jstp_json_append_string (out,
                           pajaro_stream_state_to_string (pajaro_stream_get_state (self->stream)),
                           -1);
  g_string_append (out, ",\"retry_at\":");
  if (pajaro_stream_get_state (self->stream) == PAJARO_STREAM_BACKING_OFF)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, pajaro_stream_get_retry_at (self->stream));
  else
    g_string_append (out, "null");
  g_string_append (out, ",\"error\":");
  if (pajaro_stream_get_error (self->stream))
    jstp_json_append_string (out, pajaro_stream_get_error (self->stream), -1);
  else
    g_string_append (out, "null");
  g_string_append (out, ",\"stream\":");
  pajaro_stream_append_status_json (self->stream, out);

  g_string_append (out, ",\"rules\":{\"state\":");
  jstp_json_append_string (out, rules_state, -1);
  g_string_append (out, ",\"retry_at\":");
  if (self->rules_retry_id)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, self->rules_retry_at);
  else
    g_string_append (out, "null");
  g_string_append (out, ",\"error\":");
  if (self->rules_error)
    jstp_json_append_string (out, self->rules_error, -1);
  else
    g_string_append (out, "null");
  g_string_append_printf (out, ",\"count\":%u}", g_hash_table_size (self->rules));
  g_string_append_printf (out, ",\"ignored\":%" G_GUINT64_FORMAT "}", self->ignored);
}

static void
pajaro_twitter_source_iface_init (PajaroSourceInterface *iface)
{
  iface->get_name = pajaro_twitter_source_get_name;
  iface->start = pajaro_twitter_source_start;
  iface->stop = pajaro_twitter_source_stop;
  iface->track_async = pajaro_twitter_source_track_async;
  iface->track_finish = pajaro_twitter_source_track_finish;
  iface->untrack_async = pajaro_twitter_source_untrack_async;
  iface->untrack_finish = pajaro_twitter_source_untrack_finish;
  iface->dup_tag_state = pajaro_twitter_source_dup_tag_state;
  iface->get_reconnects = pajaro_twitter_source_get_reconnects;
  iface->append_status_json = pajaro_twitter_source_append_status_json;
}

/* ---- GObject ----------------------------------------------------------- */

PajaroTwitterSource *
pajaro_twitter_source_new (const char  *base_url,
                           const char  *bearer_token,
                           GError     **error)
{
  PajaroTwitterSource *self;
  g_autoptr(GUri) uri = NULL;
  g_autofree char *stream_uri = NULL;
  gsize length;
  static const PajaroStreamHandlers handlers = {
    .prepare = stream_prepare,
    .line = stream_line,
  };

  g_return_val_if_fail (base_url != NULL, NULL);
  g_return_val_if_fail (bearer_token != NULL, NULL);

  uri = g_uri_parse (base_url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL || (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
                      g_strcmp0 (g_uri_get_scheme (uri), "https") != 0) ||
      g_uri_get_host (uri) == NULL || g_uri_get_query (uri) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an http:// or https:// URL", base_url);
      return NULL;
    }

  self = g_object_new (PAJARO_TYPE_TWITTER_SOURCE, NULL);
  self->base_url = g_strdup (base_url);
  length = strlen (self->base_url);
  while (length > 0 && self->base_url[length - 1] == '/')
    self->base_url[--length] = '\0';

  length = strlen (bearer_token);
  self->bearer = sodium_malloc (length + 1);
  g_assert (self->bearer != NULL);
  memcpy (self->bearer, bearer_token, length + 1);

  stream_uri = g_strconcat (self->base_url, STREAM_PATH STREAM_QUERY, NULL);
  self->stream = pajaro_stream_new (self->session, stream_uri, PAJARO_BACKOFF_TWITTER);
  pajaro_stream_set_stall_timeout (self->stream, DEFAULT_STALL_TIMEOUT);
  pajaro_stream_set_handlers (self->stream, &handlers, self);
  return self;
}

void
pajaro_twitter_source_set_backoff_scale (PajaroTwitterSource *self,
                                         double               scale)
{
  g_return_if_fail (PAJARO_IS_TWITTER_SOURCE (self));
  g_return_if_fail (scale >= 0);

  pajaro_stream_set_backoff_scale (self->stream, scale);
  self->rules_backoff.scale = scale;
}

static void
pajaro_twitter_source_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (object);

  switch (prop_id)
    {
    case PROP_MAX_LINE:
      g_value_set_uint64 (value, pajaro_stream_get_max_line (self->stream));
      break;
    case PROP_STALL_TIMEOUT:
      g_value_set_uint (value, pajaro_stream_get_stall_timeout (self->stream));
      break;
    case PROP_REQUEST_TIMEOUT:
      g_value_set_uint (value, self->request_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pajaro_twitter_source_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (object);

  switch (prop_id)
    {
    case PROP_MAX_LINE:
      if (g_value_get_uint64 (value) != pajaro_stream_get_max_line (self->stream))
        {
          pajaro_stream_set_max_line (self->stream, g_value_get_uint64 (value));
          self->limits.max_size = g_value_get_uint64 (value);
          self->limits.max_string_length = MIN (self->limits.max_string_length,
                                                self->limits.max_size);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_STALL_TIMEOUT:
      if (g_value_get_uint (value) != pajaro_stream_get_stall_timeout (self->stream))
        {
          pajaro_stream_set_stall_timeout (self->stream, g_value_get_uint (value));
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_REQUEST_TIMEOUT:
      if (g_value_get_uint (value) != self->request_timeout)
        {
          self->request_timeout = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pajaro_twitter_source_dispose (GObject *object)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (object);

  if (self->stream)
    pajaro_twitter_source_stop (PAJARO_SOURCE (self));
  g_clear_object (&self->stream);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (pajaro_twitter_source_parent_class)->dispose (object);
}

static void
pajaro_twitter_source_finalize (GObject *object)
{
  PajaroTwitterSource *self = PAJARO_TWITTER_SOURCE (object);

  g_free (self->base_url);
  g_clear_pointer (&self->bearer, sodium_free);
  g_hash_table_unref (self->tracks);
  g_hash_table_unref (self->owned);
  g_hash_table_unref (self->reconnect_base);
  g_hash_table_unref (self->rules);
  g_hash_table_unref (self->refused);
  g_ptr_array_unref (self->waiting_now);
  g_ptr_array_unref (self->waiting_next);
  g_ptr_array_unref (self->sync_deletes);
  g_ptr_array_unref (self->sync_adds);
  g_free (self->rules_error);

  G_OBJECT_CLASS (pajaro_twitter_source_parent_class)->finalize (object);
}

static void
pajaro_twitter_source_class_init (PajaroTwitterSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = pajaro_twitter_source_get_property;
  object_class->set_property = pajaro_twitter_source_set_property;
  object_class->dispose = pajaro_twitter_source_dispose;
  object_class->finalize = pajaro_twitter_source_finalize;

  properties[PROP_MAX_LINE] =
    g_param_spec_uint64 ("max-line", NULL, NULL,
                         1, G_MAXUINT32, PAJARO_STREAM_DEFAULT_MAX_LINE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_uint ("stall-timeout", NULL, NULL,
                       0, G_MAXUINT, DEFAULT_STALL_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_REQUEST_TIMEOUT] =
    g_param_spec_uint ("request-timeout", NULL, NULL,
                       0, G_MAXUINT, DEFAULT_REQUEST_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pajaro_twitter_source_init (PajaroTwitterSource *self)
{
  if (sodium_init () < 0)
    g_error ("libsodium cannot start");

  /* Connections are long-lived: never let a stream queue behind another. */
  self->session = soup_session_new_with_options ("user-agent", "pajaro/" PACKAGE_VERSION,
                                                 "max-conns", 16,
                                                 "max-conns-per-host", 8,
                                                 NULL);
  self->request_timeout = DEFAULT_REQUEST_TIMEOUT;
  jstp_json_limits_init (&self->limits);
  self->limits.max_size = PAJARO_STREAM_DEFAULT_MAX_LINE;
  self->limits.max_depth = 32;

  self->tracks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) pajaro_track_unref);
  self->owned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->reconnect_base = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->rules = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, rule_free);
  self->refused = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->waiting_now = g_ptr_array_new_with_free_func (g_object_unref);
  self->waiting_next = g_ptr_array_new_with_free_func (g_object_unref);
  self->sync_deletes = g_ptr_array_new_with_free_func (g_free);
  self->sync_adds = g_ptr_array_new_with_free_func ((GDestroyNotify) pajaro_track_unref);
  pajaro_backoff_init (&self->rules_backoff, PAJARO_BACKOFF_TWITTER);
}
