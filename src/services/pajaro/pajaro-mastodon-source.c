/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <sodium.h>

#include "pajaro-json.h"
#include "pajaro-mastodon-source.h"
#include "pajaro-stream.h"

#define HASHTAG_PATH "/api/v1/streaming/hashtag?tag="
#define PUBLIC_PATH  "/api/v1/streaming/public"

/* Heartbeats come every 15 s or so; three missed ones mean a dead link. */
#define DEFAULT_STALL_TIMEOUT 60000
/* A status with a long text and many attachments is a few tens of KiB. */
#define DEFAULT_MAX_EVENT (512 * 1024)
#define MAX_STATUS_ID 64

/* One server-sent event stream: a hashtag's, or the public timeline's. */
typedef struct {
  PajaroMastodonSource *self;
  char *tag;              /* NULL for the public timeline */
  PajaroStream *stream;

  /* The event being read. */
  char *event;
  GString *data;
  gboolean has_data;
  gboolean oversize;
} Feed;

struct _PajaroMastodonSource {
  GObject parent_instance;

  char *base_url;             /* without a trailing slash */
  char *token;                /* sodium_malloc()ed; NULL without one */
  SoupSession *session;
  gboolean started;
  JstpJsonLimits limits;
  gsize max_event;
  guint stall_timeout;
  double backoff_scale;

  GHashTable *tracks;         /* tag → PajaroTrack */
  GHashTable *feeds;          /* tag → Feed, hashtag tracks */
  Feed *public_feed;          /* while a keyword or public track exists */
  GHashTable *public_base;    /* tag → the public feed's reconnects when tracked */

  guint64 ignored;
};

static void pajaro_mastodon_source_iface_init (PajaroSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PajaroMastodonSource, pajaro_mastodon_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PAJARO_TYPE_SOURCE,
                                                      pajaro_mastodon_source_iface_init))

enum {
  PROP_0,
  PROP_MAX_EVENT,
  PROP_STALL_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- HTML to text ------------------------------------------------------ */

/* The value of attribute @name in the tag text [@tag, @end), decoded;
 * Mastodon's sanitizer writes lower-case names and double quotes. */
static char *
tag_attribute (const char *tag,
               const char *end,
               const char *name)
{
  gsize name_length = strlen (name);

  for (const char *p = tag; p + name_length + 2 < end; p++)
    {
      const char *value, *close;
      char quote;
      g_autofree char *raw = NULL;

      if (!g_ascii_isspace (*p) || strncmp (p + 1, name, name_length) != 0 ||
          p[1 + name_length] != '=')
        continue;
      value = p + 2 + name_length;
      quote = *value;
      if (quote != '"' && quote != '\'')
        return NULL;
      close = memchr (value + 1, quote, end - value - 1);
      if (close == NULL)
        return NULL;
      raw = g_strndup (value + 1, close - value - 1);
      return pajaro_mastodon_source_html_to_text (raw, NULL);
    }
  return NULL;
}

/* Appends the character an entity at @p stands for; returns its length,
 * or 0 when @p does not start a known entity. */
static gsize
decode_entity (const char *p,
               GString    *out)
{
  static const struct { const char *name; const char *text; } named[] = {
    { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
    { "&apos;", "'" }, { "&nbsp;", "\xc2\xa0" },
  };
  const char *semicolon;
  guint64 code;
  g_autofree char *digits = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (named); i++)
    if (g_str_has_prefix (p, named[i].name))
      {
        g_string_append (out, named[i].text);
        return strlen (named[i].name);
      }
  if (p[1] != '#')
    return 0;
  semicolon = strchr (p, ';');
  if (semicolon == NULL || semicolon - p > 10 || semicolon - p < 3)
    return 0;
  if (p[2] == 'x' || p[2] == 'X')
    {
      digits = g_strndup (p + 3, semicolon - p - 3);
      if (!g_ascii_string_to_unsigned (digits, 16, 1, 0x10FFFF, &code, NULL))
        return 0;
    }
  else
    {
      digits = g_strndup (p + 2, semicolon - p - 2);
      if (!g_ascii_string_to_unsigned (digits, 10, 1, 0x10FFFF, &code, NULL))
        return 0;
    }
  if (!g_unichar_validate ((gunichar) code))
    return 0;
  g_string_append_unichar (out, (gunichar) code);
  return semicolon - p + 1;
}

static void
paragraph_break (GString *out)
{
  while (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  if (out->len > 0)
    g_string_append (out, "\n\n");
}

char *
pajaro_mastodon_source_html_to_text (const char *content,
                                     GPtrArray  *links)
{
  GString *out;
  const char *p = content;

  g_return_val_if_fail (content != NULL, NULL);

  out = g_string_sized_new (strlen (content));
  while (*p)
    {
      if (*p == '<')
        {
          const char *end = strchr (p, '>');
          const char *name = p + 1;
          gboolean closing = FALSE;
          gsize name_length = 0;

          if (end == NULL)
            break;    /* a cut tag: nothing after it is text */
          if (*name == '/')
            {
              closing = TRUE;
              name++;
            }
          while (g_ascii_isalnum (name[name_length]))
            name_length++;

          if (name_length == 2 && g_ascii_strncasecmp (name, "br", 2) == 0)
            g_string_append_c (out, '\n');
          else if (name_length == 1 && g_ascii_tolower (*name) == 'p' && !closing)
            paragraph_break (out);
          else if (name_length == 1 && g_ascii_tolower (*name) == 'a' && !closing && links)
            {
              g_autofree char *href = tag_attribute (name, end, "href");
              g_autofree char *class = tag_attribute (name, end, "class");

              /* Mentions and hashtags link to the server itself. */
              if (href && (class == NULL || (strstr (class, "mention") == NULL &&
                                             strstr (class, "hashtag") == NULL)))
                {
                  gboolean seen = FALSE;

                  for (guint i = 0; i < links->len; i++)
                    seen = seen || g_str_equal (g_ptr_array_index (links, i), href);
                  if (!seen && (g_str_has_prefix (href, "http://") ||
                                g_str_has_prefix (href, "https://")))
                    g_ptr_array_add (links, g_steal_pointer (&href));
                }
            }
          p = end + 1;
        }
      else if (*p == '&')
        {
          gsize used = decode_entity (p, out);

          if (used == 0)
            g_string_append_c (out, *p++);
          else
            p += used;
        }
      else
        g_string_append_c (out, *p++);
    }

  while (out->len > 0 && g_ascii_isspace (out->str[out->len - 1]))
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

/* ---- statuses ---------------------------------------------------------- */

PajaroPost *
pajaro_mastodon_source_parse_status (const char            *json,
                                     gsize                  length,
                                     const JstpJsonLimits  *limits,
                                     GError               **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(PajaroPost) post = NULL;
  g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func (g_free);
  JsonObject *status, *reblog, *account, *card;
  JsonArray *attachments;
  const char *id, *content, *url, *username, *name;

  g_return_val_if_fail (json != NULL, NULL);

  root = pajaro_json_parse (json, length, limits, error);
  if (root == NULL)
    return NULL;
  status = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  reblog = pajaro_json_get_object (status, "reblog");
  if (reblog)
    status = reblog;

  id = pajaro_json_get_string (status, "id");
  content = pajaro_json_get_string (status, "content");
  account = pajaro_json_get_object (status, "account");
  if (id == NULL || *id == '\0' || content == NULL || account == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "not a status: id, content and account are required");
      return NULL;
    }

  post = pajaro_post_new ("mastodon", id);
  g_free (post->text);
  post->text = pajaro_mastodon_source_html_to_text (content, links);
  pajaro_post_set_created_at (post, pajaro_json_get_string (status, "created_at"));
  url = pajaro_json_get_string (status, "url");
  post->url = g_strdup (url ? url : pajaro_json_get_string (status, "uri"));

  username = pajaro_json_get_string (account, "acct");
  if (username == NULL)
    username = pajaro_json_get_string (account, "username");
  name = pajaro_json_get_string (account, "display_name");
  post->author_id = g_strdup (pajaro_json_get_string (account, "id"));
  post->author_username = g_strdup (username);
  post->author_name = g_strdup (name && *name ? name : username);
  post->author_url = g_strdup (pajaro_json_get_string (account, "url"));

  for (guint i = 0; i < links->len; i++)
    pajaro_post_add_link (post, g_ptr_array_index (links, i));
  card = pajaro_json_get_object (status, "card");
  pajaro_post_add_link (post, pajaro_json_get_string (card, "url"));

  attachments = pajaro_json_get_array (status, "media_attachments");
  for (guint i = 0; attachments && i < json_array_get_length (attachments); i++)
    {
      JsonObject *media = pajaro_json_array_get_object (attachments, i);
      const char *media_url = pajaro_json_get_string (media, "url");

      if (media == NULL)
        continue;
      pajaro_post_add_media (post, pajaro_json_get_string (media, "type"),
                             media_url ? media_url : pajaro_json_get_string (media, "remote_url"),
                             pajaro_json_get_string (media, "preview_url"));
    }
  return g_steal_pointer (&post);
}

/* ---- feeds ------------------------------------------------------------- */

static void
feed_reset_event (Feed *feed)
{
  g_clear_pointer (&feed->event, g_free);
  g_string_truncate (feed->data, 0);
  feed->has_data = FALSE;
  feed->oversize = FALSE;
}

static void
feed_update (Feed       *feed,
             const char *data,
             gsize       length)
{
  PajaroMastodonSource *self = feed->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(PajaroPost) post = NULL;

  post = pajaro_mastodon_source_parse_status (data, length, &self->limits, &error);
  if (post == NULL)
    {
      g_debug ("dropped a malformed status: %s", error->message);
      pajaro_source_emit_dropped (PAJARO_SOURCE (self), feed->tag, "malformed");
      return;
    }

  if (feed->tag)
    pajaro_post_add_tag (post, feed->tag);
  else
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->tracks);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          PajaroTrack *track = value;

          if (track->kind != PAJARO_TRACK_HASHTAG && pajaro_track_matches_text (track, post->text))
            pajaro_post_add_tag (post, track->tag);
        }
    }

  if (post->tags->len == 0)
    {
      self->ignored++;
      return;
    }
  pajaro_source_emit_post (PAJARO_SOURCE (self), post);
}

static void
feed_delete (Feed       *feed,
             const char *data)
{
  PajaroMastodonSource *self = feed->self;
  g_autofree char *id = g_strstrip (g_strdup (data));
  GHashTableIter iter;
  gpointer value;

  if (*id == '\0' || strlen (id) > MAX_STATUS_ID)
    {
      pajaro_source_emit_dropped (PAJARO_SOURCE (self), feed->tag, "malformed");
      return;
    }
  if (feed->tag)
    {
      pajaro_source_emit_deleted (PAJARO_SOURCE (self), id, feed->tag);
      return;
    }
  /* The service passes on only deletions of posts it delivered. */
  g_hash_table_iter_init (&iter, self->tracks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((PajaroTrack *) value)->kind != PAJARO_TRACK_HASHTAG)
      pajaro_source_emit_deleted (PAJARO_SOURCE (self), id, ((PajaroTrack *) value)->tag);
}

static void
feed_dispatch (Feed *feed)
{
  if (feed->oversize)
    {
      pajaro_source_emit_dropped (PAJARO_SOURCE (feed->self), feed->tag, "oversize");
      return;
    }
  if (!feed->has_data || feed->event == NULL)
    return;   /* "message" events, which Mastodon does not send */
  if (g_str_equal (feed->event, "update"))
    feed_update (feed, feed->data->str, feed->data->len);
  else if (g_str_equal (feed->event, "delete"))
    feed_delete (feed, feed->data->str);
  else
    g_debug ("ignored a “%s” event", feed->event);
}

/* Server-sent events, as the HTML standard parses them. */
static void
feed_line (PajaroStream *stream,
           const char   *line,
           gsize         length,
           gboolean      oversize,
           gpointer      user_data)
{
  Feed *feed = user_data;
  const char *colon, *value;
  gsize name_length, value_length;

  if (oversize)
    {
      feed->oversize = TRUE;
      return;
    }
  if (length == 0)
    {
      feed_dispatch (feed);
      feed_reset_event (feed);
      return;
    }
  if (line[0] == ':')
    return;   /* a comment: the heartbeat */

  colon = memchr (line, ':', length);
  name_length = colon ? (gsize) (colon - line) : length;
  value = colon ? colon + 1 : line + length;
  if (colon && value < line + length && *value == ' ')
    value++;
  value_length = line + length - value;

  if (name_length == 5 && memcmp (line, "event", 5) == 0)
    {
      g_free (feed->event);
      feed->event = g_strndup (value, value_length);
    }
  else if (name_length == 4 && memcmp (line, "data", 4) == 0)
    {
      if (feed->data->len + value_length + 1 > feed->self->max_event)
        {
          feed->oversize = TRUE;
          g_string_truncate (feed->data, 0);
          return;
        }
      if (feed->has_data)
        g_string_append_c (feed->data, '\n');
      g_string_append_len (feed->data, value, value_length);
      feed->has_data = TRUE;
    }
  /* "id" and "retry" are not used by Mastodon; other fields are ignored. */
}

static void
feed_connected (PajaroStream *stream,
                gpointer      user_data)
{
  feed_reset_event (user_data);
}

static void
feed_prepare (PajaroStream *stream,
              SoupMessage  *message,
              gpointer      user_data)
{
  Feed *feed = user_data;
  SoupMessageHeaders *headers = soup_message_get_request_headers (message);

  soup_message_headers_replace (headers, "Accept", "text/event-stream");
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  if (feed->self->token)
    {
      g_autofree char *value = g_strconcat ("Bearer ", feed->self->token, NULL);

      soup_message_headers_replace (headers, "Authorization", value);
      sodium_memzero (value, strlen (value));
    }
}

static Feed *
feed_new (PajaroMastodonSource *self,
          const char           *tag)
{
  static const PajaroStreamHandlers handlers = {
    .prepare = feed_prepare,
    .connected = feed_connected,
    .line = feed_line,
  };
  Feed *feed = g_new0 (Feed, 1);
  g_autofree char *uri = NULL;

  feed->self = self;
  feed->tag = g_strdup (tag);
  feed->data = g_string_new (NULL);
  if (tag)
    {
      g_autofree char *escaped = g_uri_escape_string (tag, NULL, FALSE);

      uri = g_strconcat (self->base_url, HASHTAG_PATH, escaped, NULL);
    }
  else
    uri = g_strconcat (self->base_url, PUBLIC_PATH, NULL);

  feed->stream = pajaro_stream_new (self->session, uri, PAJARO_BACKOFF_MASTODON);
  /* A line holds at most one event's data. */
  pajaro_stream_set_max_line (feed->stream, self->max_event);
  pajaro_stream_set_stall_timeout (feed->stream, self->stall_timeout);
  pajaro_stream_set_backoff_scale (feed->stream, self->backoff_scale);
  pajaro_stream_set_handlers (feed->stream, &handlers, feed);
  if (self->started)
    pajaro_stream_start (feed->stream);
  return feed;
}

static void
feed_free_now (gpointer data)
{
  Feed *feed = data;

  g_object_unref (feed->stream);
  g_free (feed->tag);
  g_free (feed->event);
  g_string_free (feed->data, TRUE);
  g_free (feed);
}

/* A track may go while its feed is delivering (a subscriber untracks on
 * the post it receives): the feed stops now and goes once that is over. */
static void
feed_free (gpointer data)
{
  Feed *feed = data;

  pajaro_stream_stop (feed->stream);
  g_idle_add_once (feed_free_now, feed);
}

static gboolean
needs_public_feed (PajaroMastodonSource *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->tracks);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((PajaroTrack *) value)->kind != PAJARO_TRACK_HASHTAG)
      return TRUE;
  return FALSE;
}

static Feed *
feed_for_tag (PajaroMastodonSource *self,
              const char           *tag)
{
  PajaroTrack *track = g_hash_table_lookup (self->tracks, tag);

  if (track == NULL)
    return NULL;
  if (track->kind == PAJARO_TRACK_HASHTAG)
    return g_hash_table_lookup (self->feeds, tag);
  return self->public_feed;
}

/* ---- PajaroSource ------------------------------------------------------ */

static const char *
pajaro_mastodon_source_get_name (PajaroSource *source)
{
  return "mastodon";
}

static void
for_each_feed (PajaroMastodonSource *self,
               void                (*func) (PajaroStream *))
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->feeds);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    func (((Feed *) value)->stream);
  if (self->public_feed)
    func (self->public_feed->stream);
}

static void
pajaro_mastodon_source_start (PajaroSource *source)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (source);

  if (self->started)
    return;
  self->started = TRUE;
  for_each_feed (self, pajaro_stream_start);
}

static void
pajaro_mastodon_source_stop (PajaroSource *source)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (source);

  self->started = FALSE;
  for_each_feed (self, pajaro_stream_stop);
}

static void
remove_track (PajaroMastodonSource *self,
              const char           *tag)
{
  g_hash_table_remove (self->feeds, tag);
  g_hash_table_remove (self->public_base, tag);
  g_hash_table_remove (self->tracks, tag);
  if (self->public_feed && !needs_public_feed (self))
    g_clear_pointer (&self->public_feed, feed_free);
}

/* A stream is a subscription: it exists once asked for, and connecting
 * is its own business (shown in the status), so this completes at once. */
static void
pajaro_mastodon_source_track_async (PajaroSource        *source,
                                    PajaroTrack         *track,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (source);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  PajaroTrack *old = g_hash_table_lookup (self->tracks, track->tag);

  g_task_set_source_tag (task, pajaro_mastodon_source_track_async);
  if (old && pajaro_track_equal (old, track))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (old)
    remove_track (self, track->tag);

  g_hash_table_replace (self->tracks, g_strdup (track->tag), pajaro_track_ref (track));
  if (track->kind == PAJARO_TRACK_HASHTAG)
    g_hash_table_replace (self->feeds, g_strdup (track->tag), feed_new (self, track->tag));
  else
    {
      guint64 *base = g_new (guint64, 1);

      if (self->public_feed == NULL)
        self->public_feed = feed_new (self, NULL);
      *base = pajaro_stream_get_reconnects (self->public_feed->stream);
      g_hash_table_replace (self->public_base, g_strdup (track->tag), base);
    }
  g_task_return_boolean (task, TRUE);
}

static gboolean
pajaro_mastodon_source_track_finish (PajaroSource  *source,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
pajaro_mastodon_source_untrack_async (PajaroSource        *source,
                                      const char          *tag,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (source);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, pajaro_mastodon_source_untrack_async);
  remove_track (self, tag);
  g_task_return_boolean (task, TRUE);
}

static gboolean
pajaro_mastodon_source_untrack_finish (PajaroSource  *source,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static char *
pajaro_mastodon_source_dup_tag_state (PajaroSource *source,
                                      const char   *tag)
{
  Feed *feed = feed_for_tag (PAJARO_MASTODON_SOURCE (source), tag);

  if (feed == NULL)
    return NULL;
  return g_strdup (pajaro_stream_get_state (feed->stream) == PAJARO_STREAM_STREAMING
                   ? "active" : "pending");
}

static guint64
pajaro_mastodon_source_get_reconnects (PajaroSource *source,
                                       const char   *tag)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (source);
  Feed *feed = feed_for_tag (self, tag);
  guint64 *base;

  if (feed == NULL)
    return 0;
  base = feed->tag ? NULL : g_hash_table_lookup (self->public_base, tag);
  return pajaro_stream_get_reconnects (feed->stream) - (base ? *base : 0);
}

static int
state_rank (PajaroStreamState state)
{
  switch (state)
    {
    case PAJARO_STREAM_BACKING_OFF: return 3;
    case PAJARO_STREAM_CONNECTING:  return 2;
    case PAJARO_STREAM_STREAMING:   return 1;
    case PAJARO_STREAM_STOPPED:     return 0;
    default:                        g_assert_not_reached ();
    }
}

static void
pajaro_mastodon_source_append_status_json (PajaroSource *source,
                                           GString      *out)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (source);
  g_autoptr(GPtrArray) feeds = g_ptr_array_new ();
  g_autoptr(GList) tags = NULL;
  PajaroStream *worst = NULL;

  tags = g_list_sort (g_hash_table_get_keys (self->feeds), (GCompareFunc) g_strcmp0);
  for (GList *l = tags; l; l = l->next)
    g_ptr_array_add (feeds, g_hash_table_lookup (self->feeds, l->data));
  if (self->public_feed)
    g_ptr_array_add (feeds, self->public_feed);

  for (guint i = 0; i < feeds->len; i++)
    {
      PajaroStream *stream = ((Feed *) g_ptr_array_index (feeds, i))->stream;
      int rank = state_rank (pajaro_stream_get_state (stream));
      int worst_rank = worst ? state_rank (pajaro_stream_get_state (worst)) : -1;

      /* Of two streams backing off, the one that waits longest. */
      if (rank > worst_rank ||
          (rank == worst_rank && pajaro_stream_get_state (stream) == PAJARO_STREAM_BACKING_OFF &&
           pajaro_stream_get_retry_at (stream) > pajaro_stream_get_retry_at (worst)))
        worst = stream;
    }

  g_string_append (out, "{\"name\":\"mastodon\",\"url\":");
  jstp_json_append_string (out, self->base_url, -1);
  g_string_append (out, ",\"state\":");
  if (worst == NULL)
    g_string_append (out, self->started ? "\"idle\"" : "\"stopped\"");
  else
    jstp_json_append_string (out,
                             pajaro_stream_state_to_string (pajaro_stream_get_state (worst)), -1);
  g_string_append (out, ",\"retry_at\":");
  if (worst && pajaro_stream_get_state (worst) == PAJARO_STREAM_BACKING_OFF)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, pajaro_stream_get_retry_at (worst));
  else
    g_string_append (out, "null");
  g_string_append (out, ",\"error\":");
  if (worst && pajaro_stream_get_error (worst))
    jstp_json_append_string (out, pajaro_stream_get_error (worst), -1);
  else
    g_string_append (out, "null");

  g_string_append (out, ",\"streams\":{");
  for (guint i = 0; i < feeds->len; i++)
    {
      Feed *feed = g_ptr_array_index (feeds, i);

      if (i > 0)
        g_string_append_c (out, ',');
      /* No tag holds a space: the public timeline's key cannot clash. */
      jstp_json_append_string (out, feed->tag ? feed->tag : "public timeline", -1);
      g_string_append_c (out, ':');
      pajaro_stream_append_status_json (feed->stream, out);
    }
  g_string_append_printf (out, "},\"ignored\":%" G_GUINT64_FORMAT "}", self->ignored);
}

static void
pajaro_mastodon_source_iface_init (PajaroSourceInterface *iface)
{
  iface->get_name = pajaro_mastodon_source_get_name;
  iface->start = pajaro_mastodon_source_start;
  iface->stop = pajaro_mastodon_source_stop;
  iface->track_async = pajaro_mastodon_source_track_async;
  iface->track_finish = pajaro_mastodon_source_track_finish;
  iface->untrack_async = pajaro_mastodon_source_untrack_async;
  iface->untrack_finish = pajaro_mastodon_source_untrack_finish;
  iface->dup_tag_state = pajaro_mastodon_source_dup_tag_state;
  iface->get_reconnects = pajaro_mastodon_source_get_reconnects;
  iface->append_status_json = pajaro_mastodon_source_append_status_json;
}

/* ---- GObject ----------------------------------------------------------- */

PajaroMastodonSource *
pajaro_mastodon_source_new (const char  *base_url,
                            const char  *access_token,
                            GError     **error)
{
  PajaroMastodonSource *self;
  g_autoptr(GUri) uri = NULL;
  gsize length;

  g_return_val_if_fail (base_url != NULL, NULL);

  uri = g_uri_parse (base_url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL || (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 &&
                      g_strcmp0 (g_uri_get_scheme (uri), "https") != 0) ||
      g_uri_get_host (uri) == NULL || g_uri_get_query (uri) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an http:// or https:// URL", base_url);
      return NULL;
    }

  self = g_object_new (PAJARO_TYPE_MASTODON_SOURCE, NULL);
  self->base_url = g_strdup (base_url);
  length = strlen (self->base_url);
  while (length > 0 && self->base_url[length - 1] == '/')
    self->base_url[--length] = '\0';

  if (access_token && *access_token)
    {
      length = strlen (access_token);
      self->token = sodium_malloc (length + 1);
      g_assert (self->token != NULL);
      memcpy (self->token, access_token, length + 1);
    }
  return self;
}

void
pajaro_mastodon_source_set_backoff_scale (PajaroMastodonSource *self,
                                          double                scale)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (PAJARO_IS_MASTODON_SOURCE (self));
  g_return_if_fail (scale >= 0);

  self->backoff_scale = scale;
  g_hash_table_iter_init (&iter, self->feeds);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    pajaro_stream_set_backoff_scale (((Feed *) value)->stream, scale);
  if (self->public_feed)
    pajaro_stream_set_backoff_scale (self->public_feed->stream, scale);
}

static void
pajaro_mastodon_source_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (object);

  switch (prop_id)
    {
    case PROP_MAX_EVENT:
      g_value_set_uint64 (value, self->max_event);
      break;
    case PROP_STALL_TIMEOUT:
      g_value_set_uint (value, self->stall_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pajaro_mastodon_source_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (object);
  GHashTableIter iter;
  gpointer feed;

  switch (prop_id)
    {
    case PROP_MAX_EVENT:
      if (g_value_get_uint64 (value) == self->max_event)
        break;
      self->max_event = g_value_get_uint64 (value);
      self->limits.max_size = self->max_event;
      self->limits.max_string_length = MIN (self->limits.max_string_length, self->max_event);
      g_hash_table_iter_init (&iter, self->feeds);
      while (g_hash_table_iter_next (&iter, NULL, &feed))
        pajaro_stream_set_max_line (((Feed *) feed)->stream, self->max_event);
      if (self->public_feed)
        pajaro_stream_set_max_line (self->public_feed->stream, self->max_event);
      g_object_notify_by_pspec (object, pspec);
      break;
    case PROP_STALL_TIMEOUT:
      if (g_value_get_uint (value) == self->stall_timeout)
        break;
      self->stall_timeout = g_value_get_uint (value);
      g_hash_table_iter_init (&iter, self->feeds);
      while (g_hash_table_iter_next (&iter, NULL, &feed))
        pajaro_stream_set_stall_timeout (((Feed *) feed)->stream, self->stall_timeout);
      if (self->public_feed)
        pajaro_stream_set_stall_timeout (self->public_feed->stream, self->stall_timeout);
      g_object_notify_by_pspec (object, pspec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pajaro_mastodon_source_dispose (GObject *object)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (object);

  self->started = FALSE;
  g_hash_table_remove_all (self->feeds);
  g_clear_pointer (&self->public_feed, feed_free);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (pajaro_mastodon_source_parent_class)->dispose (object);
}

static void
pajaro_mastodon_source_finalize (GObject *object)
{
  PajaroMastodonSource *self = PAJARO_MASTODON_SOURCE (object);

  g_free (self->base_url);
  g_clear_pointer (&self->token, sodium_free);
  g_hash_table_unref (self->tracks);
  g_hash_table_unref (self->feeds);
  g_hash_table_unref (self->public_base);

  G_OBJECT_CLASS (pajaro_mastodon_source_parent_class)->finalize (object);
}

static void
pajaro_mastodon_source_class_init (PajaroMastodonSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = pajaro_mastodon_source_get_property;
  object_class->set_property = pajaro_mastodon_source_set_property;
  object_class->dispose = pajaro_mastodon_source_dispose;
  object_class->finalize = pajaro_mastodon_source_finalize;

  properties[PROP_MAX_EVENT] =
    g_param_spec_uint64 ("max-event", NULL, NULL,
                         1, G_MAXUINT32, DEFAULT_MAX_EVENT,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_STALL_TIMEOUT] =
    g_param_spec_uint ("stall-timeout", NULL, NULL,
                       0, G_MAXUINT, DEFAULT_STALL_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pajaro_mastodon_source_init (PajaroMastodonSource *self)
{
  if (sodium_init () < 0)
    g_error ("libsodium cannot start");

  /* One long-lived connection per hashtag: libsoup's default of two per
   * host would leave the third stream queued for ever. */
  self->session = soup_session_new_with_options ("user-agent", "pajaro/" PACKAGE_VERSION,
                                                 "max-conns", 1024,
                                                 "max-conns-per-host", 1024,
                                                 NULL);
  self->max_event = DEFAULT_MAX_EVENT;
  self->stall_timeout = DEFAULT_STALL_TIMEOUT;
  self->backoff_scale = 1.0;
  jstp_json_limits_init (&self->limits);
  self->limits.max_size = DEFAULT_MAX_EVENT;
  self->limits.max_depth = 32;

  self->tracks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) pajaro_track_unref);
  self->feeds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, feed_free);
  self->public_base = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}
