/* SPDX-License-Identifier: MIT */
/* Waiting in tests: spinning the default main context, with or without a
 * condition to wait for. GLib only. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef gboolean (*TestCondition) (gpointer data);

/* Runs the default main context until @cond holds; FALSE when @timeout_ms
 * passes first. */
gboolean test_wait_until (TestCondition cond,
                          gpointer      data,
                          guint         timeout_ms);

/* Runs the default main context for @ms milliseconds. */
void     test_spin       (guint         ms);

G_END_DECLS
