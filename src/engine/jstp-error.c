/* SPDX-License-Identifier: MIT */
#include "jstp-error.h"

G_DEFINE_QUARK (jstp-error-quark, jstp_error)

const char *
jstp_status_get_phrase (guint status)
{
  switch (status)
    {
    case 200: return "OK";
    case 400: return "Bad Dispatch";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Unbound Endpoint";
    case 409: return "Unrecognized Transport Protocol";
    case 413: return "Too Large";
    case 429: return "Saturated";
    case 498: return "Bad Signature";
    case 499: return "Cannot Decrypt";
    case 500: return "Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Unreachable Remote Host";
    case 503: return "Invalid Remote Host";
    case 504: return "Timeout";
    case 505: return "JSTP Version Not Supported";
    case 506: return "Gateway Disabled";
    default:  return "Unknown Status";
    }
}
