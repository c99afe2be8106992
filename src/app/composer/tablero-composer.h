/* tablero-composer.h: writes a dispatch, sends it, shows its answers
 *
 * SPDX-License-Identifier: MIT
 */
#pragma once

#include <gtk/gtk.h>

#include "jstp-engine.h"
#include "tablero-stack.h"

G_BEGIN_DECLS

#define TABLERO_TYPE_COMPOSER (tablero_composer_get_type ())

G_DECLARE_FINAL_TYPE (TableroComposer, tablero_composer, TABLERO, COMPOSER, GtkWidget)

GtkWidget    *tablero_composer_new           (void);

/* The engine that sends; by default the application's. */
void          tablero_composer_set_engine    (TableroComposer *self,
                                              JstpEngine      *engine);
/* The stack whose nodes are the targets. */
TableroStack *tablero_composer_get_stack     (TableroComposer *self);
void          tablero_composer_set_stack     (TableroComposer *self,
                                              TableroStack    *stack);

/* The form, as a user fills it. @target: "Tablero (local)" is index 0,
 * then the nodes of the stack. */
void          tablero_composer_set_method    (TableroComposer *self,
                                              const char      *method);
void          tablero_composer_set_resource  (TableroComposer *self,
                                              const char      *text);
void          tablero_composer_set_body      (TableroComposer *self,
                                              const char      *text);
void          tablero_composer_set_target    (TableroComposer *self,
                                              guint            index);
guint         tablero_composer_get_n_targets (TableroComposer *self);
/* What is wrong with the form (the scanner's message), or NULL. */
const char   *tablero_composer_get_problem   (TableroComposer *self);
gboolean      tablero_composer_get_can_send  (TableroComposer *self);
/* Sends what the form holds, like the Send button. */
gboolean      tablero_composer_send          (TableroComposer *self,
                                              GError         **error);

/* Recently sent, newest first. */
guint         tablero_composer_get_n_sent    (TableroComposer *self);
/* The first answer's status (0 while none) and latency in µs (-1). */
guint         tablero_composer_get_sent_status  (TableroComposer *self,
                                                 guint            index);
gint64        tablero_composer_get_sent_latency (TableroComposer *self,
                                                 guint            index);
const char   *tablero_composer_get_sent_answer_body (TableroComposer *self,
                                                     guint            index);
gboolean      tablero_composer_resend        (TableroComposer *self,
                                              guint            index,
                                              GError         **error);

/* Open BIND streams and what each received. */
guint         tablero_composer_get_n_streams (TableroComposer *self);
guint         tablero_composer_get_stream_received (TableroComposer *self,
                                                    guint            index);
GtkWindow    *tablero_composer_get_stream_window (TableroComposer *self,
                                                  guint            index);

G_END_DECLS
