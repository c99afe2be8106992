/* SPDX-License-Identifier: MIT */
/* jstp-service.h: reusable services mounted on an engine.
 *
 * A service lives under a resource prefix (its name by default) and
 * declares handlers, RPC style: one function per method and resource
 * pattern, which returns the answer's body or fails with a GError. The
 * service answers for it: 200 with the body, the error's status when it is
 * a %JSTP_ERROR between 400 and 599 (argument errors are 400), 500
 * otherwise, each error with the body {"message": TEXT}.
 *
 *   static JsonNode *
 *   add_cb (JstpService *service, JstpServiceRequest *request,
 *           gpointer user_data, GError **error)
 *   {
 *     double a, b;
 *
 *     if (!jstp_service_request_get_number (request, "a", &a, error) ||
 *         !jstp_service_request_get_number (request, "b", &b, error))
 *       return NULL;                                   -> 400
 *     return json_node_init_double (json_node_alloc (), a + b);
 *   }
 *
 *   service = jstp_service_new ("math");
 *   jstp_service_add_handler (service, "GET", (const char *[]) { "add", NULL },
 *                             add_cb, NULL, NULL, &error);
 *   jstp_service_mount (service, engine, NULL, &error);
 *   ...GET ["math","add"] {"a":1,"b":2} is answered 200 with 3.
 *
 * Every mounted service also answers `GET [PREFIX...]` (the prefix alone)
 * with its description and status, one object:
 *
 *   {"name": "pubsub", "prefix": ["pubsub"],
 *    "handlers": [{"method": "POST", "resource": ["pubsub", ":channel"]}, ...],
 *    "events": [{"method": "POST", "resource": [...], "exclusive": false}, ...],
 *    "requests": 12,      handler calls since mounting
 *    "errors": 1,         of those, answered 400 or more
 *    "status": {...}}     the service's own figures (JstpServiceClass.add_status)
 *
 * and the engine answers `GET ["jstp","services"]` with {"services": [...]},
 * one such object per mounted service, while any is mounted. A handler whose
 * pattern would also match `GET [PREFIX...]` leaves that to the status.
 *
 * Events are the dispatches a service emits on its engine without a
 * transaction (jstp_service_publish()); subscribers BIND them. An exclusive
 * event may only be emitted by the service: a network peer that emits a
 * dispatch matching it is refused 403.
 *
 * Subclasses add their handlers in their instance init or in the mount
 * vfunc, and connect to the engine's signals in mount (the engine is set
 * then); both run on the engine's main context, as do the handlers.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "jstp-engine.h"

G_BEGIN_DECLS

#define JSTP_TYPE_SERVICE (jstp_service_get_type ())

G_DECLARE_DERIVABLE_TYPE (JstpService, jstp_service, JSTP, SERVICE, GObject)

typedef struct _JstpServiceRequest JstpServiceRequest;

#define JSTP_TYPE_SERVICE_REQUEST (jstp_service_request_get_type ())

typedef enum {
  JSTP_SERVICE_EVENT_NONE      = 0,
  JSTP_SERVICE_EVENT_EXCLUSIVE = 1 << 0,   /* network peers may not emit it (403) */
} JstpServiceEventFlags;

/**
 * JstpServiceHandler:
 * @request: the request; valid during the call (see
 *   jstp_service_request_defer() to answer later)
 * @error: set it to fail: a %JSTP_ERROR code is the status (400 for bad
 *   arguments), any other error answers 500; its message goes in the body
 *
 * Returns: (transfer full) (nullable): the body of the 200 answer; %NULL
 *   without @error set answers 200 with no body
 */
typedef JsonNode *(*JstpServiceHandler) (JstpService         *service,
                                         JstpServiceRequest  *request,
                                         gpointer             user_data,
                                         GError             **error);

struct _JstpServiceClass
{
  GObjectClass parent_class;

  /* Called once the service is on its engine, before its handlers are
   * bound; FALSE (with @error) refuses the mount. */
  gboolean (*mount)      (JstpService  *self,
                          JstpEngine   *engine,
                          GError      **error);
  /* Called before the service leaves its engine: disconnect from it here. */
  void     (*unmount)    (JstpService  *self,
                          JstpEngine   *engine);
  /* Adds the service's own figures to @builder, inside the "status" object
   * of its status (json_builder_set_member_name() then a value). */
  void     (*add_status) (JstpService  *self,
                          JsonBuilder  *builder);

  gpointer padding[8];
};

/* A service with no handlers of its own, to add handlers to. */
JstpService  *jstp_service_new               (const char          *name);

const char   *jstp_service_get_name          (JstpService         *self);
/* "Jstp-NAME": the GLib log domain of jstp_service_log(). */
const char   *jstp_service_get_log_domain    (JstpService         *self);
/* The prefix it is (or will be) mounted under. (array zero-terminated=1) */
const char * const *jstp_service_get_prefix  (JstpService         *self);
/* (nullable): the engine it is mounted on */
JstpEngine   *jstp_service_get_engine        (JstpService         *self);

/**
 * jstp_service_mount:
 * @prefix: (nullable) (array zero-terminated=1): literal resource elements;
 *   %NULL keeps the prefix property (by default the service's name)
 *
 * Binds the handlers and the status on @engine, which the service keeps a
 * reference to until jstp_service_unmount() (or its disposal). A service
 * is on one engine at a time, and one prefix holds one service per engine.
 */
gboolean      jstp_service_mount             (JstpService         *self,
                                              JstpEngine          *engine,
                                              const char * const  *prefix,
                                              GError             **error);
void          jstp_service_unmount           (JstpService         *self);

/**
 * jstp_service_add_handler:
 * @method: a method name or "*"
 * @resource: (array zero-terminated=1): the resource pattern after the
 *   prefix (it may use `*`, `...` and `:name`)
 *
 * Returns: a handler id for jstp_service_remove_handler(), or 0 with
 *   @error set (a %JSTP_ERROR: 400 bad pattern, 405 unknown method)
 */
guint         jstp_service_add_handler       (JstpService         *self,
                                              const char          *method,
                                              const char * const  *resource,
                                              JstpServiceHandler   handler,
                                              gpointer             user_data,
                                              GDestroyNotify       destroy,
                                              GError             **error);
gboolean      jstp_service_remove_handler    (JstpService         *self,
                                              guint                handler_id);

/* Declares an event, resource after the prefix; FALSE for a bad pattern. */
gboolean      jstp_service_add_event         (JstpService         *self,
                                              const char          *method,
                                              const char * const  *resource,
                                              JstpServiceEventFlags flags,
                                              GError             **error);

/**
 * jstp_service_publish:
 * @resource: (array zero-terminated=1): the resource after the prefix
 * @body: (nullable) (transfer none): the body
 *
 * Emits an event on the service's engine, without a transaction. Does
 * nothing when the service is not mounted.
 */
void          jstp_service_publish           (JstpService         *self,
                                              const char          *method,
                                              const char * const  *resource,
                                              JsonNode            *body);

/* The object `GET [PREFIX...]` answers, as compact JSON. */
char         *jstp_service_dup_status_json   (JstpService         *self);

/* Logs in the service's domain with the structured fields JSTP_SERVICE
 * and JSTP_ENGINE; see jstp-log.h for the levels. */
void          jstp_service_log               (JstpService         *self,
                                              GLogLevelFlags       level,
                                              const char          *format,
                                              ...) G_GNUC_PRINTF (3, 4);

/* ---- requests ---------------------------------------------------------- */

GType         jstp_service_request_get_type  (void) G_GNUC_CONST;
JstpServiceRequest *jstp_service_request_ref (JstpServiceRequest  *request);
void          jstp_service_request_unref     (JstpServiceRequest  *request);

JstpService  *jstp_service_request_get_service (JstpServiceRequest *request);
/* The dispatch, with its own triggering id. */
JstpDispatch *jstp_service_request_get_dispatch (JstpServiceRequest *request);
/* (nullable): the connection it arrived on; %NULL for a local emitter */
JstpConnection *jstp_service_request_get_connection (JstpServiceRequest *request);
/* The value of a `:name` element (strings decoded, numbers as written);
 * %NULL when the pattern has no such capture. */
const char   *jstp_service_request_get_capture (JstpServiceRequest *request,
                                              const char          *name);
/* (nullable) (transfer none): the body as a tree, built on first use */
JsonNode     *jstp_service_request_get_body  (JstpServiceRequest  *request);

/* Typed arguments: members of the body, which must then be an object.
 * Each fails with a %JSTP_ERROR 400 that names the argument when it is
 * missing or of another type. */
gboolean      jstp_service_request_has_argument (JstpServiceRequest *request,
                                              const char          *name);
gboolean      jstp_service_request_get_number (JstpServiceRequest *request,
                                              const char          *name,
                                              double              *value,
                                              GError             **error);
/* A number written as an integer, within [@min, @max]. */
gboolean      jstp_service_request_get_int   (JstpServiceRequest  *request,
                                              const char          *name,
                                              gint64               min,
                                              gint64               max,
                                              gint64              *value,
                                              GError             **error);
/* (out) (transfer none): valid as long as the request */
gboolean      jstp_service_request_get_string (JstpServiceRequest *request,
                                              const char          *name,
                                              const char         **value,
                                              GError             **error);
gboolean      jstp_service_request_get_boolean (JstpServiceRequest *request,
                                              const char          *name,
                                              gboolean            *value,
                                              GError             **error);
/* Any JSON value. (out) (transfer none) */
gboolean      jstp_service_request_get_value (JstpServiceRequest  *request,
                                              const char          *name,
                                              JsonNode           **value,
                                              GError             **error);

/**
 * jstp_service_request_defer:
 *
 * Called from a handler: the service will not answer when the handler
 * returns (its return value is ignored); answer later with
 * jstp_service_request_answer() or jstp_service_request_fail().
 * Returns: (transfer full): a reference to keep until then
 */
JstpServiceRequest *jstp_service_request_defer (JstpServiceRequest *request);
/* @body: (nullable) (transfer none) */
void          jstp_service_request_answer    (JstpServiceRequest  *request,
                                              JsonNode            *body);
void          jstp_service_request_fail      (JstpServiceRequest  *request,
                                              const GError        *error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JstpServiceRequest, jstp_service_request_unref)

G_END_DECLS
