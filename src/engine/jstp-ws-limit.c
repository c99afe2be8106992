/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "jstp-ws-limit.h"

struct _JstpWsLimit
{
  SoupWebsocketExtension parent_instance;

  const JstpNetworkLimits *limits;
  guint64 message_length;   /* payload bytes of the message being received */
  gboolean tripped;         /* every later data frame is refused too */
};

G_DEFINE_FINAL_TYPE (JstpWsLimit, jstp_ws_limit, SOUP_TYPE_WEBSOCKET_EXTENSION)

static GBytes *
jstp_ws_limit_process_incoming_message (SoupWebsocketExtension  *extension,
                                        guint8                  *header,
                                        GBytes                  *payload,
                                        GError                 **error)
{
  JstpWsLimit *self = JSTP_WS_LIMIT (extension);
  guint8 opcode = header[0] & 0x0f;

  /* Control frames come between fragments and are never part of a message. */
  if (opcode & 0x08)
    return payload;

  if (opcode != 0)
    self->message_length = 0;
  self->message_length += g_bytes_get_size (payload);
  if (self->tripped || self->message_length > self->limits->max_frame)
    {
      /* libsoup keeps a refused frame at the head of its buffer: refuse
       * whatever follows it as well, until the connection is gone. */
      self->tripped = TRUE;
      g_bytes_unref (payload);
      g_set_error (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG,
                   "a message over %" G_GSIZE_FORMAT " bytes", self->limits->max_frame);
      return NULL;
    }
  if (header[0] & 0x80)
    self->message_length = 0;
  return payload;
}

static GBytes *
jstp_ws_limit_process_outgoing_message (SoupWebsocketExtension  *extension,
                                        guint8                  *header,
                                        GBytes                  *payload,
                                        GError                 **error)
{
  return payload;
}

static void
jstp_ws_limit_class_init (JstpWsLimitClass *klass)
{
  SoupWebsocketExtensionClass *extension_class = SOUP_WEBSOCKET_EXTENSION_CLASS (klass);

  /* Never offered nor accepted in a handshake. */
  extension_class->name = "x-jstp-message-limit";
  extension_class->process_incoming_message = jstp_ws_limit_process_incoming_message;
  extension_class->process_outgoing_message = jstp_ws_limit_process_outgoing_message;
}

static void
jstp_ws_limit_init (JstpWsLimit *self)
{
}

SoupWebsocketExtension *
jstp_ws_limit_new (const JstpNetworkLimits *limits)
{
  JstpWsLimit *self;

  g_return_val_if_fail (limits != NULL, NULL);

  self = g_object_new (JSTP_TYPE_WS_LIMIT, NULL);
  self->limits = limits;
  return SOUP_WEBSOCKET_EXTENSION (self);
}
