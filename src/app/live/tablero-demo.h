/* SPDX-License-Identifier: MIT */
/* tablero-demo.h: the stack a first-time user sees. */
#pragma once

#include "tablero-stack.h"

G_BEGIN_DECLS

/* Three local nodes, cheap to run: an engine "Gateway", an engine "Worker"
 * that follows every method on ["jobs", ...] of the Gateway, and a Monje
 * "Documents" that stores what is POSTed to ["db", ...] on the Gateway. */
TableroStack *tablero_demo_stack_new (const char *name);

G_END_DECLS
