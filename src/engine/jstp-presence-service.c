/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "jstp-json-writer.h"
#include "jstp-presence-service.h"

#define MAX_NAME_CHARS      64
#define DEFAULT_MAX_MEMBERS 10000

typedef struct {
  char *name;
  JstpConnection *connection;   /* NULL: the engine's local emitters */
  gint64 since;                 /* ms since the epoch */
  char *data;                   /* JSON text; NULL when none was given */
} Member;

typedef struct {
  char *name;
  GPtrArray *members;           /* Member, in the order they joined */
} Channel;

/* A member that left, with the channel it left, for the event. */
typedef struct {
  char *channel;
  Member *member;
} Departure;

struct _JstpPresenceService
{
  JstpService parent_instance;

  GHashTable *channels;         /* name -> Channel */
  guint n_members;
  guint max_members;
  guint64 joins;
  guint64 leaves;
  gulong removed_handler;
};

G_DEFINE_FINAL_TYPE (JstpPresenceService, jstp_presence_service, JSTP_TYPE_SERVICE)

enum {
  PROP_0,
  PROP_MAX_MEMBERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
member_free (gpointer data)
{
  Member *member = data;

  g_clear_object (&member->connection);
  g_free (member->name);
  g_free (member->data);
  g_free (member);
}

static void
channel_free (gpointer data)
{
  Channel *channel = data;

  g_ptr_array_unref (channel->members);
  g_free (channel->name);
  g_free (channel);
}

static void
add_member (JsonBuilder *builder,
            Member      *member)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, member->name);
  json_builder_set_member_name (builder, "since");
  json_builder_add_int_value (builder, member->since);
  if (member->data)
    {
      /* Written by jstp_json_append_node() from a validated body. */
      json_builder_set_member_name (builder, "data");
      json_builder_add_value (builder, json_from_string (member->data, NULL));
    }
  json_builder_end_object (builder);
}

static JsonNode *
members_node (const char *name,
              Channel    *channel)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "channel");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "members");
  json_builder_begin_array (builder);
  for (guint i = 0; channel && i < channel->members->len; i++)
    add_member (builder, g_ptr_array_index (channel->members, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
publish (JstpPresenceService *self,
         const char          *channel,
         Member              *member,
         const char          *reason)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "channel");
  json_builder_add_string_value (builder, channel);
  json_builder_set_member_name (builder, "member");
  add_member (builder, member);
  if (reason)
    {
      json_builder_set_member_name (builder, "reason");
      json_builder_add_string_value (builder, reason);
    }
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  jstp_service_log (JSTP_SERVICE (self), G_LOG_LEVEL_DEBUG, "%s %s %s%s%s", member->name,
                    reason ? "left" : "joined", channel, reason ? ": " : "", reason ? reason : "");
  jstp_service_publish (JSTP_SERVICE (self), "POST",
                        (const char *[]) { channel, reason ? "leave" : "join", NULL }, body);
}

static Member *
find_member (Channel    *channel,
             const char *name)
{
  for (guint i = 0; channel && i < channel->members->len; i++)
    {
      Member *member = g_ptr_array_index (channel->members, i);

      if (g_str_equal (member->name, name))
        return member;
    }
  return NULL;
}

/* Takes the departures out of every structure first and publishes after,
 * so that subscribers called by the events see a consistent service. */
static void
depart (JstpPresenceService *self,
        GPtrArray           *departures,
        const char          *reason)
{
  for (guint i = 0; i < departures->len; i++)
    {
      Departure *departure = g_ptr_array_index (departures, i);

      self->leaves++;
      publish (self, departure->channel, departure->member, reason);
    }
}

static void
departure_free (gpointer data)
{
  Departure *departure = data;

  member_free (departure->member);
  g_free (departure->channel);
  g_free (departure);
}

/* Removes the members of @channel that belong to @connection (and are
 * called @name, when given) into @departures. */
static void
take_members (JstpPresenceService *self,
              Channel             *channel,
              JstpConnection      *connection,
              const char          *name,
              GPtrArray           *departures)
{
  for (guint i = 0; i < channel->members->len;)
    {
      Member *member = g_ptr_array_index (channel->members, i);

      if (member->connection == connection && (name == NULL || g_str_equal (member->name, name)))
        {
          Departure *departure = g_new0 (Departure, 1);

          departure->channel = g_strdup (channel->name);
          departure->member = g_ptr_array_steal_index (channel->members, i);
          g_ptr_array_add (departures, departure);
          self->n_members--;
        }
      else
        i++;
    }
}

static JsonNode *
join_cb (JstpService         *service,
         JstpServiceRequest  *request,
         gpointer             user_data,
         GError             **error)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (service);
  const char *channel_name = jstp_service_request_get_capture (request, "channel");
  JstpConnection *connection = jstp_service_request_get_connection (request);
  g_autofree char *data = NULL;
  JsonNode *data_node = NULL;
  const char *name;
  Channel *channel;
  Member *member;
  glong chars;

  if (!jstp_service_request_get_string (request, "name", &name, error))
    return NULL;
  chars = g_utf8_strlen (name, -1);
  if (chars < 1 || chars > MAX_NAME_CHARS)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "argument \"name\" must have 1 to %d characters", MAX_NAME_CHARS);
      return NULL;
    }
  if (jstp_service_request_has_argument (request, "data"))
    {
      g_autoptr(GString) text = g_string_new (NULL);

      if (!jstp_service_request_get_value (request, "data", &data_node, error) ||
          !jstp_json_append_node (text, data_node, error))
        return NULL;
      data = g_string_free (g_steal_pointer (&text), FALSE);
    }

  channel = g_hash_table_lookup (self->channels, channel_name);
  member = find_member (channel, name);
  if (member && member->connection != connection)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_FORBIDDEN,
                   "\"%s\" is in %s from another connection", name, channel_name);
      return NULL;
    }
  if (member)
    {
      /* Joining again updates what the others see on their next GET. */
      g_free (member->data);
      member->data = g_steal_pointer (&data);
      return members_node (channel_name, channel);
    }
  if (self->n_members >= self->max_members)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_SATURATED,
                   "no room for another member (%u at most)", self->max_members);
      return NULL;
    }

  if (channel == NULL)
    {
      channel = g_new0 (Channel, 1);
      channel->name = g_strdup (channel_name);
      channel->members = g_ptr_array_new_with_free_func (member_free);
      g_hash_table_insert (self->channels, channel->name, channel);
    }
  member = g_new0 (Member, 1);
  member->name = g_strdup (name);
  member->connection = connection ? g_object_ref (connection) : NULL;
  member->since = g_get_real_time () / 1000;
  member->data = g_steal_pointer (&data);
  g_ptr_array_add (channel->members, member);
  self->n_members++;
  self->joins++;

  publish (self, channel_name, member, NULL);
  /* The event's subscribers ran: the channel may have changed since. */
  return members_node (channel_name, g_hash_table_lookup (self->channels, channel_name));
}

static JsonNode *
leave_cb (JstpService         *service,
          JstpServiceRequest  *request,
          gpointer             user_data,
          GError             **error)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (service);
  const char *channel_name = jstp_service_request_get_capture (request, "channel");
  JstpConnection *connection = jstp_service_request_get_connection (request);
  g_autoptr(GPtrArray) departures = g_ptr_array_new_with_free_func (departure_free);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char *name = NULL;
  Channel *channel;

  if (jstp_service_request_has_argument (request, "name") &&
      !jstp_service_request_get_string (request, "name", &name, error))
    return NULL;

  channel = g_hash_table_lookup (self->channels, channel_name);
  if (channel)
    take_members (self, channel, connection, name, departures);
  if (departures->len == 0)
    {
      Member *member = name ? find_member (channel, name) : NULL;

      if (member)
        g_set_error (error, JSTP_ERROR, JSTP_STATUS_FORBIDDEN,
                     "\"%s\" is in %s from another connection", name, channel_name);
      else
        g_set_error (error, JSTP_ERROR, JSTP_STATUS_NOT_FOUND,
                     "%s is not in %s", name ? name : "this connection", channel_name);
      return NULL;
    }
  if (channel->members->len == 0)
    g_hash_table_remove (self->channels, channel_name);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "channel");
  json_builder_add_string_value (builder, channel_name);
  json_builder_set_member_name (builder, "left");
  json_builder_begin_array (builder);
  for (guint i = 0; i < departures->len; i++)
    json_builder_add_string_value (builder,
                                   ((Departure *) g_ptr_array_index (departures, i))->member->name);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  depart (self, departures, "left");
  return json_builder_get_root (builder);
}

static JsonNode *
list_cb (JstpService         *service,
         JstpServiceRequest  *request,
         gpointer             user_data,
         GError             **error)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (service);
  const char *channel_name = jstp_service_request_get_capture (request, "channel");

  return members_node (channel_name, g_hash_table_lookup (self->channels, channel_name));
}

static void
connection_removed_cb (JstpEngine          *engine,
                       JstpConnection      *connection,
                       JstpPresenceService *self)
{
  g_autoptr(GPtrArray) departures = g_ptr_array_new_with_free_func (departure_free);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Channel *channel = value;

      take_members (self, channel, connection, NULL, departures);
      if (channel->members->len == 0)
        g_hash_table_iter_remove (&iter);
    }
  depart (self, departures, "closed");
}

guint
jstp_presence_service_count_members (JstpPresenceService *self,
                                     const char          *channel)
{
  Channel *found;

  g_return_val_if_fail (JSTP_IS_PRESENCE_SERVICE (self), 0);
  g_return_val_if_fail (channel != NULL, 0);

  found = g_hash_table_lookup (self->channels, channel);
  return found ? found->members->len : 0;
}

static gboolean
jstp_presence_service_mount (JstpService  *service,
                             JstpEngine   *engine,
                             GError      **error)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (service);

  self->removed_handler = g_signal_connect (engine, "connection-removed",
                                            G_CALLBACK (connection_removed_cb), self);
  return TRUE;
}

static void
jstp_presence_service_unmount (JstpService *service,
                               JstpEngine  *engine)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (service);

  g_clear_signal_handler (&self->removed_handler, engine);
  /* Without the signal, members of connections that close would stay. */
  g_hash_table_remove_all (self->channels);
  self->n_members = 0;
}

static void
jstp_presence_service_add_status (JstpService *service,
                                  JsonBuilder *builder)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (service);

  json_builder_set_member_name (builder, "channels");
  json_builder_add_int_value (builder, g_hash_table_size (self->channels));
  json_builder_set_member_name (builder, "members");
  json_builder_add_int_value (builder, self->n_members);
  json_builder_set_member_name (builder, "joins");
  json_builder_add_int_value (builder, (gint64) self->joins);
  json_builder_set_member_name (builder, "leaves");
  json_builder_add_int_value (builder, (gint64) self->leaves);
}

static void
jstp_presence_service_constructed (GObject *object)
{
  JstpService *service = JSTP_SERVICE (object);

  G_OBJECT_CLASS (jstp_presence_service_parent_class)->constructed (object);

  jstp_service_add_handler (service, "PUT", (const char *[]) { ":channel", NULL },
                            join_cb, NULL, NULL, NULL);
  jstp_service_add_handler (service, "DELETE", (const char *[]) { ":channel", NULL },
                            leave_cb, NULL, NULL, NULL);
  jstp_service_add_handler (service, "GET", (const char *[]) { ":channel", NULL },
                            list_cb, NULL, NULL, NULL);
  jstp_service_add_event (service, "POST", (const char *[]) { ":channel", "join", NULL },
                          JSTP_SERVICE_EVENT_EXCLUSIVE, NULL);
  jstp_service_add_event (service, "POST", (const char *[]) { ":channel", "leave", NULL },
                          JSTP_SERVICE_EVENT_EXCLUSIVE, NULL);
}

static void
jstp_presence_service_finalize (GObject *object)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (object);

  g_hash_table_unref (self->channels);

  G_OBJECT_CLASS (jstp_presence_service_parent_class)->finalize (object);
}

static void
jstp_presence_service_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_MAX_MEMBERS:
      g_value_set_uint (value, self->max_members);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_presence_service_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  JstpPresenceService *self = JSTP_PRESENCE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_MAX_MEMBERS:
      if (self->max_members != g_value_get_uint (value))
        {
          self->max_members = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_presence_service_class_init (JstpPresenceServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JstpServiceClass *service_class = JSTP_SERVICE_CLASS (klass);

  object_class->constructed = jstp_presence_service_constructed;
  object_class->finalize = jstp_presence_service_finalize;
  object_class->get_property = jstp_presence_service_get_property;
  object_class->set_property = jstp_presence_service_set_property;
  service_class->mount = jstp_presence_service_mount;
  service_class->unmount = jstp_presence_service_unmount;
  service_class->add_status = jstp_presence_service_add_status;

  /**
   * JstpPresenceService:max-members:
   *
   * Members over every channel, at most: more joins are refused 429.
   */
  properties[PROP_MAX_MEMBERS] =
    g_param_spec_uint ("max-members", NULL, NULL, 1, G_MAXUINT, DEFAULT_MAX_MEMBERS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jstp_presence_service_init (JstpPresenceService *self)
{
  self->channels = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, channel_free);
  self->max_members = DEFAULT_MAX_MEMBERS;
}

JstpService *
jstp_presence_service_new (void)
{
  return g_object_new (JSTP_TYPE_PRESENCE_SERVICE, "name", "presence", NULL);
}
