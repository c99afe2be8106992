/* SPDX-License-Identifier: MIT */
/* pajaro-post.h: one post from a social network, as Pajaro delivers it.
 *
 * Sources fill a post from what the network sent; pajaro_post_to_json()
 * writes the body of `POST ["pajaro","posts",TAG]`:
 *
 *   {"id": "1790...",                       the network's own id
 *    "author": {"id": "12", "username": "ana", "name": "Ana",
 *               "url": "https://x.com/ana"},
 *    "text": "plain text, HTML removed",
 *    "created_at": "2024-05-01T10:00:00.000Z",   UTC, milliseconds
 *    "links": ["https://example.org/"],
 *    "media": [{"type": "photo", "url": "...", "preview_url": null}],
 *    "source": "twitter",                    or "mastodon"
 *    "tag": "rust",                          the track it was delivered for
 *    "url": "https://x.com/ana/status/1790..."}
 *
 * Every key is always present; what the network did not say is null.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct {
  char *type;         /* as the network names it: "photo", "image", "video" */
  char *url;          /* nullable */
  char *preview_url;  /* nullable */
} PajaroMedia;

typedef struct _PajaroPost PajaroPost;

struct _PajaroPost {
  char *source;
  char *id;
  char *url;              /* nullable */
  char *author_id;        /* nullable */
  char *author_username;  /* nullable */
  char *author_name;      /* nullable */
  char *author_url;       /* nullable */
  char *text;             /* never NULL */
  char *created_at;       /* nullable; see pajaro_post_set_created_at() */
  GPtrArray *links;       /* (element-type utf8) */
  GPtrArray *media;       /* (element-type PajaroMedia) */
  GPtrArray *tags;        /* (element-type utf8): the tracks it matched */

  /*< private >*/
  gatomicrefcount ref_count;
};

#define PAJARO_TYPE_POST (pajaro_post_get_type ())

GType        pajaro_post_get_type        (void) G_GNUC_CONST;

PajaroPost  *pajaro_post_new             (const char  *source,
                                          const char  *id);
PajaroPost  *pajaro_post_ref             (PajaroPost  *self);
void         pajaro_post_unref           (PajaroPost  *self);

/* Rewrites an ISO 8601 time as UTC with milliseconds; FALSE (and null)
 * when it is not one. */
gboolean     pajaro_post_set_created_at  (PajaroPost  *self,
                                          const char  *iso8601);
/* Each of these ignores NULL, empty and repeated values. */
void         pajaro_post_add_link        (PajaroPost  *self,
                                          const char  *url);
void         pajaro_post_add_media       (PajaroPost  *self,
                                          const char  *type,
                                          const char  *url,
                                          const char  *preview_url);
void         pajaro_post_add_tag         (PajaroPost  *self,
                                          const char  *tag);
gboolean     pajaro_post_has_tag         (PajaroPost  *self,
                                          const char  *tag);

/* The dispatch body for @tag; free with g_free(). Always valid JSON. */
char        *pajaro_post_to_json         (PajaroPost  *self,
                                          const char  *tag);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PajaroPost, pajaro_post_unref)

G_END_DECLS
