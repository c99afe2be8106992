/* SPDX-License-Identifier: MIT */
/* jstp-engine.h: a JSTP engine, the dispatch cycle of spec sections 5 and 6.
 *
 * Every dispatch, local or from a connection, goes through one cycle:
 * validate, forward (when it names a host), subscribe (BIND/RELEASE),
 * trigger the matching subscriptions, and keep the answer bookkeeping.
 *
 *   engine = jstp_engine_new ("edge-1");
 *   jstp_engine_bind (engine, "GET", (const char *[]) { "user", ":id", NULL },
 *                     on_get_user, NULL, NULL, &error);
 *   jstp_engine_emit (engine, dispatch, on_answer, NULL, NULL);
 *   ...in on_get_user: jstp_engine_answer (engine, dispatch, 200, "{\"name\":\"Ana\"}");
 */
#pragma once

#include <gio/gio.h>

#include "jstp-connection.h"
#include "jstp-dispatch.h"
#include "jstp-error.h"
#include "jstp-pattern.h"

G_BEGIN_DECLS

#define JSTP_TYPE_ENGINE (jstp_engine_get_type ())

G_DECLARE_FINAL_TYPE (JstpEngine, jstp_engine, JSTP, ENGINE, GObject)

/**
 * JstpAnswerFunc:
 * @answer: an ANSWER; its status is jstp_dispatch_get_status()
 *
 * Called once per answer to a dispatch emitted with a callback. The
 * transaction ends when every triggered subscriber answered or the answer
 * timeout passed (each open one then gets a 504); the destroy notify given
 * with the callback runs then.
 */
typedef void (*JstpAnswerFunc) (JstpEngine   *engine,
                                JstpDispatch *answer,
                                gpointer      user_data);

/**
 * JstpBindFunc:
 * @dispatch: the triggering dispatch, with this subscriber's own triggering
 *   id; keep a reference to answer it later
 * @captures: the `:name` elements of the endpoint, valid during the call
 */
typedef void (*JstpBindFunc)   (JstpEngine         *engine,
                                JstpDispatch       *dispatch,
                                const JstpCaptures *captures,
                                gpointer            user_data);

/* Figures the engine counts; read with jstp_engine_get_counters(). */
typedef struct {
  guint64 dispatches_in;        /* processed, local or received */
  guint64 dispatches_out;       /* written to connections */
  guint64 malformed;            /* refused by validation */
  guint64 unaddressable;        /* dropped: could not be answered */
  guint64 answers_dropped;      /* ANSWERs with no open transaction */
  guint64 forwarded;
  guint64 timeouts;             /* 504s issued */
  guint   transactions;         /* open now */
  guint   subscriptions;        /* in the table now */
  guint   connections;          /* open now */
} JstpEngineCounters;

JstpEngine   *jstp_engine_new                (const char        *name);

const char   *jstp_engine_get_name           (JstpEngine        *self);
const char   *jstp_engine_get_kind           (JstpEngine        *self);
void          jstp_engine_set_kind           (JstpEngine        *self,
                                              const char        *kind);
JstpMode      jstp_engine_get_mode           (JstpEngine        *self);
void          jstp_engine_set_mode           (JstpEngine        *self,
                                              JstpMode           mode);
/* Milliseconds before open triggering ids are answered 504; default 10 000. */
guint         jstp_engine_get_answer_timeout (JstpEngine        *self);
void          jstp_engine_set_answer_timeout (JstpEngine        *self,
                                              guint              timeout_ms);
/* Limits applied to every received dispatch; change them before traffic. */
JstpParseOptions *jstp_engine_get_parse_options (JstpEngine     *self);
/* Subscriptions one connection may hold (default 1 000); more get 429. */
guint         jstp_engine_get_max_subscriptions_per_connection (JstpEngine *self);
void          jstp_engine_set_max_subscriptions_per_connection (JstpEngine *self,
                                              guint              max);
void          jstp_engine_get_counters       (JstpEngine        *self,
                                              JstpEngineCounters *counters);

/**
 * jstp_engine_emit:
 * @dispatch: (transfer none): a regular, BIND or RELEASE dispatch
 * @callback: (nullable): receives the ANSWERs; when given, the engine
 *   creates a transaction id (replacing any set by the caller)
 *
 * Processes @dispatch as a local emitter: forwarded when it names a host,
 * otherwise triggers the local subscriptions and channels that match.
 */
void          jstp_engine_emit               (JstpEngine        *self,
                                              JstpDispatch      *dispatch,
                                              JstpAnswerFunc     callback,
                                              gpointer           user_data,
                                              GDestroyNotify     destroy);

/**
 * jstp_engine_bind:
 * @method: a method name or "*"
 * @resource: (array zero-terminated=1): the resource pattern
 *
 * Subscribes @callback to an endpoint; the BIND is processed like any other,
 * so endpoints bound to BIND see it.
 * Returns: a binding id for jstp_engine_release(), or 0 with @error set
 *   (a %JSTP_ERROR whose code is the status: 400 or 405)
 */
guint64       jstp_engine_bind               (JstpEngine          *self,
                                              const char          *method,
                                              const char * const  *resource,
                                              JstpBindFunc         callback,
                                              gpointer             user_data,
                                              GDestroyNotify       destroy,
                                              GError             **error);
/* Like jstp_engine_bind() with a pattern built already. */
guint64       jstp_engine_bind_pattern       (JstpEngine          *self,
                                              JstpPattern         *pattern,
                                              JstpBindFunc         callback,
                                              gpointer             user_data,
                                              GDestroyNotify       destroy);
/* Removes a binding; FALSE when there was none (a RELEASE would get 406). */
gboolean      jstp_engine_release            (JstpEngine        *self,
                                              guint64            binding_id);

/**
 * jstp_engine_answer:
 * @request: a dispatch a bind callback received
 * @body_json: (nullable): the body, JSON text; checked strictly
 *
 * Answers @request with @status. Does nothing when @request carries no
 * transaction id (its emitter wants no answer).
 */
void          jstp_engine_answer             (JstpEngine        *self,
                                              JstpDispatch      *request,
                                              guint              status,
                                              const char        *body_json);

/**
 * JstpAdmissionHook:
 * @connection: (nullable): where @dispatch arrived from; %NULL for a local
 *   emitter
 * @dispatch: a regular, BIND or RELEASE dispatch this engine is about to
 *   process (not one it forwards, not an ANSWER, not the engine's own
 *   jstp_engine_bind() or jstp_engine_release())
 * @message: (out) (transfer full) (optional): why, when refusing
 *
 * Hooks decide whether the engine takes on a dispatch before anything is
 * triggered: load shedding (a saturated engine refuses work it cannot do in
 * time), signature checks, a service refusing forged events. They see local
 * emitters and subscriptions too, so each hook picks what it judges; they
 * run in the order they were added and the first refusal wins.
 * A hook may record what it learnt with jstp_dispatch_set_note(), for the
 * bind callbacks (the security extension records the verified author).
 * Returns: 0 to go on, or the status to refuse @dispatch with
 */
typedef guint (*JstpAdmissionHook) (JstpEngine     *engine,
                                    JstpConnection *connection,
                                    JstpDispatch   *dispatch,
                                    char          **message,
                                    gpointer        user_data);

/* Returns: an id for jstp_engine_remove_admission_hook() */
guint         jstp_engine_add_admission_hook (JstpEngine        *self,
                                              JstpAdmissionHook  hook,
                                              gpointer           user_data,
                                              GDestroyNotify     destroy);
void          jstp_engine_remove_admission_hook (JstpEngine     *self,
                                              guint              hook_id);

/* Network side: make @connection a peer of this engine. The engine keeps a
 * reference until the connection closes. */
void          jstp_engine_add_connection     (JstpEngine        *self,
                                              JstpConnection    *connection);
/* Parses and processes one frame received on @connection; FALSE when it
 * was malformed (transports count those against a budget). */
gboolean      jstp_engine_receive            (JstpEngine        *self,
                                              JstpConnection    *connection,
                                              const char        *text,
                                              gsize              length);
/* Processes a parsed dispatch as if it arrived on @connection (%NULL: local). */
void          jstp_engine_process            (JstpEngine        *self,
                                              JstpConnection    *connection,
                                              JstpDispatch      *dispatch);
/* During a bind callback: the connection the dispatch arrived on, or %NULL
 * for a local emitter. Lets handlers of reserved resources authorise. */
JstpConnection *jstp_engine_get_current_connection (JstpEngine  *self);
/* The open connections. (transfer container) (element-type JstpConnection) */
GPtrArray    *jstp_engine_list_connections   (JstpEngine        *self);

G_END_DECLS
