/* SPDX-License-Identifier: MIT */
/* jstp-subscription-table.c: the engine's index of BINDs.
 *
 * One trie per method (and one for `*`), over the head of each pattern: the
 * elements before its first `...`, or all of them. A literal element is an
 * edge labelled with its text; `*` and `:name` share one wildcard edge per
 * node, since both take exactly one element of any type. A subscription
 * hangs on the node where its head ends.
 *
 * Routing a dispatch walks the trie along its resource, following the edge
 * labelled with each element's text and the wildcard edge, and tries only the
 * patterns hanging on the nodes it reaches. Indexing the wildcard edge, and
 * not only the literal prefix, is what keeps `["*", "tx-id", "*"]` (the
 * subscription behind every transaction that awaits answers) from being tried
 * against every ANSWER. Patterns whose head is empty (they start with `...`)
 * hang on the root and are tried for every dispatch of their method.
 *
 * Each subscription is in the owner index too, a hash of hashes keyed by
 * owner then by pattern, so that a BIND's duplicate check, a RELEASE and a
 * closing connection cost no scan. All of this is used from one thread.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jstp-subscription-table.h"

typedef struct
{
  const char *text;
  gsize length;
} Key;

typedef struct _Node Node;

struct _Node
{
  Node *parent;
  Key key;                  /* the edge from @parent; text owned; unused when wild */
  gboolean wild;
  GHashTable *children;     /* (nullable) Key* -> Node*, the literal edges */
  Node *wild_child;
  GPtrArray *exact;         /* (nullable) patterns without `...`: match only here */
  GPtrArray *open;          /* (nullable) patterns with `...`: match here or deeper */
};

/* The table hands out the public part; the rest stays here. */
typedef struct
{
  JstpSubscription pub;
  guint slot;               /* index in the node's exact or open array */
  gboolean exact;
} Subscription;

enum {
  BUCKET_GET,
  BUCKET_POST,
  BUCKET_PUT,
  BUCKET_PATCH,
  BUCKET_DELETE,
  BUCKET_BIND,
  BUCKET_RELEASE,
  BUCKET_ANSWER,
  BUCKET_ANY,
  N_BUCKETS
};

static const char * const bucket_methods[] = {
  "GET", "POST", "PUT", "PATCH", "DELETE", "BIND", "RELEASE", "ANSWER", "*",
};

G_STATIC_ASSERT (G_N_ELEMENTS (bucket_methods) == N_BUCKETS);

struct _JstpSubscriptionTable
{
  Node *roots[N_BUCKETS];
  GHashTable *owners;       /* owner -> (JstpPattern* -> Subscription*) */
  guint size;
  guint n_nodes;
  guint64 next_id;
  guint64 n_tested;
};

static guint
key_hash (gconstpointer data)
{
  const Key *key = data;
  guint hash = 5381;

  for (gsize i = 0; i < key->length; i++)
    hash = hash * 33 + (guchar) key->text[i];

  return hash;
}

static gboolean
key_equal (gconstpointer a,
           gconstpointer b)
{
  const Key *x = a;
  const Key *y = b;

  return x->length == y->length &&
         (x->length == 0 || memcmp (x->text, y->text, x->length) == 0);
}

static guint
bucket_for_method (const char *method)
{
  for (guint i = 0; i < N_BUCKETS; i++)
    {
      if (g_ascii_strcasecmp (method, bucket_methods[i]) == 0)
        return i;
    }

  return N_BUCKETS;
}

static Node *
node_new (JstpSubscriptionTable *table,
          Node                  *parent)
{
  Node *node = g_new0 (Node, 1);

  node->parent = parent;
  table->n_nodes++;
  return node;
}

static gboolean
node_is_empty (const Node *node)
{
  return (node->children == NULL || g_hash_table_size (node->children) == 0) &&
         node->wild_child == NULL &&
         (node->exact == NULL || node->exact->len == 0) &&
         (node->open == NULL || node->open->len == 0);
}

static void
node_free (JstpSubscriptionTable *table,
           Node                  *node)
{
  g_clear_pointer (&node->children, g_hash_table_unref);
  g_clear_pointer (&node->exact, g_ptr_array_unref);
  g_clear_pointer (&node->open, g_ptr_array_unref);
  g_free ((char *) node->key.text);
  g_free (node);
  table->n_nodes--;
}

static Node *
node_get_child (JstpSubscriptionTable *table,
                Node                  *node,
                const JstpPattern     *pattern,
                guint                  index)
{
  Node *child;
  Key key;

  if (jstp_pattern_get_element_kind (pattern, index) != JSTP_ELEMENT_LITERAL)
    {
      if (node->wild_child == NULL)
        {
          node->wild_child = node_new (table, node);
          node->wild_child->wild = TRUE;
        }
      return node->wild_child;
    }

  key.text = jstp_pattern_get_element_value (pattern, index);
  key.length = strlen (key.text);

  if (node->children == NULL)
    node->children = g_hash_table_new (key_hash, key_equal);
  else if ((child = g_hash_table_lookup (node->children, &key)) != NULL)
    return child;

  child = node_new (table, node);
  child->key.text = g_strndup (key.text, key.length);
  child->key.length = key.length;
  g_hash_table_insert (node->children, &child->key, child);

  return child;
}

static void
attach (JstpSubscriptionTable *table,
        Subscription          *sub)
{
  const JstpPattern *pattern = sub->pub.pattern;
  guint n_elements = jstp_pattern_get_n_elements (pattern);
  Node *node = table->roots[bucket_for_method (jstp_pattern_get_method (pattern))];
  GPtrArray **list;

  sub->exact = TRUE;

  for (guint i = 0; i < n_elements; i++)
    {
      if (jstp_pattern_get_element_kind (pattern, i) == JSTP_ELEMENT_ELLIPSIS)
        {
          sub->exact = FALSE;
          break;
        }

      node = node_get_child (table, node, pattern, i);
    }

  list = sub->exact ? &node->exact : &node->open;
  if (*list == NULL)
    *list = g_ptr_array_new ();

  sub->slot = (*list)->len;
  sub->pub.node = node;
  g_ptr_array_add (*list, sub);
}

static void
detach (JstpSubscriptionTable *table,
        Subscription          *sub)
{
  Node *node = sub->pub.node;
  GPtrArray *list = sub->exact ? node->exact : node->open;

  g_assert (list != NULL && sub->slot < list->len && list->pdata[sub->slot] == sub);

  g_ptr_array_remove_index_fast (list, sub->slot);
  if (sub->slot < list->len)
    ((Subscription *) list->pdata[sub->slot])->slot = sub->slot;

  sub->pub.node = NULL;

  /* Drop the branch that only this subscription kept: a table that sees
   * channels come and go must not grow with every resource ever bound. */
  while (node->parent != NULL && node_is_empty (node))
    {
      Node *parent = node->parent;

      if (node->wild)
        parent->wild_child = NULL;
      else
        g_hash_table_remove (parent->children, &node->key);

      node_free (table, node);
      node = parent;
    }
}

JstpSubscriptionTable *
jstp_subscription_table_new (void)
{
  JstpSubscriptionTable *table = g_new0 (JstpSubscriptionTable, 1);

  for (guint i = 0; i < N_BUCKETS; i++)
    table->roots[i] = node_new (table, NULL);

  table->owners = g_hash_table_new_full (NULL, NULL, NULL,
                                         (GDestroyNotify) g_hash_table_unref);
  table->next_id = 1;

  return table;
}

static void
release_node (JstpSubscriptionTable *table,
              Node                  *node)
{
  GPtrArray *lists[] = { node->exact, node->open };
  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      for (guint j = 0; lists[i] != NULL && j < lists[i]->len; j++)
        {
          JstpSubscription *sub = lists[i]->pdata[j];

          sub->removed = TRUE;
          sub->node = NULL;
          jstp_subscription_unref (sub);
        }
    }

  if (node->children != NULL)
    {
      g_hash_table_iter_init (&iter, node->children);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        release_node (table, value);
    }

  if (node->wild_child != NULL)
    release_node (table, node->wild_child);

  node_free (table, node);
}

/* Subscriptions still referenced by matches outlive the table, marked removed. */
void
jstp_subscription_table_free (JstpSubscriptionTable *table)
{
  if (table == NULL)
    return;

  g_hash_table_unref (table->owners);

  for (guint i = 0; i < N_BUCKETS; i++)
    release_node (table, table->roots[i]);

  g_assert (table->n_nodes == 0);
  g_free (table);
}

JstpSubscription *
jstp_subscription_ref (JstpSubscription *subscription)
{
  g_return_val_if_fail (subscription != NULL, NULL);
  g_return_val_if_fail (subscription->ref_count > 0, NULL);

  g_atomic_int_inc (&subscription->ref_count);
  return subscription;
}

void
jstp_subscription_unref (JstpSubscription *subscription)
{
  g_return_if_fail (subscription != NULL);
  g_return_if_fail (subscription->ref_count > 0);

  if (g_atomic_int_dec_and_test (&subscription->ref_count))
    {
      /* The table's own reference goes last, when it lets go. */
      g_warn_if_fail (subscription->removed);
      jstp_pattern_unref (subscription->pattern);
      g_free ((Subscription *) subscription);
    }
}

JstpSubscription *
jstp_subscription_table_add (JstpSubscriptionTable *table,
                             JstpPattern           *pattern,
                             gpointer               owner,
                             gpointer               data,
                             gboolean              *existed)
{
  GHashTable *by_pattern;
  Subscription *sub;

  g_return_val_if_fail (table != NULL, NULL);
  g_return_val_if_fail (pattern != NULL, NULL);

  by_pattern = g_hash_table_lookup (table->owners, owner);
  if (by_pattern == NULL)
    {
      by_pattern = g_hash_table_new ((GHashFunc) jstp_pattern_hash,
                                     (GEqualFunc) jstp_pattern_equal);
      g_hash_table_insert (table->owners, owner, by_pattern);
    }
  else if ((sub = g_hash_table_lookup (by_pattern, pattern)) != NULL)
    {
      if (existed != NULL)
        *existed = TRUE;
      return &sub->pub;
    }

  sub = g_new0 (Subscription, 1);
  sub->pub.pattern = jstp_pattern_ref (pattern);
  sub->pub.owner = owner;
  sub->pub.data = data;
  sub->pub.id = table->next_id++;
  sub->pub.ref_count = 1;

  attach (table, sub);
  g_hash_table_insert (by_pattern, sub->pub.pattern, sub);
  table->size++;

  if (existed != NULL)
    *existed = FALSE;

  return &sub->pub;
}

gboolean
jstp_subscription_table_remove (JstpSubscriptionTable *table,
                                JstpSubscription      *subscription)
{
  GHashTable *by_pattern;

  g_return_val_if_fail (table != NULL, FALSE);
  g_return_val_if_fail (subscription != NULL, FALSE);

  if (subscription->removed)
    return FALSE;

  by_pattern = g_hash_table_lookup (table->owners, subscription->owner);
  g_return_val_if_fail (by_pattern != NULL &&
                        g_hash_table_lookup (by_pattern, subscription->pattern) == subscription,
                        FALSE);

  g_hash_table_remove (by_pattern, subscription->pattern);
  if (g_hash_table_size (by_pattern) == 0)
    g_hash_table_remove (table->owners, subscription->owner);

  detach (table, (Subscription *) subscription);
  subscription->removed = TRUE;
  table->size--;
  jstp_subscription_unref (subscription);

  return TRUE;
}

JstpSubscription *
jstp_subscription_table_lookup (JstpSubscriptionTable *table,
                                const JstpPattern     *pattern,
                                gpointer               owner)
{
  GHashTable *by_pattern;
  Subscription *sub;

  g_return_val_if_fail (table != NULL, NULL);
  g_return_val_if_fail (pattern != NULL, NULL);

  by_pattern = g_hash_table_lookup (table->owners, owner);
  if (by_pattern == NULL)
    return NULL;

  sub = g_hash_table_lookup (by_pattern, pattern);
  return sub != NULL ? &sub->pub : NULL;
}

static int
compare_subscription_ids (gconstpointer a,
                          gconstpointer b)
{
  const JstpSubscription *x = *(JstpSubscription * const *) a;
  const JstpSubscription *y = *(JstpSubscription * const *) b;

  return x->id < y->id ? -1 : x->id > y->id;
}

GPtrArray *
jstp_subscription_table_steal_owner (JstpSubscriptionTable *table,
                                     gpointer               owner)
{
  GPtrArray *stolen;
  GHashTable *by_pattern;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (table != NULL, NULL);

  stolen = g_ptr_array_new_with_free_func ((GDestroyNotify) jstp_subscription_unref);

  by_pattern = g_hash_table_lookup (table->owners, owner);
  if (by_pattern == NULL)
    return stolen;

  g_hash_table_steal (table->owners, owner);

  g_hash_table_iter_init (&iter, by_pattern);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Subscription *sub = value;

      detach (table, sub);
      sub->pub.removed = TRUE;
      table->size--;
      /* The table's reference becomes the caller's. */
      g_ptr_array_add (stolen, sub);
    }

  g_hash_table_unref (by_pattern);

  /* Bind order, so that the RELEASEs a closing connection causes are
   * processed in a reproducible order. */
  g_ptr_array_sort (stolen, compare_subscription_ids);

  return stolen;
}

guint
jstp_subscription_table_count_owner (JstpSubscriptionTable *table,
                                     gpointer               owner)
{
  GHashTable *by_pattern;

  g_return_val_if_fail (table != NULL, 0);

  by_pattern = g_hash_table_lookup (table->owners, owner);
  return by_pattern != NULL ? g_hash_table_size (by_pattern) : 0;
}

guint
jstp_subscription_table_get_size (JstpSubscriptionTable *table)
{
  g_return_val_if_fail (table != NULL, 0);

  return table->size;
}

guint
jstp_subscription_table_get_n_nodes (JstpSubscriptionTable *table)
{
  g_return_val_if_fail (table != NULL, 0);

  return table->n_nodes;
}

guint64
jstp_subscription_table_get_n_tested (JstpSubscriptionTable *table)
{
  g_return_val_if_fail (table != NULL, 0);

  return table->n_tested;
}

typedef struct
{
  JstpSubscriptionTable *table;
  const char *method;
  const JstpElement *resource;
  guint n_resource;
  GArray *matches;
} Collect;

static void
try_list (Collect   *collect,
          GPtrArray *list)
{
  for (guint i = 0; list != NULL && i < list->len; i++)
    {
      JstpSubscription *sub = list->pdata[i];
      JstpMatch match;

      collect->table->n_tested++;

      if (jstp_pattern_match (sub->pattern, collect->method,
                              collect->resource, collect->n_resource, &match.captures))
        {
          match.subscription = jstp_subscription_ref (sub);
          g_array_append_val (collect->matches, match);
        }
    }
}

/* Recursion is bounded by the trie's depth: at most JSTP_PATTERN_MAX_ELEMENTS. */
static void
visit (Collect    *collect,
       const Node *node,
       guint       depth)
{
  const JstpElement *element;

  if (depth == collect->n_resource)
    try_list (collect, node->exact);
  try_list (collect, node->open);

  if (depth == collect->n_resource)
    return;

  element = &collect->resource[depth];

  /* Literals match strings by decoded text and numbers by their text as
   * written; nothing else can take a literal edge. */
  if (node->children != NULL &&
      (element->type == JSTP_JSON_STRING || element->type == JSTP_JSON_NUMBER))
    {
      Key key = { element->text, element->length };
      const Node *child = g_hash_table_lookup (node->children, &key);

      if (child != NULL)
        visit (collect, child, depth + 1);
    }

  if (node->wild_child != NULL)
    visit (collect, node->wild_child, depth + 1);
}

static int
compare_match_ids (gconstpointer a,
                   gconstpointer b)
{
  const JstpMatch *x = a;
  const JstpMatch *y = b;

  return x->subscription->id < y->subscription->id ? -1
         : x->subscription->id > y->subscription->id;
}

guint
jstp_subscription_table_collect (JstpSubscriptionTable *table,
                                 const char            *method,
                                 const JstpElement     *resource,
                                 guint                  n_resource,
                                 GArray                *matches)
{
  Collect collect = { table, method, resource, n_resource, matches };
  guint bucket;
  guint start;

  g_return_val_if_fail (table != NULL, 0);
  g_return_val_if_fail (method != NULL, 0);
  g_return_val_if_fail (resource != NULL || n_resource == 0, 0);
  g_return_val_if_fail (matches != NULL, 0);
  g_return_val_if_fail (g_array_get_element_size (matches) == sizeof (JstpMatch), 0);

  start = matches->len;

  bucket = bucket_for_method (method);
  if (bucket < BUCKET_ANY)
    visit (&collect, table->roots[bucket], 0);
  visit (&collect, table->roots[BUCKET_ANY], 0);

  /* The walk finds matches in trie order; subscribers are triggered in the
   * order they bound. */
  if (matches->len - start > 1)
    {
      gboolean sorted = TRUE;

      /* Matches are large (they carry their captures): most walks find
       * them in order already, and checking is far cheaper than sorting. */
      for (guint i = start + 1; i < matches->len && sorted; i++)
        sorted = g_array_index (matches, JstpMatch, i - 1).subscription->id <
                 g_array_index (matches, JstpMatch, i).subscription->id;
      if (!sorted)
        qsort (&g_array_index (matches, JstpMatch, start), matches->len - start,
               sizeof (JstpMatch), compare_match_ids);
    }

  return matches->len - start;
}

void
jstp_match_clear (JstpMatch *match)
{
  g_return_if_fail (match != NULL);

  g_clear_pointer (&match->subscription, jstp_subscription_unref);
  match->captures.n_captures = 0;
}
