/* tablero-dispatch-item.c: one row of the inspector
 *
 * SPDX-License-Identifier: MIT
 */
#include "config.h"

#include "tablero-dispatch-item.h"

struct _TableroDispatchItem
{
  GObject parent_instance;

  JstpDispatch     *dispatch;
  char             *peer;
  char             *text;
  gint64            time_us;
  gint64            latency_us;
  guint             status;
  TableroDirection  direction;
  JstpSecurityFlags security;
};

G_DEFINE_FINAL_TYPE (TableroDispatchItem, tablero_dispatch_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATUS,
  PROP_LATENCY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tablero_dispatch_item_finalize (GObject *object)
{
  TableroDispatchItem *self = TABLERO_DISPATCH_ITEM (object);

  g_clear_pointer (&self->dispatch, jstp_dispatch_unref);
  g_free (self->peer);
  g_free (self->text);

  G_OBJECT_CLASS (tablero_dispatch_item_parent_class)->finalize (object);
}

static void
tablero_dispatch_item_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  TableroDispatchItem *self = TABLERO_DISPATCH_ITEM (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      g_value_set_uint (value, self->status);
      break;
    case PROP_LATENCY:
      g_value_set_int64 (value, self->latency_us);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_dispatch_item_class_init (TableroDispatchItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tablero_dispatch_item_finalize;
  object_class->get_property = tablero_dispatch_item_get_property;

  properties[PROP_STATUS] =
    g_param_spec_uint ("status", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LATENCY] =
    g_param_spec_int64 ("latency", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tablero_dispatch_item_init (TableroDispatchItem *self)
{
  self->latency_us = -1;
}

TableroDispatchItem *
tablero_dispatch_item_new (JstpDispatch      *dispatch,
                           TableroDirection   direction,
                           const char        *peer,
                           gint64             time_us,
                           JstpSecurityFlags  security)
{
  TableroDispatchItem *self;

  g_return_val_if_fail (dispatch != NULL, NULL);

  self = g_object_new (TABLERO_TYPE_DISPATCH_ITEM, NULL);
  self->dispatch = jstp_dispatch_ref (dispatch);
  self->direction = direction;
  self->peer = g_strdup (peer);
  self->time_us = time_us;
  self->security = security;
  if (jstp_dispatch_get_morphology (dispatch) == JSTP_MORPHOLOGY_ANSWER)
    self->status = jstp_dispatch_get_status (dispatch);
  return self;
}

JstpDispatch *
tablero_dispatch_item_get_dispatch (TableroDispatchItem *self)
{
  g_return_val_if_fail (TABLERO_IS_DISPATCH_ITEM (self), NULL);
  return self->dispatch;
}

TableroDirection
tablero_dispatch_item_get_direction (TableroDispatchItem *self)
{
  g_return_val_if_fail (TABLERO_IS_DISPATCH_ITEM (self), TABLERO_DIRECTION_LOCAL);
  return self->direction;
}

const char *
tablero_dispatch_item_get_peer (TableroDispatchItem *self)
{
  g_return_val_if_fail (TABLERO_IS_DISPATCH_ITEM (self), NULL);
  return self->peer;
}

gint64
tablero_dispatch_item_get_time (TableroDispatchItem *self)
{
  g_return_val_if_fail (TABLERO_IS_DISPATCH_ITEM (self), 0);
  return self->time_us;
}

JstpSecurityFlags
tablero_dispatch_item_get_security (TableroDispatchItem *self)
{
  g_return_val_if_fail (TABLERO_IS_DISPATCH_ITEM (self), 0);
  return self->security;
}

const char *
tablero_dispatch_item_get_text (TableroDispatchItem *self)
{
  g_return_val_if_fail (TABLERO_IS_DISPATCH_ITEM (self), NULL);

  if (self->text == NULL)
    self->text = jstp_dispatch_to_string (self->dispatch);
  return self->text;
}

guint
tablero_dispatch_item_get_status (TableroDispatchItem *self)
{
  g_return_val_if_fail (TABLERO_IS_DISPATCH_ITEM (self), 0);
  return self->status;
}

gint64
tablero_dispatch_item_get_latency (TableroDispatchItem *self)
{
  g_return_val_if_fail (TABLERO_IS_DISPATCH_ITEM (self), -1);
  return self->latency_us;
}

void
tablero_dispatch_item_set_answer (TableroDispatchItem *self,
                                  guint                status,
                                  gint64               latency_us)
{
  g_return_if_fail (TABLERO_IS_DISPATCH_ITEM (self));

  if (self->status != 0)
    return;  /* the first answer is the one that counts for latency */
  self->status = status;
  self->latency_us = MAX (latency_us, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LATENCY]);
}
