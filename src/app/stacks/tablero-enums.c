/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "tablero-enums.h"

G_DEFINE_ENUM_TYPE (TableroNodeKind, tablero_node_kind,
  G_DEFINE_ENUM_VALUE (TABLERO_NODE_KIND_ENGINE, "engine"),
  G_DEFINE_ENUM_VALUE (TABLERO_NODE_KIND_MONJE, "monje"),
  G_DEFINE_ENUM_VALUE (TABLERO_NODE_KIND_PAJARO, "pajaro"))

G_DEFINE_ENUM_TYPE (TableroNodeState, tablero_node_state,
  G_DEFINE_ENUM_VALUE (TABLERO_NODE_STATE_IDLE, "idle"),
  G_DEFINE_ENUM_VALUE (TABLERO_NODE_STATE_CONNECTING, "connecting"),
  G_DEFINE_ENUM_VALUE (TABLERO_NODE_STATE_UP, "up"),
  G_DEFINE_ENUM_VALUE (TABLERO_NODE_STATE_DOWN, "down"),
  G_DEFINE_ENUM_VALUE (TABLERO_NODE_STATE_RECONNECTING, "reconnecting"))

G_DEFINE_ENUM_TYPE (TableroLevel, tablero_level,
  G_DEFINE_ENUM_VALUE (TABLERO_LEVEL_OK, "ok"),
  G_DEFINE_ENUM_VALUE (TABLERO_LEVEL_BUSY, "busy"),
  G_DEFINE_ENUM_VALUE (TABLERO_LEVEL_CRITICAL, "critical"))

static const char *
enum_nick (GType type,
           int   value)
{
  GEnumClass *klass = g_type_class_ref (type);
  GEnumValue *ev = g_enum_get_value (klass, value);
  const char *nick = ev != NULL ? ev->value_nick : NULL;

  /* Enum classes of static types are never freed: the nick stays valid. */
  g_type_class_unref (klass);
  return nick;
}

const char *
tablero_node_kind_to_string (TableroNodeKind kind)
{
  return enum_nick (TABLERO_TYPE_NODE_KIND, kind);
}

gboolean
tablero_node_kind_from_string (const char      *str,
                               TableroNodeKind *kind)
{
  GEnumClass *klass;
  GEnumValue *ev;

  g_return_val_if_fail (kind != NULL, FALSE);

  if (str == NULL)
    return FALSE;

  klass = g_type_class_ref (TABLERO_TYPE_NODE_KIND);
  ev = g_enum_get_value_by_nick (klass, str);
  if (ev != NULL)
    *kind = ev->value;
  g_type_class_unref (klass);

  return ev != NULL;
}

const char *
tablero_node_state_to_string (TableroNodeState state)
{
  return enum_nick (TABLERO_TYPE_NODE_STATE, state);
}

const char *
tablero_level_to_string (TableroLevel level)
{
  return enum_nick (TABLERO_TYPE_LEVEL, level);
}
