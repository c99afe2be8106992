/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "jstp-web.h"
#include "jstp-web-resources.h"

typedef struct {
  const char *path;             /* as requested */
  const char *resource;         /* under JSTP_WEB_RESOURCE_PATH */
  const char *content_type;
} Page;

static const Page pages[] = {
  { "/", "jstp-page.html", "text/html; charset=utf-8" },
  { "/jstp.js", "jstp.js", "text/javascript; charset=utf-8" },
};

/* The page runs its own script and talks to this port only; nobody may
 * frame it (a framed dispatch form is a clickjacking target). */
#define PAGE_POLICY \
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; " \
  "connect-src 'self' ws: wss:; img-src data:; base-uri 'none'; form-action 'none'; " \
  "frame-ancestors 'none'"

gboolean
jstp_web_is_upgrade (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers;

  g_return_val_if_fail (SOUP_IS_SERVER_MESSAGE (msg), FALSE);

  headers = soup_server_message_get_request_headers (msg);
  return soup_message_headers_header_contains (headers, "Upgrade", "websocket");
}

static void
answer_text (SoupServerMessage *msg,
             guint              status,
             const char        *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY,
                                    text, strlen (text));
}

void
jstp_web_handle (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  const char *method;
  SoupMessageHeaders *headers;
  g_autofree char *resource = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  const Page *page = NULL;

  g_return_if_fail (SOUP_IS_SERVER_MESSAGE (msg));

  if (jstp_web_is_upgrade (msg))
    return;

  for (guint i = 0; i < G_N_ELEMENTS (pages) && page == NULL; i++)
    if (g_strcmp0 (path, pages[i].path) == 0)
      page = &pages[i];
  if (page == NULL)
    {
      answer_text (msg, SOUP_STATUS_NOT_FOUND,
                   "Not found. This is a JSTP engine: its status page is at /, its "
                   "JavaScript client at /jstp.js, and it speaks JSTP over WebSocket on "
                   "every path.\n");
      return;
    }

  method = soup_server_message_get_method (msg);
  headers = soup_server_message_get_response_headers (msg);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (headers, "Allow", "GET, HEAD");
      answer_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Only GET and HEAD are served here.\n");
      return;
    }

  /* Referenced here so that the linker keeps the resource in programs
   * that link libjstp statically. */
  resource = g_strconcat (JSTP_WEB_RESOURCE_PATH, page->resource, NULL);
  bytes = g_resource_lookup_data (jstp_web_get_resource (), resource,
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  if (bytes == NULL)
    {
      g_warning ("%s missing from the engine's resources: %s", resource, error->message);
      answer_text (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "Missing from this build.\n");
      return;
    }

  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");
  soup_message_headers_replace (headers, "Referrer-Policy", "no-referrer");
  if (g_str_has_suffix (page->resource, ".html"))
    soup_message_headers_replace (headers, "Content-Security-Policy", PAGE_POLICY);
  soup_message_headers_replace (headers, "Content-Type", page->content_type);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  /* Compiled-in resources are static: no copy. */
  soup_message_body_append_bytes (soup_server_message_get_response_body (msg), bytes);
}
