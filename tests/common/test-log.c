/* SPDX-License-Identifier: MIT */
#include "test-log.h"

TestLog *
test_log_new (void)
{
  TestLog *log = g_new0 (TestLog, 1);

  log->answers = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  log->received = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_dispatch_unref);
  return log;
}

void
test_log_free (TestLog *log)
{
  g_ptr_array_unref (log->answers);
  g_ptr_array_unref (log->received);
  g_free (log);
}

void
test_log_on_answer (JstpEngine   *engine,
                    JstpDispatch *answer,
                    gpointer      data)
{
  TestLog *log = data;

  g_ptr_array_add (log->answers, jstp_dispatch_ref (answer));
}

void
test_log_on_destroy (gpointer data)
{
  ((TestLog *) data)->destroyed++;
}

void
test_log_on_received (JstpEngine         *engine,
                      JstpDispatch       *dispatch,
                      const JstpCaptures *captures,
                      gpointer            data)
{
  TestLog *log = data;

  g_ptr_array_add (log->received, jstp_dispatch_ref (dispatch));
}

gboolean
test_log_has_answer (gpointer data)
{
  return ((TestLog *) data)->answers->len > 0;
}

gboolean
test_log_has_received (gpointer data)
{
  return ((TestLog *) data)->received->len > 0;
}
