/* SPDX-License-Identifier: MIT */
#include "test-utils.h"

/* Short enough not to slow a test, long enough not to burn a core. */
#define IDLE_SLEEP_US 200

gboolean
test_wait_until (TestCondition cond,
                 gpointer      data,
                 guint         timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;

  while (!cond (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (IDLE_SLEEP_US);
    }
  return TRUE;
}

void
test_spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (IDLE_SLEEP_US);
}
