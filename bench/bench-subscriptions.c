/* SPDX-License-Identifier: MIT */
/* bench-subscriptions.c: the cost of routing one dispatch as the number of
 * subscriptions grows.
 *
 * Each table holds a mix of what an engine binds: chat rooms with a few
 * members each, metrics hosts, pending transactions awaiting answers, job
 * queues, and 1% of patterns that start with `*`. The same 1024 dispatches,
 * drawn from that mix plus some that match nothing, are routed again and
 * again; the figure is the median over many passes, per dispatch, and
 * includes handing back the matches. For contrast, the same dispatches are
 * matched against every subscription in turn. "bind" is making the pattern
 * and adding it.
 *
 * Usage: bench-subscriptions [max-subscriptions]
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jstp-pattern.h"
#include "jstp-subscription-table.h"

#define N_DISPATCHES    1024
#define N_PASSES        101
#define N_SCAN_PASSES   11
#define SCAN_BUDGET     2000000   /* pattern matches per scan pass */

typedef struct
{
  const char *method;
  JstpElement resource[4];
  guint n_resource;
} Dispatch;

static GStringChunk *strings;

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static const char *
intern_printf (const char *format,
               guint       value)
{
  char buffer[64];

  g_snprintf (buffer, sizeof buffer, format, value);
  return g_string_chunk_insert_const (strings, buffer);
}

static JstpElement
string_element (const char *text)
{
  return (JstpElement) { JSTP_JSON_STRING, text, strlen (text) };
}

static JstpElement
number_element (const char *text)
{
  return (JstpElement) { JSTP_JSON_NUMBER, text, strlen (text) };
}

/* Sizes of each population for @n subscriptions; a chat room has about
 * four members whatever the size, so a dispatch matches a similar number
 * of subscriptions at every size. */
typedef struct
{
  guint rooms;
  guint hosts;
  guint transactions;
  guint queues;
} Population;

static Population
population_for (guint n)
{
  Population population;

  population.rooms = MAX (1, n * 40 / 100 / 4);
  population.hosts = MAX (1, n * 25 / 100);
  population.transactions = MAX (1, n * 15 / 100);
  population.queues = MAX (1, n * 9 / 100);

  return population;
}

static JstpPattern *
random_pattern (GRand            *rand,
                const Population *population)
{
  const char *elements[4];
  const char *method;
  guint n_elements;
  guint kind = g_rand_int_range (rand, 0, 100);

  if (kind < 40)
    {
      method = "PUT";
      elements[0] = "chat";
      elements[1] = intern_printf ("room%u", g_rand_int_range (rand, 0, population->rooms));
      elements[2] = ":user";
      n_elements = 3;
    }
  else if (kind < 65)
    {
      method = "PUT";
      elements[0] = "metrics";
      elements[1] = intern_printf ("host%u", g_rand_int_range (rand, 0, population->hosts));
      elements[2] = "...";
      n_elements = 3;
    }
  else if (kind < 80)
    {
      method = "ANSWER";
      elements[0] = "*";
      elements[1] = intern_printf ("tx-%u",
                                   g_rand_int_range (rand, 0, population->transactions));
      elements[2] = "*";
      n_elements = 3;
    }
  else if (kind < 99)
    {
      method = "POST";
      elements[0] = "jobs";
      elements[1] = intern_printf ("queue%u", g_rand_int_range (rand, 0, population->queues));
      elements[2] = ":id";
      elements[3] = "status";
      n_elements = 4;
    }
  else
    {
      method = "PUT";
      elements[0] = "*";
      elements[1] = intern_printf ("room%u", g_rand_int_range (rand, 0, population->rooms));
      elements[2] = "typing";
      n_elements = 3;
    }

  return jstp_pattern_new (method, elements, n_elements, JSTP_MODE_STRICT, NULL);
}

static void
random_dispatch (GRand            *rand,
                 const Population *population,
                 Dispatch         *dispatch)
{
  guint kind = g_rand_int_range (rand, 0, 100);
  JstpElement *r = dispatch->resource;

  if (kind < 35)
    {
      dispatch->method = "PUT";
      r[0] = string_element ("chat");
      r[1] = string_element (intern_printf ("room%u",
                                            g_rand_int_range (rand, 0, population->rooms)));
      r[2] = string_element (intern_printf ("user%u", g_rand_int_range (rand, 0, 1000)));
      dispatch->n_resource = 3;
    }
  else if (kind < 45)
    {
      dispatch->method = "PUT";
      r[0] = string_element ("chat");
      r[1] = string_element (intern_printf ("room%u",
                                            g_rand_int_range (rand, 0, population->rooms)));
      r[2] = string_element ("typing");
      dispatch->n_resource = 3;
    }
  else if (kind < 65)
    {
      dispatch->method = "PUT";
      r[0] = string_element ("metrics");
      r[1] = string_element (intern_printf ("host%u",
                                            g_rand_int_range (rand, 0, population->hosts)));
      r[2] = string_element ("cpu");
      r[3] = number_element (intern_printf ("%u", g_rand_int_range (rand, 0, 100)));
      dispatch->n_resource = 4;
    }
  else if (kind < 80)
    {
      dispatch->method = "ANSWER";
      r[0] = number_element ("200");
      r[1] = string_element (intern_printf ("tx-%u",
                                            g_rand_int_range (rand, 0,
                                                              population->transactions)));
      r[2] = string_element (intern_printf ("tr-%u", g_rand_int_range (rand, 0, 1000)));
      dispatch->n_resource = 3;
    }
  else if (kind < 90)
    {
      dispatch->method = "POST";
      r[0] = string_element ("jobs");
      r[1] = string_element (intern_printf ("queue%u",
                                            g_rand_int_range (rand, 0, population->queues)));
      r[2] = number_element (intern_printf ("%u", g_rand_int_range (rand, 0, 100000)));
      r[3] = string_element ("status");
      dispatch->n_resource = 4;
    }
  else
    {
      dispatch->method = "GET";
      r[0] = string_element ("nothing");
      r[1] = string_element (intern_printf ("here%u", g_rand_int_range (rand, 0, 1000)));
      dispatch->n_resource = 2;
    }
}

static int
compare_gint64 (const void *a,
                const void *b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static double
median_ns (gint64 *samples,
           guint   n_samples,
           guint   per_sample)
{
  qsort (samples, n_samples, sizeof (gint64), compare_gint64);
  return (double) samples[n_samples / 2] / per_sample;
}

static void
run (guint n_subscriptions)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (n_subscriptions);
  g_autoptr(GArray) matches = g_array_new (FALSE, FALSE, sizeof (JstpMatch));
  g_autoptr(GPtrArray) subs = g_ptr_array_new ();
  g_autofree Dispatch *dispatches = g_new0 (Dispatch, N_DISPATCHES);
  Population population = population_for (n_subscriptions);
  JstpSubscriptionTable *table = jstp_subscription_table_new ();
  gint64 samples[N_PASSES];
  guint64 n_matches = 0;
  guint64 scan_matches = 0;
  guint64 index_matches = 0;
  guint64 tested_before;
  guint64 tested;
  guint scan_dispatches;
  double index_ns;
  double scan_ns;
  double add_ns;
  gint64 start;

  g_array_set_clear_func (matches, (GDestroyNotify) jstp_match_clear);

  start = now_ns ();
  for (guint i = 0; i < n_subscriptions; i++)
    {
      g_autoptr(JstpPattern) pattern = random_pattern (rand, &population);

      /* Each subscription its own owner: a connection. */
      g_ptr_array_add (subs, jstp_subscription_table_add (table, pattern,
                                                          GUINT_TO_POINTER (i + 1),
                                                          NULL, NULL));
    }
  add_ns = (double) (now_ns () - start) / n_subscriptions;

  for (guint i = 0; i < N_DISPATCHES; i++)
    random_dispatch (rand, &population, &dispatches[i]);

  /* One pass to warm caches and count what a dispatch finds and tries. */
  scan_dispatches = CLAMP (SCAN_BUDGET / n_subscriptions, 1, N_DISPATCHES);
  tested_before = jstp_subscription_table_get_n_tested (table);
  for (guint i = 0; i < N_DISPATCHES; i++)
    {
      guint n = jstp_subscription_table_collect (table, dispatches[i].method,
                                                 dispatches[i].resource,
                                                 dispatches[i].n_resource, matches);

      n_matches += n;
      if (i < scan_dispatches)
        index_matches += n;
      g_array_set_size (matches, 0);
    }
  tested = jstp_subscription_table_get_n_tested (table) - tested_before;

  for (guint pass = 0; pass < N_PASSES; pass++)
    {
      start = now_ns ();
      for (guint i = 0; i < N_DISPATCHES; i++)
        {
          jstp_subscription_table_collect (table, dispatches[i].method,
                                           dispatches[i].resource,
                                           dispatches[i].n_resource, matches);
          g_array_set_size (matches, 0);
        }
      samples[pass] = now_ns () - start;
    }
  index_ns = median_ns (samples, N_PASSES, N_DISPATCHES);

  /* The scan tries every subscription: fewer dispatches at large sizes. */
  for (guint pass = 0; pass < N_SCAN_PASSES; pass++)
    {
      start = now_ns ();
      for (guint i = 0; i < scan_dispatches; i++)
        {
          for (guint j = 0; j < subs->len; j++)
            {
              JstpSubscription *sub = subs->pdata[j];
              JstpCaptures captures;

              if (jstp_pattern_match (sub->pattern, dispatches[i].method,
                                      dispatches[i].resource, dispatches[i].n_resource,
                                      &captures))
                scan_matches++;
            }
        }
      samples[pass] = now_ns () - start;
    }
  scan_ns = median_ns (samples, N_SCAN_PASSES, scan_dispatches);

  g_print ("%13u %18.0f %17.0f %15.2f %17.2f %11.0f\n",
           n_subscriptions, index_ns, scan_ns,
           (double) tested / N_DISPATCHES,
           (double) n_matches / N_DISPATCHES, add_ns);

  /* Both ways must find the same matches, or the figures mean nothing. */
  if (scan_matches != index_matches * N_SCAN_PASSES)
    g_error ("the index found %" G_GUINT64_FORMAT " matches, the scan %" G_GUINT64_FORMAT,
             index_matches, scan_matches / N_SCAN_PASSES);

  jstp_subscription_table_free (table);
}

int
main (int   argc,
      char *argv[])
{
  const guint sizes[] = { 10, 100, 1000, 10000, 100000 };
  guint max = argc > 1 ? (guint) g_ascii_strtoull (argv[1], NULL, 10) : G_MAXUINT;

  strings = g_string_chunk_new (4096);

  g_print ("%u dispatches per pass; index: median of %u passes; scan: median of %u\n\n",
           N_DISPATCHES, N_PASSES, N_SCAN_PASSES);
  g_print ("%13s %18s %17s %15s %17s %11s\n",
           "subscriptions", "index ns/dispatch", "scan ns/dispatch", "tried/dispatch",
           "matches/dispatch", "bind ns/sub");

  for (guint i = 0; i < G_N_ELEMENTS (sizes) && sizes[i] <= max; i++)
    run (sizes[i]);

  g_string_chunk_free (strings);

  return 0;
}
