/* SPDX-License-Identifier: MIT */
/* jstp-pool-member.c: the figures a pool keeps about one engine. */

#include "config.h"

#include <math.h>
#include <string.h>

#include "jstp-pool-member-private.h"

struct _JstpPoolMember
{
  GObject parent_instance;

  char *address;
  guint16 port;
  char *label;
  char *uri;

  JstpPoolMemberState state;
  char *last_error;

  char *name;
  double saturation;
  JstpSaturationLevel level;
  guint interval;
  JsonObject *status;
  char *status_json;
  gint64 last_report_us;
  gboolean shedding;

  guint64 n_chosen;
  guint in_flight;
};

G_DEFINE_FINAL_TYPE (JstpPoolMember, jstp_pool_member, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (JstpPoolMemberState, jstp_pool_member_state,
  G_DEFINE_ENUM_VALUE (JSTP_POOL_MEMBER_UNKNOWN, "unknown"),
  G_DEFINE_ENUM_VALUE (JSTP_POOL_MEMBER_UP, "up"),
  G_DEFINE_ENUM_VALUE (JSTP_POOL_MEMBER_STALE, "stale"),
  G_DEFINE_ENUM_VALUE (JSTP_POOL_MEMBER_DOWN, "down"))

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_LABEL,
  PROP_URI,
  PROP_STATE,
  PROP_LAST_ERROR,
  PROP_NAME,
  PROP_SATURATION,
  PROP_LEVEL,
  PROP_INTERVAL,
  PROP_STATUS_JSON,
  PROP_LAST_REPORT_TIME,
  PROP_SHEDDING,
  PROP_N_CHOSEN,
  PROP_IN_FLIGHT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

const char *
jstp_pool_member_state_to_string (JstpPoolMemberState state)
{
  switch (state)
    {
    case JSTP_POOL_MEMBER_UNKNOWN:
      return "unknown";
    case JSTP_POOL_MEMBER_UP:
      return "up";
    case JSTP_POOL_MEMBER_STALE:
      return "stale";
    case JSTP_POOL_MEMBER_DOWN:
      return "down";
    default:
      g_return_val_if_reached ("unknown");
    }
}

static void
jstp_pool_member_finalize (GObject *object)
{
  JstpPoolMember *self = JSTP_POOL_MEMBER (object);

  g_free (self->address);
  g_free (self->label);
  g_free (self->uri);
  g_free (self->last_error);
  g_free (self->name);
  g_clear_pointer (&self->status, json_object_unref);
  g_free (self->status_json);

  G_OBJECT_CLASS (jstp_pool_member_parent_class)->finalize (object);
}

static void
jstp_pool_member_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  JstpPoolMember *self = JSTP_POOL_MEMBER (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_SATURATION:
      g_value_set_double (value, self->saturation);
      break;
    case PROP_LEVEL:
      g_value_set_enum (value, self->level);
      break;
    case PROP_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_STATUS_JSON:
      g_value_set_string (value, self->status_json);
      break;
    case PROP_LAST_REPORT_TIME:
      g_value_set_int64 (value, self->last_report_us);
      break;
    case PROP_SHEDDING:
      g_value_set_boolean (value, self->shedding);
      break;
    case PROP_N_CHOSEN:
      g_value_set_uint64 (value, self->n_chosen);
      break;
    case PROP_IN_FLIGHT:
      g_value_set_uint (value, self->in_flight);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_pool_member_class_init (JstpPoolMemberClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = jstp_pool_member_finalize;
  object_class->get_property = jstp_pool_member_get_property;

  properties[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, NULL, flags);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0, flags);
  properties[PROP_LABEL] = g_param_spec_string ("label", NULL, NULL, NULL, flags);
  properties[PROP_URI] = g_param_spec_string ("uri", NULL, NULL, NULL, flags);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, JSTP_TYPE_POOL_MEMBER_STATE,
                       JSTP_POOL_MEMBER_UNKNOWN, flags);
  properties[PROP_LAST_ERROR] = g_param_spec_string ("last-error", NULL, NULL, NULL, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_SATURATION] =
    g_param_spec_double ("saturation", NULL, NULL, 0.0, 1.0, 0.0, flags);
  properties[PROP_LEVEL] =
    g_param_spec_enum ("level", NULL, NULL, JSTP_TYPE_SATURATION_LEVEL, JSTP_SATURATION_OK, flags);
  properties[PROP_INTERVAL] =
    g_param_spec_uint ("interval", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_STATUS_JSON] = g_param_spec_string ("status-json", NULL, NULL, NULL, flags);
  properties[PROP_LAST_REPORT_TIME] =
    g_param_spec_int64 ("last-report-time", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_SHEDDING] = g_param_spec_boolean ("shedding", NULL, NULL, FALSE, flags);
  properties[PROP_N_CHOSEN] =
    g_param_spec_uint64 ("n-chosen", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_IN_FLIGHT] =
    g_param_spec_uint ("in-flight", NULL, NULL, 0, G_MAXUINT, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
jstp_pool_member_init (JstpPoolMember *self)
{
}

/* ---- for the pool ------------------------------------------------------ */

JstpPoolMember *
_jstp_pool_member_new (const char *address,
                       guint16     port,
                       const char *label)
{
  JstpPoolMember *self = g_object_new (JSTP_TYPE_POOL_MEMBER, NULL);

  self->address = g_strdup (address);
  self->port = port;
  self->label = g_strdup (label);
  self->uri = strchr (address, ':')
              ? g_strdup_printf ("%s://[%s]:%u", label, address, port)
              : g_strdup_printf ("%s://%s:%u", label, address, port);
  return self;
}

static void
set_state (JstpPoolMember      *self,
           JstpPoolMemberState  state,
           const char          *error)
{
  if (g_strcmp0 (self->last_error, error) != 0)
    {
      g_free (self->last_error);
      self->last_error = g_strdup (error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
    }
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
}

void
_jstp_pool_member_set_state (JstpPoolMember      *self,
                             JstpPoolMemberState  state,
                             const char          *error)
{
  g_return_if_fail (JSTP_IS_POOL_MEMBER (self));

  set_state (self, state, error);
}

void
_jstp_pool_member_set_shedding (JstpPoolMember *self,
                                gboolean        shedding)
{
  g_return_if_fail (JSTP_IS_POOL_MEMBER (self));

  shedding = !!shedding;
  if (self->shedding == shedding)
    return;
  self->shedding = shedding;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHEDDING]);
}

static double
member_double (JsonObject *status,
               const char *key)
{
  JsonNode *node = json_object_get_member (status, key);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE)
    return 0.0;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return (double) json_node_get_int (node);
    case G_TYPE_DOUBLE:
      return json_node_get_double (node);
    default:
      return 0.0;
    }
}

/* A peer's status is input: a key of the wrong type reads as missing,
 * never as a critical. */
static const char *
member_string (JsonObject *status,
               const char *key)
{
  JsonNode *node = json_object_get_member (status, key);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
member_boolean (JsonObject *status,
                const char *key)
{
  JsonNode *node = json_object_get_member (status, key);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return FALSE;
  return json_node_get_boolean (node);
}

void
_jstp_pool_member_set_status (JstpPoolMember *self,
                              JsonObject     *status,
                              const char     *json,
                              gint64          now_us)
{
  const char *name, *level;
  double saturation, interval;
  JstpSaturationLevel new_level = JSTP_SATURATION_OK;

  g_return_if_fail (JSTP_IS_POOL_MEMBER (self));
  g_return_if_fail (status != NULL);

  g_object_freeze_notify (G_OBJECT (self));

  g_clear_pointer (&self->status, json_object_unref);
  self->status = json_object_ref (status);
  g_free (self->status_json);
  self->status_json = g_strdup (json);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_JSON]);

  name = member_string (status, "name");
  if (g_strcmp0 (self->name, name) != 0)
    {
      g_free (self->name);
      self->name = g_strdup (name);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
    }

  saturation = member_double (status, "saturation");
  saturation = isfinite (saturation) ? CLAMP (saturation, 0.0, 1.0) : 1.0;
  if (self->saturation != saturation)
    {
      self->saturation = saturation;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SATURATION]);
    }

  /* The level the engine computed, with its own thresholds and hysteresis,
   * is what counts: the pool does not second-guess it. */
  level = member_string (status, "level");
  if (g_strcmp0 (level, "critical") == 0)
    new_level = JSTP_SATURATION_CRITICAL;
  else if (g_strcmp0 (level, "busy") == 0)
    new_level = JSTP_SATURATION_BUSY;
  if (self->level != new_level)
    {
      self->level = new_level;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LEVEL]);
    }

  interval = member_double (status, "interval");
  if (isfinite (interval) && interval >= 1 && interval <= G_MAXUINT &&
      self->interval != (guint) interval)
    {
      self->interval = (guint) interval;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INTERVAL]);
    }

  self->last_report_us = now_us;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_REPORT_TIME]);
  _jstp_pool_member_set_shedding (self, member_boolean (status, "shedding"));
  set_state (self, JSTP_POOL_MEMBER_UP, NULL);

  g_object_thaw_notify (G_OBJECT (self));
}

void
_jstp_pool_member_chosen (JstpPoolMember *self,
                          gboolean        in_flight)
{
  g_return_if_fail (JSTP_IS_POOL_MEMBER (self));

  self->n_chosen++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CHOSEN]);
  if (in_flight)
    {
      self->in_flight++;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IN_FLIGHT]);
    }
}

void
_jstp_pool_member_answered (JstpPoolMember *self)
{
  g_return_if_fail (JSTP_IS_POOL_MEMBER (self));
  g_return_if_fail (self->in_flight > 0);

  self->in_flight--;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IN_FLIGHT]);
}

/* ---- public API -------------------------------------------------------- */

const char *
jstp_pool_member_get_address (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), NULL);
  return self->address;
}

guint16
jstp_pool_member_get_port (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), 0);
  return self->port;
}

const char *
jstp_pool_member_get_label (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), NULL);
  return self->label;
}

const char *
jstp_pool_member_get_uri (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), NULL);
  return self->uri;
}

JstpPoolMemberState
jstp_pool_member_get_state (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), JSTP_POOL_MEMBER_UNKNOWN);
  return self->state;
}

const char *
jstp_pool_member_get_last_error (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), NULL);
  return self->last_error;
}

const char *
jstp_pool_member_get_name (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), NULL);
  return self->name;
}

double
jstp_pool_member_get_saturation (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), 0.0);
  return self->saturation;
}

JstpSaturationLevel
jstp_pool_member_get_level (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), JSTP_SATURATION_OK);
  return self->level;
}

guint
jstp_pool_member_get_interval (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), 0);
  return self->interval;
}

JsonObject *
jstp_pool_member_get_status (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), NULL);
  return self->status;
}

const char *
jstp_pool_member_get_status_json (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), NULL);
  return self->status_json;
}

gint64
jstp_pool_member_get_last_report_time (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), 0);
  return self->last_report_us;
}

gboolean
jstp_pool_member_get_shedding (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), FALSE);
  return self->shedding;
}

guint64
jstp_pool_member_get_n_chosen (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), 0);
  return self->n_chosen;
}

guint
jstp_pool_member_get_in_flight (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), 0);
  return self->in_flight;
}

gboolean
jstp_pool_member_is_available (JstpPoolMember *self)
{
  g_return_val_if_fail (JSTP_IS_POOL_MEMBER (self), FALSE);

  return self->state == JSTP_POOL_MEMBER_UP &&
         self->level != JSTP_SATURATION_CRITICAL &&
         !self->shedding;
}
