/* SPDX-License-Identifier: MIT */
/* test-subscription-table.c: the BIND index: ownership, removal, and that
 * the index finds exactly what a scan of every subscription finds. */
#include "config.h"

#include <string.h>

#include "jstp-pattern.h"
#include "jstp-subscription-table.h"

#define STR(s) { JSTP_JSON_STRING, (s), sizeof (s) - 1 }
#define NUM(s) { JSTP_JSON_NUMBER, (s), sizeof (s) - 1 }

#define OWNER_A GINT_TO_POINTER (1)
#define OWNER_B GINT_TO_POINTER (2)
#define OWNER_C GINT_TO_POINTER (3)

static JstpPattern *
make_valid (const char *method,
            ...)
{
  g_autoptr(GPtrArray) elements = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *element;
  JstpPattern *pattern;
  va_list args;

  va_start (args, method);
  while ((element = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (elements, (gpointer) element);
  va_end (args);

  pattern = jstp_pattern_new (method, (const char * const *) elements->pdata, elements->len,
                              JSTP_MODE_STRICT, &error);
  g_assert_no_error (error);

  return pattern;
}

static GArray *
matches_new (void)
{
  GArray *matches = g_array_new (FALSE, FALSE, sizeof (JstpMatch));

  g_array_set_clear_func (matches, (GDestroyNotify) jstp_match_clear);
  return matches;
}

static JstpSubscription *
add_new (JstpSubscriptionTable *table,
         JstpPattern           *pattern,
         gpointer               owner)
{
  gboolean existed = TRUE;
  JstpSubscription *sub = jstp_subscription_table_add (table, pattern, owner, NULL, &existed);

  g_assert_nonnull (sub);
  g_assert_false (existed);
  return sub;
}

static void
test_add_lookup (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  g_autoptr(JstpPattern) chat = make_valid ("GET", "chat", ":room", NULL);
  g_autoptr(JstpPattern) same = make_valid ("get", "\\chat", ":room", NULL);
  g_autoptr(JstpPattern) other = make_valid ("GET", "chat", ":user", NULL);
  JstpSubscription *a;
  JstpSubscription *again;
  JstpSubscription *b;
  JstpSubscription *nobody;
  gboolean existed = FALSE;

  a = jstp_subscription_table_add (table, chat, OWNER_A, "data-a", &existed);
  g_assert_false (existed);
  g_assert_true (a->pattern == chat);
  g_assert_true (a->owner == OWNER_A);
  g_assert_cmpstr (a->data, ==, "data-a");
  g_assert_false (a->removed);
  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 1);

  /* The same owner binding an equal endpoint keeps one subscription. */
  again = jstp_subscription_table_add (table, same, OWNER_A, "data-again", &existed);
  g_assert_true (existed);
  g_assert_true (again == a);
  g_assert_cmpstr (a->data, ==, "data-a");
  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 1);

  b = jstp_subscription_table_add (table, same, OWNER_B, NULL, NULL);
  g_assert_true (b != a);
  g_assert_cmpuint (b->id, >, a->id);
  nobody = add_new (table, other, NULL);
  g_assert_cmpuint (nobody->id, >, b->id);
  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 3);

  g_assert_true (jstp_subscription_table_lookup (table, same, OWNER_A) == a);
  g_assert_true (jstp_subscription_table_lookup (table, chat, OWNER_B) == b);
  g_assert_true (jstp_subscription_table_lookup (table, other, NULL) == nobody);
  g_assert_null (jstp_subscription_table_lookup (table, other, OWNER_A));
  g_assert_null (jstp_subscription_table_lookup (table, chat, OWNER_C));

  g_assert_cmpuint (jstp_subscription_table_count_owner (table, OWNER_A), ==, 1);
  g_assert_cmpuint (jstp_subscription_table_count_owner (table, OWNER_B), ==, 1);
  g_assert_cmpuint (jstp_subscription_table_count_owner (table, NULL), ==, 1);
  g_assert_cmpuint (jstp_subscription_table_count_owner (table, OWNER_C), ==, 0);

  jstp_subscription_table_free (table);
}

static void
test_remove (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  guint base_nodes = jstp_subscription_table_get_n_nodes (table);
  g_autoptr(JstpPattern) pattern = make_valid ("PUT", "a", "b", ":c", "...", NULL);
  g_autoptr(GArray) matches = matches_new ();
  const JstpElement resource[] = { STR ("a"), STR ("b"), STR ("c") };
  JstpSubscription *sub;
  JstpSubscription *renewed;
  guint64 id;

  sub = jstp_subscription_ref (add_new (table, pattern, OWNER_A));
  id = sub->id;
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), >, base_nodes);

  g_assert_true (jstp_subscription_table_remove (table, sub));
  g_assert_true (sub->removed);
  g_assert_false (jstp_subscription_table_remove (table, sub));
  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 0);
  g_assert_cmpuint (jstp_subscription_table_count_owner (table, OWNER_A), ==, 0);
  g_assert_null (jstp_subscription_table_lookup (table, pattern, OWNER_A));
  g_assert_cmpuint (jstp_subscription_table_collect (table, "PUT", resource, 3, matches), ==, 0);
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), ==, base_nodes);

  /* Our reference keeps it readable after the table let go. */
  g_assert_true (sub->pattern == pattern);
  g_assert_true (sub->owner == OWNER_A);
  jstp_subscription_unref (sub);

  renewed = add_new (table, pattern, OWNER_A);
  g_assert_cmpuint (renewed->id, >, id);
  g_assert_cmpuint (jstp_subscription_table_collect (table, "PUT", resource, 3, matches), ==, 1);
  g_assert_true (g_array_index (matches, JstpMatch, 0).subscription == renewed);

  jstp_subscription_table_free (table);
}

static void
test_prune (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  guint base_nodes = jstp_subscription_table_get_n_nodes (table);
  g_autoptr(JstpPattern) short_one = make_valid ("GET", "a", "*", NULL);
  g_autoptr(JstpPattern) deep = make_valid ("GET", "a", "*", "c", ":d", "...", NULL);
  g_autoptr(JstpPattern) open = make_valid ("GET", "a", "*", "...", NULL);
  JstpSubscription *kept;
  JstpSubscription *gone;

  kept = add_new (table, short_one, OWNER_A);
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), ==, base_nodes + 2);
  gone = add_new (table, deep, OWNER_A);
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), ==, base_nodes + 4);
  add_new (table, open, OWNER_B);
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), ==, base_nodes + 4);

  /* Only the branch no one else uses goes. */
  jstp_subscription_table_remove (table, gone);
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), ==, base_nodes + 2);
  jstp_subscription_table_remove (table, kept);
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), ==, base_nodes + 2);
  g_ptr_array_unref (jstp_subscription_table_steal_owner (table, OWNER_B));
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), ==, base_nodes);
  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 0);

  jstp_subscription_table_free (table);
}

static void
test_steal_owner (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  g_autoptr(GPtrArray) stolen = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GArray) matches = matches_new ();
  const JstpElement resource[] = { STR ("x"), STR ("y") };
  JstpSubscription *a[3];
  JstpSubscription *b;

  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    {
      g_autofree char *name = g_strdup_printf ("n%u", i);
      const char *elements[] = { "x", name };
      g_autoptr(JstpPattern) pattern =
        jstp_pattern_new ("GET", elements, 2, JSTP_MODE_STRICT, NULL);

      a[i] = add_new (table, pattern, OWNER_A);
    }

  {
    g_autoptr(JstpPattern) any = make_valid ("*", "x", "*", NULL);
    g_autoptr(JstpPattern) star = make_valid ("*", "*", "...", NULL);

    b = add_new (table, any, OWNER_B);
    add_new (table, star, OWNER_A);
  }

  stolen = jstp_subscription_table_steal_owner (table, OWNER_A);
  g_assert_cmpuint (stolen->len, ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    g_assert_true (g_ptr_array_index (stolen, i) == a[i]);
  for (guint i = 0; i < stolen->len; i++)
    {
      JstpSubscription *sub = g_ptr_array_index (stolen, i);

      g_assert_true (sub->removed);
      g_assert_true (sub->owner == OWNER_A);
      g_assert_false (jstp_subscription_table_remove (table, sub));
    }

  g_assert_cmpuint (jstp_subscription_table_count_owner (table, OWNER_A), ==, 0);
  g_assert_cmpuint (jstp_subscription_table_count_owner (table, OWNER_B), ==, 1);
  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 1);

  g_assert_cmpuint (jstp_subscription_table_collect (table, "GET", resource, 2, matches), ==, 1);
  g_assert_true (g_array_index (matches, JstpMatch, 0).subscription == b);

  none = jstp_subscription_table_steal_owner (table, OWNER_A);
  g_assert_nonnull (none);
  g_assert_cmpuint (none->len, ==, 0);

  jstp_subscription_table_free (table);
}

static guint64
match_id (GArray *matches,
          guint   index)
{
  return g_array_index (matches, JstpMatch, index).subscription->id;
}

static void
test_collect (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  g_autoptr(GArray) matches = matches_new ();
  g_autoptr(JstpPattern) exact = make_valid ("GET", "chat", ":room", NULL);
  g_autoptr(JstpPattern) open = make_valid ("GET", "chat", ":room", "...", NULL);
  g_autoptr(JstpPattern) any_method = make_valid ("*", "chat", "...", NULL);
  g_autoptr(JstpPattern) post = make_valid ("POST", "chat", "*", NULL);
  g_autoptr(JstpPattern) tail = make_valid ("GET", "...", "chat", NULL);
  g_autoptr(JstpPattern) number = make_valid ("GET", "chat", "42", NULL);
  g_autoptr(JstpPattern) answer = make_valid ("ANSWER", "*", "tx-1", "*", NULL);
  JstpSubscription *s_exact = add_new (table, exact, OWNER_A);
  JstpSubscription *s_open = add_new (table, open, OWNER_A);
  JstpSubscription *s_any = add_new (table, any_method, OWNER_A);
  JstpSubscription *s_post = add_new (table, post, OWNER_A);
  JstpSubscription *s_tail = add_new (table, tail, OWNER_A);
  JstpSubscription *s_number = add_new (table, number, OWNER_A);
  JstpSubscription *s_answer = add_new (table, answer, OWNER_A);
  const JstpElement chat_room[] = { STR ("chat"), STR ("room") };
  const JstpElement chat_42[] = { STR ("chat"), NUM ("42") };
  const JstpElement chat_42_0[] = { STR ("chat"), NUM ("42.0") };
  const JstpElement chat_chat[] = { STR ("chat"), STR ("chat") };
  const JstpElement chat_null[] = { STR ("chat"), { JSTP_JSON_NULL, "null", 4 } };
  const JstpElement chat_room_x[] = { STR ("chat"), STR ("room"), STR ("x") };
  const JstpElement object_first[] = { { JSTP_JSON_OBJECT, "{}", 2 }, STR ("chat") };
  const JstpElement reply[] = { NUM ("200"), STR ("tx-1"), STR ("tr-9") };
  const JstpElement other_reply[] = { NUM ("200"), STR ("tx-2"), STR ("tr-9") };
  guint n;

  /* Appends after what is there, in bind order. */
  g_array_set_size (matches, 0);
  n = jstp_subscription_table_collect (table, "GET", chat_room, 2, matches);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (match_id (matches, 0), ==, s_exact->id);
  g_assert_cmpuint (match_id (matches, 1), ==, s_open->id);
  g_assert_cmpuint (match_id (matches, 2), ==, s_any->id);

  n = jstp_subscription_table_collect (table, "POST", chat_room, 2, matches);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (matches->len, ==, 5);
  g_assert_cmpuint (match_id (matches, 3), ==, s_any->id);
  g_assert_cmpuint (match_id (matches, 4), ==, s_post->id);
  g_array_set_size (matches, 0);

  /* Numbers take literal edges by their text as written. */
  n = jstp_subscription_table_collect (table, "GET", chat_42, 2, matches);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpuint (match_id (matches, 3), ==, s_number->id);
  g_array_set_size (matches, 0);
  n = jstp_subscription_table_collect (table, "GET", chat_42_0, 2, matches);
  g_assert_cmpuint (n, ==, 3);
  g_array_set_size (matches, 0);

  n = jstp_subscription_table_collect (table, "GET", chat_chat, 2, matches);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpuint (match_id (matches, 3), ==, s_tail->id);
  g_array_set_size (matches, 0);

  n = jstp_subscription_table_collect (table, "GET", chat_null, 2, matches);
  g_assert_cmpuint (n, ==, 3);
  g_array_set_size (matches, 0);

  n = jstp_subscription_table_collect (table, "GET", chat_room_x, 3, matches);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (match_id (matches, 0), ==, s_open->id);
  g_assert_cmpuint (match_id (matches, 1), ==, s_any->id);
  g_array_set_size (matches, 0);

  n = jstp_subscription_table_collect (table, "GET", object_first, 2, matches);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (match_id (matches, 0), ==, s_tail->id);
  g_array_set_size (matches, 0);

  n = jstp_subscription_table_collect (table, "answer", reply, 3, matches);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpuint (match_id (matches, 0), ==, s_answer->id);
  g_array_set_size (matches, 0);
  g_assert_cmpuint (jstp_subscription_table_collect (table, "ANSWER", other_reply, 3, matches),
                    ==, 0);

  /* A method no pattern names reaches only the `*` endpoints. */
  g_assert_cmpuint (jstp_subscription_table_collect (table, "BIND", chat_room, 2, matches),
                    ==, 1);
  g_assert_cmpuint (match_id (matches, 0), ==, s_any->id);
  g_array_set_size (matches, 0);
  g_assert_cmpuint (jstp_subscription_table_collect (table, "GET", NULL, 0, matches), ==, 0);

  jstp_subscription_table_free (table);
}

static void
test_captures (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  g_autoptr(GArray) matches = matches_new ();
  const JstpElement resource[] = { STR ("chat"), STR ("r1"), STR ("bob") };
  const JstpElement *value;
  JstpMatch *match;

  {
    g_autoptr(JstpPattern) pattern = make_valid ("GET", "chat", ":room", ":user", NULL);
    g_autoptr(JstpPattern) tail = make_valid ("GET", "...", ":last", NULL);

    add_new (table, pattern, OWNER_A);
    add_new (table, tail, OWNER_B);
  }

  g_assert_cmpuint (jstp_subscription_table_collect (table, "GET", resource, 3, matches), ==, 2);

  /* Capture names live in the pattern, which the match keeps alive through
   * its subscription even once nothing else holds either. */
  g_ptr_array_unref (jstp_subscription_table_steal_owner (table, OWNER_A));
  g_ptr_array_unref (jstp_subscription_table_steal_owner (table, OWNER_B));

  match = &g_array_index (matches, JstpMatch, 0);
  g_assert_true (match->subscription->removed);
  g_assert_cmpuint (match->captures.n_captures, ==, 2);
  g_assert_cmpstr (match->captures.items[0].name, ==, "room");
  g_assert_cmpstr (match->captures.items[1].name, ==, "user");
  value = jstp_captures_lookup (&match->captures, "user");
  g_assert_true (value->text == resource[2].text);
  g_assert_cmpint (value->type, ==, JSTP_JSON_STRING);

  match = &g_array_index (matches, JstpMatch, 1);
  g_assert_cmpuint (match->captures.n_captures, ==, 1);
  g_assert_true (jstp_captures_lookup (&match->captures, "last")->text == resource[2].text);

  jstp_subscription_table_free (table);
}

/* Callbacks run after collecting and may unbind anything, themselves
 * included, bind more, or drop a whole owner. */
static void
test_remove_during_iteration (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  g_autoptr(GArray) matches = matches_new ();
  g_autoptr(GPtrArray) subs = g_ptr_array_new ();
  const JstpElement resource[] = { STR ("room"), STR ("lobby"), STR ("ann") };
  const char *shapes[][3] = {
    { "room", "lobby", ":who" }, { "room", "*", ":who" }, { "room", "...", NULL },
    { "*", "lobby", "..." }, { "...", "ann", NULL }, { "room", ":where", "..." },
  };
  guint n;

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      guint length = shapes[i][2] != NULL ? 3 : 2;
      g_autoptr(JstpPattern) pattern =
        jstp_pattern_new ("GET", shapes[i], length, JSTP_MODE_STRICT, NULL);

      g_ptr_array_add (subs, add_new (table, pattern, i % 2 ? OWNER_A : OWNER_B));
    }

  n = jstp_subscription_table_collect (table, "GET", resource, 3, matches);
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (shapes));

  for (guint i = 0; i < matches->len; i++)
    {
      JstpMatch *match = &g_array_index (matches, JstpMatch, i);

      if (i == 0)
        {
          g_autoptr(JstpPattern) more = make_valid ("GET", "room", "lobby", ":who", NULL);
          g_autoptr(GPtrArray) stolen = NULL;

          g_assert_true (jstp_subscription_table_remove (table, match->subscription));
          g_assert_true (jstp_subscription_table_remove (table, subs->pdata[4]));
          stolen = jstp_subscription_table_steal_owner (table, OWNER_A);
          g_assert_cmpuint (stolen->len, ==, 3);
          add_new (table, more, OWNER_C);
        }

      /* Each match still reads its subscription, removed or not. */
      g_assert_true (match->subscription == subs->pdata[i]);
      g_assert_cmpint (match->subscription->removed, ==, i == 0 || i == 4 || i % 2 == 1);
      g_assert_nonnull (jstp_pattern_get_method (match->subscription->pattern));
    }

  g_array_set_size (matches, 0);
  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 2);
  n = jstp_subscription_table_collect (table, "GET", resource, 3, matches);
  g_assert_cmpuint (n, ==, 2);

  /* Matches may even outlive the table. */
  jstp_subscription_table_free (table);
  for (guint i = 0; i < matches->len; i++)
    {
      JstpMatch *match = &g_array_index (matches, JstpMatch, i);

      g_assert_true (match->subscription->removed);
      g_assert_null (match->subscription->node);
    }
}

static void
test_indexed (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  g_autoptr(GArray) matches = matches_new ();
  const JstpElement message[] = { STR ("chat"), STR ("room777"), STR ("bob") };
  const JstpElement reply[] = { NUM ("200"), STR ("tx-4242"), STR ("tr") };
  const JstpElement nowhere[] = { STR ("nowhere") };
  guint64 before;

  for (guint i = 0; i < 10000; i++)
    {
      g_autofree char *room = g_strdup_printf ("room%u", i);
      g_autofree char *tx = g_strdup_printf ("tx-%u", i);
      const char *chat[] = { "chat", room, ":user" };
      const char *answer[] = { "*", tx, "*" };
      g_autoptr(JstpPattern) p = jstp_pattern_new ("PUT", chat, 3, JSTP_MODE_STRICT, NULL);
      g_autoptr(JstpPattern) q = jstp_pattern_new ("ANSWER", answer, 3, JSTP_MODE_STRICT, NULL);

      add_new (table, p, GUINT_TO_POINTER (i + 1));
      add_new (table, q, GUINT_TO_POINTER (i + 1));
    }

  /* Only the one pattern hanging where the walk ends is tried. */
  before = jstp_subscription_table_get_n_tested (table);
  g_assert_cmpuint (jstp_subscription_table_collect (table, "PUT", message, 3, matches), ==, 1);
  g_assert_cmpuint (jstp_subscription_table_get_n_tested (table) - before, ==, 1);

  before = jstp_subscription_table_get_n_tested (table);
  g_assert_cmpuint (jstp_subscription_table_collect (table, "ANSWER", reply, 3, matches), ==, 1);
  g_assert_cmpuint (jstp_subscription_table_get_n_tested (table) - before, ==, 1);

  before = jstp_subscription_table_get_n_tested (table);
  g_assert_cmpuint (jstp_subscription_table_collect (table, "PUT", nowhere, 1, matches), ==, 0);
  g_assert_cmpuint (jstp_subscription_table_get_n_tested (table) - before, ==, 0);

  jstp_subscription_table_free (table);
}

/* Property test: over thousands of random patterns, owners and dispatches,
 * with subscriptions coming and going, the index returns exactly what trying
 * every live subscription returns, with the same captures, in bind order. */

static const char *pattern_tokens[] = {
  "a", "b", "c", "1", "*", "...", ":x", ":y", "\\*",
};

static const char *methods[] = { "GET", "POST", "ANSWER", "*" };

static const char *dispatch_methods[] = { "GET", "POST", "ANSWER", "PUT", "BIND" };

static const JstpElement values[] = {
  STR ("a"), STR ("b"), STR ("c"), STR ("1"), NUM ("1"), NUM ("1.0"), STR ("*"), STR ("d"),
  { JSTP_JSON_NULL, "null", 4 }, { JSTP_JSON_OBJECT, "{\"a\":1}", 7 },
  { JSTP_JSON_TRUE, "true", 4 },
};

static void
check_against_scan (JstpSubscriptionTable *table,
                    GPtrArray             *live,
                    guint                  n_dispatches,
                    guint                 *n_matched)
{
  g_autoptr(GArray) matches = matches_new ();

  for (guint d = 0; d < n_dispatches; d++)
    {
      guint m = g_test_rand_int_range (0, G_N_ELEMENTS (dispatch_methods));
      const char *method = dispatch_methods[m];
      JstpElement resource[6];
      guint n_resource = g_test_rand_int_range (0, G_N_ELEMENTS (resource) + 1);
      guint n;
      guint j = 0;

      for (guint i = 0; i < n_resource; i++)
        resource[i] = values[g_test_rand_int_range (0, G_N_ELEMENTS (values))];

      g_array_set_size (matches, 0);
      n = jstp_subscription_table_collect (table, method, resource, n_resource, matches);
      g_assert_cmpuint (n, ==, matches->len);

      /* @live is in bind order, and so must the matches be. */
      for (guint i = 0; i < live->len; i++)
        {
          JstpSubscription *sub = live->pdata[i];
          JstpCaptures captures;
          JstpMatch *match;

          if (!jstp_pattern_match (sub->pattern, method, resource, n_resource, &captures))
            continue;

          g_assert_cmpuint (j, <, matches->len);
          match = &g_array_index (matches, JstpMatch, j++);
          g_assert_true (match->subscription == sub);
          g_assert_cmpuint (match->captures.n_captures, ==, captures.n_captures);
          for (guint c = 0; c < captures.n_captures; c++)
            {
              g_assert_true (match->captures.items[c].name == captures.items[c].name);
              g_assert_true (match->captures.items[c].value.text ==
                             captures.items[c].value.text);
            }
        }

      g_assert_cmpuint (j, ==, matches->len);
      *n_matched += j;
    }
}

static gint
compare_ids (gconstpointer a,
             gconstpointer b)
{
  const JstpSubscription *x = *(JstpSubscription * const *) a;
  const JstpSubscription *y = *(JstpSubscription * const *) b;

  return x->id < y->id ? -1 : x->id > y->id;
}

static void
test_against_scan (void)
{
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  guint base_nodes = jstp_subscription_table_get_n_nodes (table);
  g_autoptr(GPtrArray) live = g_ptr_array_new ();
  guint n_matched = 0;
  guint n_duplicates = 0;

  while (live->len < 5000)
    {
      const char *elements[6];
      guint n_elements = g_test_rand_int_range (1, G_N_ELEMENTS (elements) + 1);
      const char *method = methods[g_test_rand_int_range (0, G_N_ELEMENTS (methods))];
      gpointer owner = GINT_TO_POINTER (g_test_rand_int_range (1, 101));
      g_autoptr(JstpPattern) pattern = NULL;
      JstpSubscription *sub;
      gboolean existed;

      for (guint i = 0; i < n_elements; i++)
        elements[i] = pattern_tokens[g_test_rand_int_range (0, G_N_ELEMENTS (pattern_tokens))];

      pattern = jstp_pattern_new (method, elements, n_elements, JSTP_MODE_QUIRKS, NULL);
      if (pattern == NULL)
        continue;

      sub = jstp_subscription_table_add (table, pattern, owner, NULL, &existed);
      if (existed)
        {
          g_assert_true (jstp_subscription_table_lookup (table, pattern, owner) == sub);
          n_duplicates++;
          continue;
        }

      g_ptr_array_add (live, sub);
    }

  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 5000);
  g_assert_cmpuint (n_duplicates, >, 0);
  check_against_scan (table, live, 2000, &n_matched);
  g_assert_cmpuint (n_matched, >, 10000);

  /* Unbind a fifth at random and drop a tenth of the owners. */
  for (guint i = 0; i < live->len;)
    {
      if (g_test_rand_int_range (0, 5) == 0)
        {
          g_assert_true (jstp_subscription_table_remove (table, live->pdata[i]));
          g_ptr_array_remove_index (live, i);
        }
      else
        i++;
    }

  for (gint owner = 1; owner <= 100; owner += 10)
    {
      g_autoptr(GPtrArray) stolen =
        jstp_subscription_table_steal_owner (table, GINT_TO_POINTER (owner));

      for (guint i = 0; i < stolen->len; i++)
        g_assert_true (g_ptr_array_remove (live, stolen->pdata[i]));
    }

  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, live->len);
  n_matched = 0;
  check_against_scan (table, live, 2000, &n_matched);
  g_assert_cmpuint (n_matched, >, 0);

  /* Bind some more, then everything goes: the index shrinks back. */
  for (guint i = 0; i < 500; i++)
    {
      const char *elements[] = { "a", pattern_tokens[i % G_N_ELEMENTS (pattern_tokens)], "c" };
      g_autoptr(JstpPattern) pattern =
        jstp_pattern_new ("GET", elements, 3, JSTP_MODE_QUIRKS, NULL);
      gboolean existed;
      JstpSubscription *sub =
        jstp_subscription_table_add (table, pattern, GUINT_TO_POINTER (1000 + i), NULL, &existed);

      g_assert_false (existed);
      g_ptr_array_add (live, sub);
    }
  g_ptr_array_sort (live, compare_ids);
  check_against_scan (table, live, 500, &n_matched);

  while (live->len > 0)
    {
      guint i = g_test_rand_int_range (0, live->len);

      g_assert_true (jstp_subscription_table_remove (table, live->pdata[i]));
      g_ptr_array_remove_index_fast (live, i);
    }

  g_assert_cmpuint (jstp_subscription_table_get_size (table), ==, 0);
  g_assert_cmpuint (jstp_subscription_table_get_n_nodes (table), ==, base_nodes);

  jstp_subscription_table_free (table);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/subscription-table/add-lookup", test_add_lookup);
  g_test_add_func ("/subscription-table/remove", test_remove);
  g_test_add_func ("/subscription-table/prune", test_prune);
  g_test_add_func ("/subscription-table/steal-owner", test_steal_owner);
  g_test_add_func ("/subscription-table/collect", test_collect);
  g_test_add_func ("/subscription-table/captures", test_captures);
  g_test_add_func ("/subscription-table/remove-during-iteration", test_remove_during_iteration);
  g_test_add_func ("/subscription-table/indexed", test_indexed);
  g_test_add_func ("/subscription-table/against-scan", test_against_scan);

  return g_test_run ();
}
