/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>

#include "tablero-node.h"

struct _TableroNode
{
  GObject parent_instance;

  char *id;
  char *name;
  TableroNodeKind kind;
  double x;
  double y;
  char *address;
  guint port;
  char *transport;
  gboolean local;

  TableroNodeState state;
  double cpu;
  double memory;
  double disk;
  double network;
  double saturation;
  TableroLevel level;
  gboolean selected;
};

G_DEFINE_FINAL_TYPE (TableroNode, tablero_node, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_KIND,
  PROP_X,
  PROP_Y,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_TRANSPORT,
  PROP_LOCAL,
  PROP_STATE,
  PROP_CPU,
  PROP_MEMORY,
  PROP_DISK,
  PROP_NETWORK,
  PROP_SATURATION,
  PROP_LEVEL,
  PROP_SELECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* g_set_str () is GLib 2.76, newer than our ceiling. */
static gboolean
set_str (char       **field,
         const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static gboolean
transport_is_valid (const char *transport)
{
  return g_strcmp0 (transport, "tcp") == 0 || g_strcmp0 (transport, "ws") == 0;
}

static void
tablero_node_finalize (GObject *object)
{
  TableroNode *self = TABLERO_NODE (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->address);
  g_free (self->transport);

  G_OBJECT_CLASS (tablero_node_parent_class)->finalize (object);
}

static void
tablero_node_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TableroNode *self = TABLERO_NODE (object);

  switch (prop_id)
    {
    case PROP_ID: g_value_set_string (value, self->id); break;
    case PROP_NAME: g_value_set_string (value, self->name); break;
    case PROP_KIND: g_value_set_enum (value, self->kind); break;
    case PROP_X: g_value_set_double (value, self->x); break;
    case PROP_Y: g_value_set_double (value, self->y); break;
    case PROP_ADDRESS: g_value_set_string (value, self->address); break;
    case PROP_PORT: g_value_set_uint (value, self->port); break;
    case PROP_TRANSPORT: g_value_set_string (value, self->transport); break;
    case PROP_LOCAL: g_value_set_boolean (value, self->local); break;
    case PROP_STATE: g_value_set_enum (value, self->state); break;
    case PROP_CPU: g_value_set_double (value, self->cpu); break;
    case PROP_MEMORY: g_value_set_double (value, self->memory); break;
    case PROP_DISK: g_value_set_double (value, self->disk); break;
    case PROP_NETWORK: g_value_set_double (value, self->network); break;
    case PROP_SATURATION: g_value_set_double (value, self->saturation); break;
    case PROP_LEVEL: g_value_set_enum (value, self->level); break;
    case PROP_SELECTED: g_value_set_boolean (value, self->selected); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_node_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  TableroNode *self = TABLERO_NODE (object);

  switch (prop_id)
    {
    case PROP_ID:
      /* Construct-only: a node without an id gets an empty one, which a
       * stack refuses. */
      self->id = g_value_dup_string (value);
      if (self->id == NULL)
        self->id = g_strdup ("");
      break;
    case PROP_NAME: tablero_node_set_name (self, g_value_get_string (value)); break;
    case PROP_KIND: tablero_node_set_kind (self, g_value_get_enum (value)); break;
    case PROP_X: tablero_node_set_position (self, g_value_get_double (value), self->y); break;
    case PROP_Y: tablero_node_set_position (self, self->x, g_value_get_double (value)); break;
    case PROP_ADDRESS: tablero_node_set_address (self, g_value_get_string (value)); break;
    case PROP_PORT: tablero_node_set_port (self, g_value_get_uint (value)); break;
    case PROP_TRANSPORT: tablero_node_set_transport (self, g_value_get_string (value)); break;
    case PROP_LOCAL: tablero_node_set_local (self, g_value_get_boolean (value)); break;
    case PROP_STATE: tablero_node_set_state (self, g_value_get_enum (value)); break;
    case PROP_CPU: tablero_node_set_cpu (self, g_value_get_double (value)); break;
    case PROP_MEMORY: tablero_node_set_memory (self, g_value_get_double (value)); break;
    case PROP_DISK: tablero_node_set_disk (self, g_value_get_double (value)); break;
    case PROP_NETWORK: tablero_node_set_network (self, g_value_get_double (value)); break;
    case PROP_SATURATION: tablero_node_set_saturation (self, g_value_get_double (value)); break;
    case PROP_LEVEL: tablero_node_set_level (self, g_value_get_enum (value)); break;
    case PROP_SELECTED: tablero_node_set_selected (self, g_value_get_boolean (value)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_node_class_init (TableroNodeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = tablero_node_finalize;
  object_class->get_property = tablero_node_get_property;
  object_class->set_property = tablero_node_set_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, "", rw);
  properties[PROP_KIND] =
    g_param_spec_enum ("kind", NULL, NULL, TABLERO_TYPE_NODE_KIND, TABLERO_NODE_KIND_ENGINE, rw);
  properties[PROP_X] = g_param_spec_double ("x", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, rw);
  properties[PROP_Y] = g_param_spec_double ("y", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, rw);
  properties[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, "127.0.0.1", rw);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 0, 65535, 0, rw);
  properties[PROP_TRANSPORT] = g_param_spec_string ("transport", NULL, NULL, "tcp", rw);
  properties[PROP_LOCAL] = g_param_spec_boolean ("local", NULL, NULL, FALSE, rw);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, TABLERO_TYPE_NODE_STATE, TABLERO_NODE_STATE_IDLE, rw);
  properties[PROP_CPU] = g_param_spec_double ("cpu", NULL, NULL, 0, 1, 0, rw);
  properties[PROP_MEMORY] = g_param_spec_double ("memory", NULL, NULL, 0, 1, 0, rw);
  properties[PROP_DISK] = g_param_spec_double ("disk", NULL, NULL, 0, 1, 0, rw);
  properties[PROP_NETWORK] = g_param_spec_double ("network", NULL, NULL, 0, 1, 0, rw);
  properties[PROP_SATURATION] = g_param_spec_double ("saturation", NULL, NULL, 0, 1, 0, rw);
  properties[PROP_LEVEL] =
    g_param_spec_enum ("level", NULL, NULL, TABLERO_TYPE_LEVEL, TABLERO_LEVEL_OK, rw);
  properties[PROP_SELECTED] = g_param_spec_boolean ("selected", NULL, NULL, FALSE, rw);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tablero_node_init (TableroNode *self)
{
  self->name = g_strdup ("");
  self->address = g_strdup ("127.0.0.1");
  self->transport = g_strdup ("tcp");
}

TableroNode *
tablero_node_new (const char      *id,
                  TableroNodeKind  kind,
                  const char      *name)
{
  g_return_val_if_fail (id != NULL && *id != '\0', NULL);

  return g_object_new (TABLERO_TYPE_NODE,
                       "id", id,
                       "kind", kind,
                       "name", name != NULL ? name : "",
                       NULL);
}

const char *
tablero_node_get_id (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), NULL);
  return self->id;
}

const char *
tablero_node_get_name (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), NULL);
  return self->name;
}

void
tablero_node_set_name (TableroNode *self,
                       const char  *name)
{
  g_return_if_fail (TABLERO_IS_NODE (self));

  if (name == NULL)
    name = "";
  if (set_str (&self->name, name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

TableroNodeKind
tablero_node_get_kind (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), TABLERO_NODE_KIND_ENGINE);
  return self->kind;
}

void
tablero_node_set_kind (TableroNode     *self,
                       TableroNodeKind  kind)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  g_return_if_fail (kind <= TABLERO_NODE_KIND_PAJARO);

  if (self->kind == kind)
    return;
  self->kind = kind;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KIND]);
}

double
tablero_node_get_x (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), 0);
  return self->x;
}

double
tablero_node_get_y (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), 0);
  return self->y;
}

void
tablero_node_set_position (TableroNode *self,
                           double       x,
                           double       y)
{
  gboolean x_changed, y_changed;

  g_return_if_fail (TABLERO_IS_NODE (self));
  g_return_if_fail (isfinite (x) && isfinite (y));

  x_changed = self->x != x;
  y_changed = self->y != y;
  if (!x_changed && !y_changed)
    return;

  self->x = x;
  self->y = y;

  /* Both values are stored before either notification, so a handler of
   * notify::x sees the final position. */
  g_object_freeze_notify (G_OBJECT (self));
  if (x_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_X]);
  if (y_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_Y]);
  g_object_thaw_notify (G_OBJECT (self));
}

const char *
tablero_node_get_address (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), NULL);
  return self->address;
}

void
tablero_node_set_address (TableroNode *self,
                          const char  *address)
{
  g_return_if_fail (TABLERO_IS_NODE (self));

  if (address == NULL)
    address = "127.0.0.1";
  if (set_str (&self->address, address))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ADDRESS]);
}

guint
tablero_node_get_port (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), 0);
  return self->port;
}

void
tablero_node_set_port (TableroNode *self,
                       guint        port)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  g_return_if_fail (port <= 65535);

  if (self->port == port)
    return;
  self->port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
}

const char *
tablero_node_get_transport (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), NULL);
  return self->transport;
}

void
tablero_node_set_transport (TableroNode *self,
                            const char  *transport)
{
  g_return_if_fail (TABLERO_IS_NODE (self));

  if (transport == NULL)
    transport = "tcp";
  g_return_if_fail (transport_is_valid (transport));

  if (set_str (&self->transport, transport))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSPORT]);
}

gboolean
tablero_node_get_local (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), FALSE);
  return self->local;
}

void
tablero_node_set_local (TableroNode *self,
                        gboolean     local)
{
  g_return_if_fail (TABLERO_IS_NODE (self));

  local = !!local;
  if (self->local == local)
    return;
  self->local = local;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCAL]);
}

TableroNodeState
tablero_node_get_state (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), TABLERO_NODE_STATE_IDLE);
  return self->state;
}

void
tablero_node_set_state (TableroNode      *self,
                        TableroNodeState  state)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  g_return_if_fail (state <= TABLERO_NODE_STATE_RECONNECTING);

  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_figure (TableroNode *self,
            double      *field,
            double       value,
            guint        prop)
{
  /* NaN from a broken sample must not reach the canvas: treat it as 0. */
  if (isnan (value))
    value = 0;
  value = CLAMP (value, 0.0, 1.0);

  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

double
tablero_node_get_cpu (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), 0);
  return self->cpu;
}

void
tablero_node_set_cpu (TableroNode *self,
                      double       cpu)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  set_figure (self, &self->cpu, cpu, PROP_CPU);
}

double
tablero_node_get_memory (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), 0);
  return self->memory;
}

void
tablero_node_set_memory (TableroNode *self,
                         double       memory)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  set_figure (self, &self->memory, memory, PROP_MEMORY);
}

double
tablero_node_get_disk (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), 0);
  return self->disk;
}

void
tablero_node_set_disk (TableroNode *self,
                       double       disk)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  set_figure (self, &self->disk, disk, PROP_DISK);
}

double
tablero_node_get_network (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), 0);
  return self->network;
}

void
tablero_node_set_network (TableroNode *self,
                          double       network)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  set_figure (self, &self->network, network, PROP_NETWORK);
}

double
tablero_node_get_saturation (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), 0);
  return self->saturation;
}

void
tablero_node_set_saturation (TableroNode *self,
                             double       saturation)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  set_figure (self, &self->saturation, saturation, PROP_SATURATION);
}

void
tablero_node_set_metrics (TableroNode *self,
                          double       cpu,
                          double       memory,
                          double       disk,
                          double       network,
                          double       saturation)
{
  g_return_if_fail (TABLERO_IS_NODE (self));

  g_object_freeze_notify (G_OBJECT (self));
  set_figure (self, &self->cpu, cpu, PROP_CPU);
  set_figure (self, &self->memory, memory, PROP_MEMORY);
  set_figure (self, &self->disk, disk, PROP_DISK);
  set_figure (self, &self->network, network, PROP_NETWORK);
  set_figure (self, &self->saturation, saturation, PROP_SATURATION);
  g_object_thaw_notify (G_OBJECT (self));
}

TableroLevel
tablero_node_get_level (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), TABLERO_LEVEL_OK);
  return self->level;
}

void
tablero_node_set_level (TableroNode  *self,
                        TableroLevel  level)
{
  g_return_if_fail (TABLERO_IS_NODE (self));
  g_return_if_fail (level <= TABLERO_LEVEL_CRITICAL);

  if (self->level == level)
    return;
  self->level = level;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LEVEL]);
}

gboolean
tablero_node_get_selected (TableroNode *self)
{
  g_return_val_if_fail (TABLERO_IS_NODE (self), FALSE);
  return self->selected;
}

void
tablero_node_set_selected (TableroNode *self,
                           gboolean     selected)
{
  g_return_if_fail (TABLERO_IS_NODE (self));

  selected = !!selected;
  if (self->selected == selected)
    return;
  self->selected = selected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}
