/* SPDX-License-Identifier: MIT */
/* tablero-enums.h: enumerations of the app model, registered as GTypes so
 * they can be used as GObject properties. The nicks ("engine", "up", ...)
 * are the spellings used in exported stack files. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  TABLERO_NODE_KIND_ENGINE,   /*< nick=engine >*/
  TABLERO_NODE_KIND_MONJE,    /*< nick=monje >*/
  TABLERO_NODE_KIND_PAJARO,   /*< nick=pajaro >*/
} TableroNodeKind;

typedef enum {
  TABLERO_NODE_STATE_IDLE,          /*< nick=idle >*/
  TABLERO_NODE_STATE_CONNECTING,    /*< nick=connecting >*/
  TABLERO_NODE_STATE_UP,            /*< nick=up >*/
  TABLERO_NODE_STATE_DOWN,          /*< nick=down >*/
  TABLERO_NODE_STATE_RECONNECTING,  /*< nick=reconnecting >*/
} TableroNodeState;

typedef enum {
  TABLERO_LEVEL_OK,        /*< nick=ok >*/
  TABLERO_LEVEL_BUSY,      /*< nick=busy >*/
  TABLERO_LEVEL_CRITICAL,  /*< nick=critical >*/
} TableroLevel;

#define TABLERO_TYPE_NODE_KIND  (tablero_node_kind_get_type ())
#define TABLERO_TYPE_NODE_STATE (tablero_node_state_get_type ())
#define TABLERO_TYPE_LEVEL      (tablero_level_get_type ())

GType            tablero_node_kind_get_type      (void) G_GNUC_CONST;
GType            tablero_node_state_get_type     (void) G_GNUC_CONST;
GType            tablero_level_get_type          (void) G_GNUC_CONST;

/* The nick of @kind ("engine", "monje", "pajaro"): the stack file spelling. */
const char      *tablero_node_kind_to_string     (TableroNodeKind  kind);
/* Parses a nick; returns FALSE (and leaves @kind alone) if @str is unknown. */
gboolean         tablero_node_kind_from_string   (const char      *str,
                                                  TableroNodeKind *kind);
const char      *tablero_node_state_to_string    (TableroNodeState state);
const char      *tablero_level_to_string         (TableroLevel     level);

G_END_DECLS
