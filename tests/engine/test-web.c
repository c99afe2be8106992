/* SPDX-License-Identifier: MIT */
/* test-web.c: plain HTTP on the WebSocket port (jstp-web.h): the page and
 * the client are served, other paths and methods refused, and WebSocket
 * upgrades still reach the engine on every path. */
#include <string.h>
#include <libsoup/soup.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "jstp-web.h"

typedef struct {
  JstpEngine *engine;
  JstpNetwork *network;
  SoupSession *session;
  char *base;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->engine = jstp_engine_new ("web");
  f->network = jstp_network_new (f->engine);
  g_assert_true (jstp_network_listen (f->network, "ws", "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  f->session = soup_session_new_with_options ("timeout", 5, NULL);
  f->base = g_strdup_printf ("http://127.0.0.1:%u", jstp_network_get_port (f->network, "ws"));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  jstp_network_close (f->network);
  g_object_unref (f->session);
  g_object_unref (f->network);
  g_object_unref (f->engine);
  g_free (f->base);
}

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  GBytes **body = data;
  g_autoptr(GError) error = NULL;

  *body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
}

/* Asynchronous: the server answers on this same main context. */
static GBytes *
fetch (Fixture     *f,
       const char  *method,
       const char  *path,
       guint       *status,
       char       **content_type)
{
  g_autofree char *uri = g_strconcat (f->base, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  GBytes *body = NULL;

  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, read_cb, &body);
  while (body == NULL && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (body);
  *status = soup_message_get_status (msg);
  if (content_type)
    *content_type = g_strdup (soup_message_headers_get_content_type (
                                soup_message_get_response_headers (msg), NULL));
  return body;
}

static gboolean
contains (GBytes     *bytes,
          const char *needle)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  return g_strstr_len (data, size, needle) != NULL;
}

static void
test_page (Fixture       *f,
           gconstpointer  data)
{
  guint status = 0;
  g_autofree char *type = NULL;
  g_autoptr(GBytes) body = fetch (f, "GET", "/", &status, &type);

  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "text/html");
  g_assert_true (contains (body, "<script src=\"/jstp.js\"></script>"));
  g_assert_true (contains (body, "id=\"status-table\""));
}

static void
test_client (Fixture       *f,
             gconstpointer  data)
{
  guint status = 0;
  g_autofree char *type = NULL;
  g_autoptr(GBytes) body = fetch (f, "GET", "/jstp.js", &status, &type);
  g_autoptr(GBytes) head = NULL;

  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (type, ==, "text/javascript");
  g_assert_true (contains (body, "getRandomValues"));
  g_assert_cmpuint (g_bytes_get_size (body), >, 1000);

  head = fetch (f, "HEAD", "/jstp.js", &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (g_bytes_get_size (head), ==, 0);
}

static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  guint status = 0;
  g_autoptr(GBytes) missing = fetch (f, "GET", "/etc/passwd", &status, NULL);
  g_autoptr(GBytes) posted = NULL;

  g_assert_cmpuint (status, ==, 404);
  posted = fetch (f, "POST", "/", &status, NULL);
  g_assert_cmpuint (status, ==, 405);
}

static void
websocket_ready_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  SoupWebsocketConnection **ws = data;
  g_autoptr(GError) error = NULL;

  *ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
}

static void
message_cb (SoupWebsocketConnection *ws,
            SoupWebsocketDataType    type,
            GBytes                  *message,
            gpointer                 data)
{
  char **text = data;

  g_free (*text);
  *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
}

/* With the HTTP handler on the same path, upgrades still reach the engine,
 * on "/" and on any other path. */
static void
test_upgrade (Fixture       *f,
              gconstpointer  data)
{
  const char *path = data;
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u%s",
                                          jstp_network_get_port (f->network, "ws"), path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  g_autofree char *received = NULL;
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  const char *request = "{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"GET\","
                        "\"resource\":[\"jstp\",\"info\"],\"timestamp\":1700000000000,"
                        "\"token\":[\"6c1e0a57-6c8c-4e3b-9a55-0c3f8f0e1d2a\"]}";

  soup_session_websocket_connect_async (f->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        websocket_ready_cb, &ws);
  while (ws == NULL && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (ws);
  g_signal_connect (ws, "message", G_CALLBACK (message_cb), &received);
  soup_websocket_connection_send_text (ws, request);
  while (received == NULL && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  g_assert_nonnull (received);
  g_assert_nonnull (strstr (received, "\"method\":\"ANSWER\""));
  g_assert_nonnull (strstr (received, "\"resource\":[200,\"6c1e0a57-"));
  soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  while (soup_websocket_connection_get_state (ws) != SOUP_WEBSOCKET_STATE_CLOSED &&
         g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/web/page", Fixture, NULL, fixture_set_up, test_page, fixture_tear_down);
  g_test_add ("/web/client", Fixture, NULL, fixture_set_up, test_client, fixture_tear_down);
  g_test_add ("/web/refused", Fixture, NULL, fixture_set_up, test_refused, fixture_tear_down);
  g_test_add ("/web/upgrade/root", Fixture, "/", fixture_set_up, test_upgrade,
              fixture_tear_down);
  g_test_add ("/web/upgrade/any-path", Fixture, "/some/where", fixture_set_up, test_upgrade,
              fixture_tear_down);

  return g_test_run ();
}
