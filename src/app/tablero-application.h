/* tablero-application.h: the Tablero application
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <adwaita.h>

#include "jstp-engine.h"
#include "jstp-network.h"
#include "jstp-status-reporter.h"
#include "tablero-stack-store.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_APPLICATION (tablero_application_get_type ())

G_DECLARE_FINAL_TYPE (TableroApplication, tablero_application, TABLERO, APPLICATION, AdwApplication)

TableroApplication *tablero_application_new             (GApplicationFlags   flags);
/* The database of stacks, opened on startup; NULL if it could not be
 * opened, and then @error says why. Transfer none. */
TableroStackStore  *tablero_application_get_store       (TableroApplication  *self,
                                                         const GError       **error);
/* Uses @store instead of the default database (tests). */
void                tablero_application_set_store       (TableroApplication  *self,
                                                         TableroStackStore   *store);

/* The engine Tablero embeds, listening on loopback; it reaches every node
 * of the stack. Transfer none. */
JstpEngine         *tablero_application_get_engine      (TableroApplication  *self);
JstpNetwork        *tablero_application_get_network     (TableroApplication  *self);

G_END_DECLS
