/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <sodium.h>

#include "jstp-dispatch.h"
#include "jstp-error.h"
#include "jstp-json-writer.h"

/* A part of the dispatch kept as JSON text: either a span of the received
 * text or, once set by the program, a string of its own. */
typedef struct {
  guint32 offset;
  guint32 length;
  char *owned;      /* NUL-terminated; wins over the span when set */
  gboolean present;
} JsonPart;

typedef struct {
  char *name;       /* lower case */
  JsonPart value;
} Extension;

struct _JstpDispatch {
  gint ref_count;

  JstpMethod method;
  char *version;
  GBytes *text;             /* the received text, shared by copies */

  JsonPart resource_json;
  JstpElement *resource;
  guint n_resource;
  GPtrArray *decoded;       /* strings decoded from escapes, owned */

  JstpPattern *endpoint;
  guint status;

  gint64 timestamp;
  char *transaction_id;
  char *triggering_id;
  GPtrArray *hops;          /* JstpHop */

  JsonPart body;
  JsonPart referer;
  GArray *extensions;       /* Extension */
  GHashTable *notes;        /* name -> value, never written */
};

G_DEFINE_BOXED_TYPE (JstpDispatch, jstp_dispatch, jstp_dispatch_ref, jstp_dispatch_unref)

static const char * const method_names[] = {
  "GET", "POST", "PUT", "PATCH", "DELETE", "BIND", "RELEASE", "ANSWER",
};

void
jstp_parse_options_init (JstpParseOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->mode = JSTP_MODE_STRICT;
  jstp_json_limits_init (&options->json);
  options->max_headers = 32;
  options->max_header_name = 64;
  options->max_resource = 64;
  options->max_element_length = 1024;
  options->max_hops = 16;
}

const char *
jstp_method_to_string (JstpMethod method)
{
  if (method >= JSTP_METHOD_INVALID)
    return "INVALID";
  return method_names[method];
}

JstpMethod
jstp_method_from_string (const char *name,
                         gssize      length)
{
  if (name == NULL)
    return JSTP_METHOD_INVALID;
  if (length < 0)
    length = strlen (name);

  for (guint i = 0; i < G_N_ELEMENTS (method_names); i++)
    if (strlen (method_names[i]) == (gsize) length &&
        g_ascii_strncasecmp (method_names[i], name, length) == 0)
      return (JstpMethod) i;
  return JSTP_METHOD_INVALID;
}

/* randombytes_buf() costs a system call; ids are taken from a block of its
 * output instead, so a fan-out to many subscribers makes one call. */
static void
random_id_bytes (guint8 *out)
{
  static __thread guint8 block[4096];
  static __thread gsize used = sizeof block;

  if (used + 16 > sizeof block)
    {
      randombytes_buf (block, sizeof block);
      used = 0;
    }
  memcpy (out, block + used, 16);
  sodium_memzero (block + used, 16);
  used += 16;
}

char *
jstp_new_id (void)
{
  guint8 b[16];

  random_id_bytes (b);
  b[6] = (b[6] & 0x0f) | 0x40;   /* version 4 */
  b[8] = (b[8] & 0x3f) | 0x80;   /* RFC 4122 variant */
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                          "%02x%02x%02x%02x%02x%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                          b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- parts ------------------------------------------------------------- */

static const char *
text_data (JstpDispatch *self)
{
  return self->text ? g_bytes_get_data (self->text, NULL) : NULL;
}

static const char *
part_data (JstpDispatch   *self,
           const JsonPart *part,
           gsize          *length)
{
  if (!part->present)
    {
      *length = 0;
      return NULL;
    }
  if (part->owned)
    {
      *length = strlen (part->owned);
      return part->owned;
    }
  *length = part->length;
  return text_data (self) + part->offset;
}

/* NUL-terminated text of a part, made on first use. */
static const char *
part_string (JstpDispatch *self,
             JsonPart     *part)
{
  if (!part->present)
    return NULL;
  if (part->owned == NULL)
    part->owned = g_strndup (text_data (self) + part->offset, part->length);
  return part->owned;
}

static void
part_set_owned (JsonPart *part,
                char     *owned)
{
  g_free (part->owned);
  part->owned = owned;
  part->present = owned != NULL;
}

static void
part_copy (JsonPart       *dst,
           const JsonPart *src)
{
  *dst = *src;
  dst->owned = g_strdup (src->owned);
}

static void
part_clear (JsonPart *part)
{
  g_clear_pointer (&part->owned, g_free);
  part->present = FALSE;
}

static void
extension_clear (gpointer data)
{
  Extension *ext = data;

  g_free (ext->name);
  part_clear (&ext->value);
}

void
jstp_hop_free (JstpHop *hop)
{
  if (hop == NULL)
    return;
  g_free (hop->address);
  g_free (hop->label);
  g_free (hop);
}

static JstpHop *
hop_new (const char *address,
         guint16     port,
         const char *label)
{
  JstpHop *hop = g_new0 (JstpHop, 1);

  hop->address = g_strdup (address);
  hop->port = port;
  hop->label = g_strdup (label);
  return hop;
}

static JstpDispatch *
dispatch_alloc (JstpMethod method)
{
  JstpDispatch *self = g_new0 (JstpDispatch, 1);

  self->ref_count = 1;
  self->method = method;
  self->version = g_strdup ("0.5");
  return self;
}

/* Validated JSON @json checked as one value of its own; the scanner is the
 * only door through which text enters a dispatch. */
static gboolean
check_json (const char    *json,
            JstpJsonType  *type,
            GError       **error)
{
  JstpJsonSpan root;
  g_autoptr(GError) local_error = NULL;

  if (!jstp_json_scan (json, strlen (json), NULL, &root, NULL, 0, NULL, &local_error))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "invalid JSON: %s", local_error->message);
      return FALSE;
    }
  if (type)
    *type = root.type;
  return TRUE;
}

static char *
compact_json (const char *json)
{
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean in_string = FALSE;

  /* Drops insignificant whitespace so that what we write stays compact and
   * newline-free (TCP framing depends on it). */
  for (const char *p = json; *p; p++)
    {
      if (in_string)
        {
          g_string_append_c (out, *p);
          if (*p == '\\' && p[1])
            g_string_append_c (out, *++p);
          else if (*p == '"')
            in_string = FALSE;
        }
      else if (*p == '"')
        {
          in_string = TRUE;
          g_string_append_c (out, *p);
        }
      else if (!strchr (" \t\r\n", *p))
        g_string_append_c (out, *p);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- resource ---------------------------------------------------------- */

static void
resource_clear (JstpDispatch *self)
{
  g_clear_pointer (&self->resource, g_free);
  self->n_resource = 0;
  g_clear_pointer (&self->decoded, g_ptr_array_unref);
  part_clear (&self->resource_json);
}

static void
element_from_span (JstpDispatch *self,
                   const char   *text,
                   JstpJsonSpan  span,
                   JstpElement  *element)
{
  element->type = span.type;

  if (span.type == JSTP_JSON_STRING)
    {
      const char *start = text + span.offset + 1;
      gsize raw_length = span.length - 2;

      if (memchr (start, '\\', raw_length) == NULL)
        {
          element->text = start;
          element->length = raw_length;
        }
      else
        {
          gsize length;
          char *decoded = jstp_json_string_dup (text, span, &length);

          if (self->decoded == NULL)
            self->decoded = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (self->decoded, decoded);
          element->text = decoded;
          element->length = length;
        }
    }
  else
    {
      element->text = text + span.offset;
      element->length = span.length;
    }
}

/* Decodes the elements of the resource array at @span of @text. */
static gboolean
resource_load (JstpDispatch           *self,
               const char             *text,
               JstpJsonSpan            span,
               const JstpParseOptions *options,
               GError                **error)
{
  JstpJsonIter iter;
  JstpJsonSpan value;
  guint n = jstp_json_count_children (text, span);
  guint i = 0;

  if (n == 0)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"resource\": must not be empty");
      return FALSE;
    }
  if (options && n > options->max_resource)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_TOO_LARGE,
                   "header \"resource\": %u elements, more than the limit of %u",
                   n, options->max_resource);
      return FALSE;
    }

  self->resource = g_new0 (JstpElement, n);
  self->n_resource = n;
  jstp_json_iter_init (&iter, text, span);
  while (jstp_json_iter_next (&iter, &value))
    {
      if (options && value.length > options->max_element_length + 2)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_TOO_LARGE,
                       "header \"resource\": element %u is %u bytes, more than the limit of %u",
                       i, value.length, options->max_element_length);
          return FALSE;
        }
      element_from_span (self, text, value, &self->resource[i++]);
    }
  return TRUE;
}

const JstpElement *
jstp_dispatch_get_resource (JstpDispatch *self,
                            guint        *n_elements)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (n_elements)
    *n_elements = self->n_resource;
  return self->resource;
}

const char *
jstp_dispatch_get_resource_json (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return part_string (self, &self->resource_json);
}

gboolean
jstp_dispatch_set_resource_json (JstpDispatch  *self,
                                 const char    *json,
                                 GError       **error)
{
  JstpJsonSpan root;
  g_autoptr(GError) local_error = NULL;
  char *compact;
  JstpParseOptions options;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (json != NULL, FALSE);

  if (!jstp_json_scan (json, strlen (json), NULL, &root, NULL, 0, NULL, &local_error))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "header \"resource\": %s", local_error->message);
      return FALSE;
    }
  if (root.type != JSTP_JSON_ARRAY)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"resource\": must be an array");
      return FALSE;
    }

  resource_clear (self);
  compact = compact_json (json);
  part_set_owned (&self->resource_json, compact);

  /* Elements point into the owned text, which lives as long as they do. */
  jstp_json_scan (compact, strlen (compact), NULL, &root, NULL, 0, NULL, NULL);
  jstp_parse_options_init (&options);
  if (!resource_load (self, compact, root, &options, error))
    {
      resource_clear (self);
      return FALSE;
    }
  return TRUE;
}

char *
jstp_dispatch_dup_resource_element (JstpDispatch *self,
                                    guint         index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < self->n_resource, NULL);

  return g_strndup (self->resource[index].text, self->resource[index].length);
}

/* ---- construction ------------------------------------------------------ */

JstpDispatch *
jstp_dispatch_new (JstpMethod          method,
                   const char * const *resource)
{
  JstpDispatch *self;
  g_autoptr(GString) json = g_string_new ("[");

  g_return_val_if_fail (method <= JSTP_METHOD_DELETE, NULL);
  g_return_val_if_fail (resource != NULL && resource[0] != NULL, NULL);

  self = dispatch_alloc (method);
  self->timestamp = g_get_real_time () / 1000;
  for (guint i = 0; resource[i]; i++)
    {
      if (i > 0)
        g_string_append_c (json, ',');
      jstp_json_append_string (json, resource[i], -1);
    }
  g_string_append_c (json, ']');
  if (!jstp_dispatch_set_resource_json (self, json->str, NULL))
    g_return_val_if_reached (self);
  return self;
}

JstpDispatch *
jstp_dispatch_new_subscription (JstpMethod   method,
                                JstpPattern *endpoint)
{
  JstpDispatch *self;

  g_return_val_if_fail (method == JSTP_METHOD_BIND || method == JSTP_METHOD_RELEASE, NULL);
  g_return_val_if_fail (endpoint != NULL, NULL);

  self = dispatch_alloc (method);
  self->timestamp = g_get_real_time () / 1000;
  self->endpoint = jstp_pattern_ref (endpoint);
  return self;
}

JstpDispatch *
jstp_dispatch_new_answer (guint       status,
                          const char *transaction_id,
                          const char *triggering_id)
{
  JstpDispatch *self;
  g_autoptr(GString) json = g_string_new (NULL);

  g_return_val_if_fail (status >= 100 && status <= 599, NULL);
  g_return_val_if_fail (transaction_id != NULL, NULL);

  self = dispatch_alloc (JSTP_METHOD_ANSWER);
  self->timestamp = g_get_real_time () / 1000;
  self->status = status;
  g_string_append_printf (json, "[%u,", status);
  jstp_json_append_string (json, transaction_id, -1);
  g_string_append_c (json, ',');
  if (triggering_id)
    jstp_json_append_string (json, triggering_id, -1);
  else
    g_string_append (json, "null");
  g_string_append_c (json, ']');
  jstp_dispatch_set_resource_json (self, json->str, NULL);
  return self;
}

JstpDispatch *
jstp_dispatch_ref (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
jstp_dispatch_unref (JstpDispatch *self)
{
  g_return_if_fail (self != NULL);

  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;

  resource_clear (self);
  g_free (self->version);
  g_clear_pointer (&self->text, g_bytes_unref);
  g_clear_pointer (&self->endpoint, jstp_pattern_unref);
  g_free (self->transaction_id);
  g_free (self->triggering_id);
  g_clear_pointer (&self->hops, g_ptr_array_unref);
  part_clear (&self->body);
  part_clear (&self->referer);
  g_clear_pointer (&self->extensions, g_array_unref);
  g_clear_pointer (&self->notes, g_hash_table_unref);
  g_free (self);
}

JstpDispatch *
jstp_dispatch_copy (JstpDispatch *self)
{
  JstpDispatch *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = dispatch_alloc (self->method);
  g_free (copy->version);
  copy->version = g_strdup (self->version);
  copy->text = self->text ? g_bytes_ref (self->text) : NULL;

  part_copy (&copy->resource_json, &self->resource_json);
  if (self->n_resource > 0)
    {
      copy->resource = g_memdup2 (self->resource, sizeof (JstpElement) * self->n_resource);
      copy->n_resource = self->n_resource;
      /* Elements that point into owned text must point into the copy's. */
      for (guint i = 0; i < self->n_resource; i++)
        {
          const char *p = self->resource[i].text;

          if (self->resource_json.owned &&
              p >= self->resource_json.owned &&
              p < self->resource_json.owned + strlen (self->resource_json.owned))
            copy->resource[i].text = copy->resource_json.owned + (p - self->resource_json.owned);
          else if (self->decoded)
            for (guint j = 0; j < self->decoded->len; j++)
              if (p == g_ptr_array_index (self->decoded, j))
                {
                  char *d = g_strndup (p, self->resource[i].length);
                  if (copy->decoded == NULL)
                    copy->decoded = g_ptr_array_new_with_free_func (g_free);
                  g_ptr_array_add (copy->decoded, d);
                  copy->resource[i].text = d;
                }
        }
    }

  copy->endpoint = self->endpoint ? jstp_pattern_ref (self->endpoint) : NULL;
  copy->status = self->status;
  copy->timestamp = self->timestamp;
  copy->transaction_id = g_strdup (self->transaction_id);
  copy->triggering_id = g_strdup (self->triggering_id);
  if (self->hops)
    for (guint i = 0; i < self->hops->len; i++)
      {
        const JstpHop *hop = g_ptr_array_index (self->hops, i);
        jstp_dispatch_add_hop (copy, hop->address, hop->port, hop->label);
      }
  part_copy (&copy->body, &self->body);
  part_copy (&copy->referer, &self->referer);
  if (self->extensions)
    {
      copy->extensions = g_array_new (FALSE, TRUE, sizeof (Extension));
      g_array_set_clear_func (copy->extensions, extension_clear);
      for (guint i = 0; i < self->extensions->len; i++)
        {
          const Extension *ext = &g_array_index (self->extensions, Extension, i);
          Extension e = { g_strdup (ext->name) };

          part_copy (&e.value, &ext->value);
          g_array_append_val (copy->extensions, e);
        }
    }
  if (self->notes)
    {
      GHashTableIter iter;
      gpointer name, value;

      g_hash_table_iter_init (&iter, self->notes);
      while (g_hash_table_iter_next (&iter, &name, &value))
        jstp_dispatch_set_note (copy, name, value);
    }
  return copy;
}

void
jstp_dispatch_set_note (JstpDispatch *self,
                        const char   *name,
                        const char   *value)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL);

  if (value == NULL)
    {
      if (self->notes)
        g_hash_table_remove (self->notes, name);
      return;
    }
  if (self->notes == NULL)
    self->notes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (self->notes, g_strdup (name), g_strdup (value));
}

const char *
jstp_dispatch_get_note (JstpDispatch *self,
                        const char   *name)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return self->notes ? g_hash_table_lookup (self->notes, name) : NULL;
}

/* ---- parsing ----------------------------------------------------------- */

typedef enum {
  HEADER_PROTOCOL,
  HEADER_METHOD,
  HEADER_RESOURCE,
  HEADER_ENDPOINT,
  HEADER_TIMESTAMP,
  HEADER_TOKEN,
  HEADER_HOST,
  HEADER_BODY,
  HEADER_REFERER,
  N_KNOWN_HEADERS,
} Header;

static const char * const header_names[N_KNOWN_HEADERS] = {
  "protocol", "method", "resource", "endpoint", "timestamp", "token", "host", "body", "referer",
};

#define MAX_ID_LENGTH 64
#define MAX_SAFE_INTEGER G_GINT64_CONSTANT (9007199254740991)

static gboolean
read_id (const char   *text,
         JstpJsonSpan  span,
         char        **out)
{
  gsize length;

  if (span.type != JSTP_JSON_STRING || span.length - 2 > MAX_ID_LENGTH * 6)
    return FALSE;
  *out = jstp_json_string_dup (text, span, &length);
  if (length == 0 || length > MAX_ID_LENGTH)
    {
      g_clear_pointer (out, g_free);
      return FALSE;
    }
  return TRUE;
}

/* Reads `token`. FALSE means malformed, which makes the dispatch
 * unaddressable: JSTP says such a dispatch gets no answer. */
static gboolean
read_token (const char    *text,
            JstpJsonSpan   span,
            char         **transaction_id,
            char         **triggering_id)
{
  JstpJsonIter iter;
  JstpJsonSpan value;
  guint n;

  if (span.type != JSTP_JSON_ARRAY)
    return FALSE;
  n = jstp_json_count_children (text, span);
  if (n > 2)
    return FALSE;

  jstp_json_iter_init (&iter, text, span);
  if (n >= 1)
    {
      jstp_json_iter_next (&iter, &value);
      if (!read_id (text, value, transaction_id))
        return FALSE;
    }
  if (n == 2)
    {
      jstp_json_iter_next (&iter, &value);
      /* The reference engine writes null for "no triggering id yet". */
      if (value.type != JSTP_JSON_NULL && !read_id (text, value, triggering_id))
        {
          g_clear_pointer (transaction_id, g_free);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
read_protocol (JstpDispatch           *self,
               const char             *text,
               JstpJsonSpan            span,
               const JstpParseOptions *options,
               GError                **error)
{
  JstpJsonIter iter;
  JstpJsonSpan name, version;
  g_autofree char *v = NULL;

  if (span.type != JSTP_JSON_ARRAY || jstp_json_count_children (text, span) < 2)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"protocol\": must be an array [\"JSTP\", version, ...]");
      return FALSE;
    }
  jstp_json_iter_init (&iter, text, span);
  jstp_json_iter_next (&iter, &name);
  jstp_json_iter_next (&iter, &version);
  if (name.type != JSTP_JSON_STRING || !jstp_json_string_equal (text, name, "JSTP", TRUE))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"protocol\": the first element must be \"JSTP\"");
      return FALSE;
    }
  while (jstp_json_iter_next (&iter, &name))
    if (name.type != JSTP_JSON_STRING)
      {
        g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                             "header \"protocol\": every element must be a string");
        return FALSE;
      }
  if (version.type != JSTP_JSON_STRING || version.length > 34)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"protocol\": the version must be a string");
      return FALSE;
    }

  v = jstp_json_string_dup (text, version, NULL);
  if (g_strcmp0 (v, "0.4") != 0 && g_strcmp0 (v, "0.5") != 0 && g_strcmp0 (v, "0.6") != 0 &&
      options->mode == JSTP_MODE_STRICT)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_VERSION_NOT_SUPPORTED,
                   "header \"protocol\": version \"%s\" is not supported (0.4 to 0.6 are)", v);
      return FALSE;
    }
  g_free (self->version);
  self->version = g_steal_pointer (&v);
  return TRUE;
}

static gboolean
read_timestamp (JstpDispatch  *self,
                const char    *text,
                JstpJsonSpan   span,
                GError       **error)
{
  gint64 value;

  if (span.type != JSTP_JSON_NUMBER ||
      !jstp_json_number_get_int64 (text, span, &value) ||
      value < 0 || value > MAX_SAFE_INTEGER)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"timestamp\": must be a whole number of milliseconds "
                           "since the Unix epoch");
      return FALSE;
    }
  self->timestamp = value;
  return TRUE;
}

static gboolean
read_port (const char   *text,
           JstpJsonSpan  span,
           guint16      *port)
{
  gint64 value;

  if (span.type == JSTP_JSON_NUMBER)
    {
      if (!jstp_json_number_get_int64 (text, span, &value))
        return FALSE;
    }
  else if (span.type == JSTP_JSON_STRING)
    {
      g_autofree char *s = NULL;

      if (span.length > 7)
        return FALSE;
      s = jstp_json_string_dup (text, span, NULL);
      if (!g_ascii_string_to_signed (s, 10, 1, 65535, &value, NULL))
        return FALSE;
    }
  else
    return FALSE;

  if (value < 1 || value > 65535)
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

static gboolean
read_host (JstpDispatch           *self,
           const char             *text,
           JstpJsonSpan            span,
           const JstpParseOptions *options,
           GError                **error)
{
  JstpJsonIter iter;
  JstpJsonSpan hop;
  guint index = 0;

  if (span.type != JSTP_JSON_ARRAY)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"host\": must be an array of [address, port, transport]");
      return FALSE;
    }
  if (jstp_json_count_children (text, span) > options->max_hops)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "header \"host\": more than %u hops", options->max_hops);
      return FALSE;
    }

  jstp_json_iter_init (&iter, text, span);
  while (jstp_json_iter_next (&iter, &hop))
    {
      JstpJsonIter hop_iter;
      JstpJsonSpan address, port, label;
      g_autofree char *address_str = NULL;
      g_autofree char *label_str = NULL;
      gsize address_length;
      guint16 port_value;

      if (hop.type != JSTP_JSON_ARRAY || jstp_json_count_children (text, hop) != 3)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"host\": hop %u must be [address, port, transport]", index);
          return FALSE;
        }
      jstp_json_iter_init (&hop_iter, text, hop);
      jstp_json_iter_next (&hop_iter, &address);
      jstp_json_iter_next (&hop_iter, &port);
      jstp_json_iter_next (&hop_iter, &label);

      if (address.type != JSTP_JSON_STRING || address.length > 255 + 2)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"host\": hop %u address must be a host name or IP address", index);
          return FALSE;
        }
      address_str = jstp_json_string_dup (text, address, &address_length);
      if (address_length == 0)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"host\": hop %u address is empty", index);
          return FALSE;
        }
      if (!read_port (text, port, &port_value))
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"host\": hop %u port must be a number from 1 to 65535", index);
          return FALSE;
        }
      if (label.type != JSTP_JSON_STRING || label.length > 34)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"host\": hop %u transport must be a string", index);
          return FALSE;
        }
      label_str = jstp_json_string_dup (text, label, NULL);
      jstp_dispatch_add_hop (self, address_str, port_value, label_str);
      index++;
    }
  return TRUE;
}

static gboolean
read_endpoint (JstpDispatch           *self,
               const char             *text,
               JstpJsonSpan            span,
               const JstpParseOptions *options,
               GError                **error)
{
  JstpJsonIter iter;
  JstpJsonSpan name, value;
  JstpJsonSpan method = { 0 }, resource = { 0 };
  gboolean has_method = FALSE, has_resource = FALSE;
  g_autofree char *method_str = NULL;
  g_autoptr(GPtrArray) elements = NULL;
  g_autoptr(GError) local_error = NULL;

  if (span.type != JSTP_JSON_OBJECT)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"endpoint\": must be an object {\"method\", \"resource\"}");
      return FALSE;
    }
  jstp_json_iter_init (&iter, text, span);
  while (jstp_json_iter_next_member (&iter, &name, &value))
    {
      if (jstp_json_string_equal (text, name, "method", TRUE))
        method = value, has_method = TRUE;
      else if (jstp_json_string_equal (text, name, "resource", TRUE))
        resource = value, has_resource = TRUE;
    }
  if (!has_method || method.type != JSTP_JSON_STRING || method.length > 16)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"endpoint\": \"method\" must be a method name or \"*\"");
      return FALSE;
    }
  if (!has_resource || resource.type != JSTP_JSON_ARRAY)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"endpoint\": \"resource\" must be an array of strings");
      return FALSE;
    }
  if (jstp_json_count_children (text, resource) > options->max_resource)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_TOO_LARGE,
                   "header \"endpoint\": more than %u resource elements", options->max_resource);
      return FALSE;
    }

  elements = g_ptr_array_new_with_free_func (g_free);
  jstp_json_iter_init (&iter, text, resource);
  while (jstp_json_iter_next (&iter, &value))
    {
      if (value.type != JSTP_JSON_STRING || value.length > options->max_element_length + 2)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"endpoint\": resource element %u must be a string "
                       "of at most %u bytes", elements->len, options->max_element_length);
          return FALSE;
        }
      g_ptr_array_add (elements, jstp_json_string_dup (text, value, NULL));
    }

  method_str = jstp_json_string_dup (text, method, NULL);
  self->endpoint = jstp_pattern_new (method_str, (const char * const *) elements->pdata,
                                     elements->len, options->mode, &local_error);
  if (self->endpoint == NULL)
    {
      g_set_error (error, JSTP_ERROR,
                   local_error->domain == JSTP_ERROR ? local_error->code : JSTP_STATUS_BAD_DISPATCH,
                   "header \"endpoint\": %s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_answer_resource (JstpDispatch           *self,
                      const JstpParseOptions *options,
                      GError                **error)
{
  gint64 status;

  if (self->n_resource != 3 &&
      !(self->n_resource == 2 && options->mode == JSTP_MODE_QUIRKS))
    goto bad;

  if (self->resource[0].type != JSTP_JSON_NUMBER)
    goto bad;
  {
    char buf[8];

    if (self->resource[0].length >= sizeof buf)
      goto bad;
    memcpy (buf, self->resource[0].text, self->resource[0].length);
    buf[self->resource[0].length] = '\0';
    if (!g_ascii_string_to_signed (buf, 10, 100, 599, &status, NULL))
      goto bad;
  }
  if (self->resource[1].type != JSTP_JSON_STRING || self->resource[1].length == 0 ||
      self->resource[1].length > MAX_ID_LENGTH)
    goto bad;
  if (self->n_resource == 3 &&
      (self->resource[2].type != JSTP_JSON_STRING || self->resource[2].length == 0 ||
       self->resource[2].length > MAX_ID_LENGTH))
    goto bad;

  self->status = (guint) status;
  return TRUE;

bad:
  g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"resource\": an answer's resource must be "
                       "[status, transaction id, triggering id]");
  return FALSE;
}

static int
known_header (const char   *text,
              JstpJsonSpan  name)
{
  const char *raw = text + name.offset + 1;
  guint length = name.length - 2;

  /* The fast path: a name without escapes, compared byte by byte with the
   * lower-case header names (letters only, so OR 0x20 folds the case). */
  if (memchr (raw, '\\', length) == NULL)
    {
      for (int i = 0; i < N_KNOWN_HEADERS; i++)
        {
          const char *h = header_names[i];
          guint k = 0;

          for (; k < length && h[k] != '\0'; k++)
            if ((raw[k] | 0x20) != h[k] || !g_ascii_isalpha (raw[k]))
              break;
          if (k == length && h[k] == '\0')
            return i;
        }
      return -1;
    }

  for (int i = 0; i < N_KNOWN_HEADERS; i++)
    if (jstp_json_string_equal (text, name, header_names[i], TRUE))
      return i;
  return -1;
}

JstpDispatch *
jstp_dispatch_parse (const char              *input,
                     gsize                    length,
                     const JstpParseOptions  *options,
                     char                   **transaction_id,
                     GError                 **error)
{
  JstpParseOptions defaults;
  JstpJsonMember members[64];
  JstpJsonSpan root;
  JstpJsonSpan spans[N_KNOWN_HEADERS];
  gboolean present[N_KNOWN_HEADERS] = { FALSE, };
  g_autoptr(JstpDispatch) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *txid = NULL;
  g_autofree char *trigid = NULL;
  g_autofree char *method_name = NULL;
  guint n_members = 0;
  const char *text;
  JstpMorphology morphology;

  g_return_val_if_fail (input != NULL || length == 0, NULL);

  if (transaction_id)
    *transaction_id = NULL;
  if (options == NULL)
    {
      jstp_parse_options_init (&defaults);
      options = &defaults;
    }

  if (!jstp_json_scan (input, length, &options->json, &root, members, G_N_ELEMENTS (members),
                       &n_members, &local_error))
    {
      g_set_error (error, JSTP_ERROR,
                   local_error->code == JSTP_JSON_ERROR_LIMIT ? JSTP_STATUS_TOO_LARGE
                                                              : JSTP_STATUS_BAD_DISPATCH,
                   "not a valid dispatch: %s", local_error->message);
      return NULL;
    }
  if (root.type != JSTP_JSON_OBJECT)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "not a valid dispatch: a dispatch is a JSON object");
      return NULL;
    }

  self = dispatch_alloc (JSTP_METHOD_INVALID);
  /* One copy of the input for the lifetime of the dispatch; every span
   * and element points into it. */
  self->text = g_bytes_new (input, length);
  text = g_bytes_get_data (self->text, NULL);

  /* The token first, so that every later failure can be answered. */
  for (guint i = 0; i < MIN (n_members, G_N_ELEMENTS (members)); i++)
    if (jstp_json_string_equal (text, members[i].name, "token", TRUE))
      {
        if (!read_token (text, members[i].value, &txid, &trigid))
          {
            g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                                 "header \"token\": must be [transaction id, triggering id] "
                                 "of strings up to 64 bytes");
            return NULL;
          }
        break;
      }
  if (transaction_id)
    *transaction_id = g_strdup (txid);

  if (n_members > options->max_headers)
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_TOO_LARGE,
                   "%u headers, more than the limit of %u", n_members, options->max_headers);
      return NULL;
    }

  for (guint i = 0; i < n_members; i++)
    {
      int h = known_header (text, members[i].name);

      if (members[i].name.length - 2 > options->max_header_name)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_TOO_LARGE,
                       "a header name is longer than %u bytes", options->max_header_name);
          return NULL;
        }
      if (h >= 0)
        {
          if (present[h])
            {
              g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"%s\": appears twice", header_names[h]);
              return NULL;
            }
          present[h] = TRUE;
          spans[h] = members[i].value;
        }
      else
        {
          Extension ext = { 0 };
          g_autofree char *name = jstp_json_string_dup (text, members[i].name, NULL);

          ext.name = g_ascii_strdown (name, -1);
          if (self->extensions == NULL)
            {
              self->extensions = g_array_new (FALSE, TRUE, sizeof (Extension));
              g_array_set_clear_func (self->extensions, extension_clear);
            }
          for (guint j = 0; j < self->extensions->len; j++)
            if (g_str_equal (g_array_index (self->extensions, Extension, j).name, ext.name))
              {
                g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                             "header \"%s\": appears twice", ext.name);
                g_free (ext.name);
                return NULL;
              }
          ext.value.offset = members[i].value.offset;
          ext.value.length = members[i].value.length;
          ext.value.present = TRUE;
          g_array_append_val (self->extensions, ext);
        }
    }

  /* protocol, then method: they decide how the rest is read. */
  if (!present[HEADER_PROTOCOL])
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"protocol\": missing");
      return NULL;
    }
  if (!read_protocol (self, text, spans[HEADER_PROTOCOL], options, error))
    return NULL;

  if (!present[HEADER_METHOD])
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"method\": missing");
      return NULL;
    }
  if (spans[HEADER_METHOD].type != JSTP_JSON_STRING)
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"method\": must be a string");
      return NULL;
    }
  method_name = jstp_json_string_dup (text, spans[HEADER_METHOD], NULL);
  self->method = jstp_method_from_string (method_name, -1);
  if (self->method == JSTP_METHOD_INVALID)
    {
      g_autofree char *shown = g_utf8_make_valid (method_name, MIN (strlen (method_name), 32));
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_METHOD_NOT_ALLOWED,
                   "header \"method\": \"%s\" is not a JSTP method", shown);
      return NULL;
    }
  morphology = jstp_dispatch_get_morphology (self);

  if (morphology == JSTP_MORPHOLOGY_SUBSCRIPTION)
    {
      if (present[HEADER_RESOURCE] && options->mode == JSTP_MODE_STRICT)
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"resource\": not allowed in a %s dispatch", method_name);
          return NULL;
        }
      if (!present[HEADER_ENDPOINT])
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"endpoint\": required in a %s dispatch",
                       jstp_method_to_string (self->method));
          return NULL;
        }
      if (!read_endpoint (self, text, spans[HEADER_ENDPOINT], options, error))
        return NULL;
    }
  else
    {
      if (present[HEADER_ENDPOINT])
        {
          g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                       "header \"endpoint\": not allowed in a %s dispatch",
                       jstp_method_to_string (self->method));
          return NULL;
        }
      if (!present[HEADER_RESOURCE] || spans[HEADER_RESOURCE].type != JSTP_JSON_ARRAY)
        {
          g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                               "header \"resource\": required, and must be a non-empty array");
          return NULL;
        }
      self->resource_json.offset = spans[HEADER_RESOURCE].offset;
      self->resource_json.length = spans[HEADER_RESOURCE].length;
      self->resource_json.present = TRUE;
      if (!resource_load (self, text, spans[HEADER_RESOURCE], options, error))
        return NULL;
      if (morphology == JSTP_MORPHOLOGY_ANSWER &&
          !read_answer_resource (self, options, error))
        return NULL;
    }

  if (present[HEADER_TIMESTAMP])
    {
      if (!read_timestamp (self, text, spans[HEADER_TIMESTAMP], error))
        return NULL;
    }
  else if (options->mode == JSTP_MODE_QUIRKS)
    self->timestamp = g_get_real_time () / 1000;
  else
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "header \"timestamp\": missing");
      return NULL;
    }

  if (present[HEADER_HOST])
    {
      if (morphology == JSTP_MORPHOLOGY_ANSWER)
        {
          g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                               "header \"host\": not allowed in an ANSWER");
          return NULL;
        }
      if (!read_host (self, text, spans[HEADER_HOST], options, error))
        return NULL;
    }

  if (present[HEADER_BODY])
    {
      self->body.offset = spans[HEADER_BODY].offset;
      self->body.length = spans[HEADER_BODY].length;
      self->body.present = TRUE;
    }
  if (present[HEADER_REFERER])
    {
      self->referer.offset = spans[HEADER_REFERER].offset;
      self->referer.length = spans[HEADER_REFERER].length;
      self->referer.present = TRUE;
    }

  self->transaction_id = g_steal_pointer (&txid);
  self->triggering_id = g_steal_pointer (&trigid);
  return g_steal_pointer (&self);
}

/* ---- accessors --------------------------------------------------------- */

JstpMethod
jstp_dispatch_get_method (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, JSTP_METHOD_INVALID);
  return self->method;
}

JstpMorphology
jstp_dispatch_get_morphology (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, JSTP_MORPHOLOGY_REGULAR);

  switch (self->method)
    {
    case JSTP_METHOD_BIND:
    case JSTP_METHOD_RELEASE:
      return JSTP_MORPHOLOGY_SUBSCRIPTION;
    case JSTP_METHOD_ANSWER:
      return JSTP_MORPHOLOGY_ANSWER;
    default:
      return JSTP_MORPHOLOGY_REGULAR;
    }
}

const char *
jstp_dispatch_get_version (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->version;
}

JstpPattern *
jstp_dispatch_get_endpoint (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->endpoint;
}

guint
jstp_dispatch_get_status (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->status;
}

gint64
jstp_dispatch_get_timestamp (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->timestamp;
}

void
jstp_dispatch_set_timestamp (JstpDispatch *self,
                             gint64        timestamp_ms)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (timestamp_ms >= 0 && timestamp_ms <= MAX_SAFE_INTEGER);
  self->timestamp = timestamp_ms;
}

const char *
jstp_dispatch_get_transaction_id (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->transaction_id;
}

const char *
jstp_dispatch_get_triggering_id (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->triggering_id;
}

void
jstp_dispatch_set_token (JstpDispatch *self,
                         const char   *transaction_id,
                         const char   *triggering_id)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (transaction_id != NULL || triggering_id == NULL);

  if (transaction_id != self->transaction_id)
    {
      g_free (self->transaction_id);
      self->transaction_id = g_strdup (transaction_id);
    }
  if (triggering_id != self->triggering_id)
    {
      g_free (self->triggering_id);
      self->triggering_id = g_strdup (triggering_id);
    }
}

guint
jstp_dispatch_get_n_hops (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->hops ? self->hops->len : 0;
}

const JstpHop *
jstp_dispatch_get_hop (JstpDispatch *self,
                       guint         index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < jstp_dispatch_get_n_hops (self), NULL);
  return g_ptr_array_index (self->hops, index);
}

void
jstp_dispatch_add_hop (JstpDispatch *self,
                       const char   *address,
                       guint16       port,
                       const char   *label)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (address != NULL && label != NULL);

  if (self->hops == NULL)
    self->hops = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_hop_free);
  g_ptr_array_add (self->hops, hop_new (address, port, label));
}

JstpHop *
jstp_dispatch_pop_hop (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->hops == NULL || self->hops->len == 0)
    return NULL;
  return g_ptr_array_steal_index (self->hops, 0);
}

const char *
jstp_dispatch_get_body_json (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return part_string (self, &self->body);
}

JsonNode *
jstp_dispatch_dup_body (JstpDispatch *self)
{
  g_autoptr(JsonParser) parser = NULL;
  const char *json;
  gsize length;

  g_return_val_if_fail (self != NULL, NULL);

  json = part_data (self, &self->body, &length);
  if (json == NULL)
    return NULL;

  /* Safe: the text passed the strict scanner (depth, duplicates, ranges). */
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, json, length, NULL))
    return NULL;
  return json_parser_steal_root (parser);
}

static gboolean
set_json_part (JsonPart    *part,
               const char  *header,
               const char  *json,
               GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (json == NULL)
    {
      part_clear (part);
      return TRUE;
    }
  if (!check_json (json, NULL, &local_error))
    {
      g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                   "header \"%s\": %s", header, local_error->message);
      return FALSE;
    }
  part_set_owned (part, compact_json (json));
  return TRUE;
}

gboolean
jstp_dispatch_set_body_json (JstpDispatch  *self,
                             const char    *json,
                             GError       **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return set_json_part (&self->body, "body", json, error);
}

gboolean
jstp_dispatch_set_body (JstpDispatch  *self,
                        JsonNode      *body,
                        GError       **error)
{
  g_autoptr(GString) out = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (body == NULL)
    {
      part_clear (&self->body);
      return TRUE;
    }
  out = g_string_new (NULL);
  if (!jstp_json_append_node (out, body, error))
    return FALSE;
  part_set_owned (&self->body, g_string_free (g_steal_pointer (&out), FALSE));
  return TRUE;
}

const char *
jstp_dispatch_get_referer_json (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return part_string (self, &self->referer);
}

gboolean
jstp_dispatch_set_referer_json (JstpDispatch  *self,
                                const char    *json,
                                GError       **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return set_json_part (&self->referer, "referer", json, error);
}

guint
jstp_dispatch_get_n_extensions (JstpDispatch *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->extensions ? self->extensions->len : 0;
}

const char *
jstp_dispatch_get_extension_name (JstpDispatch *self,
                                  guint         index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (index < jstp_dispatch_get_n_extensions (self), NULL);
  return g_array_index (self->extensions, Extension, index).name;
}

static Extension *
find_extension (JstpDispatch *self,
                const char   *name)
{
  if (self->extensions == NULL)
    return NULL;
  for (guint i = 0; i < self->extensions->len; i++)
    {
      Extension *ext = &g_array_index (self->extensions, Extension, i);
      if (g_ascii_strcasecmp (ext->name, name) == 0)
        return ext;
    }
  return NULL;
}

const char *
jstp_dispatch_get_extension (JstpDispatch *self,
                             const char   *name)
{
  Extension *ext;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  ext = find_extension (self, name);
  return ext ? part_string (self, &ext->value) : NULL;
}

gboolean
jstp_dispatch_set_extension (JstpDispatch  *self,
                             const char    *name,
                             const char    *json,
                             GError       **error)
{
  Extension *ext;
  JsonPart value = { 0 };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < N_KNOWN_HEADERS; i++)
    if (g_ascii_strcasecmp (name, header_names[i]) == 0)
      {
        g_set_error (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                     "\"%s\" is a JSTP header, not an extension", name);
        return FALSE;
      }

  ext = find_extension (self, name);
  if (json == NULL)
    {
      if (ext)
        g_array_remove_index (self->extensions, ext - (Extension *) self->extensions->data);
      return TRUE;
    }
  if (!set_json_part (&value, name, json, error))
    return FALSE;
  if (ext)
    {
      part_clear (&ext->value);
      ext->value = value;
      return TRUE;
    }
  if (self->extensions == NULL)
    {
      self->extensions = g_array_new (FALSE, TRUE, sizeof (Extension));
      g_array_set_clear_func (self->extensions, extension_clear);
    }
  {
    Extension e = { g_ascii_strdown (name, -1), value };
    g_array_append_val (self->extensions, e);
  }
  return TRUE;
}

/* ---- output ------------------------------------------------------------ */

static void
append_part (GString        *out,
             JstpDispatch   *self,
             const char     *name,
             const JsonPart *part)
{
  const char *data;
  gsize length;

  data = part_data (self, part, &length);
  if (data == NULL)
    return;
  g_string_append_c (out, ',');
  jstp_json_append_string (out, name, -1);
  g_string_append_c (out, ':');
  g_string_append_len (out, data, length);
  /* Received text may hold line breaks between tokens (never inside a
   * string: the scanner refuses raw control characters there). TCP framing
   * needs none, and outside strings a space means the same. A received
   * part read through a getter is owned too (an uncompacted copy). */
  if (memchr (data, '\n', length) != NULL || memchr (data, '\r', length) != NULL)
    for (gsize i = out->len - length; i < out->len; i++)
      if (out->str[i] == '\n' || out->str[i] == '\r')
        out->str[i] = ' ';
}

/* printf is a third of the cost of writing a dispatch; timestamps are
 * never negative (the parser refuses them). */
static inline void
append_int64 (GString *out,
              gint64   value)
{
  char buf[24];
  int i = sizeof buf;
  guint64 v = value < 0 ? 0 : (guint64) value;

  do
    {
      buf[--i] = '0' + v % 10;
      v /= 10;
    }
  while (v > 0);
  g_string_append_len (out, buf + i, sizeof buf - i);
}

void
jstp_dispatch_write (JstpDispatch *self,
                     GString      *out,
                     const char   *triggering_id)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (out != NULL);

  g_string_append (out, "{\"protocol\":[\"JSTP\",\"0.5\"],\"method\":\"");
  g_string_append (out, jstp_method_to_string (self->method));
  g_string_append_c (out, '"');

  if (self->endpoint)
    {
      guint n = jstp_pattern_get_n_elements (self->endpoint);

      g_string_append (out, ",\"endpoint\":{\"method\":");
      jstp_json_append_string (out, jstp_pattern_get_method (self->endpoint), -1);
      g_string_append (out, ",\"resource\":[");
      for (guint i = 0; i < n; i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          jstp_json_append_string (out, jstp_pattern_get_element (self->endpoint, i), -1);
        }
      g_string_append (out, "]}");
    }
  else
    append_part (out, self, "resource", &self->resource_json);

  g_string_append (out, ",\"timestamp\":");
  append_int64 (out, self->timestamp);

  if (self->transaction_id)
    {
      const char *trig = triggering_id ? triggering_id : self->triggering_id;

      g_string_append (out, ",\"token\":[");
      jstp_json_append_string (out, self->transaction_id, -1);
      if (trig)
        {
          g_string_append_c (out, ',');
          jstp_json_append_string (out, trig, -1);
        }
      g_string_append_c (out, ']');
    }

  if (self->hops && self->hops->len > 0)
    {
      g_string_append (out, ",\"host\":[");
      for (guint i = 0; i < self->hops->len; i++)
        {
          const JstpHop *hop = g_ptr_array_index (self->hops, i);

          if (i > 0)
            g_string_append_c (out, ',');
          g_string_append_c (out, '[');
          jstp_json_append_string (out, hop->address, -1);
          g_string_append_printf (out, ",%u,", hop->port);
          jstp_json_append_string (out, hop->label, -1);
          g_string_append_c (out, ']');
        }
      g_string_append_c (out, ']');
    }

  append_part (out, self, "body", &self->body);
  append_part (out, self, "referer", &self->referer);
  if (self->extensions)
    for (guint i = 0; i < self->extensions->len; i++)
      {
        const Extension *ext = &g_array_index (self->extensions, Extension, i);
        append_part (out, self, ext->name, &ext->value);
      }

  g_string_append_c (out, '}');
}

char *
jstp_dispatch_to_string (JstpDispatch *self)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);

  out = g_string_sized_new (256);
  jstp_dispatch_write (self, out, NULL);
  return g_string_free (out, FALSE);
}

char *
jstp_dispatch_to_pretty_string (JstpDispatch *self)
{
  g_autofree char *compact = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  compact = jstp_dispatch_to_string (self);
  return jstp_json_prettify (compact, strlen (compact));
}
