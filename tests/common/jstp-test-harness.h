/* SPDX-License-Identifier: MIT */
/* jstp-test-harness.h: a service's tests in a few lines.
 *
 * The harness runs an engine with the service mounted, listening on
 * loopback (TCP and WebSocket, ports picked by the system), and clients:
 * engines of their own connected to it over real sockets. Requests spin
 * the main loop until their first answer, or fail after the timeout.
 *
 *   g_autoptr(JstpTestHarness) h = jstp_test_harness_new (jstp_rpc_service_new (),
 *                                                         (const char *[]) { "math", NULL });
 *   guint status;
 *   g_autofree char *body = NULL;
 *
 *   g_assert_true (jstp_test_harness_request (h, "GET", "[\"math\",\"add\"]",
 *                                             "{\"a\":1,\"b\":2}", &status, &body));
 *   g_assert_cmpuint (status, ==, 200);
 *   g_assert_cmpstr (body, ==, "{\"result\":3}");
 */
#pragma once

#include "jstp-engine.h"
#include "jstp-network.h"
#include "jstp-service.h"

G_BEGIN_DECLS

typedef struct _JstpTestHarness JstpTestHarness;
typedef struct _JstpTestClient JstpTestClient;

/* How long requests and waits spin before failing, by default. */
#define JSTP_TEST_HARNESS_TIMEOUT_MS 5000

/**
 * jstp_test_harness_new:
 * @service: (transfer full): mounted under @prefix on the harness's engine
 * @prefix: (nullable) (array zero-terminated=1): %NULL for the service's own
 *
 * Fails the test when the service cannot be mounted or nothing can listen.
 * Returns: (transfer full): the harness, with one client over TCP
 */
JstpTestHarness *jstp_test_harness_new        (JstpService         *service,
                                               const char * const  *prefix);
void             jstp_test_harness_free       (JstpTestHarness     *self);

JstpEngine      *jstp_test_harness_get_engine  (JstpTestHarness    *self);
JstpNetwork     *jstp_test_harness_get_network (JstpTestHarness    *self);
JstpService     *jstp_test_harness_get_service (JstpTestHarness    *self);
/* The client made with the harness. (transfer none) */
JstpTestClient  *jstp_test_harness_get_client  (JstpTestHarness    *self);
/* Another client, over @label ("tcp" or "ws"); the harness owns it. */
JstpTestClient  *jstp_test_harness_add_client  (JstpTestHarness    *self,
                                               const char          *label);

/* Spins the main loop until @condition holds; FALSE after the timeout. */
gboolean         jstp_test_harness_wait       (JstpTestHarness     *self,
                                               gboolean           (*condition) (gpointer data),
                                               gpointer             data);
/* Spins the main loop for @ms, for things that must not happen. */
void             jstp_test_harness_spin       (JstpTestHarness     *self,
                                               guint                ms);

/**
 * jstp_test_harness_request:
 * @resource_json: the resource, a JSON array
 * @body_json: (nullable): the body, JSON text
 * @status: (out) (optional): the first answer's status
 * @body: (out) (optional) (transfer full): its body as JSON text, or %NULL
 *
 * Sends a dispatch from the harness's client and waits for the first
 * answer. Returns: FALSE when none came in time
 */
gboolean         jstp_test_harness_request    (JstpTestHarness     *self,
                                               const char          *method,
                                               const char          *resource_json,
                                               const char          *body_json,
                                               guint               *status,
                                               char               **body);

/* The same from one client. */
gboolean         jstp_test_client_request     (JstpTestClient      *client,
                                               const char          *method,
                                               const char          *resource_json,
                                               const char          *body_json,
                                               guint               *status,
                                               char               **body);
/* Sends a dispatch without a transaction: nobody answers. */
void             jstp_test_client_send        (JstpTestClient      *client,
                                               const char          *method,
                                               const char          *resource_json,
                                               const char          *body_json);
/* Subscribes @client on the harness's engine and records what arrives;
 * TRUE once the engine acknowledged the BIND with 200. */
gboolean         jstp_test_client_bind        (JstpTestClient      *client,
                                               const char          *method,
                                               const char          *pattern_json);
/* Waits until @client received at least @n dispatches in all. */
gboolean         jstp_test_client_wait_received (JstpTestClient    *client,
                                               guint                n);
guint            jstp_test_client_get_n_received (JstpTestClient   *client);
/* (transfer none): the @index-th dispatch received */
JstpDispatch    *jstp_test_client_get_received (JstpTestClient     *client,
                                               guint                index);
/* Closes the client's connections, as a client that goes away. */
void             jstp_test_client_disconnect  (JstpTestClient      *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JstpTestHarness, jstp_test_harness_free)

G_END_DECLS
