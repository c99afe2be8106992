/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "jstp-connection.h"
#include "jstp-engine.h"

typedef struct
{
  JstpEngine *engine;        /* weak */
  char *transport;
  char *peer_address;
  gboolean inbound;
  gboolean loopback;
  gboolean closed;
  guint64 dispatches_in;
  guint64 dispatches_out;
  GString *scratch;          /* reused for serialising: no allocation per send */
  guint close_status;
} JstpConnectionPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (JstpConnection, jstp_connection, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TRANSPORT,
  PROP_PEER_ADDRESS,
  PROP_INBOUND,
  PROP_LOOPBACK,
  N_PROPS
};

enum {
  CLOSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
jstp_connection_finalize (GObject *object)
{
  JstpConnection *self = JSTP_CONNECTION (object);
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  if (priv->engine)
    g_object_remove_weak_pointer (G_OBJECT (priv->engine), (gpointer *) &priv->engine);
  g_free (priv->transport);
  g_free (priv->peer_address);
  g_string_free (priv->scratch, TRUE);

  G_OBJECT_CLASS (jstp_connection_parent_class)->finalize (object);
}

static void
jstp_connection_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  JstpConnection *self = JSTP_CONNECTION (object);
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_TRANSPORT:
      g_value_set_string (value, priv->transport);
      break;
    case PROP_PEER_ADDRESS:
      g_value_set_string (value, priv->peer_address);
      break;
    case PROP_INBOUND:
      g_value_set_boolean (value, priv->inbound);
      break;
    case PROP_LOOPBACK:
      g_value_set_boolean (value, priv->loopback);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_connection_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  JstpConnection *self = JSTP_CONNECTION (object);
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_TRANSPORT:
      g_free (priv->transport);
      priv->transport = g_value_dup_string (value);
      break;
    case PROP_PEER_ADDRESS:
      g_free (priv->peer_address);
      priv->peer_address = g_value_dup_string (value);
      break;
    case PROP_INBOUND:
      priv->inbound = g_value_get_boolean (value);
      break;
    case PROP_LOOPBACK:
      priv->loopback = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
jstp_connection_class_init (JstpConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = jstp_connection_finalize;
  object_class->get_property = jstp_connection_get_property;
  object_class->set_property = jstp_connection_set_property;

  properties[PROP_TRANSPORT] =
    g_param_spec_string ("transport", NULL, NULL, "local",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PEER_ADDRESS] =
    g_param_spec_string ("peer-address", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_INBOUND] =
    g_param_spec_boolean ("inbound", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOOPBACK] =
    g_param_spec_boolean ("loopback", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * JstpConnection::closed:
   *
   * The link is gone; emitted once. The engine releases the connection's
   * subscriptions and fails the transactions waiting on it.
   */
  signals[CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
jstp_connection_init (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  priv->scratch = g_string_sized_new (512);
  priv->close_status = 502;
}

JstpEngine *
jstp_connection_get_engine (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), NULL);
  return priv->engine;
}

void
jstp_connection_set_engine (JstpConnection *self,
                            JstpEngine     *engine)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_if_fail (JSTP_IS_CONNECTION (self));

  if (priv->engine == engine)
    return;
  if (priv->engine)
    g_object_remove_weak_pointer (G_OBJECT (priv->engine), (gpointer *) &priv->engine);
  priv->engine = engine;
  if (priv->engine)
    g_object_add_weak_pointer (G_OBJECT (priv->engine), (gpointer *) &priv->engine);
}

const char *
jstp_connection_get_transport (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), NULL);
  return priv->transport;
}

const char *
jstp_connection_get_peer_address (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), NULL);
  return priv->peer_address;
}

gboolean
jstp_connection_get_inbound (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), FALSE);
  return priv->inbound;
}

gboolean
jstp_connection_get_is_loopback (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), FALSE);
  return priv->loopback;
}

gboolean
jstp_connection_is_closed (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), TRUE);
  return priv->closed;
}

void
jstp_connection_send_text (JstpConnection *self,
                           const char     *text,
                           gsize           length)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_if_fail (JSTP_IS_CONNECTION (self));

  if (priv->closed)
    return;
  priv->dispatches_out++;
  JSTP_CONNECTION_GET_CLASS (self)->send_text (self, text, length);
}

void
jstp_connection_send (JstpConnection *self,
                      JstpDispatch   *dispatch,
                      const char     *triggering_id)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_if_fail (JSTP_IS_CONNECTION (self));
  g_return_if_fail (dispatch != NULL);

  if (priv->closed)
    return;
  g_string_truncate (priv->scratch, 0);
  jstp_connection_write_wire (priv->scratch, dispatch, triggering_id);
  jstp_connection_send_text (self, priv->scratch->str, priv->scratch->len);
}

void
jstp_connection_write_wire (GString      *out,
                            JstpDispatch *dispatch,
                            const char   *triggering_id)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (dispatch != NULL);

  jstp_dispatch_write (dispatch, out, triggering_id);
  /* The reference engine (npm jstp 1.1.5) drops a dispatch with no token
   * header, ANSWERs included; an empty one reads as none (spec 2 and 9). */
  if (jstp_dispatch_get_transaction_id (dispatch) == NULL)
    {
      g_string_truncate (out, out->len - 1);
      g_string_append (out, ",\"token\":[]}");
    }
}

void
jstp_connection_close (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_if_fail (JSTP_IS_CONNECTION (self));

  if (priv->closed)
    return;
  JSTP_CONNECTION_GET_CLASS (self)->close (self);
}

gsize
jstp_connection_get_queued_bytes (JstpConnection *self)
{
  JstpConnectionClass *klass;

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), 0);

  klass = JSTP_CONNECTION_GET_CLASS (self);
  return klass->get_queued_bytes ? klass->get_queued_bytes (self) : 0;
}

guint64
jstp_connection_get_dispatches_in (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), 0);
  return priv->dispatches_in;
}

guint64
jstp_connection_get_dispatches_out (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), 0);
  return priv->dispatches_out;
}

gboolean
jstp_connection_deliver (JstpConnection *self,
                         const char     *text,
                         gsize           length)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), FALSE);

  if (priv->closed || priv->engine == NULL)
    return TRUE;
  priv->dispatches_in++;
  return jstp_engine_receive (priv->engine, self, text, length);
}

guint
jstp_connection_get_close_status (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_val_if_fail (JSTP_IS_CONNECTION (self), 502);
  return priv->close_status;
}

void
jstp_connection_set_close_status (JstpConnection *self,
                                  guint           status)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_if_fail (JSTP_IS_CONNECTION (self));
  priv->close_status = status;
}

void
jstp_connection_notify_closed (JstpConnection *self)
{
  JstpConnectionPrivate *priv = jstp_connection_get_instance_private (self);

  g_return_if_fail (JSTP_IS_CONNECTION (self));

  if (priv->closed)
    return;
  priv->closed = TRUE;
  g_object_ref (self);
  g_signal_emit (self, signals[CLOSED], 0);
  g_object_unref (self);
}
