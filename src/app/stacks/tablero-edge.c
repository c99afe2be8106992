/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>

#include "tablero-edge.h"

struct _TableroEdge
{
  GObject parent_instance;

  char *id;
  char *source_id;
  char *target_id;
  char *method;
  GStrv resource;
  double rate;
  gboolean selected;
};

G_DEFINE_FINAL_TYPE (TableroEdge, tablero_edge, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_SOURCE_ID,
  PROP_TARGET_ID,
  PROP_METHOD,
  PROP_RESOURCE,
  PROP_RATE,
  PROP_SELECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tablero_edge_finalize (GObject *object)
{
  TableroEdge *self = TABLERO_EDGE (object);

  g_free (self->id);
  g_free (self->source_id);
  g_free (self->target_id);
  g_free (self->method);
  g_strfreev (self->resource);

  G_OBJECT_CLASS (tablero_edge_parent_class)->finalize (object);
}

static void
tablero_edge_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TableroEdge *self = TABLERO_EDGE (object);

  switch (prop_id)
    {
    case PROP_ID: g_value_set_string (value, self->id); break;
    case PROP_SOURCE_ID: g_value_set_string (value, self->source_id); break;
    case PROP_TARGET_ID: g_value_set_string (value, self->target_id); break;
    case PROP_METHOD: g_value_set_string (value, self->method); break;
    case PROP_RESOURCE: g_value_set_boxed (value, self->resource); break;
    case PROP_RATE: g_value_set_double (value, self->rate); break;
    case PROP_SELECTED: g_value_set_boolean (value, self->selected); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static char *
dup_or_empty (const GValue *value)
{
  const char *str = g_value_get_string (value);
  return g_strdup (str != NULL ? str : "");
}

static void
tablero_edge_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  TableroEdge *self = TABLERO_EDGE (object);

  switch (prop_id)
    {
    case PROP_ID: self->id = dup_or_empty (value); break;
    case PROP_SOURCE_ID: self->source_id = dup_or_empty (value); break;
    case PROP_TARGET_ID: self->target_id = dup_or_empty (value); break;
    case PROP_METHOD: tablero_edge_set_method (self, g_value_get_string (value)); break;
    case PROP_RESOURCE: tablero_edge_set_resource (self, g_value_get_boxed (value)); break;
    case PROP_RATE: tablero_edge_set_rate (self, g_value_get_double (value)); break;
    case PROP_SELECTED: tablero_edge_set_selected (self, g_value_get_boolean (value)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_edge_class_init (TableroEdgeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = tablero_edge_finalize;
  object_class->get_property = tablero_edge_get_property;
  object_class->set_property = tablero_edge_set_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, co);
  properties[PROP_SOURCE_ID] = g_param_spec_string ("source-id", NULL, NULL, NULL, co);
  properties[PROP_TARGET_ID] = g_param_spec_string ("target-id", NULL, NULL, NULL, co);
  properties[PROP_METHOD] = g_param_spec_string ("method", NULL, NULL, "*", rw);
  properties[PROP_RESOURCE] = g_param_spec_boxed ("resource", NULL, NULL, G_TYPE_STRV, rw);
  properties[PROP_RATE] = g_param_spec_double ("rate", NULL, NULL, 0, G_MAXDOUBLE, 0, rw);
  properties[PROP_SELECTED] = g_param_spec_boolean ("selected", NULL, NULL, FALSE, rw);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tablero_edge_init (TableroEdge *self)
{
  self->method = g_strdup ("*");
  self->resource = g_new0 (char *, 1);
}

TableroEdge *
tablero_edge_new (const char         *id,
                  const char         *source_id,
                  const char         *target_id,
                  const char         *method,
                  const char * const *resource)
{
  g_return_val_if_fail (id != NULL && *id != '\0', NULL);
  g_return_val_if_fail (source_id != NULL, NULL);
  g_return_val_if_fail (target_id != NULL, NULL);

  return g_object_new (TABLERO_TYPE_EDGE,
                       "id", id,
                       "source-id", source_id,
                       "target-id", target_id,
                       "method", method,
                       "resource", resource,
                       NULL);
}

const char *
tablero_edge_get_id (TableroEdge *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE (self), NULL);
  return self->id;
}

const char *
tablero_edge_get_source_id (TableroEdge *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE (self), NULL);
  return self->source_id;
}

const char *
tablero_edge_get_target_id (TableroEdge *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE (self), NULL);
  return self->target_id;
}

const char *
tablero_edge_get_method (TableroEdge *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE (self), NULL);
  return self->method;
}

void
tablero_edge_set_method (TableroEdge *self,
                         const char  *method)
{
  g_return_if_fail (TABLERO_IS_EDGE (self));

  if (method == NULL || *method == '\0')
    method = "*";
  if (g_strcmp0 (self->method, method) == 0)
    return;
  g_free (self->method);
  self->method = g_strdup (method);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_METHOD]);
}

const char * const *
tablero_edge_get_resource (TableroEdge *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE (self), NULL);
  return (const char * const *) self->resource;
}

void
tablero_edge_set_resource (TableroEdge        *self,
                           const char * const *resource)
{
  static const char * const empty[] = { NULL };

  g_return_if_fail (TABLERO_IS_EDGE (self));

  if (resource == NULL)
    resource = empty;
  if (g_strv_equal ((const char * const *) self->resource, resource))
    return;
  g_strfreev (self->resource);
  self->resource = g_strdupv ((char **) resource);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESOURCE]);
}

double
tablero_edge_get_rate (TableroEdge *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE (self), 0);
  return self->rate;
}

void
tablero_edge_set_rate (TableroEdge *self,
                       double       rate)
{
  g_return_if_fail (TABLERO_IS_EDGE (self));

  if (!isfinite (rate) || rate < 0)
    rate = 0;
  if (self->rate == rate)
    return;
  self->rate = rate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
}

gboolean
tablero_edge_get_selected (TableroEdge *self)
{
  g_return_val_if_fail (TABLERO_IS_EDGE (self), FALSE);
  return self->selected;
}

void
tablero_edge_set_selected (TableroEdge *self,
                           gboolean     selected)
{
  g_return_if_fail (TABLERO_IS_EDGE (self));

  selected = !!selected;
  if (self->selected == selected)
    return;
  self->selected = selected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
}
