/* SPDX-License-Identifier: MIT */
/* test-log.h: what an engine gave a test back, answers and received
 * dispatches, through callbacks to pass to jstp_engine_emit() and the
 * bind functions. */
#pragma once

#include "jstp-engine.h"

G_BEGIN_DECLS

typedef struct {
  GPtrArray *answers;     /* JstpDispatch, in arrival order */
  GPtrArray *received;    /* JstpDispatch, in arrival order */
  guint destroyed;        /* times test_log_on_destroy() ran */
} TestLog;

TestLog  *test_log_new          (void);
void      test_log_free         (TestLog *log);

/* Callbacks; @data is the TestLog. */
void      test_log_on_answer    (JstpEngine         *engine,
                                 JstpDispatch       *answer,
                                 gpointer            data);
void      test_log_on_destroy   (gpointer            data);
void      test_log_on_received  (JstpEngine         *engine,
                                 JstpDispatch       *dispatch,
                                 const JstpCaptures *captures,
                                 gpointer            data);

/* Conditions for test_wait_until(). */
gboolean  test_log_has_answer   (gpointer            data);
gboolean  test_log_has_received (gpointer            data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestLog, test_log_free)

G_END_DECLS
