/* SPDX-License-Identifier: MIT */
/* jstp-rpc-service.h: the handler style of jstp-service.h, as a small
 * service to try clients against ("rpc" in the registry).
 *
 * Under its prefix (["rpc"] by default) it answers, for any method:
 *
 *   [PREFIX, "add"]     {"a": NUMBER, "b": NUMBER}  -> {"result": a + b}
 *   [PREFIX, "divide"]  {"a": NUMBER, "b": NUMBER}  -> {"result": a / b}
 *   [PREFIX, "echo"]    any body or none            -> the same body
 *   [PREFIX, "wait"]    {"ms": 0..10000, "value": ANY (optional)}
 *                       -> {"value": value} after ms milliseconds
 *   [PREFIX, "fail"]    {"message": STRING (optional)} -> 500 with it
 *
 * A missing or mistyped argument, and dividing by zero, are answered 400
 * with {"message"} naming the argument; "fail" shows what a handler
 * failure looks like (500). Its status holds {"calls": N, "waiting": N}.
 */
#pragma once

#include "jstp-service.h"

G_BEGIN_DECLS

#define JSTP_TYPE_RPC_SERVICE (jstp_rpc_service_get_type ())

G_DECLARE_FINAL_TYPE (JstpRpcService, jstp_rpc_service, JSTP, RPC_SERVICE, JstpService)

JstpService  *jstp_rpc_service_new   (void);

G_END_DECLS
