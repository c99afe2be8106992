/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <math.h>

#include "jstp-rpc-service.h"

#define MAX_WAIT_MS 10000

typedef struct {
  JstpRpcService *service;
  JstpServiceRequest *request;
  JsonNode *value;
  guint source_id;
} Wait;

struct _JstpRpcService
{
  JstpService parent_instance;

  guint64 calls;
  GPtrArray *waits;             /* Wait, answered when they end */
};

G_DEFINE_FINAL_TYPE (JstpRpcService, jstp_rpc_service, JSTP_TYPE_SERVICE)

static JsonNode *
result_node (double value)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "result");
  /* Integral results stay integers on the wire: 1 + 2 is 3, not 3.0. */
  if (value == floor (value) && fabs (value) < 9007199254740992.0)
    json_builder_add_int_value (builder, (gint64) value);
  else
    json_builder_add_double_value (builder, value);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static gboolean
read_operands (JstpServiceRequest  *request,
               double              *a,
               double              *b,
               GError             **error)
{
  return jstp_service_request_get_number (request, "a", a, error) &&
         jstp_service_request_get_number (request, "b", b, error);
}

static JsonNode *
add_cb (JstpService         *service,
        JstpServiceRequest  *request,
        gpointer             user_data,
        GError             **error)
{
  double a, b;

  JSTP_RPC_SERVICE (service)->calls++;
  if (!read_operands (request, &a, &b, error))
    return NULL;
  if (!isfinite (a + b))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "the sum does not fit in a JSON number");
      return NULL;
    }
  return result_node (a + b);
}

static JsonNode *
divide_cb (JstpService         *service,
           JstpServiceRequest  *request,
           gpointer             user_data,
           GError             **error)
{
  double a, b;

  JSTP_RPC_SERVICE (service)->calls++;
  if (!read_operands (request, &a, &b, error))
    return NULL;
  if (b == 0.0 || !isfinite (a / b))
    {
      g_set_error_literal (error, JSTP_ERROR, JSTP_STATUS_BAD_DISPATCH,
                           "argument \"b\" must not be 0");
      return NULL;
    }
  return result_node (a / b);
}

static JsonNode *
echo_cb (JstpService         *service,
         JstpServiceRequest  *request,
         gpointer             user_data,
         GError             **error)
{
  JsonNode *body = jstp_service_request_get_body (request);

  JSTP_RPC_SERVICE (service)->calls++;
  return body ? json_node_copy (body) : NULL;
}

static JsonNode *
fail_cb (JstpService         *service,
         JstpServiceRequest  *request,
         gpointer             user_data,
         GError             **error)
{
  const char *message = "the handler failed, as asked";

  JSTP_RPC_SERVICE (service)->calls++;
  if (jstp_service_request_has_argument (request, "message") &&
      !jstp_service_request_get_string (request, "message", &message, error))
    return NULL;
  /* Not a JSTP_ERROR: what an unexpected failure looks like, 500. */
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, message);
  return NULL;
}

static void
wait_free (gpointer data)
{
  Wait *wait = data;

  g_clear_handle_id (&wait->source_id, g_source_remove);
  g_clear_pointer (&wait->value, json_node_unref);
  jstp_service_request_unref (wait->request);
  g_free (wait);
}

static gboolean
wait_done_cb (gpointer data)
{
  Wait *wait = data;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;

  wait->source_id = 0;
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "value");
  json_builder_add_value (builder, wait->value ? json_node_copy (wait->value)
                                               : json_node_new (JSON_NODE_NULL));
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  jstp_service_request_answer (wait->request, body);
  g_ptr_array_remove (wait->service->waits, wait);
  return G_SOURCE_REMOVE;
}

static JsonNode *
wait_cb (JstpService         *service,
         JstpServiceRequest  *request,
         gpointer             user_data,
         GError             **error)
{
  JstpRpcService *self = JSTP_RPC_SERVICE (service);
  JsonNode *value = NULL;
  gint64 ms;
  Wait *wait;

  self->calls++;
  if (!jstp_service_request_get_int (request, "ms", 0, MAX_WAIT_MS, &ms, error))
    return NULL;
  if (jstp_service_request_has_argument (request, "value") &&
      !jstp_service_request_get_value (request, "value", &value, error))
    return NULL;

  wait = g_new0 (Wait, 1);
  wait->service = self;
  wait->request = jstp_service_request_defer (request);
  wait->value = value ? json_node_copy (value) : NULL;
  wait->source_id = g_timeout_add (ms, wait_done_cb, wait);
  g_ptr_array_add (self->waits, wait);
  return NULL;
}

static void
jstp_rpc_service_unmount (JstpService *service,
                          JstpEngine  *engine)
{
  JstpRpcService *self = JSTP_RPC_SERVICE (service);
  g_autoptr(GError) error = g_error_new_literal (JSTP_ERROR, JSTP_STATUS_INTERNAL_ERROR,
                                                 "the service stopped");

  /* Nobody waits for an answer that cannot come. */
  while (self->waits->len > 0)
    {
      Wait *wait = g_ptr_array_index (self->waits, self->waits->len - 1);

      jstp_service_request_fail (wait->request, error);
      g_ptr_array_remove_index (self->waits, self->waits->len - 1);
    }
}

static void
jstp_rpc_service_add_status (JstpService *service,
                             JsonBuilder *builder)
{
  JstpRpcService *self = JSTP_RPC_SERVICE (service);

  json_builder_set_member_name (builder, "calls");
  json_builder_add_int_value (builder, (gint64) self->calls);
  json_builder_set_member_name (builder, "waiting");
  json_builder_add_int_value (builder, self->waits->len);
}

static void
jstp_rpc_service_constructed (GObject *object)
{
  JstpService *service = JSTP_SERVICE (object);
  static const struct {
    const char *name;
    JstpServiceHandler handler;
  } methods[] = {
    { "add", add_cb },
    { "divide", divide_cb },
    { "echo", echo_cb },
    { "wait", wait_cb },
    { "fail", fail_cb },
  };

  G_OBJECT_CLASS (jstp_rpc_service_parent_class)->constructed (object);

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    jstp_service_add_handler (service, "*", (const char *[]) { methods[i].name, NULL },
                              methods[i].handler, NULL, NULL, NULL);
}

static void
jstp_rpc_service_finalize (GObject *object)
{
  JstpRpcService *self = JSTP_RPC_SERVICE (object);

  g_ptr_array_unref (self->waits);

  G_OBJECT_CLASS (jstp_rpc_service_parent_class)->finalize (object);
}

static void
jstp_rpc_service_class_init (JstpRpcServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  JstpServiceClass *service_class = JSTP_SERVICE_CLASS (klass);

  object_class->constructed = jstp_rpc_service_constructed;
  object_class->finalize = jstp_rpc_service_finalize;
  service_class->unmount = jstp_rpc_service_unmount;
  service_class->add_status = jstp_rpc_service_add_status;
}

static void
jstp_rpc_service_init (JstpRpcService *self)
{
  self->waits = g_ptr_array_new_with_free_func (wait_free);
}

JstpService *
jstp_rpc_service_new (void)
{
  return g_object_new (JSTP_TYPE_RPC_SERVICE, "name", "rpc", NULL);
}
