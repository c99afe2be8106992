/* SPDX-License-Identifier: MIT */
/* tablero-node-link.h: what connects one node of the open stack to its
 * engine.
 *
 * For a local node it runs the node's program as a child (jstpd, monje or
 * pajaro, found through $TABLERO_JSTPD, $TABLERO_MONJE, $TABLERO_PAJARO or
 * $PATH) on free ports, learns the TCP port from the program's
 * "... listening: tcp ADDRESS:PORT ..." line and stops it (SIGTERM, then
 * SIGKILL two seconds later) when the link goes. For a remote node it uses
 * the node's address, port and transport.
 *
 * Either way it watches the engine's status reports through a member of a
 * shared JstpPool, and turns them into the node's state and live figures
 * and into a history of samples. */
#pragma once

#include <json-glib/json-glib.h>

#include "jstp-pool.h"
#include "tablero-node.h"
#include "tablero-stack-store.h"

G_BEGIN_DECLS

/* Lines of output kept per child process. */
#define TABLERO_NODE_LINK_MAX_OUTPUT   500
/* Samples kept in memory per node: an hour of 1 Hz reports. */
#define TABLERO_NODE_LINK_MAX_HISTORY  3600
/* The network figure is received plus sent bytes per second over this
 * capacity, a gigabit link: hosts do not say what their links can carry. */
#define TABLERO_NODE_LINK_NETWORK_SCALE (1e9 / 8)

#define TABLERO_TYPE_NODE_LINK (tablero_node_link_get_type ())
G_DECLARE_FINAL_TYPE (TableroNodeLink, tablero_node_link, TABLERO, NODE_LINK, GObject)

/* Starts at once: the child of a local node, or watching a remote one. */
TableroNodeLink *tablero_node_link_new            (TableroNode     *node,
                                                   JstpPool        *pool,
                                                   const char      *data_key);

TableroNode     *tablero_node_link_get_node       (TableroNodeLink *self);

/* The TCP port the engine listens on, once known (for a local node, after
 * its listening line); 0 before. */
guint            tablero_node_link_get_ready_port (TableroNodeLink *self);

/* (transfer none) (nullable): the running child process. */
GSubprocess     *tablero_node_link_get_process    (TableroNodeLink *self);

/* The output of the child, oldest line first, one line per element
 * (transfer none; an array of char *). */
GPtrArray       *tablero_node_link_get_output     (TableroNodeLink *self);

/* Samples of this node, oldest first (transfer none; TableroMetricsSample). */
GArray          *tablero_node_link_get_history    (TableroNodeLink *self);
/* Puts samples read from the store in front of the live ones. */
void             tablero_node_link_prepend_history (TableroNodeLink *self,
                                                   GArray          *samples);

/* (transfer none) (nullable): the last status report. */
JsonObject      *tablero_node_link_get_status     (TableroNodeLink *self);

/* Stops the child, if any, and stops watching. Idempotent. */
void             tablero_node_link_stop           (TableroNodeLink *self);

G_END_DECLS
