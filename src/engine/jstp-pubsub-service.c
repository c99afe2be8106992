/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "jstp-pubsub-service.h"

#define DEFAULT_HISTORY       100
#define DEFAULT_HISTORY_BYTES (256 * 1024)
#define DEFAULT_MAX_CHANNELS  1000

typedef struct {
  guint64 seq;
  gint64 timestamp;
  char *body;                   /* validated JSON text; NULL for no body */
  gsize size;
} Message;

typedef struct {
  char *name;
  GQueue messages;              /* Message, oldest first */
  gsize bytes;
  guint64 posts;
} Channel;

struct _JstpPubsubService
{
  JstpService parent_instance;

  GHashTable *channels;         /* name -> Channel */
  guint history;
  guint history_bytes;
  guint max_channels;
  guint64 posts;
};

G_DEFINE_FINAL_TYPE (JstpPubsubService, jstp_pubsub_service, JSTP_TYPE_SERVICE)

enum {
  PROP_0,
  PROP_HISTORY,
  PROP_HISTORY_BYTES,
  PROP_MAX_CHANNELS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
message_free (gpointer data)
{
  Message *message = data;

  g_free (message->body);
  g_free (message);
}

static void
channel_free (gpointer data)
{
  Channel *channel = data;

  g_queue_clear_full (&channel->messages, message_free);
  g_free (channel->name);
  g_free (channel);
}

/* Oldest first, until the channel fits both limits. */
static void
trim (JstpPubsubService *self,
      Channel           *channel)
{
  while (channel->messages.length > self->history ||
         (self->history_bytes > 0 && channel->bytes > self->history_bytes))
    {
      Message *oldest = g_queue_pop_head (&channel->messages);

      channel->bytes -= oldest->size;
      message_free (oldest);
    }
}

static JsonNode *
post_cb (JstpService         *service,
         JstpServiceRequest  *request,
         gpointer             user_data,
         GError             **error)
{
  JstpPubsubService *self = JSTP_PUBSUB_SERVICE (service);
  JstpDispatch *dispatch = jstp_service_request_get_dispatch (request);
  const char *name = jstp_service_request_get_capture (request, "channel");
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  Channel *channel;

  channel = g_hash_table_lookup (self->channels, name);
  if (channel == NULL)
    {
      if (g_hash_table_size (self->channels) >= self->max_channels)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_SATURATED,
                       "no room for a new channel (%u at most)", self->max_channels);
          return NULL;
        }
      channel = g_new0 (Channel, 1);
      channel->name = g_strdup (name);
      g_queue_init (&channel->messages);
      g_hash_table_insert (self->channels, channel->name, channel);
    }

  channel->posts++;
  self->posts++;
  if (self->history > 0)
    {
      Message *message = g_new0 (Message, 1);
      const char *body = jstp_dispatch_get_body_json (dispatch);

      message->seq = channel->posts;
      message->timestamp = jstp_dispatch_get_timestamp (dispatch);
      message->body = g_strdup (body);
      message->size = body ? strlen (body) : 0;
      g_queue_push_tail (&channel->messages, message);
      channel->bytes += message->size;
      trim (self, channel);
    }
  jstp_service_log (service, G_LOG_LEVEL_DEBUG, "post %" G_GUINT64_FORMAT " to %s",
                    channel->posts, name);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "channel");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "seq");
  json_builder_add_int_value (builder, (gint64) channel->posts);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static JsonNode *
history_cb (JstpService         *service,
            JstpServiceRequest  *request,
            gpointer             user_data,
            GError             **error)
{
  JstpPubsubService *self = JSTP_PUBSUB_SERVICE (service);
  const char *name = jstp_service_request_get_capture (request, "channel");
  Channel *channel = g_hash_table_lookup (self->channels, name);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  gint64 last = G_MAXINT64;
  guint skip = 0;
  GList *link;

  if (jstp_service_request_has_argument (request, "last") &&
      !jstp_service_request_get_int (request, "last", 0, G_MAXINT32, &last, error))
    return NULL;
  if (channel && (gint64) channel->messages.length > last)
    skip = channel->messages.length - (guint) last;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "channel");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "messages");
  json_builder_begin_array (builder);
  for (link = channel ? g_queue_peek_nth_link (&channel->messages, skip) : NULL;
       link; link = link->next)
    {
      Message *message = link->data;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, (gint64) message->seq);
      json_builder_set_member_name (builder, "timestamp");
      json_builder_add_int_value (builder, message->timestamp);
      if (message->body)
        {
          /* The strict scanner accepted it when it arrived. */
          json_builder_set_member_name (builder, "body");
          json_builder_add_value (builder, json_from_string (message->body, NULL));
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static JsonNode *
forget_cb (JstpService         *service,
           JstpServiceRequest  *request,
           gpointer             user_data,
           GError             **error)
{
  JstpPubsubService *self = JSTP_PUBSUB_SERVICE (service);
  const char *name = jstp_service_request_get_capture (request, "channel");
  Channel *channel = g_hash_table_lookup (self->channels, name);
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "channel");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "dropped");
  json_builder_add_int_value (builder, channel ? channel->messages.length : 0);
  json_builder_end_object (builder);
  g_hash_table_remove (self->channels, name);
  return json_builder_get_root (builder);
}

static void
jstp_pubsub_service_add_status (JstpService *service,
                                JsonBuilder *builder)
{
  JstpPubsubService *self = JSTP_PUBSUB_SERVICE (service);
  GHashTableIter iter;
  gpointer value;
  guint64 kept = 0, kept_bytes = 0;

  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Channel *channel = value;

      kept += channel->messages.length;
      kept_bytes += channel->bytes;
    }

  json_builder_set_member_name (builder, "channels");
  json_builder_add_int_value (builder, g_hash_table_size (self->channels));
  json_builder_set_member_name (builder, "posts");
  json_builder_add_int_value (builder, (gint64) self->posts);
  json_builder_set_member_name (builder, "kept");
  json_builder_add_int_value (builder, (gint64) kept);
  json_builder_set_member_name (builder, "kept_bytes");
  json_builder_add_int_value (builder, (gint64) kept_bytes);
  json_builder_set_member_name (builder, "history");
  json_builder_add_int_value (builder, self->history);
  json_builder_set_member_name (builder, "history_bytes");
  json_builder_add_int_value (builder, self->history_bytes);
}

guint
jstp_pubsub_service_get_history (JstpPubsubService *self)
{
  g_return_val_if_fail (JSTP_IS_PUBSUB_SERVICE (self), 0);
  return self->history;
}

void
jstp_pubsub_service_set_history (JstpPubsubService *self,
                                 guint              history)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (JSTP_IS_PUBSUB_SERVICE (self));

  if (self->history == history)
    return;
  self->history = history;
  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    trim (self, value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HISTORY]);
}

static void
jstp_pubsub_service_constructed (GObject *object)
{
  JstpService *service = JSTP_SERVICE (object);

  G_OBJECT_CLASS (jstp_pubsub_service_parent_class)->constructed (object);

  jstp_service_add_handler (service, "POST", (const char *[]) { ":channel", NULL },
                            post_cb, NULL, NULL, NULL);
  jstp_service_add_handler (service, "GET", (const char *[]) { ":channel", NULL },
                            history_cb, NULL, NULL, NULL);
  jstp_service_add_handler (service, "DELETE", (const char *[]) { ":channel", NULL },
                            forget_cb, NULL, NULL, NULL);
  jstp_service_add_event (service, "POST", (const char *[]) { ":channel", NULL },
                          JSTP_SERVICE_EVENT_NONE, NULL);
}

static void
jstp_pubsub_service_finalize (GObject *object)
{
  JstpPubsubService *self = JSTP_PUBSUB_SERVICE (object);

  g_hash_table_unref (self->channels);

  G_OBJECT_CLASS (jstp_pubsub_service_parent_class)->finalize (object);
}

static void
jstp_pubsub_service_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  JstpPubsubService *self = JSTP_PUBSUB_SERVICE (object);

  switch (prop_id)
    {
    case PROP_HISTORY:
      g_value_set_uint (value, self->history);
      break;
    case PROP_HISTORY_BYTES:
      g_value_set_uint (value, self->history_bytes);
      break;
    case PROP_MAX_CHANNELS:
      g_value_set_uint (value, self->max_channels);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_pubsub_service_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  JstpPubsubService *self = JSTP_PUBSUB_SERVICE (object);

  switch (prop_id)
    {
    case PROP_HISTORY:
      jstp_pubsub_service_set_history (self, g_value_get_uint (value));
      break;
    case PROP_HISTORY_BYTES:
      if (self->history_bytes != g_value_get_uint (value))
        {
          self->history_bytes = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_MAX_CHANNELS:
      if (self->max_channels != g_value_get_uint (value))
        {
          self->max_channels = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_pubsub_service_class_init (JstpPubsubServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JstpServiceClass *service_class = JSTP_SERVICE_CLASS (klass);

  object_class->constructed = jstp_pubsub_service_constructed;
  object_class->finalize = jstp_pubsub_service_finalize;
  object_class->get_property = jstp_pubsub_service_get_property;
  object_class->set_property = jstp_pubsub_service_set_property;
  service_class->add_status = jstp_pubsub_service_add_status;

  /**
   * JstpPubsubService:history:
   *
   * Messages kept per channel, answered by GET [PREFIX, CHANNEL].
   */
  properties[PROP_HISTORY] =
    g_param_spec_uint ("history", NULL, NULL, 0, 100000, DEFAULT_HISTORY,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpPubsubService:history-bytes:
   *
   * Bytes of message bodies kept per channel, at most; 0 for no limit.
   */
  properties[PROP_HISTORY_BYTES] =
    g_param_spec_uint ("history-bytes", NULL, NULL, 0, G_MAXUINT, DEFAULT_HISTORY_BYTES,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * JstpPubsubService:max-channels:
   *
   * Channels at most: posts that would open another are refused 429.
   */
  properties[PROP_MAX_CHANNELS] =
    g_param_spec_uint ("max-channels", NULL, NULL, 1, G_MAXUINT, DEFAULT_MAX_CHANNELS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jstp_pubsub_service_init (JstpPubsubService *self)
{
  self->channels = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, channel_free);
  self->history = DEFAULT_HISTORY;
  self->history_bytes = DEFAULT_HISTORY_BYTES;
  self->max_channels = DEFAULT_MAX_CHANNELS;
}

JstpService *
jstp_pubsub_service_new (void)
{
  return g_object_new (JSTP_TYPE_PUBSUB_SERVICE, "name", "pubsub", NULL);
}
