/* SPDX-License-Identifier: MIT */
/* jstp-dispatch.h: one JSTP message.
 *
 * A dispatch is parsed once by the strict scanner: the routing headers are
 * decoded, everything else (body, referer, extension headers) is kept as the
 * validated JSON text it arrived as. No json-glib tree is built unless
 * someone asks for the body as a JsonNode. Output is always valid JSON,
 * because raw parts were validated and everything else is written by us.
 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "jstp-json.h"
#include "jstp-pattern.h"

G_BEGIN_DECLS

typedef enum {
  JSTP_METHOD_GET,
  JSTP_METHOD_POST,
  JSTP_METHOD_PUT,
  JSTP_METHOD_PATCH,
  JSTP_METHOD_DELETE,
  JSTP_METHOD_BIND,
  JSTP_METHOD_RELEASE,
  JSTP_METHOD_ANSWER,
  JSTP_METHOD_INVALID,
} JstpMethod;

/* Morphologies of section 2. */
typedef enum {
  JSTP_MORPHOLOGY_REGULAR,
  JSTP_MORPHOLOGY_SUBSCRIPTION,
  JSTP_MORPHOLOGY_ANSWER,
} JstpMorphology;

/* One gateway hop of the `host` header. */
typedef struct {
  char *address;
  guint16 port;
  char *label;      /* "tcp" or "ws" (other labels are kept to answer 409) */
} JstpHop;

/* How a dispatch is parsed; see jstp_parse_options_init(). */
typedef struct {
  JstpMode mode;
  JstpJsonLimits json;
  guint max_headers;          /* top-level members; default 32 */
  guint max_header_name;      /* bytes; default 64 */
  guint max_resource;         /* elements; default 64 */
  guint max_element_length;   /* bytes; default 1024 */
  guint max_hops;             /* default 16 */
} JstpParseOptions;

typedef struct _JstpDispatch JstpDispatch;

#define JSTP_TYPE_DISPATCH (jstp_dispatch_get_type ())

GType          jstp_dispatch_get_type        (void) G_GNUC_CONST;

void           jstp_parse_options_init       (JstpParseOptions *options);

const char    *jstp_method_to_string         (JstpMethod method);
/* Case-insensitive; JSTP_METHOD_INVALID for anything else. */
JstpMethod     jstp_method_from_string       (const char *name,
                                              gssize      length);

/**
 * jstp_dispatch_parse:
 * @text: (array length=length): the dispatch as received
 * @options: (nullable): %NULL for strict mode and default limits
 * @transaction_id: (out) (optional) (transfer full): the transaction id when
 *   one could be read, even if validation failed, so that the caller can
 *   answer; %NULL when the dispatch is unaddressable
 * @error: a %JSTP_ERROR whose code is the status to answer (400, 405, 413,
 *   505) and whose message names the offending header
 *
 * Returns: (transfer full) (nullable): the dispatch, or %NULL
 */
JstpDispatch  *jstp_dispatch_parse           (const char             *text,
                                              gsize                   length,
                                              const JstpParseOptions *options,
                                              char                  **transaction_id,
                                              GError                **error);

/* A regular dispatch with a resource of plain strings (NULL-terminated). */
JstpDispatch  *jstp_dispatch_new             (JstpMethod           method,
                                              const char * const  *resource);
/* A BIND or RELEASE of @endpoint. */
JstpDispatch  *jstp_dispatch_new_subscription (JstpMethod          method,
                                              JstpPattern         *endpoint);
/* An ANSWER [status, transaction_id, triggering_id]. */
JstpDispatch  *jstp_dispatch_new_answer      (guint                status,
                                              const char          *transaction_id,
                                              const char          *triggering_id);

JstpDispatch  *jstp_dispatch_ref             (JstpDispatch        *self);
void           jstp_dispatch_unref           (JstpDispatch        *self);
/* A copy that shares the immutable text; cheap. */
JstpDispatch  *jstp_dispatch_copy            (JstpDispatch        *self);

JstpMethod     jstp_dispatch_get_method      (JstpDispatch        *self);
JstpMorphology jstp_dispatch_get_morphology  (JstpDispatch        *self);
/* "0.5" for everything we write; what a peer sent otherwise. */
const char    *jstp_dispatch_get_version     (JstpDispatch        *self);

/* Regular and answer dispatches: the resource elements. */
const JstpElement *jstp_dispatch_get_resource (JstpDispatch       *self,
                                              guint               *n_elements);
/* The resource as compact JSON text. */
const char    *jstp_dispatch_get_resource_json (JstpDispatch      *self);
/* Replaces the resource with @json, a JSON array; checked strictly. */
gboolean       jstp_dispatch_set_resource_json (JstpDispatch      *self,
                                              const char          *json,
                                              GError             **error);
/* Element @index as a newly allocated string (strings decoded, other values as JSON). */
char          *jstp_dispatch_dup_resource_element (JstpDispatch   *self,
                                              guint                index);

/* BIND and RELEASE: the endpoint. */
JstpPattern   *jstp_dispatch_get_endpoint    (JstpDispatch        *self);

/* ANSWER: resource[0]; 0 for other dispatches. */
guint          jstp_dispatch_get_status      (JstpDispatch        *self);

gint64         jstp_dispatch_get_timestamp   (JstpDispatch        *self);
void           jstp_dispatch_set_timestamp   (JstpDispatch        *self,
                                              gint64               timestamp_ms);

/* The token: NULL when absent. Set by engines only. */
const char    *jstp_dispatch_get_transaction_id (JstpDispatch     *self);
const char    *jstp_dispatch_get_triggering_id  (JstpDispatch     *self);
void           jstp_dispatch_set_token       (JstpDispatch        *self,
                                              const char          *transaction_id,
                                              const char          *triggering_id);

/* The `host` header: the remaining gateway hops, first hop first. */
guint          jstp_dispatch_get_n_hops      (JstpDispatch        *self);
const JstpHop *jstp_dispatch_get_hop         (JstpDispatch        *self,
                                              guint                index);
void           jstp_dispatch_add_hop         (JstpDispatch        *self,
                                              const char          *address,
                                              guint16              port,
                                              const char          *label);
/* Removes and returns the first hop; free it with jstp_hop_free(). */
JstpHop       *jstp_dispatch_pop_hop         (JstpDispatch        *self);
void           jstp_hop_free                 (JstpHop             *hop);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JstpHop, jstp_hop_free)

/* The body as validated JSON text, or NULL when there is none. */
const char    *jstp_dispatch_get_body_json   (JstpDispatch        *self);
/* The body as a json-glib tree, built on demand. */
JsonNode      *jstp_dispatch_dup_body        (JstpDispatch        *self);
gboolean       jstp_dispatch_set_body_json   (JstpDispatch        *self,
                                              const char          *json,
                                              GError             **error);
/* Serialises @body with the project's writer (never invalid JSON);
 * FALSE when it holds a non-finite number. %NULL removes the body. */
gboolean       jstp_dispatch_set_body        (JstpDispatch        *self,
                                              JsonNode            *body,
                                              GError             **error);

const char    *jstp_dispatch_get_referer_json (JstpDispatch       *self);
gboolean       jstp_dispatch_set_referer_json (JstpDispatch       *self,
                                              const char          *json,
                                              GError             **error);

/* Extension headers, lower-case names, values as JSON text. */
guint          jstp_dispatch_get_n_extensions (JstpDispatch       *self);
const char    *jstp_dispatch_get_extension_name (JstpDispatch     *self,
                                              guint                index);
const char    *jstp_dispatch_get_extension   (JstpDispatch        *self,
                                              const char          *name);
gboolean       jstp_dispatch_set_extension   (JstpDispatch        *self,
                                              const char          *name,
                                              const char          *json,
                                              GError             **error);

/* Notes: facts the receiving program learnt about a dispatch (the
 * security extension's verified author, an opened body). Never written
 * out; copies carry them. %NULL @value removes a note. */
void           jstp_dispatch_set_note        (JstpDispatch        *self,
                                              const char          *name,
                                              const char          *value);
const char    *jstp_dispatch_get_note        (JstpDispatch        *self,
                                              const char          *name);

/**
 * jstp_dispatch_write:
 * @out: the compact JSON is appended here (no newline)
 * @triggering_id: (nullable): written instead of the dispatch's own
 *   triggering id, so that one parsed dispatch can be fanned out with a
 *   fresh triggering id per subscriber without a copy
 */
void           jstp_dispatch_write           (JstpDispatch        *self,
                                              GString             *out,
                                              const char          *triggering_id);
/* Compact JSON; free with g_free(). */
char          *jstp_dispatch_to_string       (JstpDispatch        *self);
/* Indented JSON for people to read; free with g_free(). */
char          *jstp_dispatch_to_pretty_string (JstpDispatch       *self);

/* A UUID v4 string from libsodium's randombytes_buf. */
char          *jstp_new_id                   (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JstpDispatch, jstp_dispatch_unref)

G_END_DECLS
