/* SPDX-License-Identifier: MIT */
/* tablero-stack-private.h: what TableroStackStore needs beyond the public API. */
#pragma once

#include "tablero-stack.h"

G_BEGIN_DECLS

/* Grows on every change of the stack's saved content (edits, undo, redo,
 * direct property changes). An asynchronous save compares it before and
 * after to decide whether the stack is still the one that was saved. */
guint64 tablero_stack_get_edit_count (TableroStack *self);

G_END_DECLS
