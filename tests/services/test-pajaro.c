/* SPDX-License-Identifier: MIT */
/* test-pajaro.c: Pajaro against local servers that speak each network's
 * streaming API (libsoup servers on loopback, started by the test), with
 * JSTP clients that track tags and receive posts over TCP and WebSocket.
 *
 * The fake Twitter serves the rules endpoints (and remembers every change)
 * and the filtered stream as chunked JSON lines with "\r\n" keep-alives;
 * the fake Mastodon serves hashtag and public streams as server-sent
 * events with ":thump" heartbeats. Both can drop a stream mid-way or
 * answer 429, to check reconnection and backoff. */
#include <signal.h>
#include <string.h>
#include <libsoup/soup.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "pajaro-backoff.h"
#include "pajaro-mastodon-source.h"
#include "pajaro-service.h"
#include "pajaro-twitter-source.h"
#include "test-utils.h"

#define BEARER "test-bearer"
#define TOKEN  "test-token"
/* Shortens every backoff delay a hundredfold; rate-limit resets are not. */
#define BACKOFF_SCALE 0.01
#define TIMEOUT 5000

static guint16
server_port (SoupServer *server)
{
  GSList *uris = soup_server_get_uris (server);
  guint16 port = (guint16) g_uri_get_port (uris->data);

  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return port;
}

static SoupServer *
server_new (void)
{
  g_autoptr(GError) error = NULL;
  SoupServer *server = soup_server_new (NULL, NULL);

  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  return server;
}

static gboolean
authorized (SoupServerMessage *msg,
            const char        *token)
{
  const char *value = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                    "Authorization");
  g_autofree char *expected = g_strconcat ("Bearer ", token, NULL);

  return g_strcmp0 (value, expected) == 0;
}

/* A chunked body left open: data is pushed later, or it is dropped. */
static void
open_stream (SoupServerMessage *msg,
             const char        *content_type,
             const char        *first)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (headers, content_type, NULL);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                            first, strlen (first));
}

static void
push (SoupServerMessage *msg,
      const char        *text)
{
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                            text, strlen (text));
  soup_server_message_unpause (msg);
}

/* Drops the connection under the response, as a network failure would. */
static void
abort_stream (SoupServerMessage *msg)
{
  g_autoptr(GIOStream) connection = soup_server_message_steal_connection (msg);

  g_io_stream_close (connection, NULL, NULL);
}

/* ---- a fake Twitter ---------------------------------------------------- */

typedef struct {
  SoupServer *server;
  GPtrArray *log;           /* "add VALUE TAG", "delete ID", "list" */
  GPtrArray *rules;         /* GStrv { id, value, tag } */
  guint next_id;
  GPtrArray *streams;       /* SoupServerMessage, open */
  guint connections;        /* stream requests answered 200 */
  guint requests;           /* stream requests */
  guint answer_429;         /* the next stream requests answered 429 */
  gint64 reset_at;          /* x-rate-limit-reset of those, s */
  char *query;              /* of the last stream request */
  gboolean bad_auth;
  guint rules_429;          /* the next rules requests answered 429 */
  gboolean hold_rules;      /* rules requests wait for twitter_release() */
  GPtrArray *held;          /* SoupServerMessage */
} Twitter;

static void
twitter_stream_finished (SoupServerMessage *msg,
                         Twitter           *twitter)
{
  g_ptr_array_remove (twitter->streams, msg);
}

static const char *
twitter_rule_id (Twitter    *twitter,
                 const char *value)
{
  for (guint i = 0; i < twitter->rules->len; i++)
    {
      char **rule = g_ptr_array_index (twitter->rules, i);

      if (g_str_equal (rule[1], value))
        return rule[0];
    }
  return NULL;
}

static void
twitter_rules_answer (SoupServerMessage *msg,
                      guint              status,
                      const char        *body)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body,
                                    strlen (body));
}

static void
twitter_rules (Twitter           *twitter,
               SoupServerMessage *msg)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(JsonParser) parser = NULL;
  SoupMessageBody *request = soup_server_message_get_request_body (msg);
  JsonObject *root;

  if (g_str_equal (soup_server_message_get_method (msg), "GET"))
    {
      g_ptr_array_add (twitter->log, g_strdup ("list"));
      g_string_append (out, "{");
      if (twitter->rules->len > 0)
        {
          g_string_append (out, "\"data\":[");
          for (guint i = 0; i < twitter->rules->len; i++)
            {
              char **rule = g_ptr_array_index (twitter->rules, i);

              g_string_append_printf (out, "%s{\"id\":\"%s\",\"value\":\"%s\",\"tag\":\"%s\"}",
                                      i ? "," : "", rule[0], rule[1], rule[2]);
            }
          g_string_append (out, "],");
        }
      g_string_append_printf (out, "\"meta\":{\"sent\":\"2024-05-01T10:00:00.000Z\","
                              "\"result_count\":%u}}", twitter->rules->len);
      twitter_rules_answer (msg, 200, out->str);
      return;
    }

  parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, request->data, request->length, NULL));
  root = json_node_get_object (json_parser_get_root (parser));
  if (json_object_has_member (root, "add"))
    {
      JsonArray *add = json_object_get_array_member (root, "add");
      g_autoptr(GString) data = g_string_new (NULL);
      g_autoptr(GString) errors = g_string_new (NULL);

      for (guint i = 0; i < json_array_get_length (add); i++)
        {
          JsonObject *rule = json_array_get_object_element (add, i);
          const char *value = json_object_get_string_member (rule, "value");
          const char *tag = json_object_get_string_member (rule, "tag");
          const char *existing = twitter_rule_id (twitter, value);
          char *id;

          g_ptr_array_add (twitter->log, g_strdup_printf ("add %s %s", value, tag));
          if (existing)
            {
              g_string_append_printf (errors, "%s{\"value\":\"%s\",\"id\":\"%s\","
                                      "\"title\":\"DuplicateRule\",\"type\":"
                                      "\"https://api.twitter.com/2/problems/duplicate-rules\"}",
                                      errors->len ? "," : "", value, existing);
              continue;
            }
          id = g_strdup_printf ("%u", 1000 + twitter->next_id++);
          g_ptr_array_add (twitter->rules, g_strdupv ((char *[]) { id, (char *) value,
                                                                   (char *) tag, NULL }));
          g_string_append_printf (data, "%s{\"value\":\"%s\",\"tag\":\"%s\",\"id\":\"%s\"}",
                                  data->len ? "," : "", value, tag, id);
          g_free (id);
        }
      g_string_append_printf (out, "{\"data\":[%s],\"meta\":{\"sent\":\"x\"}", data->str);
      if (errors->len)
        g_string_append_printf (out, ",\"errors\":[%s]", errors->str);
      g_string_append_c (out, '}');
      twitter_rules_answer (msg, 201, out->str);
      return;
    }

  if (json_object_has_member (root, "delete"))
    {
      JsonObject *delete = json_object_get_object_member (root, "delete");
      JsonArray *ids = json_object_get_array_member (delete, "ids");

      for (guint i = 0; i < json_array_get_length (ids); i++)
        {
          const char *id = json_array_get_string_element (ids, i);

          g_ptr_array_add (twitter->log, g_strdup_printf ("delete %s", id));
          for (guint j = 0; j < twitter->rules->len; j++)
            if (g_str_equal (((char **) g_ptr_array_index (twitter->rules, j))[0], id))
              {
                g_ptr_array_remove_index (twitter->rules, j);
                break;
              }
        }
      twitter_rules_answer (msg, 200, "{\"meta\":{\"sent\":\"x\",\"summary\":{\"deleted\":1}}}");
      return;
    }
  twitter_rules_answer (msg, 400, "{\"title\":\"Invalid Request\"}");
}

static void
twitter_handler (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  Twitter *twitter = user_data;

  if (!authorized (msg, BEARER))
    {
      twitter->bad_auth = TRUE;
      twitter_rules_answer (msg, 401, "{\"title\":\"Unauthorized\",\"status\":401}");
      return;
    }
  if (g_str_equal (path, "/2/tweets/search/stream/rules"))
    {
      if (twitter->rules_429 > 0)
        {
          g_autofree char *reset = g_strdup_printf ("%" G_GINT64_FORMAT,
                                                    g_get_real_time () / G_USEC_PER_SEC + 1);

          twitter->rules_429--;
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "x-rate-limit-reset", reset);
          twitter_rules_answer (msg, 429, "{\"title\":\"Too Many Requests\",\"status\":429}");
          return;
        }
      if (twitter->hold_rules)
        {
          soup_server_message_pause (msg);
          g_ptr_array_add (twitter->held, g_object_ref (msg));
          return;
        }
      twitter_rules (twitter, msg);
      return;
    }
  if (!g_str_equal (path, "/2/tweets/search/stream"))
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }

  twitter->requests++;
  g_free (twitter->query);
  twitter->query = g_strdup (g_uri_get_query (soup_server_message_get_uri (msg)));
  if (twitter->answer_429 > 0)
    {
      g_autofree char *reset = g_strdup_printf ("%" G_GINT64_FORMAT, twitter->reset_at);

      twitter->answer_429--;
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "x-rate-limit-reset", reset);
      twitter_rules_answer (msg, 429, "{\"title\":\"Too Many Requests\","
                                      "\"detail\":\"Too Many Requests\",\"status\":429}");
      return;
    }

  twitter->connections++;
  open_stream (msg, "application/json", "\r\n");
  g_ptr_array_add (twitter->streams, msg);
  g_signal_connect (msg, "finished", G_CALLBACK (twitter_stream_finished), twitter);
}

static Twitter *
twitter_new (void)
{
  Twitter *twitter = g_new0 (Twitter, 1);

  twitter->server = server_new ();
  twitter->log = g_ptr_array_new_with_free_func (g_free);
  twitter->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  twitter->streams = g_ptr_array_new ();
  twitter->held = g_ptr_array_new_with_free_func (g_object_unref);
  soup_server_add_handler (twitter->server, NULL, twitter_handler, twitter, NULL);
  return twitter;
}

/* Ends the responses left open, so that the server can let them go. */
static void
finish_stream (SoupServerMessage *msg)
{
  soup_message_body_complete (soup_server_message_get_response_body (msg));
  soup_server_message_unpause (msg);
}

static void
twitter_free (Twitter *twitter)
{
  for (guint i = 0; i < twitter->streams->len; i++)
    {
      g_signal_handlers_disconnect_by_data (g_ptr_array_index (twitter->streams, i), twitter);
      finish_stream (g_ptr_array_index (twitter->streams, i));
    }
  test_spin (20);
  soup_server_disconnect (twitter->server);
  g_object_unref (twitter->server);
  g_ptr_array_unref (twitter->log);
  g_ptr_array_unref (twitter->rules);
  g_ptr_array_unref (twitter->streams);
  g_ptr_array_unref (twitter->held);
  g_free (twitter->query);
  g_free (twitter);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Twitter, twitter_free)

static char *
twitter_url (Twitter *twitter)
{
  return g_strdup_printf ("http://127.0.0.1:%u", server_port (twitter->server));
}

/* Answers the held rules requests, and the next ones at once. */
static void
twitter_release (Twitter *twitter)
{
  twitter->hold_rules = FALSE;
  for (guint i = 0; i < twitter->held->len; i++)
    {
      SoupServerMessage *msg = g_ptr_array_index (twitter->held, i);

      twitter_rules (twitter, msg);
      soup_server_message_unpause (msg);
    }
  g_ptr_array_set_size (twitter->held, 0);
}

static void
twitter_push (Twitter    *twitter,
              const char *text)
{
  for (guint i = 0; i < twitter->streams->len; i++)
    push (g_ptr_array_index (twitter->streams, i), text);
}

static gboolean
twitter_logged (Twitter    *twitter,
                const char *entry)
{
  for (guint i = 0; i < twitter->log->len; i++)
    if (g_str_equal (g_ptr_array_index (twitter->log, i), entry))
      return TRUE;
  return FALSE;
}

static gboolean
twitter_streaming (gpointer data)
{
  return ((Twitter *) data)->streams->len > 0;
}

/* A tweet as the filtered stream sends it, with its expansions. */
static char *
tweet_line (Twitter    *twitter,
            const char *id,
            const char *text,
            const char *tag)
{
  g_autofree char *value = g_strdup_printf ("#%s", tag);
  const char *rule_id = twitter_rule_id (twitter, value);

  return g_strdup_printf (
    "{\"data\":{\"id\":\"%s\",\"text\":\"%s\",\"created_at\":\"2024-05-01T10:00:00.000Z\","
    "\"author_id\":\"42\",\"edit_history_tweet_ids\":[\"%s\"],"
    "\"entities\":{\"urls\":[{\"start\":0,\"end\":23,\"url\":\"https://t.co/a\","
    "\"expanded_url\":\"https://example.org/a\",\"display_url\":\"example.org/a\"},"
    "{\"start\":24,\"end\":47,\"url\":\"https://t.co/m\","
    "\"expanded_url\":\"https://x.com/ana/status/%s/photo/1\",\"media_key\":\"3_1\"}],"
    "\"hashtags\":[{\"start\":0,\"end\":5,\"tag\":\"%s\"}]},"
    "\"attachments\":{\"media_keys\":[\"3_1\"]}},"
    "\"includes\":{\"users\":[{\"id\":\"42\",\"name\":\"Ana\",\"username\":\"ana\"}],"
    "\"media\":[{\"media_key\":\"3_1\",\"type\":\"photo\","
    "\"url\":\"https://pbs.twimg.com/media/a.jpg\"}]},"
    "\"matching_rules\":[{\"id\":\"%s\",\"tag\":\"%s\"}]}\r\n",
    id, text, id, id, tag, rule_id ? rule_id : "0", tag);
}

/* ---- a fake Mastodon --------------------------------------------------- */

typedef struct {
  SoupServerMessage *msg;
  char *tag;                /* NULL: the public timeline */
} MastodonStream;

typedef struct {
  SoupServer *server;
  GPtrArray *streams;       /* MastodonStream */
  GPtrArray *log;           /* "hashtag TAG", "public" */
  guint answer_429;
  gboolean bad_auth;
} Mastodon;

static void
mastodon_stream_free (gpointer data)
{
  MastodonStream *stream = data;

  g_free (stream->tag);
  g_free (stream);
}

static void
mastodon_stream_finished (SoupServerMessage *msg,
                          Mastodon          *mastodon)
{
  for (guint i = 0; i < mastodon->streams->len; i++)
    if (((MastodonStream *) g_ptr_array_index (mastodon->streams, i))->msg == msg)
      {
        g_ptr_array_remove_index (mastodon->streams, i);
        return;
      }
}

static void
mastodon_handler (SoupServer        *server,
                  SoupServerMessage *msg,
                  const char        *path,
                  GHashTable        *query,
                  gpointer           user_data)
{
  Mastodon *mastodon = user_data;
  MastodonStream *stream;
  const char *tag = query ? g_hash_table_lookup (query, "tag") : NULL;

  if (!authorized (msg, TOKEN))
    {
      mastodon->bad_auth = TRUE;
      soup_server_message_set_status (msg, 401, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                        "{\"error\":\"The access token is invalid\"}", 39);
      return;
    }
  if (g_str_equal (path, "/api/v1/streaming/hashtag") && tag)
    g_ptr_array_add (mastodon->log, g_strdup_printf ("hashtag %s", tag));
  else if (g_str_equal (path, "/api/v1/streaming/public"))
    {
      g_ptr_array_add (mastodon->log, g_strdup ("public"));
      tag = NULL;
    }
  else
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }

  if (mastodon->answer_429 > 0)
    {
      mastodon->answer_429--;
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Retry-After", "1");
      soup_server_message_set_status (msg, 429, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                        "{\"error\":\"Too many requests\"}", 30);
      return;
    }

  /* Mastodon opens every stream with a comment. */
  open_stream (msg, "text/event-stream", ":)\n");
  stream = g_new0 (MastodonStream, 1);
  stream->msg = msg;
  stream->tag = g_strdup (tag);
  g_ptr_array_add (mastodon->streams, stream);
  g_signal_connect (msg, "finished", G_CALLBACK (mastodon_stream_finished), mastodon);
}

static Mastodon *
mastodon_new (void)
{
  Mastodon *mastodon = g_new0 (Mastodon, 1);

  mastodon->server = server_new ();
  mastodon->streams = g_ptr_array_new_with_free_func (mastodon_stream_free);
  mastodon->log = g_ptr_array_new_with_free_func (g_free);
  soup_server_add_handler (mastodon->server, NULL, mastodon_handler, mastodon, NULL);
  return mastodon;
}

static void
mastodon_free (Mastodon *mastodon)
{
  for (guint i = 0; i < mastodon->streams->len; i++)
    {
      SoupServerMessage *msg = ((MastodonStream *) g_ptr_array_index (mastodon->streams, i))->msg;

      g_signal_handlers_disconnect_by_data (msg, mastodon);
      finish_stream (msg);
    }
  test_spin (20);
  soup_server_disconnect (mastodon->server);
  g_object_unref (mastodon->server);
  g_ptr_array_unref (mastodon->streams);
  g_ptr_array_unref (mastodon->log);
  g_free (mastodon);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Mastodon, mastodon_free)

static char *
mastodon_url (Mastodon *mastodon)
{
  return g_strdup_printf ("http://127.0.0.1:%u", server_port (mastodon->server));
}

/* Streams of @tag (NULL: the public timeline) still open. */
static guint
mastodon_count (Mastodon   *mastodon,
                const char *tag)
{
  guint n = 0;

  for (guint i = 0; i < mastodon->streams->len; i++)
    if (g_strcmp0 (((MastodonStream *) g_ptr_array_index (mastodon->streams, i))->tag, tag) == 0)
      n++;
  return n;
}

static void
mastodon_push (Mastodon   *mastodon,
               const char *tag,
               const char *text)
{
  for (guint i = 0; i < mastodon->streams->len; i++)
    {
      MastodonStream *stream = g_ptr_array_index (mastodon->streams, i);

      if (g_strcmp0 (stream->tag, tag) == 0)
        push (stream->msg, text);
    }
}

static void
mastodon_abort (Mastodon   *mastodon,
                const char *tag)
{
  for (guint i = 0; i < mastodon->streams->len; i++)
    {
      MastodonStream *stream = g_ptr_array_index (mastodon->streams, i);

      if (g_strcmp0 (stream->tag, tag) == 0)
        {
          g_signal_handlers_disconnect_by_data (stream->msg, mastodon);
          abort_stream (stream->msg);
          g_ptr_array_remove_index (mastodon->streams, i);
          return;
        }
    }
}

/* An update event with a Status, split over two data lines as servers may. */
static char *
status_event (const char *id,
              const char *content,
              const char *tag)
{
  return g_strdup_printf (
    "event: update\n"
    "data: {\"id\":\"%s\",\"created_at\":\"2024-05-01T10:00:00.500Z\",\"sensitive\":false,"
    "\"spoiler_text\":\"\",\"visibility\":\"public\",\"language\":\"en\","
    "\"uri\":\"https://social.example/users/ana/statuses/%s\","
    "\"url\":\"https://social.example/@ana/%s\",\"replies_count\":0,\n"
    "data: \"content\":\"%s\",\"reblog\":null,"
    "\"account\":{\"id\":\"7\",\"username\":\"ana\",\"acct\":\"ana@social.example\","
    "\"display_name\":\"Ana\",\"url\":\"https://social.example/@ana\"},"
    "\"media_attachments\":[{\"id\":\"9\",\"type\":\"image\","
    "\"url\":\"https://files.social.example/a.png\","
    "\"preview_url\":\"https://files.social.example/a-small.png\",\"remote_url\":null}],"
    "\"mentions\":[],\"tags\":[{\"name\":\"%s\",\"url\":\"https://social.example/tags/%s\"}],"
    "\"card\":{\"url\":\"https://example.org/card\",\"title\":\"Card\"}}\n"
    "\n",
    id, id, id, content, tag, tag);
}

#define MASTODON_CONTENT \
  "<p>Hello &amp; welcome <a href=\\\"https://social.example/tags/gnome\\\" " \
  "class=\\\"mention hashtag\\\" rel=\\\"tag\\\">#<span>gnome</span></a> " \
  "<span class=\\\"h-card\\\"><a href=\\\"https://social.example/@bo\\\" " \
  "class=\\\"u-url mention\\\">@<span>bo</span></a></span></p>" \
  "<p>See <a href=\\\"https://example.org/page?a=1&amp;b=2\\\" rel=\\\"nofollow\\\">" \
  "<span class=\\\"invisible\\\">https://</span>example.org/page</a><br />bye</p>"

/* ---- Pajaro and its clients -------------------------------------------- */

typedef struct {
  JstpEngine *engine;
  JstpNetwork *network;
  PajaroService *service;
  PajaroTwitterSource *twitter;
  PajaroMastodonSource *mastodon;
} Pajaro;

static Pajaro *
pajaro_new (Twitter  *twitter,
            Mastodon *mastodon)
{
  Pajaro *pajaro = g_new0 (Pajaro, 1);
  g_autoptr(GError) error = NULL;

  pajaro->engine = jstp_engine_new ("pajaro");
  jstp_engine_set_kind (pajaro->engine, "pajaro");
  pajaro->network = jstp_network_new (pajaro->engine);
  g_assert_true (jstp_network_listen (pajaro->network, "tcp", "127.0.0.1", 0, &error));
  g_assert_true (jstp_network_listen (pajaro->network, "ws", "127.0.0.1", 0, &error));
  pajaro->service = pajaro_service_new (pajaro->engine);
  pajaro_service_set_stats_interval (pajaro->service, 0);

  if (twitter)
    {
      g_autofree char *url = twitter_url (twitter);

      pajaro->twitter = pajaro_twitter_source_new (url, BEARER, &error);
      g_assert_no_error (error);
      pajaro_twitter_source_set_backoff_scale (pajaro->twitter, BACKOFF_SCALE);
      pajaro_service_add_source (pajaro->service, PAJARO_SOURCE (pajaro->twitter));
    }
  if (mastodon)
    {
      g_autofree char *url = mastodon_url (mastodon);

      pajaro->mastodon = pajaro_mastodon_source_new (url, TOKEN, &error);
      g_assert_no_error (error);
      pajaro_mastodon_source_set_backoff_scale (pajaro->mastodon, BACKOFF_SCALE);
      pajaro_service_add_source (pajaro->service, PAJARO_SOURCE (pajaro->mastodon));
    }
  pajaro_service_start (pajaro->service);
  return pajaro;
}

static void
pajaro_free (Pajaro *pajaro)
{
  g_clear_object (&pajaro->service);
  g_clear_object (&pajaro->twitter);
  g_clear_object (&pajaro->mastodon);
  jstp_network_close (pajaro->network);
  g_object_unref (pajaro->network);
  g_object_unref (pajaro->engine);
  g_free (pajaro);
  /* Let cancelled requests and closed connections finish. */
  test_spin (50);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pajaro, pajaro_free)

/* A client: another engine, reaching Pajaro over @label. */
typedef struct {
  JstpEngine *engine;
  JstpNetwork *network;
  const char *label;
  guint16 port;
  GPtrArray *received;      /* JstpDispatch */
  GPtrArray *answers;
} Client;

static void
on_received (JstpEngine         *engine,
             JstpDispatch       *dispatch,
             const JstpCaptures *captures,
             gpointer            data)
{
  g_ptr_array_add (((Client *) data)->received, jstp_dispatch_ref (dispatch));
}

static void
on_answer (JstpEngine   *engine,
           JstpDispatch *answer,
           gpointer      data)
{
  g_ptr_array_add (((Client *) data)->answers, jstp_dispatch_ref (answer));
}

static gboolean
has_answer (gpointer data)
{
  return ((Client *) data)->answers->len > 0;
}

/* Sends a dispatch to Pajaro and returns its answer. */
static JstpDispatch *
client_call (Client             *client,
             JstpDispatch       *dispatch)
{
  g_ptr_array_set_size (client->answers, 0);
  jstp_dispatch_add_hop (dispatch, "127.0.0.1", client->port, client->label);
  jstp_engine_emit (client->engine, dispatch, on_answer, client, NULL);
  g_assert_true (test_wait_until (has_answer, client, 15000));
  return jstp_dispatch_ref (g_ptr_array_index (client->answers, 0));
}

static JstpDispatch *
client_request (Client     *client,
                JstpMethod  method,
                const char *resource_json,
                const char *body_json)
{
  g_autoptr(JstpDispatch) dispatch = jstp_dispatch_new (method,
                                                        (const char *[]) { "x", NULL });
  JstpDispatch *answer;

  g_assert_true (jstp_dispatch_set_resource_json (dispatch, resource_json, NULL));
  if (body_json)
    g_assert_true (jstp_dispatch_set_body_json (dispatch, body_json, NULL));
  answer = client_call (client, dispatch);
  g_test_message ("%s %s -> %u %s", jstp_method_to_string (method), resource_json,
                  jstp_dispatch_get_status (answer), jstp_dispatch_get_body_json (answer));
  return answer;
}

static void
client_bind (Client     *client,
             const char *method)
{
  g_autoptr(JstpPattern) pattern =
    jstp_pattern_new (method, (const char *[]) { "pajaro", "posts", "..." }, 3,
                      JSTP_MODE_STRICT, NULL);
  g_autoptr(JstpDispatch) bind = jstp_dispatch_new_subscription (JSTP_METHOD_BIND, pattern);
  g_autoptr(JstpDispatch) answer = NULL;

  jstp_engine_bind_pattern (client->engine, pattern, on_received, client, NULL);
  answer = client_call (client, bind);
  g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, 200);
}

static Client *
client_new (Pajaro     *pajaro,
            const char *label)
{
  Client *client = g_new0 (Client, 1);

  client->engine = jstp_engine_new ("client");
  client->network = jstp_network_new (client->engine);
  client->label = label;
  client->port = jstp_network_get_port (pajaro->network, label);
  client->received = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  client->answers = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  client_bind (client, "POST");
  client_bind (client, "DELETE");
  return client;
}

static void
client_free (Client *client)
{
  jstp_network_close (client->network);
  g_object_unref (client->network);
  g_object_unref (client->engine);
  g_ptr_array_unref (client->received);
  g_ptr_array_unref (client->answers);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

typedef struct {
  Client *client;
  guint n;
} Count;

static gboolean
has_received (gpointer data)
{
  Count *count = data;

  return count->client->received->len >= count->n;
}

static gboolean
wait_received (Client *client,
               guint   n)
{
  Count count = { client, n };

  return test_wait_until (has_received, &count, TIMEOUT);
}

static JsonObject *
body_object (JstpDispatch *dispatch)
{
  JsonNode *body = jstp_dispatch_dup_body (dispatch);
  JsonObject *object;

  g_assert_nonnull (body);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (body));
  object = json_object_ref (json_node_get_object (body));
  json_node_unref (body);
  return object;
}

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* The stats, as the service answers GET ["pajaro","stats"]. */
static JsonObject *
stats (Pajaro *pajaro)
{
  g_autofree char *json = pajaro_service_dup_stats_json (pajaro->service);

  return parse_object (json);
}

static void
log_stats (Pajaro *pajaro)
{
  g_autofree char *json = pajaro_service_dup_stats_json (pajaro->service);

  g_test_message ("stats: %s", json);
}

static JsonObject *
source_stats (JsonObject *stats,
              const char *name)
{
  JsonArray *sources = json_object_get_array_member (stats, "sources");

  for (guint i = 0; i < json_array_get_length (sources); i++)
    {
      JsonObject *source = json_array_get_object_element (sources, i);

      if (g_str_equal (json_object_get_string_member (source, "name"), name))
        return source;
    }
  g_assert_not_reached ();
}

static JsonObject *
tag_stats (JsonObject *stats,
           const char *tag)
{
  return json_object_get_object_member (json_object_get_object_member (stats, "tags"), tag);
}

typedef struct {
  Pajaro *pajaro;
  const char *source;
  const char *state;
} StateWait;

static gboolean
source_in_state (gpointer data)
{
  StateWait *wait = data;
  g_autoptr(JsonObject) all = stats (wait->pajaro);

  return g_str_equal (json_object_get_string_member (source_stats (all, wait->source), "state"),
                      wait->state);
}

static gboolean
wait_state (Pajaro     *pajaro,
            const char *source,
            const char *state)
{
  StateWait wait = { pajaro, source, state };

  return test_wait_until (source_in_state, &wait, TIMEOUT);
}

static void
assert_status (JstpDispatch *answer,
               guint         status)
{
  g_assert_cmpuint (jstp_dispatch_get_status (answer), ==, status);
}

/* ---- units ------------------------------------------------------------- */

static void
test_tags (void)
{
  g_autoptr(GError) error = NULL;
  const char *text = "#GNOME_Ñu42";
  g_autofree char *tag = pajaro_track_normalize_tag (text, strlen (text), &error);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(PajaroTrack) keyword = NULL;
  g_autoptr(PajaroTrack) timeline = NULL;
  static const char * const bad[] = { "", "#", "two words", "a-b", "semi;colon", "dot.", NULL };

  g_assert_no_error (error);
  g_assert_cmpstr (tag, ==, "gnome_ñu42");
  for (guint i = 0; bad[i]; i++)
    {
      g_autofree char *refused = pajaro_track_normalize_tag (bad[i], strlen (bad[i]), &error);

      g_assert_null (refused);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  g_assert_true (json_parser_load_from_data (parser, "{\"keyword\":\" Rust Lang \"}", -1, NULL));
  keyword = pajaro_track_new_from_body ("lang", json_parser_get_root (parser), &error);
  g_assert_no_error (error);
  g_assert_cmpint (keyword->kind, ==, PAJARO_TRACK_KEYWORD);
  g_assert_cmpstr (keyword->keyword, ==, "Rust Lang");
  g_assert_true (pajaro_track_matches_text (keyword, "I like RUST lang, a lot"));
  g_assert_false (pajaro_track_matches_text (keyword, "trust language"));

  g_assert_true (json_parser_load_from_data (parser, "{\"timeline\":\"public\"}", -1, NULL));
  timeline = pajaro_track_new_from_body ("all", json_parser_get_root (parser), &error);
  g_assert_no_error (error);
  g_assert_cmpint (timeline->kind, ==, PAJARO_TRACK_PUBLIC);

  for (guint i = 0; i < 4; i++)
    {
      static const char * const bodies[] = {
        "[1]", "{\"keyword\":3}", "{\"timeline\":\"home\"}", "{\"keyword\":\"a\\\"b\"}",
      };
      g_autoptr(PajaroTrack) refused = NULL;

      g_assert_true (json_parser_load_from_data (parser, bodies[i], -1, NULL));
      refused = pajaro_track_new_from_body ("x", json_parser_get_root (parser), &error);
      g_assert_null (refused);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
}

static void
test_backoff (void)
{
  PajaroBackoff backoff;
  g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  gint64 now = 1700000000000;
  static const guint64 network[] = { 250, 500, 750, 1000 };

  /* Twitter: linear for network errors, up to 16 s. */
  pajaro_backoff_init (&backoff, PAJARO_BACKOFF_TWITTER);
  for (guint i = 0; i < G_N_ELEMENTS (network); i++)
    g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_NETWORK, -1), ==, network[i]);
  for (guint i = 0; i < 100; i++)
    pajaro_backoff_next (&backoff, PAJARO_FAILURE_NETWORK, -1);
  g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_NETWORK, -1), ==, 16000);

  /* Another kind of failure starts its own steps: 5 s doubling to 320 s. */
  g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_HTTP, -1), ==, 5000);
  g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_HTTP, -1), ==, 10000);
  for (guint i = 0; i < 100; i++)
    pajaro_backoff_next (&backoff, PAJARO_FAILURE_HTTP, -1);
  g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_HTTP, -1), ==, 320000);

  /* 429: a minute, doubling; a later reset wins. */
  g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_RATE_LIMIT, -1), ==, 60000);
  g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_RATE_LIMIT, -1), ==, 120000);
  g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_RATE_LIMIT, 900000), ==, 900000);
  pajaro_backoff_reset (&backoff);
  g_assert_cmpuint (pajaro_backoff_next (&backoff, PAJARO_FAILURE_RATE_LIMIT, -1), ==, 60000);

  /* Mastodon: exponential with jitter, between half and all of the step. */
  pajaro_backoff_init (&backoff, PAJARO_BACKOFF_MASTODON);
  for (guint i = 1; i <= 8; i++)
    {
      guint64 step = MIN ((guint64) 1000 << (i - 1), 60000);
      guint64 delay = pajaro_backoff_next (&backoff, PAJARO_FAILURE_NETWORK, -1);

      g_assert_cmpuint (delay, >=, step / 2);
      g_assert_cmpuint (delay, <=, step);
    }

  /* Rate-limit headers, in each network's form. */
  g_assert_cmpint (pajaro_backoff_parse_hint (headers, now), ==, -1);
  soup_message_headers_replace (headers, "x-rate-limit-reset", "1700000030");
  g_assert_cmpint (pajaro_backoff_parse_hint (headers, now), ==, 30000);
  soup_message_headers_clear (headers);
  soup_message_headers_replace (headers, "X-RateLimit-Reset", "2023-11-14T22:14:20.000Z");
  g_assert_cmpint (pajaro_backoff_parse_hint (headers, now), ==, 60000);
  soup_message_headers_replace (headers, "Retry-After", "120");
  g_assert_cmpint (pajaro_backoff_parse_hint (headers, now), ==, 120000);
  soup_message_headers_clear (headers);
  soup_message_headers_replace (headers, "x-rate-limit-reset", "9999999999");
  g_assert_cmpint (pajaro_backoff_parse_hint (headers, now), ==, PAJARO_BACKOFF_MAX_HINT_MS);
  soup_message_headers_replace (headers, "x-rate-limit-reset", "soon");
  g_assert_cmpint (pajaro_backoff_parse_hint (headers, now), ==, -1);
}

static void
test_twitter_parse (void)
{
  g_autoptr(Twitter) twitter = twitter_new ();
  g_autofree char *line = tweet_line (twitter, "1790", "a &amp; b &lt;3 https://t.co/a", "rust");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) rule_ids = NULL;
  g_autofree char *server_error = NULL;
  g_autoptr(PajaroPost) post = NULL;
  g_autofree char *json = NULL;
  g_autoptr(JsonObject) body = NULL;
  PajaroMedia *media;

  post = pajaro_twitter_source_parse_line (line, strlen (line), NULL, &rule_ids, &server_error,
                                           &error);
  g_assert_no_error (error);
  g_assert_nonnull (post);
  g_assert_cmpstr (post->id, ==, "1790");
  g_assert_cmpstr (post->text, ==, "a & b <3 https://t.co/a");
  g_assert_cmpstr (post->author_username, ==, "ana");
  g_assert_cmpstr (post->author_name, ==, "Ana");
  g_assert_cmpstr (post->created_at, ==, "2024-05-01T10:00:00.000Z");
  g_assert_cmpstr (post->url, ==, "https://x.com/ana/status/1790");
  /* The photo's own link is media, not a link. */
  g_assert_cmpuint (post->links->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (post->links, 0), ==, "https://example.org/a");
  g_assert_cmpuint (post->media->len, ==, 1);
  media = g_ptr_array_index (post->media, 0);
  g_assert_cmpstr (media->type, ==, "photo");
  g_assert_cmpstr (media->url, ==, "https://pbs.twimg.com/media/a.jpg");
  g_assert_true (pajaro_post_has_tag (post, "rust"));
  g_assert_cmpstr (rule_ids[0], ==, "0");

  json = pajaro_post_to_json (post, "rust");
  g_assert_true (jstp_json_scan (json, strlen (json), NULL, NULL, NULL, 0, NULL, NULL));
  body = parse_object (json);
  g_assert_cmpstr (json_object_get_string_member (body, "source"), ==, "twitter");
  g_assert_cmpstr (json_object_get_string_member (body, "tag"), ==, "rust");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (body, "author"),
                                                  "id"), ==, "42");

  /* An operational disconnect is no post and no malformed line. */
  {
    const char *disconnect = "{\"errors\":[{\"title\":\"operational-disconnect\","
                             "\"disconnect_type\":\"UpstreamOperationalDisconnect\","
                             "\"detail\":\"This stream has been disconnected upstream.\"}]}";
    g_autoptr(PajaroPost) none = NULL;
    g_autofree char *message = NULL;

    none = pajaro_twitter_source_parse_line (disconnect, strlen (disconnect), NULL, NULL,
                                             &message, &error);
    g_assert_null (none);
    g_assert_no_error (error);
    g_assert_cmpstr (message, ==, "operational-disconnect: This stream has been disconnected "
                                  "upstream.");
  }

  /* Not JSON by the strict scanner (json-glib would take it), or no tweet. */
  {
    static const char * const malformed[] = {
      "{\"data\":{\"id\":\"1\",\"text\":\"x\"},}", "{\"data\":{\"id\":\"1\",\"id\":\"2\"}}",
      "{\"data\":{\"text\":\"no id\"}}", "[1,2]", "{\"data\":{\"id\":1,\"text\":\"x\"}}",
    };

    for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
      {
        g_autoptr(PajaroPost) none = pajaro_twitter_source_parse_line (malformed[i],
                                                                       strlen (malformed[i]),
                                                                       NULL, NULL, NULL, &error);

        g_assert_null (none);
        g_assert_nonnull (error);
        g_clear_error (&error);
      }
  }
}

static void
test_mastodon_parse (void)
{
  g_autofree char *event = status_event ("110", MASTODON_CONTENT, "gnome");
  const char *data = strstr (event, "data: ") + 6;
  g_autoptr(GString) json = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PajaroPost) post = NULL;
  g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *text = NULL;
  PajaroMedia *media;

  /* The two data lines, joined as the event parser does. */
  g_string_append_len (json, data, strchr (data, '\n') - data);
  g_string_append_c (json, '\n');
  data = strstr (data, "data: ") + 6;
  g_string_append_len (json, data, strchr (data, '\n') - data);

  post = pajaro_mastodon_source_parse_status (json->str, json->len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (post->id, ==, "110");
  g_assert_cmpstr (post->text, ==,
                   "Hello & welcome #gnome @bo\n\nSee https://example.org/page\nbye");
  g_assert_cmpstr (post->author_username, ==, "ana@social.example");
  g_assert_cmpstr (post->author_name, ==, "Ana");
  g_assert_cmpstr (post->created_at, ==, "2024-05-01T10:00:00.500Z");
  g_assert_cmpstr (post->url, ==, "https://social.example/@ana/110");
  /* Neither the hashtag nor the mention: the page and the card. */
  g_assert_cmpuint (post->links->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (post->links, 0), ==, "https://example.org/page?a=1&b=2");
  g_assert_cmpstr (g_ptr_array_index (post->links, 1), ==, "https://example.org/card");
  g_assert_cmpuint (post->media->len, ==, 1);
  media = g_ptr_array_index (post->media, 0);
  g_assert_cmpstr (media->type, ==, "image");
  g_assert_cmpstr (media->preview_url, ==, "https://files.social.example/a-small.png");

  text = pajaro_mastodon_source_html_to_text ("<p>a&#39;b &#x1F426; &bogus; &#0; <b>c", links);
  g_assert_cmpstr (text, ==, "a'b \xf0\x9f\x90\xa6 &bogus; &#0; c");

  /* A boost is the status it boosts. */
  {
    const char *boost = "{\"id\":\"2\",\"content\":\"\","
                        "\"account\":{\"id\":\"1\",\"acct\":\"bo\"},"
                        "\"reblog\":{\"id\":\"1\",\"content\":\"<p>orig</p>\","
                        "\"account\":{\"id\":\"7\",\"acct\":\"ana\",\"display_name\":\"\"}}}";
    g_autoptr(PajaroPost) original = pajaro_mastodon_source_parse_status (boost, strlen (boost),
                                                                          NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (original->id, ==, "1");
    g_assert_cmpstr (original->text, ==, "orig");
    g_assert_cmpstr (original->author_name, ==, "ana");
  }
}

/* ---- Twitter over the network ------------------------------------------ */

static const char *
twitter_tag_state (JsonObject *answer_body)
{
  return json_object_get_string_member (
    json_object_get_object_member (json_object_get_object_member (answer_body, "sources"),
                                   "twitter"), "state");
}

static void
check_tweet (JstpDispatch *dispatch,
             const char   *id,
             const char   *text)
{
  g_autoptr(JsonObject) body = body_object (dispatch);
  JsonObject *author = json_object_get_object_member (body, "author");
  JsonArray *media = json_object_get_array_member (body, "media");

  g_assert_cmpstr (jstp_dispatch_get_resource_json (dispatch), ==,
                   "[\"pajaro\",\"posts\",\"rust\"]");
  g_assert_cmpstr (json_object_get_string_member (body, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (body, "text"), ==, text);
  g_assert_cmpstr (json_object_get_string_member (body, "source"), ==, "twitter");
  g_assert_cmpstr (json_object_get_string_member (body, "tag"), ==, "rust");
  g_assert_cmpstr (json_object_get_string_member (body, "created_at"), ==,
                   "2024-05-01T10:00:00.000Z");
  g_assert_cmpstr (json_object_get_string_member (author, "username"), ==, "ana");
  g_assert_cmpstr (json_object_get_string_member (author, "name"), ==, "Ana");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (body, "links"), 0),
                   ==, "https://example.org/a");
  g_assert_cmpuint (json_array_get_length (media), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (media, 0), "url"),
                   ==, "https://pbs.twimg.com/media/a.jpg");
}

static gboolean
has_duplicate (gpointer data)
{
  g_autoptr(JsonObject) all = stats (data);

  return json_object_get_int_member (json_object_get_object_member (all, "dropped_by_reason"),
                                     "duplicate") == 1;
}

static gboolean
twitter_has_rule (gpointer data)
{
  return twitter_rule_id (data, "#rust") != NULL;
}

static void
test_twitter (gconstpointer data)
{
  const char *label = data;
  g_autoptr(Twitter) twitter = twitter_new ();
  g_autoptr(Pajaro) pajaro = pajaro_new (twitter, NULL);
  g_autoptr(Client) client = client_new (pajaro, label);
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) all = NULL;
  g_autofree char *rule_id = NULL;
  g_autofree char *deleted = NULL;

  g_assert_true (test_wait_until (twitter_streaming, twitter, TIMEOUT));
  g_assert_nonnull (strstr (twitter->query,
                            "tweet.fields=created_at,author_id,entities,attachments"));
  g_assert_nonnull (strstr (twitter->query, "expansions=author_id,attachments.media_keys"));

  /* Tracking adds the rule; the answer comes once the API has it. */
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"#Rust\"]", NULL);
  assert_status (answer, 200);
  g_assert_true (twitter_logged (twitter, "add #rust rust"));
  g_assert_true (twitter_has_rule (twitter));
  body = body_object (answer);
  g_assert_cmpstr (json_object_get_string_member (body, "tag"), ==, "rust");
  g_assert_true (json_object_get_boolean_member (body, "created"));
  g_assert_cmpstr (twitter_tag_state (body), ==, "active");
  g_clear_pointer (&answer, jstp_dispatch_unref);
  g_clear_pointer (&body, json_object_unref);

  /* Tracking it again changes nothing at the API. */
  {
    guint requests = twitter->log->len;

    answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"rust\"]", NULL);
    assert_status (answer, 200);
    g_assert_cmpuint (twitter->log->len, ==, requests);
    g_clear_pointer (&answer, jstp_dispatch_unref);
  }

  /* Posts, with keep-alives between them, arrive live. */
  {
    g_autofree char *one = tweet_line (twitter, "1", "first https://t.co/a", "rust");
    g_autofree char *two = tweet_line (twitter, "2", "second", "rust");

    twitter_push (twitter, one);
    twitter_push (twitter, "\r\n\r\n");
    twitter_push (twitter, two);
    g_assert_true (wait_received (client, 2));
    check_tweet (g_ptr_array_index (client->received, 0), "1", "first https://t.co/a");
    check_tweet (g_ptr_array_index (client->received, 1), "2", "second");

    /* The same tweet again is a duplicate. */
    twitter_push (twitter, one);
    g_assert_true (test_wait_until (has_duplicate, pajaro, TIMEOUT));
  }

  /* Lines over this are dropped, from the next connection on. */
  g_object_set (pajaro->twitter, "max-line", (guint64) 4096, NULL);

  /* A disconnect mid-stream: Pajaro reconnects and posts go on. */
  {
    guint connections = twitter->connections;
    g_autofree char *three = tweet_line (twitter, "3", "after the drop", "rust");
    g_autofree char *big = g_strnfill (5000, 'a');
    g_autofree char *oversize = g_strdup_printf ("{\"pad\":\"%s\"}\r\n", big);

    g_assert_cmpuint (twitter->streams->len, ==, 1);
    abort_stream (g_ptr_array_index (twitter->streams, 0));
    g_ptr_array_set_size (twitter->streams, 0);
    g_assert_true (test_wait_until (twitter_streaming, twitter, TIMEOUT));
    g_assert_cmpuint (twitter->connections, ==, connections + 1);

    /* One line over the limit, a tweet cut across chunks (it matches no
     * rule: ignored, not dropped), a line that is not JSON, a post. */
    twitter_push (twitter, oversize);
    twitter_push (twitter, "{\"data\":{\"id\":\"3\",");
    twitter_push (twitter, "\"text\":\"x\"}}\r\nnot json\r\n");
    twitter_push (twitter, three);
    g_assert_true (wait_received (client, 3));
    g_assert_cmpuint (client->received->len, ==, 3);
    check_tweet (g_ptr_array_index (client->received, 2), "3", "after the drop");
  }

  all = stats (pajaro);
  log_stats (pajaro);
  g_assert_cmpint (json_object_get_int_member (all, "delivered"), ==, 3);
  {
    JsonObject *reasons = json_object_get_object_member (all, "dropped_by_reason");
    JsonObject *tag = tag_stats (all, "rust");
    JsonObject *source = source_stats (all, "twitter");

    g_assert_cmpint (json_object_get_int_member (reasons, "duplicate"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (reasons, "malformed"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (reasons, "oversize"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (tag, "delivered"), ==, 3);
    g_assert_cmpint (json_object_get_int_member (tag, "reconnects"), >=, 1);
    g_assert_cmpfloat (json_object_get_double_member (tag, "rate"), >, 0);
    g_assert_cmpstr (json_object_get_string_member (source, "state"), ==, "streaming");
    g_assert_cmpint (json_object_get_int_member (source, "ignored"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (source, "stream"),
                                                 "reconnects"), >=, 1);
    g_assert_nonnull (json_object_get_string_member (
      json_object_get_object_member (source, "stream"), "last_error"));
  }

  /* The list and one entry, over the network. */
  g_clear_pointer (&answer, jstp_dispatch_unref);
  answer = client_request (client, JSTP_METHOD_GET, "[\"pajaro\",\"track\"]", NULL);
  assert_status (answer, 200);
  g_assert_nonnull (strstr (jstp_dispatch_get_body_json (answer), "\"tag\":\"rust\""));
  g_clear_pointer (&answer, jstp_dispatch_unref);
  answer = client_request (client, JSTP_METHOD_GET, "[\"pajaro\",\"stats\"]", NULL);
  assert_status (answer, 200);
  g_assert_nonnull (strstr (jstp_dispatch_get_body_json (answer), "\"delivered\":3"));
  g_clear_pointer (&answer, jstp_dispatch_unref);

  /* Untracking deletes the rule at the API. */
  rule_id = g_strdup (twitter_rule_id (twitter, "#rust"));
  deleted = g_strdup_printf ("delete %s", rule_id);
  answer = client_request (client, JSTP_METHOD_DELETE, "[\"pajaro\",\"track\",\"rust\"]", NULL);
  assert_status (answer, 200);
  g_assert_true (twitter_logged (twitter, deleted));
  g_assert_null (twitter_rule_id (twitter, "#rust"));
  g_assert_nonnull (strstr (jstp_dispatch_get_body_json (answer), "\"delivered\":3"));
  g_clear_pointer (&answer, jstp_dispatch_unref);
  answer = client_request (client, JSTP_METHOD_DELETE, "[\"pajaro\",\"track\",\"rust\"]", NULL);
  assert_status (answer, 404);
  g_clear_pointer (&answer, jstp_dispatch_unref);
  answer = client_request (client, JSTP_METHOD_GET, "[\"pajaro\",\"track\",\"rust\"]", NULL);
  assert_status (answer, 404);
  g_clear_pointer (&answer, jstp_dispatch_unref);

  /* An untracked tag's tweets are not delivered any more. */
  {
    g_autofree char *late = tweet_line (twitter, "4", "late", "rust");

    twitter_push (twitter, late);
    test_spin (200);
    g_assert_cmpuint (client->received->len, ==, 3);
  }
  g_assert_false (twitter->bad_auth);
}

/* A 429 with x-rate-limit-reset: Pajaro says so and waits for the reset,
 * then streams again. */
static void
test_twitter_rate_limit (void)
{
  g_autoptr(Twitter) twitter = twitter_new ();
  g_autoptr(Pajaro) pajaro = NULL;
  g_autoptr(Client) client = NULL;
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(JstpDispatch) answer = NULL;
  gint64 now = g_get_real_time () / 1000;
  JsonObject *source;
  gint64 retry_at;

  twitter->answer_429 = 1;
  twitter->reset_at = now / 1000 + 2;
  pajaro = pajaro_new (twitter, NULL);
  client = client_new (pajaro, "tcp");

  g_assert_true (wait_state (pajaro, "twitter", "backing-off"));
  all = stats (pajaro);
  source = source_stats (all, "twitter");
  log_stats (pajaro);
  retry_at = json_object_get_int_member (source, "retry_at");
  g_assert_cmpint (retry_at, >=, twitter->reset_at * 1000 - 100);
  g_assert_cmpint (retry_at, <=, twitter->reset_at * 1000 + 1000);
  g_assert_nonnull (strstr (json_object_get_string_member (source, "error"), "HTTP 429"));
  g_assert_nonnull (strstr (json_object_get_string_member (source, "error"), "Too Many Requests"));
  g_assert_cmpuint (twitter->connections, ==, 0);

  /* Rules can still be changed while the stream waits. */
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"rust\"]", NULL);
  assert_status (answer, 200);
  g_assert_true (twitter_logged (twitter, "add #rust rust"));

  /* Not before the reset. */
  test_spin (300);
  g_assert_cmpuint (twitter->requests, ==, 1);
  g_assert_true (wait_state (pajaro, "twitter", "streaming"));
  g_assert_cmpint (g_get_real_time () / 1000, >=, twitter->reset_at * 1000 - 100);
  g_assert_cmpuint (twitter->requests, ==, 2);
  g_assert_true (test_wait_until (twitter_streaming, twitter, TIMEOUT));
  {
    g_autofree char *line = tweet_line (twitter, "10", "recovered", "rust");

    twitter_push (twitter, line);
    g_assert_true (wait_received (client, 1));
    check_tweet (g_ptr_array_index (client->received, 0), "10", "recovered");
  }
  g_clear_pointer (&all, json_object_unref);
  all = stats (pajaro);
  g_assert_true (json_object_get_null_member (source_stats (all, "twitter"), "error"));
}

static gboolean
twitter_has_gnome_rule (gpointer data)
{
  return twitter_rule_id (data, "#gnome") != NULL;
}

static gboolean
twitter_active (gpointer data)
{
  g_autofree char *json = pajaro_service_dup_tracks_json (((Pajaro *) data)->service);

  return strstr (json, "\"twitter\":\"active\"") != NULL;
}

/* The rules endpoint refuses (429) or does not answer: the PUT is answered
 * all the same, saying the rule is pending, and the change goes through
 * once the API takes it. */
static void
test_twitter_rules_trouble (void)
{
  g_autoptr(Twitter) twitter = twitter_new ();
  g_autoptr(Pajaro) pajaro = pajaro_new (twitter, NULL);
  g_autoptr(Client) client = client_new (pajaro, "tcp");
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonObject) all = NULL;
  JsonObject *rules;
  gint64 start;

  twitter->rules_429 = 1;
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"rust\"]", NULL);
  assert_status (answer, 200);
  body = body_object (answer);
  g_assert_cmpstr (twitter_tag_state (body), ==, "pending");
  all = stats (pajaro);
  rules = json_object_get_object_member (source_stats (all, "twitter"), "rules");
  g_assert_cmpstr (json_object_get_string_member (rules, "state"), ==, "backing-off");
  g_assert_nonnull (strstr (json_object_get_string_member (rules, "error"), "HTTP 429"));
  g_assert_cmpint (json_object_get_int_member (rules, "retry_at"), >, 0);
  g_assert_true (test_wait_until (twitter_has_rule, twitter, TIMEOUT));
  g_assert_true (test_wait_until (twitter_active, pajaro, TIMEOUT));
  g_clear_pointer (&answer, jstp_dispatch_unref);
  answer = client_request (client, JSTP_METHOD_GET, "[\"pajaro\",\"track\",\"rust\"]", NULL);
  g_assert_nonnull (strstr (jstp_dispatch_get_body_json (answer), "\"twitter\":\"active\""));
  g_clear_pointer (&answer, jstp_dispatch_unref);
  g_clear_pointer (&body, json_object_unref);

  /* An API that does not answer at all: the answer comes before the
   * engine's own timeout would. */
  g_object_set (pajaro->twitter, "request-timeout", 0, NULL);
  twitter->hold_rules = TRUE;
  start = g_get_monotonic_time ();
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"gnome\"]", NULL);
  assert_status (answer, 200);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 9 * G_USEC_PER_SEC);
  body = body_object (answer);
  g_assert_cmpstr (twitter_tag_state (body), ==, "pending");
  g_assert_cmpuint (twitter->held->len, >, 0);
  twitter_release (twitter);
  g_assert_true (test_wait_until (twitter_has_gnome_rule, twitter, TIMEOUT));
  g_assert_true (twitter_has_rule (twitter));
}

/* ---- Mastodon over the network ----------------------------------------- */

static gboolean
mastodon_has_gnome (gpointer data)
{
  return mastodon_count (data, "gnome") > 0;
}

static gboolean
mastodon_has_public (gpointer data)
{
  return mastodon_count (data, NULL) > 0;
}

static void
check_status (JstpDispatch *dispatch,
              const char   *tag,
              const char   *id)
{
  g_autoptr(JsonObject) body = body_object (dispatch);
  g_autofree char *resource = g_strdup_printf ("[\"pajaro\",\"posts\",\"%s\"]", tag);
  JsonObject *author = json_object_get_object_member (body, "author");
  JsonArray *links = json_object_get_array_member (body, "links");
  JsonArray *media = json_object_get_array_member (body, "media");

  g_assert_cmpstr (jstp_dispatch_get_resource_json (dispatch), ==, resource);
  g_assert_cmpstr (json_object_get_string_member (body, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (body, "source"), ==, "mastodon");
  g_assert_cmpstr (json_object_get_string_member (body, "tag"), ==, tag);
  g_assert_cmpstr (json_object_get_string_member (body, "created_at"), ==,
                   "2024-05-01T10:00:00.500Z");
  g_assert_cmpstr (json_object_get_string_member (author, "username"), ==, "ana@social.example");
  g_assert_cmpstr (json_object_get_string_member (author, "url"), ==,
                   "https://social.example/@ana");
  g_assert_cmpuint (json_array_get_length (links), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (links, 0), ==,
                   "https://example.org/page?a=1&b=2");
  g_assert_cmpuint (json_array_get_length (media), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (media, 0),
                                                  "type"), ==, "image");
}

static void
test_mastodon (gconstpointer data)
{
  const char *label = data;
  g_autoptr(Mastodon) mastodon = mastodon_new ();
  g_autoptr(Pajaro) pajaro = pajaro_new (NULL, mastodon);
  g_autoptr(Client) client = client_new (pajaro, label);
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(JsonObject) all = NULL;

  /* Nothing is read before something is tracked. */
  test_spin (100);
  g_assert_cmpuint (mastodon->log->len, ==, 0);

  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"gnome\"]", NULL);
  assert_status (answer, 200);
  g_assert_true (test_wait_until (mastodon_has_gnome, mastodon, TIMEOUT));
  g_assert_cmpstr (g_ptr_array_index (mastodon->log, 0), ==, "hashtag gnome");
  g_clear_pointer (&answer, jstp_dispatch_unref);

  /* Heartbeats, an update, another event kind, and a delete. */
  {
    g_autofree char *one = status_event ("101", MASTODON_CONTENT, "gnome");

    mastodon_push (mastodon, "gnome", ":thump\n");
    mastodon_push (mastodon, "gnome", one);
    mastodon_push (mastodon, "gnome", ":thump\nevent: status.update\ndata: {}\n\n");
    g_assert_true (wait_received (client, 1));
    check_status (g_ptr_array_index (client->received, 0), "gnome", "101");

    mastodon_push (mastodon, "gnome", "event: delete\ndata: 101\n\n");
    g_assert_true (wait_received (client, 2));
    {
      JstpDispatch *removal = g_ptr_array_index (client->received, 1);
      g_autoptr(JsonObject) body = body_object (removal);

      g_assert_cmpint (jstp_dispatch_get_method (removal), ==, JSTP_METHOD_DELETE);
      g_assert_cmpstr (json_object_get_string_member (body, "id"), ==, "101");
      g_assert_cmpstr (json_object_get_string_member (body, "source"), ==, "mastodon");
    }
    /* Deletions of posts never delivered are not passed on. */
    mastodon_push (mastodon, "gnome", "event: delete\ndata: 999\n\n");
  }

  /* The connection drops: Pajaro connects again and posts go on. */
  mastodon_abort (mastodon, "gnome");
  g_assert_true (test_wait_until (mastodon_has_gnome, mastodon, TIMEOUT));
  {
    g_autofree char *two = status_event ("102", MASTODON_CONTENT, "gnome");

    mastodon_push (mastodon, "gnome", two);
    g_assert_true (wait_received (client, 3));
    check_status (g_ptr_array_index (client->received, 2), "gnome", "102");
  }

  /* A keyword reads the public timeline and keeps what matches. */
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"lang\"]",
                           "{\"keyword\":\"rust lang\"}");
  assert_status (answer, 200);
  g_clear_pointer (&answer, jstp_dispatch_unref);
  g_assert_true (test_wait_until (mastodon_has_public, mastodon, TIMEOUT));
  {
    g_autofree char *miss = status_event ("201", "<p>trust language</p>", "x");
    g_autofree char *hit = status_event ("202", "<p>I like <b>Rust Lang</b></p>"
                                         "<p><a href=\\\"https://example.org/page?a=1&amp;b=2\\\">"
                                         "x</a></p>", "x");

    mastodon_push (mastodon, NULL, miss);
    mastodon_push (mastodon, NULL, hit);
    g_assert_true (wait_received (client, 4));
    check_status (g_ptr_array_index (client->received, 3), "lang", "202");
  }

  /* An event over the limit is dropped whole; the next one is read. */
  g_object_set (pajaro->mastodon, "max-event", (guint64) 4096, NULL);
  {
    g_autofree char *big = g_strnfill (3000, 'a');
    g_autofree char *oversize = g_strdup_printf ("event: update\ndata: %s\ndata: %s\n\n",
                                                 big, big);
    g_autofree char *three = status_event ("103", MASTODON_CONTENT, "gnome");

    mastodon_push (mastodon, "gnome", oversize);
    mastodon_push (mastodon, "gnome", "event: update\ndata: {\"id\":\"5\"}\n\n");
    mastodon_push (mastodon, "gnome", three);
    g_assert_true (wait_received (client, 5));
    check_status (g_ptr_array_index (client->received, 4), "gnome", "103");
  }

  all = stats (pajaro);
  log_stats (pajaro);
  {
    JsonObject *source = source_stats (all, "mastodon");
    JsonObject *streams = json_object_get_object_member (source, "streams");
    JsonObject *reasons = json_object_get_object_member (all, "dropped_by_reason");

    g_assert_cmpstr (json_object_get_string_member (source, "state"), ==, "streaming");
    g_assert_true (json_object_has_member (streams, "gnome"));
    g_assert_true (json_object_has_member (streams, "public timeline"));
    g_assert_cmpint (json_object_get_int_member (tag_stats (all, "gnome"), "reconnects"), >=, 1);
    g_assert_cmpint (json_object_get_int_member (tag_stats (all, "gnome"), "delivered"), ==, 3);
    g_assert_cmpint (json_object_get_int_member (tag_stats (all, "gnome"), "deleted"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (tag_stats (all, "gnome"), "dropped"), ==, 2);
    g_assert_cmpint (json_object_get_int_member (tag_stats (all, "lang"), "delivered"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (reasons, "oversize"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (reasons, "malformed"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (source, "ignored"), ==, 1);
  }

  /* Untracking ends the subscription: the next event finds nobody, and
   * the stream is gone from the status. */
  answer = client_request (client, JSTP_METHOD_DELETE, "[\"pajaro\",\"track\",\"gnome\"]", NULL);
  assert_status (answer, 200);
  g_clear_pointer (&answer, jstp_dispatch_unref);
  {
    g_autofree char *four = status_event ("104", MASTODON_CONTENT, "gnome");
    g_autoptr(JsonObject) after = NULL;

    mastodon_push (mastodon, "gnome", four);
    test_spin (300);
    g_assert_cmpuint (client->received->len, ==, 5);
    g_assert_cmpuint (mastodon_count (mastodon, "gnome"), ==, 0);
    after = stats (pajaro);
    g_assert_false (json_object_has_member (
      json_object_get_object_member (source_stats (after, "mastodon"), "streams"), "gnome"));
  }
  g_assert_false (mastodon->bad_auth);
}

/* A 429 with Retry-After, then recovery. */
static void
test_mastodon_rate_limit (void)
{
  g_autoptr(Mastodon) mastodon = mastodon_new ();
  g_autoptr(Pajaro) pajaro = pajaro_new (NULL, mastodon);
  g_autoptr(Client) client = client_new (pajaro, "ws");
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(JsonObject) all = NULL;
  g_autoptr(JsonObject) body = NULL;
  gint64 start = g_get_real_time () / 1000;
  JsonObject *source;

  mastodon->answer_429 = 1;
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"gnome\"]", NULL);
  assert_status (answer, 200);
  body = body_object (answer);
  g_assert_cmpstr (json_object_get_string_member (
    json_object_get_object_member (json_object_get_object_member (body, "sources"), "mastodon"),
    "state"), ==, "pending");
  g_assert_true (wait_state (pajaro, "mastodon", "backing-off"));
  all = stats (pajaro);
  source = source_stats (all, "mastodon");
  g_assert_cmpint (json_object_get_int_member (source, "retry_at"), >=, start + 1000);
  g_assert_nonnull (strstr (json_object_get_string_member (source, "error"), "HTTP 429"));
  g_assert_true (wait_state (pajaro, "mastodon", "streaming"));
  g_assert_cmpint (g_get_real_time () / 1000, >=, start + 1000);
  {
    g_autofree char *one = status_event ("301", MASTODON_CONTENT, "gnome");

    g_assert_true (test_wait_until (mastodon_has_gnome, mastodon, TIMEOUT));
    mastodon_push (mastodon, "gnome", one);
    g_assert_true (wait_received (client, 1));
    check_status (g_ptr_array_index (client->received, 0), "gnome", "301");
  }
}

/* ---- both, and the rules of the resources ------------------------------ */

static void
test_resources (void)
{
  g_autoptr(Twitter) twitter = twitter_new ();
  g_autoptr(Mastodon) mastodon = mastodon_new ();
  g_autoptr(Pajaro) pajaro = pajaro_new (twitter, mastodon);
  g_autoptr(Client) client = client_new (pajaro, "tcp");
  g_autoptr(JstpDispatch) answer = NULL;
  g_autoptr(JsonObject) body = NULL;

  /* The public timeline is Mastodon's alone. */
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"all\"]",
                           "{\"timeline\":\"public\"}");
  assert_status (answer, 200);
  body = body_object (answer);
  g_assert_cmpstr (json_object_get_string_member (
    json_object_get_object_member (json_object_get_object_member (body, "sources"), "twitter"),
    "state"), ==, "unsupported");
  g_clear_pointer (&answer, jstp_dispatch_unref);

  /* A hashtag on both: one post from each. */
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"gnome\"]", NULL);
  assert_status (answer, 200);
  g_clear_pointer (&answer, jstp_dispatch_unref);
  g_assert_true (test_wait_until (twitter_streaming, twitter, TIMEOUT));
  g_assert_true (test_wait_until (mastodon_has_gnome, mastodon, TIMEOUT));
  {
    g_autofree char *tweet = tweet_line (twitter, "1", "from twitter", "gnome");
    g_autofree char *status = status_event ("1", MASTODON_CONTENT, "gnome");

    twitter_push (twitter, tweet);
    mastodon_push (mastodon, "gnome", status);
    /* The same ids from two networks are two posts; the public track
     * takes the same status under its own tag. */
    mastodon_push (mastodon, NULL, status);
    g_assert_true (wait_received (client, 3));
    test_spin (100);
    g_assert_cmpuint (client->received->len, ==, 3);
  }

  /* Bad tags and bodies are refused before anything changes. */
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"two words\"]", NULL);
  assert_status (answer, 400);
  g_clear_pointer (&answer, jstp_dispatch_unref);
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"x\"]",
                           "{\"keyword\":7}");
  assert_status (answer, 400);
  g_clear_pointer (&answer, jstp_dispatch_unref);
  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",7]", NULL);
  g_assert_cmpuint (jstp_dispatch_get_status (answer), !=, 200);
  g_clear_pointer (&answer, jstp_dispatch_unref);

  /* Nobody but Pajaro emits posts. */
  answer = client_request (client, JSTP_METHOD_POST, "[\"pajaro\",\"posts\",\"gnome\"]",
                           "{\"id\":\"forged\"}");
  assert_status (answer, 403);
  g_clear_pointer (&answer, jstp_dispatch_unref);
  test_spin (100);
  g_assert_cmpuint (client->received->len, ==, 3);

  /* The engine says what it serves. */
  answer = client_request (client, JSTP_METHOD_GET, "[\"jstp\",\"info\"]", NULL);
  assert_status (answer, 200);
  g_assert_nonnull (strstr (jstp_dispatch_get_body_json (answer), "\"kind\":\"pajaro\""));
  g_assert_nonnull (strstr (jstp_dispatch_get_body_json (answer), "\"track\",\":tag\""));
}

static void
test_no_source (void)
{
  g_autoptr(Pajaro) pajaro = pajaro_new (NULL, NULL);
  g_autoptr(Client) client = client_new (pajaro, "ws");
  g_autoptr(JstpDispatch) answer = NULL;

  answer = client_request (client, JSTP_METHOD_PUT, "[\"pajaro\",\"track\",\"gnome\"]", NULL);
  assert_status (answer, 501);
  g_clear_pointer (&answer, jstp_dispatch_unref);
  answer = client_request (client, JSTP_METHOD_GET, "[\"pajaro\",\"track\"]", NULL);
  assert_status (answer, 200);
  g_assert_cmpstr (jstp_dispatch_get_body_json (answer), ==, "{\"tags\":[]}");
}

/* ---- the program ------------------------------------------------------- */

typedef struct {
  char *line;
  gboolean done;
} LineRead;

static void
line_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  LineRead *read = user_data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, NULL);
  read->done = TRUE;
}

static gboolean
line_done (gpointer data)
{
  return ((LineRead *) data)->done;
}

static void
exited_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* The executable: flags, the listening line, a post end to end, SIGTERM. */
static void
test_program (void)
{
  g_autoptr(Mastodon) mastodon = mastodon_new ();
  g_autofree char *url = mastodon_url (mastodon);
  g_autofree char *program = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRegex) regex = NULL;
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *tcp = NULL;
  g_autofree char *ws = NULL;
  LineRead read = { NULL, FALSE };
  gboolean exited = FALSE;
  Client client = { 0, };

  program = g_strdup (g_getenv ("PAJARO"));
  if (program == NULL)
    program = g_test_build_filename (G_TEST_BUILT, "..", "..", "src", "services", "pajaro",
                                     "pajaro", NULL);
  if (!g_file_test (program, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("the pajaro program was not built");
      return;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (launcher, "PAJARO_MASTODON_TOKEN", TOKEN, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, program, "--tcp-port", "0",
                                         "--ws-port", "0", "--mastodon-url", url,
                                         "--track", "GNOME", "--quiet", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL, line_read_cb, &read);
  g_assert_true (test_wait_until (line_done, &read, 10000));
  g_assert_nonnull (read.line);
  regex = g_regex_new ("^pajaro listening: "
                       "tcp 127\\.0\\.0\\.1:([0-9]+) ws 127\\.0\\.0\\.1:([0-9]+)$", 0, 0, NULL);
  g_assert_true (g_regex_match (regex, read.line, 0, &match));
  tcp = g_match_info_fetch (match, 1);
  ws = g_match_info_fetch (match, 2);

  /* --track followed the tag, with the token from the environment. */
  g_assert_true (test_wait_until (mastodon_has_gnome, mastodon, 10000));

  client.engine = jstp_engine_new ("client");
  client.network = jstp_network_new (client.engine);
  client.label = "tcp";
  client.port = (guint16) g_ascii_strtoull (tcp, NULL, 10);
  client.received = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  client.answers = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  client_bind (&client, "POST");
  {
    g_autofree char *one = status_event ("401", MASTODON_CONTENT, "gnome");
    g_autoptr(JstpDispatch) answer = NULL;

    mastodon_push (mastodon, "gnome", one);
    g_assert_true (wait_received (&client, 1));
    check_status (g_ptr_array_index (client.received, 0), "gnome", "401");
    answer = client_request (&client, JSTP_METHOD_GET, "[\"jstp\",\"status\"]", NULL);
    assert_status (answer, 200);
    g_assert_nonnull (strstr (jstp_dispatch_get_body_json (answer), "\"kind\":\"pajaro\""));
  }
  jstp_network_close (client.network);
  g_object_unref (client.network);
  g_object_unref (client.engine);
  g_ptr_array_unref (client.received);
  g_ptr_array_unref (client.answers);

  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, exited_cb, &exited);
  g_assert_true (test_wait_until (is_true, &exited, 10000));
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  g_free (read.line);
  g_assert_nonnull (ws);
  g_assert_false (mastodon->bad_auth);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pajaro/service/tags", test_tags);
  g_test_add_func ("/pajaro/service/backoff", test_backoff);
  g_test_add_func ("/pajaro/twitter/parse", test_twitter_parse);
  g_test_add_func ("/pajaro/mastodon/parse", test_mastodon_parse);
  g_test_add_data_func ("/pajaro/twitter/tcp", "tcp", test_twitter);
  g_test_add_data_func ("/pajaro/twitter/ws", "ws", test_twitter);
  g_test_add_func ("/pajaro/twitter/rate-limit", test_twitter_rate_limit);
  g_test_add_func ("/pajaro/twitter/rules-trouble", test_twitter_rules_trouble);
  g_test_add_data_func ("/pajaro/mastodon/tcp", "tcp", test_mastodon);
  g_test_add_data_func ("/pajaro/mastodon/ws", "ws", test_mastodon);
  g_test_add_func ("/pajaro/mastodon/rate-limit", test_mastodon_rate_limit);
  g_test_add_func ("/pajaro/service/resources", test_resources);
  g_test_add_func ("/pajaro/service/no-source", test_no_source);
  g_test_add_func ("/pajaro/service/program", test_program);

  return g_test_run ();
}
