/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "test-connection.h"

struct _TestConnection
{
  JstpConnection parent_instance;
  GPtrArray *sent;
};

G_DEFINE_FINAL_TYPE (TestConnection, test_connection, JSTP_TYPE_CONNECTION)

static void
test_connection_send_text (JstpConnection *connection,
                           const char     *text,
                           gsize           length)
{
  TestConnection *self = TEST_CONNECTION (connection);

  /* A dispatch must never hold a raw newline: TCP framing relies on it. */
  g_assert_null (memchr (text, '\n', length));
  g_ptr_array_add (self->sent, g_strndup (text, length));
}

static void
test_connection_close (JstpConnection *connection)
{
  jstp_connection_notify_closed (connection);
}

static void
test_connection_finalize (GObject *object)
{
  TestConnection *self = TEST_CONNECTION (object);

  g_ptr_array_unref (self->sent);
  G_OBJECT_CLASS (test_connection_parent_class)->finalize (object);
}

static void
test_connection_class_init (TestConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JstpConnectionClass *connection_class = JSTP_CONNECTION_CLASS (klass);

  object_class->finalize = test_connection_finalize;
  connection_class->send_text = test_connection_send_text;
  connection_class->close = test_connection_close;
}

static void
test_connection_init (TestConnection *self)
{
  self->sent = g_ptr_array_new_with_free_func (g_free);
}

TestConnection *
test_connection_new (void)
{
  return g_object_new (TEST_TYPE_CONNECTION,
                       "transport", "local",
                       "peer-address", "test",
                       "inbound", TRUE,
                       "loopback", TRUE,
                       NULL);
}

GPtrArray *
test_connection_get_sent (TestConnection *self)
{
  return self->sent;
}

JstpDispatch *
test_connection_parse_last (TestConnection *self)
{
  const char *last;
  g_autoptr(GError) error = NULL;
  JstpDispatch *dispatch;

  if (self->sent->len == 0)
    return NULL;
  last = g_ptr_array_index (self->sent, self->sent->len - 1);
  dispatch = jstp_dispatch_parse (last, strlen (last), NULL, NULL, &error);
  g_assert_no_error (error);
  return dispatch;
}

void
test_connection_receive (TestConnection *self,
                         const char     *text)
{
  jstp_connection_deliver (JSTP_CONNECTION (self), text, strlen (text));
}

void
test_connection_hang_up (TestConnection *self)
{
  jstp_connection_notify_closed (JSTP_CONNECTION (self));
}
