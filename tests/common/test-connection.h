/* SPDX-License-Identifier: MIT */
/* test-connection.h: an in-process JstpConnection that records what the
 * engine writes to it, for tests of channels without sockets. */
#pragma once

#include "jstp-connection.h"

G_BEGIN_DECLS

#define TEST_TYPE_CONNECTION (test_connection_get_type ())

G_DECLARE_FINAL_TYPE (TestConnection, test_connection, TEST, CONNECTION, JstpConnection)

TestConnection *test_connection_new       (void);
/* (element-type utf8) (transfer none): every dispatch written, in order */
GPtrArray      *test_connection_get_sent  (TestConnection *self);
/* The last written dispatch parsed back; NULL when none. */
JstpDispatch   *test_connection_parse_last (TestConnection *self);
/* Feeds @text to the engine as if the peer had sent it. */
void            test_connection_receive   (TestConnection *self,
                                           const char     *text);
/* The peer hangs up. */
void            test_connection_hang_up   (TestConnection *self);

G_END_DECLS
