/* tablero-canvas.c: the stack canvas
 *
 * SPDX-License-Identifier: MIT
 *
 * Everything is drawn in snapshot(). The world transform (pan and zoom) is
 * applied once with gtk_snapshot_translate/scale, so cards and text are
 * native GSK nodes and stay sharp at any zoom. Edges are one cairo node in
 * widget coordinates, cached until something that moves them changes, so
 * live status updates (which only touch the cards) never re-stroke them.
 *
 * Text layouts are created once per node and only re-set when the text
 * they show changes; figures are compared as rounded percentages first so
 * a tick that does not change what is shown costs nothing.
 *
 * The canvas never redraws on a timer: it queues a draw from the model's
 * notify and items-changed signals and from user input.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "tablero-canvas.h"
#include "tablero-edge.h"
#include "tablero-node.h"

#define NODE_W       TABLERO_CANVAS_NODE_WIDTH
#define NODE_H       TABLERO_CANVAS_NODE_HEIGHT
#define GRID         TABLERO_CANVAS_GRID_SIZE
#define CARD_RADIUS  10.0
#define PADDING      10.0
#define PORT_RADIUS   6.0
#define ARROW_SIZE   11.0
#define EDGE_OFFSET   6.0     /* A→B and B→A are drawn side by side */
#define DRAG_THRESHOLD 3.0    /* widget pixels before a press becomes a move */
#define FIT_MARGIN   48.0     /* widget pixels around the content on zoom to fit */

/* Level of detail, by zoom: below LOD_NAME a card is a coloured block,
 * below LOD_FULL it shows only its name. Text smaller than that would
 * be unreadable and costs layout time for nothing. */
#define LOD_NAME 0.3
#define LOD_FULL 0.55

/* Rows of a card, from its top edge. */
#define ROW_NAME      7.0
#define ROW_STATE    31.0
#define ROW_BAR      51.0
#define ROW_FIGURES  60.0

typedef struct
{
  TableroCanvas *canvas;
  TableroNode *node;
  gulong       notify_id;
  PangoLayout *name_layout;
  PangoLayout *state_layout;
  PangoLayout *percent_layout;
  PangoLayout *figures_layout;
  guint        name_dirty : 1;
  guint        state_dirty : 1;
  guint        figures_dirty : 1;
  int          shown[5];          /* cpu, memory, disk, network, saturation in % */
} NodeItem;

typedef struct
{
  TableroCanvas *canvas;
  TableroEdge *edge;
  gulong       notify_id;
  PangoLayout *label_layout;       /* endpoint and rate */
  PangoLayout *rate_layout;        /* the rate alone, for short edges */
  guint        label_dirty : 1;
  int          shown_rate;        /* rate × 10 as last formatted */
} EdgeItem;

typedef enum {
  DRAG_NONE,
  DRAG_MOVE,
  DRAG_PAN,
  DRAG_RUBBER,
  DRAG_EDGE,
} DragMode;

typedef struct
{
  TableroNode *node;
  double       x;
  double       y;
} MoveStart;

enum {
  COLOR_FG,
  COLOR_DIM,
  COLOR_FAINT,
  COLOR_CARD,
  COLOR_CANVAS,
  COLOR_ACCENT,
  COLOR_SUCCESS,
  COLOR_WARNING,
  COLOR_ERROR,
  COLOR_SHADOW,
  COLOR_BORDER,
  COLOR_GRID,
  COLOR_RUBBER,
  N_COLORS
};

struct _TableroCanvas
{
  GtkWidget     parent_instance;

  TableroStack *stack;
  GListModel   *nodes;
  GListModel   *edges;
  gulong        nodes_changed_id;
  gulong        edges_changed_id;
  gulong        stack_changed_id;
  GPtrArray    *node_items;       /* NodeItem *, in model order */
  GPtrArray    *edge_items;       /* EdgeItem *, in model order */
  GHashTable   *items_by_id;      /* node id (owned by the node) → NodeItem * */

  double        zoom;
  double        origin_x;         /* canvas point shown at widget (0, 0) */
  double        origin_y;
  gboolean      snap_to_grid;
  gboolean      fit_pending;

  /* Pointer interaction */
  DragMode      drag_mode;
  double        drag_start_x;     /* widget coordinates */
  double        drag_start_y;
  double        drag_x;
  double        drag_y;
  gboolean      drag_moved;
  gboolean      select_only_on_release;
  TableroNode  *drag_node;        /* the node under the press, or the edge source */
  TableroNode  *edge_target;      /* node under the pointer while drawing an edge */
  GArray       *move_starts;      /* MoveStart */
  GHashTable   *rubber_base;      /* nodes selected before an extending rubber band */
  double        pan_origin_x;
  double        pan_origin_y;
  TableroNode  *last_press_node;
  guint32       last_press_time;
  gboolean      space_held;
  double        pointer_x;
  double        pointer_y;
  gboolean      pointer_inside;
  TableroNode  *hover_node;
  double        zoom_gesture_start;
  double        context_x;
  double        context_y;
  gboolean      has_context_point;
  guint         find_position;

  /* Drawing state */
  GskRenderNode *edges_node;
  gboolean       edges_dirty;
  GdkRGBA        colors[N_COLORS];
  GdkPaintable  *kind_icons[3];
  PangoFontDescription *font;

  /* Template */
  GtkWidget    *rename_popover;
  GtkWidget    *rename_entry;
  GtkWidget    *context_menu;
  TableroNode  *renaming;
};

G_DEFINE_FINAL_TYPE (TableroCanvas, tablero_canvas, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STACK,
  PROP_SNAP_TO_GRID,
  PROP_ZOOM,
  N_PROPS
};

enum {
  EDGE_REQUESTED,
  NODE_REQUESTED,
  SELECTION_CHANGED,
  VIEW_CHANGED,
  LAYOUT_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void update_selection_actions (TableroCanvas *self);
static void clear_move_starts (TableroCanvas *self);

/* ---- small helpers --------------------------------------------------- */

static inline double
snap_value (double v)
{
  return round (v / GRID) * GRID;
}

void
tablero_canvas_get_node_bounds (TableroNode     *node,
                                graphene_rect_t *bounds)
{
  g_return_if_fail (TABLERO_IS_NODE (node));
  g_return_if_fail (bounds != NULL);

  graphene_rect_init (bounds,
                      tablero_node_get_x (node) - NODE_W / 2,
                      tablero_node_get_y (node) - NODE_H / 2,
                      NODE_W, NODE_H);
}

static const char *
kind_label (TableroNodeKind kind)
{
  switch (kind)
    {
    case TABLERO_NODE_KIND_MONJE:
      return _("Monje");
    case TABLERO_NODE_KIND_PAJARO:
      return _("Pajaro");
    case TABLERO_NODE_KIND_ENGINE:
    default:
      return _("Engine");
    }
}

static const char *
kind_icon_name (TableroNodeKind kind)
{
  switch (kind)
    {
    case TABLERO_NODE_KIND_MONJE:
      return "folder-documents-symbolic";
    case TABLERO_NODE_KIND_PAJARO:
      return "application-rss+xml-symbolic";
    case TABLERO_NODE_KIND_ENGINE:
    default:
      return "network-server-symbolic";
    }
}

static const char *
state_label (TableroNodeState state)
{
  switch (state)
    {
    case TABLERO_NODE_STATE_CONNECTING:
      return _("Connecting…");
    case TABLERO_NODE_STATE_UP:
      return _("Up");
    case TABLERO_NODE_STATE_DOWN:
      return _("Down");
    case TABLERO_NODE_STATE_RECONNECTING:
      return _("Reconnecting…");
    case TABLERO_NODE_STATE_IDLE:
    default:
      return _("Not connected");
    }
}

static const GdkRGBA *
state_color (TableroCanvas    *self,
             TableroNodeState  state)
{
  switch (state)
    {
    case TABLERO_NODE_STATE_CONNECTING:
      return &self->colors[COLOR_ACCENT];
    case TABLERO_NODE_STATE_UP:
      return &self->colors[COLOR_SUCCESS];
    case TABLERO_NODE_STATE_DOWN:
      return &self->colors[COLOR_ERROR];
    case TABLERO_NODE_STATE_RECONNECTING:
      return &self->colors[COLOR_WARNING];
    case TABLERO_NODE_STATE_IDLE:
    default:
      return &self->colors[COLOR_DIM];
    }
}

static const GdkRGBA *
level_color (TableroCanvas *self,
             TableroLevel   level)
{
  switch (level)
    {
    case TABLERO_LEVEL_BUSY:
      return &self->colors[COLOR_WARNING];
    case TABLERO_LEVEL_CRITICAL:
      return &self->colors[COLOR_ERROR];
    case TABLERO_LEVEL_OK:
    default:
      return &self->colors[COLOR_ACCENT];
    }
}

static int
percent (double fraction)
{
  return (int) round (CLAMP (fraction, 0.0, 1.0) * 100.0);
}

/* ---- node and edge items --------------------------------------------- */

static void
node_item_free (gpointer data)
{
  NodeItem *item = data;

  g_clear_signal_handler (&item->notify_id, item->node);
  g_clear_object (&item->name_layout);
  g_clear_object (&item->state_layout);
  g_clear_object (&item->percent_layout);
  g_clear_object (&item->figures_layout);
  g_clear_object (&item->node);
  g_free (item);
}

static void
edge_item_free (gpointer data)
{
  EdgeItem *item = data;

  g_clear_signal_handler (&item->notify_id, item->edge);
  g_clear_object (&item->label_layout);
  g_clear_object (&item->rate_layout);
  g_clear_object (&item->edge);
  g_free (item);
}

static void
queue_layout_changed (TableroCanvas *self)
{
  self->edges_dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[LAYOUT_CHANGED], 0);
}

static void
on_node_notify (TableroNode *node,
                GParamSpec  *pspec,
                NodeItem    *item)
{
  TableroCanvas *self = item->canvas;
  const char *name = pspec->name;

  if (g_str_equal (name, "x") || g_str_equal (name, "y"))
    {
      queue_layout_changed (self);
      return;
    }
  else if (g_str_equal (name, "name"))
    item->name_dirty = TRUE;
  else if (g_str_equal (name, "state"))
    item->state_dirty = TRUE;
  else if (g_str_equal (name, "level"))
    g_signal_emit (self, signals[LAYOUT_CHANGED], 0);  /* the minimap colours by level */
  else if (g_str_equal (name, "selected"))
    self->edges_dirty = TRUE;
  else if (g_str_equal (name, "kind"))
    ;  /* only the icon, looked up when drawn */
  else if (g_str_equal (name, "address") || g_str_equal (name, "port") ||
           g_str_equal (name, "transport") || g_str_equal (name, "local"))
    return;  /* not drawn: shown in the tooltip and the details pane */
  else
    item->figures_dirty = TRUE;

  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_edge_notify (TableroEdge *edge,
                GParamSpec  *pspec,
                EdgeItem    *item)
{
  TableroCanvas *self = item->canvas;

  if (g_str_equal (pspec->name, "rate"))
    {
      /* Most ticks don't change what the label shows. */
      if ((int) round (tablero_edge_get_rate (edge) * 10.0) == item->shown_rate)
        return;
    }
  else
    self->edges_dirty = TRUE;
  item->label_dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static NodeItem *
node_item_new (TableroCanvas *self,
               TableroNode   *node)
{
  NodeItem *item = g_new0 (NodeItem, 1);

  item->canvas = self;
  item->node = g_object_ref (node);
  item->name_dirty = item->state_dirty = item->figures_dirty = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (item->shown); i++)
    item->shown[i] = -1;
  item->notify_id = g_signal_connect (node, "notify", G_CALLBACK (on_node_notify), item);
  return item;
}

static EdgeItem *
edge_item_new (TableroCanvas *self,
               TableroEdge   *edge)
{
  EdgeItem *item = g_new0 (EdgeItem, 1);

  item->canvas = self;
  item->edge = g_object_ref (edge);
  item->label_dirty = TRUE;
  item->shown_rate = -1;
  item->notify_id = g_signal_connect (edge, "notify", G_CALLBACK (on_edge_notify), item);
  return item;
}

/* What a screen reader says about the canvas: its size, and the node that
 * is selected, since the cards themselves are not accessible objects. */
static void
update_accessible_description (TableroCanvas *self)
{
  g_autofree char *description = NULL;
  guint n_nodes = self->node_items->len;
  guint n_edges = self->edge_items->len;
  g_autofree char *nodes = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u node",
                                                         "%u nodes", n_nodes), n_nodes);
  g_autofree char *edges = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u connection",
                                                         "%u connections", n_edges), n_edges);
  TableroNode *selected = NULL;
  guint n_selected = 0;

  for (guint i = 0; i < n_nodes; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      if (tablero_node_get_selected (item->node))
        {
          selected = item->node;
          n_selected++;
        }
    }

  if (n_selected == 1)
    /* TRANSLATORS: "3 nodes, 2 connections; selected: Gateway, Engine, Up" */
    description = g_strdup_printf (C_("canvas description", "%s, %s; selected: %s, %s, %s"),
                                   nodes, edges, tablero_node_get_name (selected),
                                   kind_label (tablero_node_get_kind (selected)),
                                   state_label (tablero_node_get_state (selected)));
  else
    /* TRANSLATORS: "3 nodes, 2 connections" */
    description = g_strdup_printf (C_("canvas description", "%s, %s"), nodes, edges);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
}

static void
emit_selection_changed (TableroCanvas *self)
{
  self->edges_dirty = TRUE;
  update_selection_actions (self);
  update_accessible_description (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[SELECTION_CHANGED], 0);
}

static void
on_nodes_items_changed (GListModel    *model,
                        guint          position,
                        guint          removed,
                        guint          added,
                        TableroCanvas *self)
{
  gboolean selection_lost = FALSE;

  for (guint i = 0; i < removed; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, position + i);

      selection_lost |= tablero_node_get_selected (item->node);
      if (g_hash_table_lookup (self->items_by_id, tablero_node_get_id (item->node)) == item)
        g_hash_table_remove (self->items_by_id, tablero_node_get_id (item->node));
      if (item->node == self->hover_node)
        self->hover_node = NULL;
      if (item->node == self->drag_node || item->node == self->edge_target)
        {
          self->drag_mode = DRAG_NONE;
          self->drag_node = self->edge_target = NULL;
          clear_move_starts (self);
        }
      if (item->node == self->last_press_node)
        self->last_press_node = NULL;
      if (item->node == self->renaming)
        gtk_popover_popdown (GTK_POPOVER (self->rename_popover));
      if (self->rubber_base != NULL)
        g_hash_table_remove (self->rubber_base, item->node);
    }
  g_ptr_array_remove_range (self->node_items, position, removed);

  for (guint i = 0; i < added; i++)
    {
      g_autoptr (TableroNode) node = g_list_model_get_item (model, position + i);
      NodeItem *item = node_item_new (self, node);

      g_ptr_array_insert (self->node_items, position + i, item);
      g_hash_table_replace (self->items_by_id, (gpointer) tablero_node_get_id (node), item);
    }

  update_accessible_description (self);
  queue_layout_changed (self);
  if (selection_lost || added > 0)
    emit_selection_changed (self);
}

static void
on_edges_items_changed (GListModel    *model,
                        guint          position,
                        guint          removed,
                        guint          added,
                        TableroCanvas *self)
{
  g_ptr_array_remove_range (self->edge_items, position, removed);
  for (guint i = 0; i < added; i++)
    {
      g_autoptr (TableroEdge) edge = g_list_model_get_item (model, position + i);
      g_ptr_array_insert (self->edge_items, position + i, edge_item_new (self, edge));
    }

  update_accessible_description (self);
  queue_layout_changed (self);
  if (removed > 0 || added > 0)
    emit_selection_changed (self);
}

static void
on_stack_changed (TableroStack  *stack,
                  TableroCanvas *self)
{
  self->edges_dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- view ------------------------------------------------------------- */

static void
view_changed (TableroCanvas *self)
{
  self->edges_dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[VIEW_CHANGED], 0);
}

void
tablero_canvas_widget_to_canvas (TableroCanvas *self,
                                 double         widget_x,
                                 double         widget_y,
                                 double        *x,
                                 double        *y)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (x)
    *x = self->origin_x + widget_x / self->zoom;
  if (y)
    *y = self->origin_y + widget_y / self->zoom;
}

void
tablero_canvas_canvas_to_widget (TableroCanvas *self,
                                 double         x,
                                 double         y,
                                 double        *widget_x,
                                 double        *widget_y)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (widget_x)
    *widget_x = (x - self->origin_x) * self->zoom;
  if (widget_y)
    *widget_y = (y - self->origin_y) * self->zoom;
}

void
tablero_canvas_get_visible_area (TableroCanvas   *self,
                                 graphene_rect_t *area)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));
  g_return_if_fail (area != NULL);

  graphene_rect_init (area, self->origin_x, self->origin_y,
                      gtk_widget_get_width (GTK_WIDGET (self)) / self->zoom,
                      gtk_widget_get_height (GTK_WIDGET (self)) / self->zoom);
}

double
tablero_canvas_get_zoom (TableroCanvas *self)
{
  g_return_val_if_fail (TABLERO_IS_CANVAS (self), 1.0);

  return self->zoom;
}

void
tablero_canvas_zoom_at (TableroCanvas *self,
                        double         factor,
                        double         widget_x,
                        double         widget_y)
{
  double x, y, zoom;

  g_return_if_fail (TABLERO_IS_CANVAS (self));

  zoom = CLAMP (self->zoom * factor, TABLERO_CANVAS_MIN_ZOOM, TABLERO_CANVAS_MAX_ZOOM);
  if (zoom == self->zoom)
    return;

  /* Keep the canvas point under (widget_x, widget_y) where it is. */
  tablero_canvas_widget_to_canvas (self, widget_x, widget_y, &x, &y);
  self->zoom = zoom;
  self->origin_x = x - widget_x / zoom;
  self->origin_y = y - widget_y / zoom;
  self->fit_pending = FALSE;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  view_changed (self);
}

void
tablero_canvas_set_zoom (TableroCanvas *self,
                         double         zoom)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));
  g_return_if_fail (zoom > 0);

  tablero_canvas_zoom_at (self, zoom / self->zoom,
                          gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
                          gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

void
tablero_canvas_center_on (TableroCanvas *self,
                          double         x,
                          double         y)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));

  self->origin_x = x - gtk_widget_get_width (GTK_WIDGET (self)) / 2.0 / self->zoom;
  self->origin_y = y - gtk_widget_get_height (GTK_WIDGET (self)) / 2.0 / self->zoom;
  self->fit_pending = FALSE;
  view_changed (self);
}

void
tablero_canvas_scroll_by (TableroCanvas *self,
                          double         dx,
                          double         dy)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (dx == 0 && dy == 0)
    return;
  self->origin_x += dx / self->zoom;
  self->origin_y += dy / self->zoom;
  self->fit_pending = FALSE;
  view_changed (self);
}

gboolean
tablero_canvas_get_content_bounds (TableroCanvas   *self,
                                   graphene_rect_t *bounds)
{
  g_return_val_if_fail (TABLERO_IS_CANVAS (self), FALSE);
  g_return_val_if_fail (bounds != NULL, FALSE);

  if (self->node_items->len == 0)
    {
      graphene_rect_init (bounds, 0, 0, 0, 0);
      return FALSE;
    }

  for (guint i = 0; i < self->node_items->len; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      graphene_rect_t r;

      tablero_canvas_get_node_bounds (item->node, &r);
      if (i == 0)
        *bounds = r;
      else
        graphene_rect_union (bounds, &r, bounds);
    }
  return TRUE;
}

void
tablero_canvas_zoom_to_fit (TableroCanvas *self)
{
  int width, height;
  graphene_rect_t bounds;
  double zoom;

  g_return_if_fail (TABLERO_IS_CANVAS (self));

  width = gtk_widget_get_width (GTK_WIDGET (self));
  height = gtk_widget_get_height (GTK_WIDGET (self));
  if (width <= 0 || height <= 0)
    {
      /* Not allocated yet: fit on the first size_allocate. */
      self->fit_pending = TRUE;
      return;
    }

  if (!tablero_canvas_get_content_bounds (self, &bounds))
    {
      zoom = 1.0;
      graphene_rect_init (&bounds, -width / 2.0, -height / 2.0, width, height);
    }
  else
    {
      double avail_w = MAX (width - 2 * FIT_MARGIN, width / 2.0);
      double avail_h = MAX (height - 2 * FIT_MARGIN, height / 2.0);

      /* Never magnify on fit: a single node at 400% is not an overview. */
      zoom = MIN (avail_w / bounds.size.width, avail_h / bounds.size.height);
      zoom = CLAMP (zoom, TABLERO_CANVAS_MIN_ZOOM, 1.0);
    }

  if (zoom != self->zoom)
    {
      self->zoom = zoom;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
    }
  tablero_canvas_center_on (self,
                            bounds.origin.x + bounds.size.width / 2,
                            bounds.origin.y + bounds.size.height / 2);
}

void
tablero_canvas_get_insertion_point (TableroCanvas *self,
                                    double        *x,
                                    double        *y)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (self->has_context_point)
    {
      tablero_canvas_widget_to_canvas (self, self->context_x, self->context_y, x, y);
      return;
    }
  tablero_canvas_widget_to_canvas (self,
                                   gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
                                   gtk_widget_get_height (GTK_WIDGET (self)) / 2.0,
                                   x, y);
}

/* ---- hit testing ------------------------------------------------------ */

static TableroNode *
node_at_canvas (TableroCanvas *self,
                double         x,
                double         y,
                TableroNode   *ignore)
{
  /* Topmost first: the last drawn is on top. */
  for (guint i = self->node_items->len; i > 0; i--)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i - 1);
      double nx = tablero_node_get_x (item->node);
      double ny = tablero_node_get_y (item->node);

      if (item->node == ignore)
        continue;
      if (fabs (x - nx) <= NODE_W / 2 && fabs (y - ny) <= NODE_H / 2)
        return item->node;
    }
  return NULL;
}

TableroNode *
tablero_canvas_node_at (TableroCanvas *self,
                        double         widget_x,
                        double         widget_y)
{
  double x, y;

  g_return_val_if_fail (TABLERO_IS_CANVAS (self), NULL);

  tablero_canvas_widget_to_canvas (self, widget_x, widget_y, &x, &y);
  return node_at_canvas (self, x, y, NULL);
}

/* The port handle sits on the middle of a card's right side. */
static TableroNode *
port_at (TableroCanvas *self,
         double         widget_x,
         double         widget_y)
{
  double x, y;
  /* at least 8 widget pixels of grab radius however far out we zoom */
  double radius = MAX (PORT_RADIUS + 3, 8.0 / self->zoom);

  if (self->zoom < LOD_NAME)
    return NULL;

  tablero_canvas_widget_to_canvas (self, widget_x, widget_y, &x, &y);
  for (guint i = self->node_items->len; i > 0; i--)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i - 1);
      double px = tablero_node_get_x (item->node) + NODE_W / 2;
      double py = tablero_node_get_y (item->node);

      if (hypot (x - px, y - py) <= radius)
        return item->node;
    }
  return NULL;
}

/* Line of an edge between the two cards' borders, in canvas units.
 * FALSE when an end is missing or the cards overlap. */
static gboolean
edge_geometry (TableroCanvas *self,
               TableroEdge   *edge,
               double        *x1,
               double        *y1,
               double        *x2,
               double        *y2)
{
  NodeItem *source = g_hash_table_lookup (self->items_by_id, tablero_edge_get_source_id (edge));
  NodeItem *target = g_hash_table_lookup (self->items_by_id, tablero_edge_get_target_id (edge));
  double sx, sy, tx, ty, dx, dy, len, nx, ny, t;

  if (source == NULL || target == NULL || source == target)
    return FALSE;

  sx = tablero_node_get_x (source->node);
  sy = tablero_node_get_y (source->node);
  tx = tablero_node_get_x (target->node);
  ty = tablero_node_get_y (target->node);
  dx = tx - sx;
  dy = ty - sy;
  len = hypot (dx, dy);
  if (len < 1)
    return FALSE;

  /* Shift the line to its right so A→B and B→A don't overlap. */
  nx = -dy / len * EDGE_OFFSET;
  ny = dx / len * EDGE_OFFSET;
  sx += nx;
  sy += ny;
  tx += nx;
  ty += ny;

  /* Distance from a centre to the card border along the line. */
  t = MIN (dx != 0 ? (NODE_W / 2) / fabs (dx) : G_MAXDOUBLE,
           dy != 0 ? (NODE_H / 2) / fabs (dy) : G_MAXDOUBLE);
  if (t >= 0.5)
    return FALSE;  /* the cards overlap */

  *x1 = sx + dx * t;
  *y1 = sy + dy * t;
  *x2 = tx - dx * t;
  *y2 = ty - dy * t;
  return TRUE;
}

static double
distance_to_segment (double px, double py,
                     double x1, double y1,
                     double x2, double y2)
{
  double dx = x2 - x1, dy = y2 - y1;
  double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - x1) * dx + (py - y1) * dy) / len2 : 0;

  t = CLAMP (t, 0.0, 1.0);
  return hypot (px - (x1 + t * dx), py - (y1 + t * dy));
}

TableroEdge *
tablero_canvas_edge_at (TableroCanvas *self,
                        double         widget_x,
                        double         widget_y)
{
  double x, y;
  double tolerance;

  g_return_val_if_fail (TABLERO_IS_CANVAS (self), NULL);

  tablero_canvas_widget_to_canvas (self, widget_x, widget_y, &x, &y);
  tolerance = 6.0 / self->zoom;
  for (guint i = self->edge_items->len; i > 0; i--)
    {
      EdgeItem *item = g_ptr_array_index (self->edge_items, i - 1);
      double x1, y1, x2, y2;

      if (!edge_geometry (self, item->edge, &x1, &y1, &x2, &y2))
        continue;
      if (distance_to_segment (x, y, x1, y1, x2, y2) <= tolerance)
        return item->edge;
    }
  return NULL;
}

/* ---- selection ---------------------------------------------------------- */

GPtrArray *
tablero_canvas_get_selected_nodes (TableroCanvas *self)
{
  GPtrArray *nodes;

  g_return_val_if_fail (TABLERO_IS_CANVAS (self), NULL);

  nodes = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->node_items->len; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      if (tablero_node_get_selected (item->node))
        g_ptr_array_add (nodes, g_object_ref (item->node));
    }
  return nodes;
}

GPtrArray *
tablero_canvas_get_selected_edges (TableroCanvas *self)
{
  GPtrArray *edges;

  g_return_val_if_fail (TABLERO_IS_CANVAS (self), NULL);

  edges = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->edge_items->len; i++)
    {
      EdgeItem *item = g_ptr_array_index (self->edge_items, i);
      if (tablero_edge_get_selected (item->edge))
        g_ptr_array_add (edges, g_object_ref (item->edge));
    }
  return edges;
}

static guint
count_selected_nodes (TableroCanvas *self)
{
  guint n = 0;

  for (guint i = 0; i < self->node_items->len; i++)
    n += tablero_node_get_selected (((NodeItem *) g_ptr_array_index (self->node_items, i))->node);
  return n;
}

static guint
count_selected_edges (TableroCanvas *self)
{
  guint n = 0;

  for (guint i = 0; i < self->edge_items->len; i++)
    n += tablero_edge_get_selected (((EdgeItem *) g_ptr_array_index (self->edge_items, i))->edge);
  return n;
}

/* Sets every node's and edge's selection; TRUE if anything changed. */
static gboolean
set_all_selected (TableroCanvas *self,
                  gboolean       selected)
{
  gboolean changed = FALSE;

  for (guint i = 0; i < self->node_items->len; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      if (tablero_node_get_selected (item->node) != selected)
        {
          tablero_node_set_selected (item->node, selected);
          changed = TRUE;
        }
    }
  for (guint i = 0; i < self->edge_items->len; i++)
    {
      EdgeItem *item = g_ptr_array_index (self->edge_items, i);
      if (tablero_edge_get_selected (item->edge) != selected)
        {
          tablero_edge_set_selected (item->edge, selected);
          changed = TRUE;
        }
    }
  return changed;
}

void
tablero_canvas_select_all (TableroCanvas *self)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (set_all_selected (self, TRUE))
    emit_selection_changed (self);
}

void
tablero_canvas_unselect_all (TableroCanvas *self)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (set_all_selected (self, FALSE))
    emit_selection_changed (self);
}

void
tablero_canvas_select_node (TableroCanvas *self,
                            TableroNode   *node,
                            gboolean       extend)
{
  gboolean changed = FALSE;

  g_return_if_fail (TABLERO_IS_CANVAS (self));
  g_return_if_fail (node == NULL || TABLERO_IS_NODE (node));

  if (!extend)
    changed = set_all_selected (self, FALSE);
  if (node != NULL && !tablero_node_get_selected (node))
    {
      tablero_node_set_selected (node, TRUE);
      changed = TRUE;
    }
  if (changed)
    emit_selection_changed (self);
}

static void
select_edge (TableroCanvas *self,
             TableroEdge   *edge,
             gboolean       toggle)
{
  if (toggle)
    tablero_edge_set_selected (edge, !tablero_edge_get_selected (edge));
  else
    {
      set_all_selected (self, FALSE);
      tablero_edge_set_selected (edge, TRUE);
    }
  emit_selection_changed (self);
}

static void
ensure_visible (TableroCanvas *self,
                TableroNode   *node)
{
  graphene_rect_t visible, bounds;

  tablero_canvas_get_visible_area (self, &visible);
  tablero_canvas_get_node_bounds (node, &bounds);
  if (!graphene_rect_contains_rect (&visible, &bounds))
    tablero_canvas_center_on (self, tablero_node_get_x (node), tablero_node_get_y (node));
}

void
tablero_canvas_select_next (TableroCanvas *self,
                            gboolean       backwards)
{
  guint n;
  int current = -1;
  NodeItem *next;

  g_return_if_fail (TABLERO_IS_CANVAS (self));

  n = self->node_items->len;
  if (n == 0)
    return;

  for (guint i = 0; i < n; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      if (tablero_node_get_selected (item->node))
        {
          current = i;
          if (!backwards)
            continue;  /* the last selected one, going forwards */
          break;
        }
    }

  if (current < 0)
    next = g_ptr_array_index (self->node_items, backwards ? n - 1 : 0);
  else
    next = g_ptr_array_index (self->node_items, (current + (backwards ? n - 1 : 1)) % n);

  tablero_canvas_select_node (self, next->node, FALSE);
  ensure_visible (self, next->node);
}

gboolean
tablero_canvas_find (TableroCanvas *self,
                     const char    *text,
                     gboolean       next)
{
  g_autofree char *needle = NULL;
  guint n, start;

  g_return_val_if_fail (TABLERO_IS_CANVAS (self), FALSE);

  n = self->node_items->len;
  if (text == NULL || *text == '\0' || n == 0)
    return FALSE;

  needle = g_utf8_casefold (text, -1);
  start = next ? self->find_position + 1 : 0;
  for (guint k = 0; k < n; k++)
    {
      guint i = (start + k) % n;
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      g_autofree char *name = g_utf8_casefold (tablero_node_get_name (item->node), -1);

      if (strstr (name, needle) != NULL)
        {
          self->find_position = i;
          tablero_canvas_select_node (self, item->node, FALSE);
          tablero_canvas_center_on (self, tablero_node_get_x (item->node),
                                    tablero_node_get_y (item->node));
          return TRUE;
        }
    }
  return FALSE;
}

/* ---- editing through the stack ------------------------------------------ */

static gboolean
in_stack (TableroCanvas *self,
          TableroNode   *node)
{
  return self->stack != NULL &&
         tablero_stack_find_node (self->stack, tablero_node_get_id (node)) == node;
}

void
tablero_canvas_delete_selection (TableroCanvas *self)
{
  g_autoptr (GPtrArray) nodes = NULL;
  g_autoptr (GPtrArray) edges = NULL;

  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (self->stack == NULL)
    return;

  nodes = tablero_canvas_get_selected_nodes (self);
  edges = tablero_canvas_get_selected_edges (self);
  if (nodes->len == 0 && edges->len == 0)
    return;

  tablero_stack_begin_group (self->stack, _("Delete"));
  /* Edges first: removing a node also removes its edges. */
  for (guint i = 0; i < edges->len; i++)
    {
      TableroEdge *edge = g_ptr_array_index (edges, i);
      if (tablero_stack_find_edge (self->stack, tablero_edge_get_id (edge)) == edge)
        tablero_stack_remove_edge (self->stack, edge);
    }
  for (guint i = 0; i < nodes->len; i++)
    {
      TableroNode *node = g_ptr_array_index (nodes, i);
      if (in_stack (self, node))
        tablero_stack_remove_node (self->stack, node);
    }
  tablero_stack_end_group (self->stack);
}

void
tablero_canvas_move_selection (TableroCanvas *self,
                               double         dx,
                               double         dy)
{
  g_autoptr (GPtrArray) nodes = NULL;

  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (self->stack == NULL)
    return;

  nodes = tablero_canvas_get_selected_nodes (self);
  if (nodes->len == 0)
    return;

  tablero_stack_begin_group (self->stack, _("Move"));
  for (guint i = 0; i < nodes->len; i++)
    {
      TableroNode *node = g_ptr_array_index (nodes, i);
      tablero_stack_move_node (self->stack, node,
                               tablero_node_get_x (node) + dx,
                               tablero_node_get_y (node) + dy);
    }
  tablero_stack_end_group (self->stack);
  if (nodes->len == 1)
    ensure_visible (self, g_ptr_array_index (nodes, 0));
}

void
tablero_canvas_align_selection (TableroCanvas      *self,
                                TableroCanvasAlign  align)
{
  g_autoptr (GPtrArray) nodes = NULL;
  graphene_rect_t bounds;

  g_return_if_fail (TABLERO_IS_CANVAS (self));

  if (self->stack == NULL)
    return;

  nodes = tablero_canvas_get_selected_nodes (self);
  if (nodes->len < 2)
    return;

  for (guint i = 0; i < nodes->len; i++)
    {
      graphene_rect_t r;

      tablero_canvas_get_node_bounds (g_ptr_array_index (nodes, i), &r);
      if (i == 0)
        bounds = r;
      else
        graphene_rect_union (&bounds, &r, &bounds);
    }

  tablero_stack_begin_group (self->stack, _("Align"));
  for (guint i = 0; i < nodes->len; i++)
    {
      TableroNode *node = g_ptr_array_index (nodes, i);
      double x = tablero_node_get_x (node);
      double y = tablero_node_get_y (node);

      switch (align)
        {
        case TABLERO_CANVAS_ALIGN_LEFT:
          x = bounds.origin.x + NODE_W / 2;
          break;
        case TABLERO_CANVAS_ALIGN_CENTER:
          x = bounds.origin.x + bounds.size.width / 2;
          break;
        case TABLERO_CANVAS_ALIGN_RIGHT:
          x = bounds.origin.x + bounds.size.width - NODE_W / 2;
          break;
        case TABLERO_CANVAS_ALIGN_TOP:
          y = bounds.origin.y + NODE_H / 2;
          break;
        case TABLERO_CANVAS_ALIGN_MIDDLE:
          y = bounds.origin.y + bounds.size.height / 2;
          break;
        case TABLERO_CANVAS_ALIGN_BOTTOM:
          y = bounds.origin.y + bounds.size.height - NODE_H / 2;
          break;
        default:
          g_assert_not_reached ();
        }
      if (x != tablero_node_get_x (node) || y != tablero_node_get_y (node))
        tablero_stack_move_node (self->stack, node, x, y);
    }
  tablero_stack_end_group (self->stack);
}

/* ---- rename popover ------------------------------------------------------- */

static void
point_popover_at_node (TableroCanvas *self,
                       GtkWidget     *popover,
                       TableroNode   *node)
{
  double wx, wy;

  tablero_canvas_canvas_to_widget (self,
                                   tablero_node_get_x (node) - NODE_W / 2,
                                   tablero_node_get_y (node) - NODE_H / 2,
                                   &wx, &wy);
  gtk_popover_set_pointing_to (GTK_POPOVER (popover),
                               &(GdkRectangle) { (int) wx, (int) wy,
                                                 MAX (1, (int) (NODE_W * self->zoom)),
                                                 MAX (1, (int) (NODE_H * self->zoom)) });
}

void
tablero_canvas_start_rename (TableroCanvas *self,
                             TableroNode   *node)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));
  g_return_if_fail (TABLERO_IS_NODE (node));

  if (!in_stack (self, node))
    return;

  ensure_visible (self, node);
  g_set_object (&self->renaming, node);
  gtk_editable_set_text (GTK_EDITABLE (self->rename_entry), tablero_node_get_name (node));
  point_popover_at_node (self, self->rename_popover, node);
  gtk_popover_popup (GTK_POPOVER (self->rename_popover));
  gtk_widget_grab_focus (self->rename_entry);
  gtk_editable_select_region (GTK_EDITABLE (self->rename_entry), 0, -1);
}

static void
on_rename_activate (TableroCanvas *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->rename_entry));
  g_autofree char *name = g_strstrip (g_strdup (text));

  if (self->renaming != NULL && *name != '\0' && in_stack (self, self->renaming) &&
      g_strcmp0 (name, tablero_node_get_name (self->renaming)) != 0)
    tablero_stack_rename_node (self->stack, self->renaming, name);

  gtk_popover_popdown (GTK_POPOVER (self->rename_popover));
}

static void
on_rename_closed (TableroCanvas *self)
{
  g_clear_object (&self->renaming);
  gtk_widget_grab_focus (GTK_WIDGET (self));
}

/* ---- drawing ------------------------------------------------------------ */

static void
load_colors (TableroCanvas *self)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkStyleContext *context = gtk_widget_get_style_context (GTK_WIDGET (self));
  static const struct { int index; const char *name; const char *fallback; } named[] = {
    { COLOR_FG, "window_fg_color", "rgba(0,0,0,0.8)" },
    { COLOR_CARD, "card_bg_color", "#ffffff" },
    { COLOR_ACCENT, "accent_color", "#1c71d8" },
    { COLOR_SUCCESS, "success_color", "#1b8553" },
    { COLOR_WARNING, "warning_color", "#9c6e03" },
    { COLOR_ERROR, "error_color", "#c01c28" },
    { COLOR_SHADOW, "shade_color", "rgba(0,0,0,0.07)" },
  };
  GdkRGBA window_bg;

  for (guint i = 0; i < G_N_ELEMENTS (named); i++)
    if (!gtk_style_context_lookup_color (context, named[i].name, &self->colors[named[i].index]))
      gdk_rgba_parse (&self->colors[named[i].index], named[i].fallback);

  if (!gtk_style_context_lookup_color (context, "window_bg_color", &window_bg))
    gdk_rgba_parse (&window_bg, "#fafafa");
  G_GNUC_END_IGNORE_DEPRECATIONS

  /* libadwaita's dark card colour is translucent; cards must hide the
   * edges and grid below them, so blend it over the window colour. */
  {
    GdkRGBA *card = &self->colors[COLOR_CARD];
    float a = card->alpha;
    card->red = card->red * a + window_bg.red * (1 - a);
    card->green = card->green * a + window_bg.green * (1 - a);
    card->blue = card->blue * a + window_bg.blue * (1 - a);
    card->alpha = 1;
  }

  self->colors[COLOR_CANVAS] = self->colors[COLOR_CARD];
  self->colors[COLOR_DIM] = self->colors[COLOR_FG];
  self->colors[COLOR_DIM].alpha *= 0.62;
  self->colors[COLOR_FAINT] = self->colors[COLOR_FG];
  self->colors[COLOR_FAINT].alpha *= 0.12;
  self->colors[COLOR_BORDER] = self->colors[COLOR_FG];
  self->colors[COLOR_BORDER].alpha *= 0.15;
  self->colors[COLOR_GRID] = self->colors[COLOR_FG];
  self->colors[COLOR_GRID].alpha *= 0.05;
  self->colors[COLOR_RUBBER] = self->colors[COLOR_ACCENT];
  self->colors[COLOR_RUBBER].alpha *= 0.15;
}

static void
ensure_icons (TableroCanvas *self)
{
  GtkIconTheme *theme;

  if (self->kind_icons[0] != NULL)
    return;

  theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (self)));
  for (int kind = 0; kind < 3; kind++)
    self->kind_icons[kind] =
      GDK_PAINTABLE (gtk_icon_theme_lookup_icon (theme, kind_icon_name (kind), NULL, 16,
                                                 gtk_widget_get_scale_factor (GTK_WIDGET (self)),
                                                 gtk_widget_get_direction (GTK_WIDGET (self)),
                                                 0));
}

static void
clear_icons (TableroCanvas *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->kind_icons); i++)
    g_clear_object (&self->kind_icons[i]);
}

static PangoLayout *
make_layout (TableroCanvas *self,
             gboolean       bold,
             gboolean       small,
             int            width)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  PangoAttrList *attrs = pango_attr_list_new ();

  if (bold)
    pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  if (small)
    pango_attr_list_insert (attrs, pango_attr_scale_new (PANGO_SCALE_SMALL));
  /* Figures change every second: tabular digits keep them from jittering. */
  pango_attr_list_insert (attrs, pango_attr_font_features_new ("tnum=1"));
  pango_layout_set_attributes (layout, attrs);
  pango_attr_list_unref (attrs);

  if (width > 0)
    {
      pango_layout_set_width (layout, width * PANGO_SCALE);
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
    }
  pango_layout_set_single_paragraph_mode (layout, TRUE);
  return layout;
}

static void
invalidate_layouts (TableroCanvas *self)
{
  for (guint i = 0; i < self->node_items->len; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      g_clear_object (&item->name_layout);
      g_clear_object (&item->state_layout);
      g_clear_object (&item->percent_layout);
      g_clear_object (&item->figures_layout);
      item->name_dirty = item->state_dirty = item->figures_dirty = TRUE;
      for (guint k = 0; k < G_N_ELEMENTS (item->shown); k++)
        item->shown[k] = -1;
    }
  for (guint i = 0; i < self->edge_items->len; i++)
    {
      EdgeItem *item = g_ptr_array_index (self->edge_items, i);
      g_clear_object (&item->label_layout);
      g_clear_object (&item->rate_layout);
      item->label_dirty = TRUE;
    }
}

/* Brings the node's layouts up to date. Only text that changed is set. */
static void
update_node_layouts (TableroCanvas *self,
                     NodeItem      *item,
                     gboolean       full)
{
  TableroNode *node = item->node;

  if (item->name_layout == NULL)
    {
      item->name_layout = make_layout (self, TRUE, FALSE, NODE_W - 2 * PADDING - 22);
      item->name_dirty = TRUE;
    }
  if (item->name_dirty)
    {
      const char *name = tablero_node_get_name (node);
      pango_layout_set_text (item->name_layout, name && *name ? name : _("Unnamed"), -1);
      item->name_dirty = FALSE;
    }

  if (!full)
    return;

  if (item->state_layout == NULL)
    {
      item->state_layout = make_layout (self, FALSE, TRUE, NODE_W - 2 * PADDING - 14 - 36);
      item->state_dirty = TRUE;
    }
  if (item->state_dirty)
    {
      pango_layout_set_text (item->state_layout, state_label (tablero_node_get_state (node)), -1);
      item->state_dirty = FALSE;
    }

  if (item->percent_layout == NULL)
    item->percent_layout = make_layout (self, TRUE, TRUE, 0);
  if (item->figures_layout == NULL)
    {
      /* The second column starts at the card's middle: translated labels
       * ("DISCO 100 %") are longer than the English ones. */
      PangoTabArray *tabs = pango_tab_array_new_with_positions (1, TRUE, PANGO_TAB_LEFT,
                                                                (int) (NODE_W / 2));

      item->figures_layout = make_layout (self, FALSE, TRUE, 0);
      pango_layout_set_single_paragraph_mode (item->figures_layout, FALSE);
      pango_layout_set_tabs (item->figures_layout, tabs);
      pango_tab_array_free (tabs);
    }

  if (item->figures_dirty)
    {
      int shown[5] = {
        percent (tablero_node_get_cpu (node)),
        percent (tablero_node_get_memory (node)),
        percent (tablero_node_get_disk (node)),
        percent (tablero_node_get_network (node)),
        percent (tablero_node_get_saturation (node)),
      };
      char buffer[128];

      if (shown[4] != item->shown[4])
        {
          /* TRANSLATORS: saturation of a host, e.g. "42%" */
          g_snprintf (buffer, sizeof buffer, _("%d%%"), shown[4]);
          pango_layout_set_text (item->percent_layout, buffer, -1);
        }
      if (memcmp (shown, item->shown, 4 * sizeof (int)) != 0)
        {
          /* TRANSLATORS: short labels for processor, memory, disk and network
           * use on a node card, in two columns: keep the tab and newline */
          g_snprintf (buffer, sizeof buffer, _("CPU %d%%\tMEM %d%%\nDISK %d%%\tNET %d%%"),
                      shown[0], shown[1], shown[2], shown[3]);
          pango_layout_set_text (item->figures_layout, buffer, -1);
        }
      memcpy (item->shown, shown, sizeof shown);
      item->figures_dirty = FALSE;
    }
}

static void
update_edge_layout (TableroCanvas *self,
                    EdgeItem      *item)
{
  TableroEdge *edge = item->edge;
  const char * const *resource;
  GString *text;
  char rate[32];

  if (item->label_layout == NULL)
    {
      item->label_layout = make_layout (self, FALSE, TRUE, 0);
      item->rate_layout = make_layout (self, FALSE, TRUE, 0);
      item->label_dirty = TRUE;
    }
  if (!item->label_dirty)
    return;

  item->shown_rate = (int) round (tablero_edge_get_rate (edge) * 10.0);
  if (item->shown_rate >= 100)
    /* TRANSLATORS: dispatches per second along a connection, e.g. "12/s" */
    g_snprintf (rate, sizeof rate, _("%d/s"), (item->shown_rate + 5) / 10);
  else
    /* TRANSLATORS: dispatches per second along a connection, e.g. "0.5/s" */
    g_snprintf (rate, sizeof rate, _("%.1f/s"), item->shown_rate / 10.0);
  pango_layout_set_text (item->rate_layout, rate, -1);

  /* Only when the label changes: building it allocates. */
  text = g_string_new (tablero_edge_get_method (edge) ? tablero_edge_get_method (edge) : "*");
  g_string_append_c (text, ' ');
  resource = tablero_edge_get_resource (edge);
  if (resource == NULL || resource[0] == NULL)
    g_string_append_c (text, '/');
  for (guint i = 0; resource != NULL && resource[i] != NULL; i++)
    {
      g_string_append_c (text, '/');
      g_string_append (text, resource[i]);
    }
  /* TRANSLATORS: separates a connection's endpoint from its rate */
  g_string_append (text, C_("edge label", " · "));
  g_string_append (text, rate);

  pango_layout_set_text (item->label_layout, text->str, text->len);
  g_string_free (text, TRUE);
  item->label_dirty = FALSE;
}

static void
append_rounded_color (GtkSnapshot           *snapshot,
                      const graphene_rect_t *rect,
                      float                  radius,
                      const GdkRGBA         *color)
{
  GskRoundedRect outline;

  gsk_rounded_rect_init_from_rect (&outline, rect, radius);
  gtk_snapshot_push_rounded_clip (snapshot, &outline);
  gtk_snapshot_append_color (snapshot, color, rect);
  gtk_snapshot_pop (snapshot);
}

static void
append_rounded_border (GtkSnapshot           *snapshot,
                       const graphene_rect_t *rect,
                       float                  radius,
                       float                  width,
                       const GdkRGBA         *color)
{
  GskRoundedRect outline;
  const float widths[4] = { width, width, width, width };
  const GdkRGBA colors[4] = { *color, *color, *color, *color };

  gsk_rounded_rect_init_from_rect (&outline, rect, radius);
  gtk_snapshot_append_border (snapshot, &outline, widths, colors);
}

static void
snapshot_grid (TableroCanvas *self,
               GtkSnapshot   *snapshot,
               int            width,
               int            height)
{
  double step = GRID * self->zoom;
  double ox, oy;

  /* Fall back to a coarser grid where 20 units would be a blur of lines. */
  while (step < 10)
    step *= 5;

  ox = fmod (-self->origin_x * self->zoom, step);
  oy = fmod (-self->origin_y * self->zoom, step);
  if (ox > 0)
    ox -= step;
  if (oy > 0)
    oy -= step;

  /* One tile, repeated by the renderer. */
  gtk_snapshot_push_repeat (snapshot,
                            &GRAPHENE_RECT_INIT (0, 0, width, height),
                            &GRAPHENE_RECT_INIT (ox, oy, step, step));
  gtk_snapshot_append_color (snapshot, &self->colors[COLOR_GRID],
                             &GRAPHENE_RECT_INIT (ox, oy, step, 1));
  gtk_snapshot_append_color (snapshot, &self->colors[COLOR_GRID],
                             &GRAPHENE_RECT_INIT (ox, oy + 1, 1, step - 1));
  gtk_snapshot_pop (snapshot);
}

static void
draw_arrow (cairo_t *cr,
            double   x1,
            double   y1,
            double   x2,
            double   y2,
            double   line_width)
{
  double angle = atan2 (y2 - y1, x2 - x1);
  double size = ARROW_SIZE + line_width;
  double bx = x2 - cos (angle) * size * 0.8;
  double by = y2 - sin (angle) * size * 0.8;

  cairo_set_line_width (cr, line_width);
  cairo_move_to (cr, x1, y1);
  cairo_line_to (cr, bx, by);
  cairo_stroke (cr);

  cairo_move_to (cr, x2, y2);
  cairo_line_to (cr, x2 - size * cos (angle - 0.42), y2 - size * sin (angle - 0.42));
  cairo_line_to (cr, x2 - size * cos (angle + 0.42), y2 - size * sin (angle + 0.42));
  cairo_close_path (cr);
  cairo_fill (cr);
}

/* The edge being drawn, from the port to the pointer or its target. */
static void
draft_edge_geometry (TableroCanvas *self,
                     double        *x1,
                     double        *y1,
                     double        *x2,
                     double        *y2)
{
  *x1 = tablero_node_get_x (self->drag_node) + NODE_W / 2;
  *y1 = tablero_node_get_y (self->drag_node);
  if (self->edge_target != NULL)
    {
      *x2 = tablero_node_get_x (self->edge_target) - NODE_W / 2;
      *y2 = tablero_node_get_y (self->edge_target);
    }
  else
    tablero_canvas_widget_to_canvas (self, self->drag_x, self->drag_y, x2, y2);
}

static void
extend_extent (graphene_rect_t *extent,
               gboolean        *has_extent,
               double           x1,
               double           y1,
               double           x2,
               double           y2)
{
  const double m = ARROW_SIZE + 2;
  graphene_rect_t r = GRAPHENE_RECT_INIT (MIN (x1, x2) - m, MIN (y1, y2) - m,
                                          fabs (x2 - x1) + 2 * m, fabs (y2 - y1) + 2 * m);

  if (*has_extent)
    graphene_rect_union (extent, &r, extent);
  else
    *extent = r;
  *has_extent = TRUE;
}

/* All edges in one cairo node, no larger than the part of the widget they
 * cover: with a software renderer every pixel of it costs on each frame. */
static GskRenderNode *
create_edges_node (TableroCanvas *self,
                   int            width,
                   int            height)
{
  g_autoptr (GtkSnapshot) snapshot = NULL;
  graphene_rect_t visible, extent, bounds;
  gboolean has_extent = FALSE;
  gboolean drafting = self->drag_mode == DRAG_EDGE && self->drag_node != NULL;
  double x1, y1, x2, y2;
  cairo_t *cr;

  tablero_canvas_get_visible_area (self, &visible);
  for (guint i = 0; i < self->edge_items->len; i++)
    {
      EdgeItem *item = g_ptr_array_index (self->edge_items, i);

      if (edge_geometry (self, item->edge, &x1, &y1, &x2, &y2))
        extend_extent (&extent, &has_extent, x1, y1, x2, y2);
    }
  if (drafting)
    {
      draft_edge_geometry (self, &x1, &y1, &x2, &y2);
      extend_extent (&extent, &has_extent, x1, y1, x2, y2);
    }
  if (!has_extent || !graphene_rect_intersection (&extent, &visible, &extent))
    return NULL;

  /* To widget pixels, whole ones. */
  graphene_rect_init (&bounds,
                      floor ((extent.origin.x - self->origin_x) * self->zoom),
                      floor ((extent.origin.y - self->origin_y) * self->zoom),
                      0, 0);
  bounds.size.width = MIN (width, ceil ((graphene_rect_get_x (&extent) + extent.size.width
                                         - self->origin_x) * self->zoom)) - bounds.origin.x;
  bounds.size.height = MIN (height, ceil ((graphene_rect_get_y (&extent) + extent.size.height
                                           - self->origin_y) * self->zoom)) - bounds.origin.y;
  if (bounds.size.width <= 0 || bounds.size.height <= 0)
    return NULL;

  snapshot = gtk_snapshot_new ();
  cr = gtk_snapshot_append_cairo (snapshot, &bounds);
  cairo_scale (cr, self->zoom, self->zoom);
  cairo_translate (cr, -self->origin_x, -self->origin_y);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);

  for (guint i = 0; i < self->edge_items->len; i++)
    {
      EdgeItem *item = g_ptr_array_index (self->edge_items, i);
      graphene_rect_t r;
      gboolean selected;

      if (!edge_geometry (self, item->edge, &x1, &y1, &x2, &y2))
        continue;
      graphene_rect_init (&r, MIN (x1, x2) - ARROW_SIZE, MIN (y1, y2) - ARROW_SIZE,
                          fabs (x2 - x1) + 2 * ARROW_SIZE, fabs (y2 - y1) + 2 * ARROW_SIZE);
      if (!graphene_rect_intersection (&r, &visible, NULL))
        continue;

      selected = tablero_edge_get_selected (item->edge);
      gdk_cairo_set_source_rgba (cr, selected ? &self->colors[COLOR_ACCENT]
                                              : &self->colors[COLOR_DIM]);
      draw_arrow (cr, x1, y1, x2, y2, selected ? 3.0 : 1.75);
    }

  if (drafting)
    {
      const double dashes[] = { 6, 4 };

      draft_edge_geometry (self, &x1, &y1, &x2, &y2);
      gdk_cairo_set_source_rgba (cr, &self->colors[COLOR_ACCENT]);
      cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
      draw_arrow (cr, x1, y1, x2, y2, 2.0);
    }

  cairo_destroy (cr);
  return gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
}

static void
snapshot_edge_labels (TableroCanvas         *self,
                      GtkSnapshot           *snapshot,
                      const graphene_rect_t *visible)
{
  for (guint i = 0; i < self->edge_items->len; i++)
    {
      EdgeItem *item = g_ptr_array_index (self->edge_items, i);
      PangoLayout *layout;
      double x1, y1, x2, y2, mx, my;
      int w, h;
      graphene_rect_t pill;
      gboolean selected;

      if (!edge_geometry (self, item->edge, &x1, &y1, &x2, &y2))
        continue;
      mx = (x1 + x2) / 2;
      my = (y1 + y2) / 2;
      if (!graphene_rect_contains_point (visible, &GRAPHENE_POINT_INIT (mx, my)))
        continue;

      update_edge_layout (self, item);
      layout = item->label_layout;
      pango_layout_get_pixel_size (layout, &w, &h);
      /* A label longer than its edge shows only the rate, unless selected. */
      selected = tablero_edge_get_selected (item->edge);
      if (!selected && w > hypot (x2 - x1, y2 - y1) - 2 * ARROW_SIZE)
        {
          layout = item->rate_layout;
          pango_layout_get_pixel_size (layout, &w, &h);
          if (w > hypot (x2 - x1, y2 - y1) - 2 * ARROW_SIZE)
            continue;
        }

      graphene_rect_init (&pill, mx - w / 2.0 - 8, my - h / 2.0 - 3, w + 16, h + 6);
      append_rounded_color (snapshot, &pill, pill.size.height / 2, &self->colors[COLOR_CANVAS]);
      append_rounded_border (snapshot, &pill, pill.size.height / 2, selected ? 2 : 1,
                             selected ? &self->colors[COLOR_ACCENT] : &self->colors[COLOR_BORDER]);

      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (mx - w / 2.0, my - h / 2.0));
      gtk_snapshot_append_layout (snapshot, layout, &self->colors[COLOR_FG]);
      gtk_snapshot_restore (snapshot);
    }
}

static void
snapshot_layout_at (GtkSnapshot   *snapshot,
                    PangoLayout   *layout,
                    double         x,
                    double         y,
                    const GdkRGBA *color)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static void
snapshot_node (TableroCanvas *self,
               GtkSnapshot   *snapshot,
               NodeItem      *item)
{
  TableroNode *node = item->node;
  gboolean selected = tablero_node_get_selected (node);
  TableroLevel level = tablero_node_get_level (node);
  const GdkRGBA *level_rgba = level_color (self, level);
  double left = tablero_node_get_x (node) - NODE_W / 2;
  double top = tablero_node_get_y (node) - NODE_H / 2;
  double saturation = CLAMP (tablero_node_get_saturation (node), 0.0, 1.0);
  graphene_rect_t card = GRAPHENE_RECT_INIT (left, top, NODE_W, NODE_H);
  graphene_rect_t bar;
  GskRoundedRect outline;

  /* Far out: a block with its state and saturation, nothing else. */
  if (self->zoom < LOD_NAME)
    {
      gtk_snapshot_append_color (snapshot, selected ? &self->colors[COLOR_ACCENT]
                                                    : &self->colors[COLOR_BORDER],
                                 &GRAPHENE_RECT_INIT (left - 4, top - 4, NODE_W + 8, NODE_H + 8));
      gtk_snapshot_append_color (snapshot, &self->colors[COLOR_CARD], &card);
      gtk_snapshot_append_color (snapshot, state_color (self, tablero_node_get_state (node)),
                                 &GRAPHENE_RECT_INIT (left, top, NODE_W, 24));
      gtk_snapshot_append_color (snapshot, &self->colors[COLOR_FAINT],
                                 &GRAPHENE_RECT_INIT (left + 12, top + NODE_H - 40,
                                                      NODE_W - 24, 24));
      gtk_snapshot_append_color (snapshot, level_rgba,
                                 &GRAPHENE_RECT_INIT (left + 12, top + NODE_H - 40,
                                                      (NODE_W - 24) * saturation, 24));
      return;
    }

  gsk_rounded_rect_init_from_rect (&outline, &card, CARD_RADIUS);

  if (selected)
    {
      graphene_rect_t ring = card;

      graphene_rect_inset (&ring, -4, -4);
      append_rounded_border (snapshot, &ring, CARD_RADIUS + 4, 3, &self->colors[COLOR_ACCENT]);
    }
  else if (self->zoom >= LOD_FULL)
    gtk_snapshot_append_outset_shadow (snapshot, &outline, &self->colors[COLOR_SHADOW], 0, 1, 0, 4);

  gtk_snapshot_push_rounded_clip (snapshot, &outline);
  gtk_snapshot_append_color (snapshot, &self->colors[COLOR_CARD], &card);
  gtk_snapshot_pop (snapshot);

  if (level == TABLERO_LEVEL_OK)
    append_rounded_border (snapshot, &card, CARD_RADIUS, 1, &self->colors[COLOR_BORDER]);
  else
    append_rounded_border (snapshot, &card, CARD_RADIUS, 2, level_rgba);

  update_node_layouts (self, item, self->zoom >= LOD_FULL);

  if (self->zoom < LOD_FULL)
    {
      /* Middle distance: a larger name and the state and saturation. */
      int w, h;
      double scale;

      pango_layout_get_pixel_size (item->name_layout, &w, &h);
      scale = MIN (1.6, (NODE_W - 2 * PADDING) / MAX (w, 1));
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (left + PADDING, top + PADDING));
      gtk_snapshot_scale (snapshot, scale, scale);
      gtk_snapshot_append_layout (snapshot, item->name_layout, &self->colors[COLOR_FG]);
      gtk_snapshot_restore (snapshot);

      append_rounded_color (snapshot,
                            &GRAPHENE_RECT_INIT (left + PADDING, top + 48, 16, 16), 8,
                            state_color (self, tablero_node_get_state (node)));
      bar = GRAPHENE_RECT_INIT (left + PADDING, top + NODE_H - PADDING - 12,
                                NODE_W - 2 * PADDING, 12);
      append_rounded_color (snapshot, &bar, 6, &self->colors[COLOR_FAINT]);
      bar.size.width *= saturation;
      if (bar.size.width > 0)
        append_rounded_color (snapshot, &bar, 6, level_rgba);
      return;
    }

  /* Close up: the whole card. */
  ensure_icons (self);
  if (self->kind_icons[tablero_node_get_kind (node) % 3] != NULL)
    {
      const GdkRGBA icon_colors[4] = {
        self->colors[COLOR_DIM], self->colors[COLOR_ERROR],
        self->colors[COLOR_WARNING], self->colors[COLOR_SUCCESS],
      };

      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (left + PADDING, top + ROW_NAME + 2));
      gtk_symbolic_paintable_snapshot_symbolic (
        GTK_SYMBOLIC_PAINTABLE (self->kind_icons[tablero_node_get_kind (node) % 3]),
        snapshot, 16, 16, icon_colors, G_N_ELEMENTS (icon_colors));
      gtk_snapshot_restore (snapshot);
    }
  snapshot_layout_at (snapshot, item->name_layout, left + PADDING + 22, top + ROW_NAME,
                      &self->colors[COLOR_FG]);

  /* State: a coloured dot and its name; the saturation figure on the right. */
  append_rounded_color (snapshot, &GRAPHENE_RECT_INIT (left + PADDING, top + ROW_STATE + 5, 8, 8),
                        4, state_color (self, tablero_node_get_state (node)));
  snapshot_layout_at (snapshot, item->state_layout, left + PADDING + 14, top + ROW_STATE,
                      &self->colors[COLOR_FG]);
  {
    int w, h;
    pango_layout_get_pixel_size (item->percent_layout, &w, &h);
    snapshot_layout_at (snapshot, item->percent_layout,
                        left + NODE_W - PADDING - w, top + ROW_STATE,
                        level == TABLERO_LEVEL_OK ? &self->colors[COLOR_FG] : level_rgba);
  }

  bar = GRAPHENE_RECT_INIT (left + PADDING, top + ROW_BAR, NODE_W - 2 * PADDING, 5);
  append_rounded_color (snapshot, &bar, 2.5, &self->colors[COLOR_FAINT]);
  bar.size.width *= saturation;
  if (bar.size.width > 0)
    append_rounded_color (snapshot, &bar, 2.5, level_rgba);

  snapshot_layout_at (snapshot, item->figures_layout, left + PADDING, top + ROW_FIGURES,
                      &self->colors[COLOR_DIM]);

  /* The port handle, to draw a connection from. */
  {
    gboolean active = node == self->hover_node || selected ||
                      (self->drag_mode == DRAG_EDGE && node == self->drag_node);
    graphene_rect_t port = GRAPHENE_RECT_INIT (left + NODE_W - PORT_RADIUS,
                                               top + NODE_H / 2 - PORT_RADIUS,
                                               2 * PORT_RADIUS, 2 * PORT_RADIUS);

    append_rounded_color (snapshot, &port, PORT_RADIUS,
                          active ? &self->colors[COLOR_ACCENT] : &self->colors[COLOR_CARD]);
    append_rounded_border (snapshot, &port, PORT_RADIUS, 1.5,
                           active ? &self->colors[COLOR_ACCENT] : &self->colors[COLOR_DIM]);
  }
}

static void
tablero_canvas_snapshot (GtkWidget   *widget,
                         GtkSnapshot *snapshot)
{
  TableroCanvas *self = TABLERO_CANVAS (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  graphene_rect_t visible;

  if (width <= 0 || height <= 0)
    return;

  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));

  /* Far out the grid is only noise over the blocks, and a full-size layer. */
  if (self->snap_to_grid && self->zoom >= LOD_NAME)
    snapshot_grid (self, snapshot, width, height);

  if (self->edges_dirty)
    {
      g_clear_pointer (&self->edges_node, gsk_render_node_unref);
      self->edges_node = create_edges_node (self, width, height);
      self->edges_dirty = FALSE;
    }
  if (self->edges_node != NULL)
    gtk_snapshot_append_node (snapshot, self->edges_node);

  tablero_canvas_get_visible_area (self, &visible);
  /* Let cards that poke into view by their shadow or ring be drawn. */
  graphene_rect_inset (&visible, -8, -8);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_scale (snapshot, self->zoom, self->zoom);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (-self->origin_x, -self->origin_y));

  if (self->zoom >= LOD_FULL)
    snapshot_edge_labels (self, snapshot, &visible);

  for (guint i = 0; i < self->node_items->len; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      double x = tablero_node_get_x (item->node);
      double y = tablero_node_get_y (item->node);

      /* Cull: cheap test on the centre against the visible area grown by a card. */
      if (x + NODE_W / 2 < visible.origin.x ||
          x - NODE_W / 2 > visible.origin.x + visible.size.width ||
          y + NODE_H / 2 < visible.origin.y ||
          y - NODE_H / 2 > visible.origin.y + visible.size.height)
        continue;

      snapshot_node (self, snapshot, item);
    }

  /* A connection drawn onto a node: ring it so the user sees the target. */
  if (self->drag_mode == DRAG_EDGE && self->edge_target != NULL)
    {
      graphene_rect_t r;
      tablero_canvas_get_node_bounds (self->edge_target, &r);
      graphene_rect_inset (&r, -4, -4);
      append_rounded_border (snapshot, &r, CARD_RADIUS + 4, 3, &self->colors[COLOR_ACCENT]);
    }

  gtk_snapshot_restore (snapshot);

  if (self->drag_mode == DRAG_RUBBER)
    {
      graphene_rect_t band = GRAPHENE_RECT_INIT (MIN (self->drag_start_x, self->drag_x),
                                                 MIN (self->drag_start_y, self->drag_y),
                                                 fabs (self->drag_x - self->drag_start_x),
                                                 fabs (self->drag_y - self->drag_start_y));
      gtk_snapshot_append_color (snapshot, &self->colors[COLOR_RUBBER], &band);
      append_rounded_border (snapshot, &band, 0, 1, &self->colors[COLOR_ACCENT]);
    }

  gtk_snapshot_pop (snapshot);
}

/* ---- pointer input ------------------------------------------------------ */

static void
set_edge_target (TableroCanvas *self,
                 TableroNode   *target)
{
  if (self->edge_target == target)
    return;
  self->edge_target = target;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
restore_move_starts (TableroCanvas *self)
{
  for (guint i = 0; i < self->move_starts->len; i++)
    {
      MoveStart *start = &g_array_index (self->move_starts, MoveStart, i);
      tablero_node_set_position (start->node, start->x, start->y);
    }
}

/* The drag showed the nodes moving by setting their positions directly;
 * put them back and replay the move through the stack as one undo step. */
static void
commit_move (TableroCanvas *self)
{
  g_autoptr (GArray) finals = g_array_new (FALSE, FALSE, sizeof (MoveStart));
  gboolean moved = FALSE;

  for (guint i = 0; i < self->move_starts->len; i++)
    {
      MoveStart *start = &g_array_index (self->move_starts, MoveStart, i);
      MoveStart final = { start->node, tablero_node_get_x (start->node),
                          tablero_node_get_y (start->node) };

      g_array_append_val (finals, final);
      moved |= final.x != start->x || final.y != start->y;
    }

  restore_move_starts (self);
  if (!moved || self->stack == NULL)
    return;

  tablero_stack_begin_group (self->stack,
                             g_dngettext (GETTEXT_PACKAGE, "Move node", "Move nodes", finals->len));
  for (guint i = 0; i < finals->len; i++)
    {
      MoveStart *final = &g_array_index (finals, MoveStart, i);
      if (in_stack (self, final->node))
        tablero_stack_move_node (self->stack, final->node, final->x, final->y);
    }
  tablero_stack_end_group (self->stack);
}

static void
clear_move_starts (TableroCanvas *self)
{
  for (guint i = 0; i < self->move_starts->len; i++)
    g_object_unref (g_array_index (self->move_starts, MoveStart, i).node);
  g_array_set_size (self->move_starts, 0);
}

static void
begin_move (TableroCanvas *self)
{
  clear_move_starts (self);
  for (guint i = 0; i < self->node_items->len; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      MoveStart start;

      if (!tablero_node_get_selected (item->node))
        continue;
      start.node = g_object_ref (item->node);
      start.x = tablero_node_get_x (item->node);
      start.y = tablero_node_get_y (item->node);
      g_array_append_val (self->move_starts, start);
    }
}

static gboolean
is_double_click (TableroCanvas *self,
                 TableroNode   *node,
                 guint32        time)
{
  GtkSettings *settings = gtk_widget_get_settings (GTK_WIDGET (self));
  int double_click_time = 400;

  g_object_get (settings, "gtk-double-click-time", &double_click_time, NULL);
  return node == self->last_press_node && time != GDK_CURRENT_TIME &&
         time - self->last_press_time <= (guint32) double_click_time;
}

static void
drag_begin (GtkGestureDrag *gesture,
            double          x,
            double          y,
            TableroCanvas  *self)
{
  GtkEventController *controller = GTK_EVENT_CONTROLLER (gesture);
  GdkModifierType state = gtk_event_controller_get_current_event_state (controller);
  guint32 time = gtk_event_controller_get_current_event_time (controller);
  gboolean ctrl = (state & GDK_CONTROL_MASK) != 0;
  gboolean shift = (state & GDK_SHIFT_MASK) != 0;
  TableroNode *port_node, *node;
  TableroEdge *edge;

  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  if (!gtk_widget_has_focus (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));
  self->has_context_point = FALSE;

  self->drag_start_x = self->drag_x = x;
  self->drag_start_y = self->drag_y = y;
  self->drag_moved = FALSE;
  self->select_only_on_release = FALSE;
  self->drag_mode = DRAG_NONE;

  port_node = port_at (self, x, y);
  node = tablero_canvas_node_at (self, x, y);

  if (port_node != NULL || (node != NULL && shift))
    {
      self->drag_mode = DRAG_EDGE;
      self->drag_node = port_node ? port_node : node;
      self->edge_target = NULL;
      self->edges_dirty = TRUE;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }

  if (node != NULL)
    {
      if (is_double_click (self, node, time))
        {
          self->last_press_node = NULL;
          tablero_canvas_select_node (self, node, FALSE);
          tablero_canvas_start_rename (self, node);
          return;
        }
      self->last_press_node = node;
      self->last_press_time = time;

      if (ctrl)
        {
          tablero_node_set_selected (node, !tablero_node_get_selected (node));
          emit_selection_changed (self);
          if (!tablero_node_get_selected (node))
            return;
        }
      else if (!tablero_node_get_selected (node))
        tablero_canvas_select_node (self, node, FALSE);
      else
        self->select_only_on_release = TRUE;

      self->drag_mode = DRAG_MOVE;
      self->drag_node = node;
      begin_move (self);
      return;
    }

  self->last_press_node = NULL;
  if (!self->space_held && (edge = tablero_canvas_edge_at (self, x, y)) != NULL)
    {
      select_edge (self, edge, ctrl);
      return;
    }

  if (ctrl || self->space_held)
    {
      self->drag_mode = DRAG_PAN;
      self->pan_origin_x = self->origin_x;
      self->pan_origin_y = self->origin_y;
      gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
      return;
    }

  self->drag_mode = DRAG_RUBBER;
  if (!shift)
    tablero_canvas_unselect_all (self);
  g_clear_pointer (&self->rubber_base, g_hash_table_unref);
  self->rubber_base = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < self->node_items->len; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      if (tablero_node_get_selected (item->node))
        g_hash_table_add (self->rubber_base, item->node);
    }
}

static void
update_rubber_band (TableroCanvas *self)
{
  double x1, y1, x2, y2;
  graphene_rect_t band;
  gboolean changed = FALSE;

  tablero_canvas_widget_to_canvas (self, MIN (self->drag_start_x, self->drag_x),
                                   MIN (self->drag_start_y, self->drag_y), &x1, &y1);
  tablero_canvas_widget_to_canvas (self, MAX (self->drag_start_x, self->drag_x),
                                   MAX (self->drag_start_y, self->drag_y), &x2, &y2);
  graphene_rect_init (&band, x1, y1, x2 - x1, y2 - y1);

  for (guint i = 0; i < self->node_items->len; i++)
    {
      NodeItem *item = g_ptr_array_index (self->node_items, i);
      graphene_rect_t r;
      gboolean selected;

      tablero_canvas_get_node_bounds (item->node, &r);
      selected = graphene_rect_intersection (&band, &r, NULL) ||
                 (self->rubber_base && g_hash_table_contains (self->rubber_base, item->node));
      if (selected != tablero_node_get_selected (item->node))
        {
          tablero_node_set_selected (item->node, selected);
          changed = TRUE;
        }
    }
  if (changed)
    emit_selection_changed (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_update (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             TableroCanvas  *self)
{
  self->drag_x = self->drag_start_x + dx;
  self->drag_y = self->drag_start_y + dy;

  switch (self->drag_mode)
    {
    case DRAG_MOVE:
      {
        MoveStart *primary = NULL;
        double ddx, ddy;

        if (!self->drag_moved && hypot (dx, dy) < DRAG_THRESHOLD)
          return;
        self->drag_moved = TRUE;

        for (guint i = 0; i < self->move_starts->len; i++)
          if (g_array_index (self->move_starts, MoveStart, i).node == self->drag_node)
            primary = &g_array_index (self->move_starts, MoveStart, i);
        if (primary == NULL)
          return;

        ddx = dx / self->zoom;
        ddy = dy / self->zoom;
        if (self->snap_to_grid)
          {
            /* Snap the grabbed card's corner; the others keep their offsets. */
            double left = snap_value (primary->x + ddx - NODE_W / 2);
            double top = snap_value (primary->y + ddy - NODE_H / 2);
            ddx = left + NODE_W / 2 - primary->x;
            ddy = top + NODE_H / 2 - primary->y;
          }

        for (guint i = 0; i < self->move_starts->len; i++)
          {
            MoveStart *start = &g_array_index (self->move_starts, MoveStart, i);
            tablero_node_set_position (start->node, start->x + ddx, start->y + ddy);
          }
      }
      break;

    case DRAG_PAN:
      self->origin_x = self->pan_origin_x - dx / self->zoom;
      self->origin_y = self->pan_origin_y - dy / self->zoom;
      view_changed (self);
      break;

    case DRAG_RUBBER:
      update_rubber_band (self);
      break;

    case DRAG_EDGE:
      {
        double x, y;

        tablero_canvas_widget_to_canvas (self, self->drag_x, self->drag_y, &x, &y);
        set_edge_target (self, node_at_canvas (self, x, y, self->drag_node));
        self->edges_dirty = TRUE;
        gtk_widget_queue_draw (GTK_WIDGET (self));
      }
      break;

    case DRAG_NONE:
    default:
      break;
    }
}

static void
drag_end (GtkGestureDrag *gesture,
          double          dx,
          double          dy,
          TableroCanvas  *self)
{
  DragMode mode = self->drag_mode;

  if (mode == DRAG_NONE)
    return;

  drag_update (gesture, dx, dy, self);
  self->drag_mode = DRAG_NONE;

  switch (mode)
    {
    case DRAG_MOVE:
      if (self->drag_moved)
        commit_move (self);
      else if (self->select_only_on_release && self->drag_node != NULL)
        tablero_canvas_select_node (self, self->drag_node, FALSE);
      clear_move_starts (self);
      break;

    case DRAG_EDGE:
      {
        TableroNode *source = self->drag_node;
        TableroNode *target = self->edge_target;

        self->edge_target = NULL;
        self->edges_dirty = TRUE;
        if (source != NULL && target != NULL && target != source)
          g_signal_emit (self, signals[EDGE_REQUESTED], 0, source, target);
      }
      break;

    case DRAG_RUBBER:
      g_clear_pointer (&self->rubber_base, g_hash_table_unref);
      break;

    case DRAG_PAN:
      gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
      break;

    case DRAG_NONE:
    default:
      break;
    }

  self->drag_node = NULL;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_cancel (GtkGesture       *gesture,
             GdkEventSequence *sequence,
             TableroCanvas    *self)
{
  if (self->drag_mode == DRAG_MOVE)
    restore_move_starts (self);
  clear_move_starts (self);
  g_clear_pointer (&self->rubber_base, g_hash_table_unref);
  self->drag_mode = DRAG_NONE;
  self->drag_node = self->edge_target = NULL;
  self->edges_dirty = TRUE;
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
pan_begin (GtkGestureDrag *gesture,
           double          x,
           double          y,
           TableroCanvas  *self)
{
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  self->pan_origin_x = self->origin_x;
  self->pan_origin_y = self->origin_y;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
}

static void
pan_update (GtkGestureDrag *gesture,
            double          dx,
            double          dy,
            TableroCanvas  *self)
{
  self->origin_x = self->pan_origin_x - dx / self->zoom;
  self->origin_y = self->pan_origin_y - dy / self->zoom;
  view_changed (self);
}

static void
pan_end (GtkGestureDrag *gesture,
         double          dx,
         double          dy,
         TableroCanvas  *self)
{
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
}

static void
zoom_begin (GtkGesture       *gesture,
            GdkEventSequence *sequence,
            TableroCanvas    *self)
{
  self->zoom_gesture_start = self->zoom;
}

static void
zoom_scale_changed (GtkGestureZoom *gesture,
                    double          scale,
                    TableroCanvas  *self)
{
  double cx, cy;

  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &cx, &cy))
    {
      cx = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      cy = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
  tablero_canvas_zoom_at (self, self->zoom_gesture_start * scale / self->zoom, cx, cy);
}

static gboolean
on_scroll (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           TableroCanvas            *self)
{
  GdkModifierType state =
    gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  gboolean wheel = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL;

  if (state & GDK_CONTROL_MASK)
    {
      int width = gtk_widget_get_width (GTK_WIDGET (self));
      int height = gtk_widget_get_height (GTK_WIDGET (self));
      double x = self->pointer_inside ? self->pointer_x : width / 2.0;
      double y = self->pointer_inside ? self->pointer_y : height / 2.0;
      double factor = wheel ? pow (1.15, -dy) : exp (-dy * 0.01);

      tablero_canvas_zoom_at (self, factor, x, y);
      return GDK_EVENT_STOP;
    }

  if ((state & GDK_SHIFT_MASK) && dx == 0)
    {
      dx = dy;
      dy = 0;
    }
  if (wheel)
    {
      dx *= 48;
      dy *= 48;
    }
  tablero_canvas_scroll_by (self, dx, dy);
  return GDK_EVENT_STOP;
}

static void
update_hover (TableroCanvas *self)
{
  TableroNode *hover = NULL;
  const char *cursor = NULL;

  if (self->pointer_inside && self->drag_mode == DRAG_NONE)
    {
      TableroNode *port = port_at (self, self->pointer_x, self->pointer_y);

      hover = port ? port : tablero_canvas_node_at (self, self->pointer_x, self->pointer_y);
      if (port != NULL)
        cursor = "crosshair";
      else if (self->space_held)
        cursor = "grab";
    }

  if (self->drag_mode == DRAG_NONE)
    gtk_widget_set_cursor_from_name (GTK_WIDGET (self), cursor);

  if (hover != self->hover_node)
    {
      self->hover_node = hover;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           TableroCanvas            *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
  self->pointer_inside = TRUE;
  update_hover (self);
}

static void
on_leave (GtkEventControllerMotion *controller,
          TableroCanvas            *self)
{
  self->pointer_inside = FALSE;
  update_hover (self);
}

static void
on_context_pressed (GtkGestureClick *gesture,
                    int              n_press,
                    double           x,
                    double           y,
                    TableroCanvas   *self)
{
  TableroNode *node = tablero_canvas_node_at (self, x, y);
  TableroEdge *edge = node ? NULL : tablero_canvas_edge_at (self, x, y);

  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  gtk_widget_grab_focus (GTK_WIDGET (self));

  if (node != NULL && !tablero_node_get_selected (node))
    tablero_canvas_select_node (self, node, FALSE);
  else if (edge != NULL && !tablero_edge_get_selected (edge))
    select_edge (self, edge, FALSE);

  self->context_x = x;
  self->context_y = y;
  self->has_context_point = TRUE;
  gtk_popover_set_pointing_to (GTK_POPOVER (self->context_menu),
                               &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (self->context_menu));
}

/* ---- keyboard ------------------------------------------------------------ */

static gboolean
on_key_pressed (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                TableroCanvas         *self)
{
  gboolean shift = (state & GDK_SHIFT_MASK) != 0;
  double step = self->snap_to_grid ? GRID : 10.0;
  double dx = 0, dy = 0;

  /* Keys typed in the rename popover bubble up here too. */
  if (!gtk_widget_has_focus (GTK_WIDGET (self)))
    return GDK_EVENT_PROPAGATE;

  if (state & (GDK_CONTROL_MASK | GDK_ALT_MASK))
    return GDK_EVENT_PROPAGATE;

  switch (keyval)
    {
    case GDK_KEY_space:
      self->space_held = TRUE;
      update_hover (self);
      return GDK_EVENT_STOP;

    case GDK_KEY_Tab:
    case GDK_KEY_KP_Tab:
    case GDK_KEY_ISO_Left_Tab:
      if (self->node_items->len == 0)
        return GDK_EVENT_PROPAGATE;
      tablero_canvas_select_next (self, shift || keyval == GDK_KEY_ISO_Left_Tab);
      return GDK_EVENT_STOP;

    case GDK_KEY_Escape:
      if (self->drag_mode != DRAG_NONE)
        {
          GList *controllers = NULL;
          g_autoptr (GListModel) list = gtk_widget_observe_controllers (GTK_WIDGET (self));

          for (guint i = 0; i < g_list_model_get_n_items (list); i++)
            {
              g_autoptr (GObject) c = g_list_model_get_item (list, i);
              if (GTK_IS_GESTURE_DRAG (c))
                controllers = g_list_prepend (controllers, g_object_ref (c));
            }
          for (GList *l = controllers; l; l = l->next)
            gtk_event_controller_reset (l->data);
          g_list_free_full (controllers, g_object_unref);
          return GDK_EVENT_STOP;
        }
      if (count_selected_nodes (self) + count_selected_edges (self) == 0)
        return GDK_EVENT_PROPAGATE;
      tablero_canvas_unselect_all (self);
      return GDK_EVENT_STOP;

    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      dx = -step;
      break;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      dx = step;
      break;
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      dy = -step;
      break;
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      dy = step;
      break;

    default:
      return GDK_EVENT_PROPAGATE;
    }

  if (shift)
    {
      dx *= 5;
      dy *= 5;
    }
  if (count_selected_nodes (self) > 0)
    tablero_canvas_move_selection (self, dx, dy);
  else
    /* Nothing selected: the arrows look around instead. */
    tablero_canvas_scroll_by (self, dx * 4 * self->zoom, dy * 4 * self->zoom);
  return GDK_EVENT_STOP;
}

static void
on_key_released (GtkEventControllerKey *controller,
                 guint                  keyval,
                 guint                  keycode,
                 GdkModifierType        state,
                 TableroCanvas         *self)
{
  if (keyval == GDK_KEY_space)
    {
      self->space_held = FALSE;
      update_hover (self);
    }
}

static void
on_focus_leave (GtkEventControllerFocus *controller,
                TableroCanvas           *self)
{
  self->space_held = FALSE;
}

/* ---- drag and drop from the palette ----------------------------------------- */

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         TableroCanvas *self)
{
  const char *kind_name;
  TableroNodeKind kind;
  double cx, cy;

  if (!G_VALUE_HOLDS_STRING (value) || self->stack == NULL)
    return FALSE;

  kind_name = g_value_get_string (value);
  if (!tablero_node_kind_from_string (kind_name, &kind))
    return FALSE;

  tablero_canvas_widget_to_canvas (self, x, y, &cx, &cy);
  g_signal_emit (self, signals[NODE_REQUESTED], 0, kind, cx, cy);
  return TRUE;
}

/* ---- actions ------------------------------------------------------------- */

static void
update_selection_actions (TableroCanvas *self)
{
  guint n_nodes = count_selected_nodes (self);
  guint n_edges = count_selected_edges (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "canvas.delete", n_nodes + n_edges > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "canvas.rename", n_nodes == 1);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "canvas.align", n_nodes > 1);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "canvas.select-all", self->node_items->len > 0);
}

static void
action_select_all (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  tablero_canvas_select_all (TABLERO_CANVAS (widget));
}

static void
action_delete (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  tablero_canvas_delete_selection (TABLERO_CANVAS (widget));
}

static void
action_rename (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  TableroCanvas *self = TABLERO_CANVAS (widget);
  g_autoptr (GPtrArray) nodes = tablero_canvas_get_selected_nodes (self);

  if (nodes->len == 1)
    tablero_canvas_start_rename (self, g_ptr_array_index (nodes, 0));
}

static void
action_zoom (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  TableroCanvas *self = TABLERO_CANVAS (widget);

  if (g_str_equal (action_name, "canvas.zoom-in"))
    tablero_canvas_set_zoom (self, self->zoom * 1.25);
  else if (g_str_equal (action_name, "canvas.zoom-out"))
    tablero_canvas_set_zoom (self, self->zoom / 1.25);
  else if (g_str_equal (action_name, "canvas.zoom-reset"))
    tablero_canvas_set_zoom (self, 1.0);
  else
    tablero_canvas_zoom_to_fit (self);
}

static void
action_align (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  static const char *names[] = { "left", "center", "right", "top", "middle", "bottom" };
  const char *name = g_variant_get_string (parameter, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (name, names[i]))
      tablero_canvas_align_selection (TABLERO_CANVAS (widget), (TableroCanvasAlign) i);
}

static void
action_add_node (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  TableroCanvas *self = TABLERO_CANVAS (widget);
  double x, y;
  TableroNodeKind kind;

  if (!tablero_node_kind_from_string (g_variant_get_string (parameter, NULL), &kind))
    return;

  tablero_canvas_get_insertion_point (self, &x, &y);
  self->has_context_point = FALSE;
  g_signal_emit (self, signals[NODE_REQUESTED], 0, kind, x, y);
}

/* ---- GtkWidget --------------------------------------------------------- */

static void
tablero_canvas_measure (GtkWidget      *widget,
                        GtkOrientation  orientation,
                        int             for_size,
                        int            *minimum,
                        int            *natural,
                        int            *minimum_baseline,
                        int            *natural_baseline)
{
  *minimum = 160;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 640 : 480;
}

static void
tablero_canvas_size_allocate (GtkWidget *widget,
                              int        width,
                              int        height,
                              int        baseline)
{
  TableroCanvas *self = TABLERO_CANVAS (widget);

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_POPOVER (child))
      gtk_popover_present (GTK_POPOVER (child));

  if (self->fit_pending && width > 0 && height > 0)
    tablero_canvas_zoom_to_fit (self);
  else
    view_changed (self);
}

static void
tablero_canvas_css_changed (GtkWidget         *widget,
                            GtkCssStyleChange *change)
{
  TableroCanvas *self = TABLERO_CANVAS (widget);
  PangoContext *context = gtk_widget_get_pango_context (widget);
  const PangoFontDescription *font = pango_context_get_font_description (context);

  GTK_WIDGET_CLASS (tablero_canvas_parent_class)->css_changed (widget, change);

  load_colors (self);
  if (self->font == NULL || font == NULL || !pango_font_description_equal (self->font, font))
    {
      g_clear_pointer (&self->font, pango_font_description_free);
      self->font = font ? pango_font_description_copy (font) : NULL;
      invalidate_layouts (self);
    }
  self->edges_dirty = TRUE;
  gtk_widget_queue_draw (widget);
}

static void
tablero_canvas_system_setting_changed (GtkWidget         *widget,
                                       GtkSystemSetting   setting)
{
  TableroCanvas *self = TABLERO_CANVAS (widget);

  GTK_WIDGET_CLASS (tablero_canvas_parent_class)->system_setting_changed (widget, setting);

  if (setting == GTK_SYSTEM_SETTING_ICON_THEME)
    clear_icons (self);
  else
    invalidate_layouts (self);
  gtk_widget_queue_draw (widget);
}

static gboolean
tablero_canvas_query_tooltip (GtkWidget  *widget,
                              int         x,
                              int         y,
                              gboolean    keyboard_tooltip,
                              GtkTooltip *tooltip)
{
  TableroCanvas *self = TABLERO_CANVAS (widget);
  TableroNode *node;
  TableroEdge *edge;
  g_autofree char *text = NULL;

  if (keyboard_tooltip || self->drag_mode != DRAG_NONE)
    return FALSE;

  if ((node = tablero_canvas_node_at (self, x, y)) != NULL)
    {
      g_autofree char *name = g_markup_escape_text (tablero_node_get_name (node), -1);

      /* TRANSLATORS: tooltip of a node: name, then kind · address:port · transport */
      text = g_strdup_printf (_("<b>%s</b>\n%s · %s:%u · %s"), name,
                              kind_label (tablero_node_get_kind (node)),
                              tablero_node_get_address (node),
                              tablero_node_get_port (node),
                              tablero_node_get_transport (node));
    }
  else if ((edge = tablero_canvas_edge_at (self, x, y)) != NULL && self->stack != NULL)
    {
      TableroNode *source = tablero_stack_find_node (self->stack,
                                                     tablero_edge_get_source_id (edge));
      TableroNode *target = tablero_stack_find_node (self->stack,
                                                     tablero_edge_get_target_id (edge));
      g_autofree char *resource = g_strjoinv ("/", (char **) tablero_edge_get_resource (edge));
      g_autofree char *endpoint = g_markup_printf_escaped ("%s /%s", tablero_edge_get_method (edge),
                                                           resource);
      g_autofree char *from = g_markup_escape_text (source ? tablero_node_get_name (source)
                                                           : "?", -1);
      g_autofree char *to = g_markup_escape_text (target ? tablero_node_get_name (target)
                                                         : "?", -1);

      /* TRANSLATORS: tooltip of a connection:
       * "<subscriber> subscribes to <endpoint> of <source>" */
      text = g_strdup_printf (_("<b>%s</b> subscribes to <tt>%s</tt> of <b>%s</b>"),
                              to, endpoint, from);
    }

  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_markup (tooltip, text);
  return TRUE;
}

static void
tablero_canvas_root (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (tablero_canvas_parent_class)->root (widget);
  clear_icons (TABLERO_CANVAS (widget));  /* the scale may have changed */
}

/* ---- GObject ----------------------------------------------------------- */

static void
disconnect_stack (TableroCanvas *self)
{
  if (self->stack == NULL)
    return;

  g_clear_signal_handler (&self->nodes_changed_id, self->nodes);
  g_clear_signal_handler (&self->edges_changed_id, self->edges);
  g_clear_signal_handler (&self->stack_changed_id, self->stack);
  clear_move_starts (self);
  g_clear_pointer (&self->rubber_base, g_hash_table_unref);
  g_hash_table_remove_all (self->items_by_id);
  g_ptr_array_set_size (self->node_items, 0);
  g_ptr_array_set_size (self->edge_items, 0);
  self->drag_mode = DRAG_NONE;
  self->drag_node = self->edge_target = self->hover_node = self->last_press_node = NULL;
  g_clear_object (&self->nodes);
  g_clear_object (&self->edges);
  g_clear_object (&self->stack);
}

TableroStack *
tablero_canvas_get_stack (TableroCanvas *self)
{
  g_return_val_if_fail (TABLERO_IS_CANVAS (self), NULL);

  return self->stack;
}

void
tablero_canvas_set_stack (TableroCanvas *self,
                          TableroStack  *stack)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));
  g_return_if_fail (stack == NULL || TABLERO_IS_STACK (stack));

  if (self->stack == stack)
    return;

  if (self->renaming != NULL)
    gtk_popover_popdown (GTK_POPOVER (self->rename_popover));
  disconnect_stack (self);

  if (stack != NULL)
    {
      self->stack = g_object_ref (stack);
      self->nodes = g_object_ref (tablero_stack_get_nodes (stack));
      self->edges = g_object_ref (tablero_stack_get_edges (stack));
      self->nodes_changed_id = g_signal_connect (self->nodes, "items-changed",
                                                 G_CALLBACK (on_nodes_items_changed), self);
      self->edges_changed_id = g_signal_connect (self->edges, "items-changed",
                                                 G_CALLBACK (on_edges_items_changed), self);
      self->stack_changed_id = g_signal_connect (stack, "changed",
                                                 G_CALLBACK (on_stack_changed), self);
      on_nodes_items_changed (self->nodes, 0, 0, g_list_model_get_n_items (self->nodes), self);
      on_edges_items_changed (self->edges, 0, 0, g_list_model_get_n_items (self->edges), self);
    }

  self->find_position = 0;
  update_accessible_description (self);
  update_selection_actions (self);
  /* A stack opens showing all of it. */
  tablero_canvas_zoom_to_fit (self);
  queue_layout_changed (self);
  emit_selection_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STACK]);
}

gboolean
tablero_canvas_get_snap_to_grid (TableroCanvas *self)
{
  g_return_val_if_fail (TABLERO_IS_CANVAS (self), FALSE);

  return self->snap_to_grid;
}

void
tablero_canvas_set_snap_to_grid (TableroCanvas *self,
                                 gboolean       snap)
{
  g_return_if_fail (TABLERO_IS_CANVAS (self));

  snap = !!snap;
  if (self->snap_to_grid == snap)
    return;
  self->snap_to_grid = snap;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SNAP_TO_GRID]);
}

GtkWidget *
tablero_canvas_new (void)
{
  return g_object_new (TABLERO_TYPE_CANVAS, NULL);
}

static void
tablero_canvas_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  TableroCanvas *self = TABLERO_CANVAS (object);

  switch (prop_id)
    {
    case PROP_STACK:
      g_value_set_object (value, self->stack);
      break;
    case PROP_SNAP_TO_GRID:
      g_value_set_boolean (value, self->snap_to_grid);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_canvas_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  TableroCanvas *self = TABLERO_CANVAS (object);

  switch (prop_id)
    {
    case PROP_STACK:
      tablero_canvas_set_stack (self, g_value_get_object (value));
      break;
    case PROP_SNAP_TO_GRID:
      tablero_canvas_set_snap_to_grid (self, g_value_get_boolean (value));
      break;
    case PROP_ZOOM:
      tablero_canvas_set_zoom (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tablero_canvas_dispose (GObject *object)
{
  TableroCanvas *self = TABLERO_CANVAS (object);
  GtkWidget *child;

  disconnect_stack (self);
  g_clear_object (&self->renaming);
  g_clear_pointer (&self->edges_node, gsk_render_node_unref);
  clear_icons (self);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  gtk_widget_dispose_template (GTK_WIDGET (self), TABLERO_TYPE_CANVAS);

  G_OBJECT_CLASS (tablero_canvas_parent_class)->dispose (object);
}

static void
tablero_canvas_finalize (GObject *object)
{
  TableroCanvas *self = TABLERO_CANVAS (object);

  g_clear_pointer (&self->node_items, g_ptr_array_unref);
  g_clear_pointer (&self->edge_items, g_ptr_array_unref);
  g_clear_pointer (&self->items_by_id, g_hash_table_unref);
  g_clear_pointer (&self->move_starts, g_array_unref);
  g_clear_pointer (&self->font, pango_font_description_free);

  G_OBJECT_CLASS (tablero_canvas_parent_class)->finalize (object);
}

static void
tablero_canvas_class_init (TableroCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = tablero_canvas_get_property;
  object_class->set_property = tablero_canvas_set_property;
  object_class->dispose = tablero_canvas_dispose;
  object_class->finalize = tablero_canvas_finalize;

  widget_class->measure = tablero_canvas_measure;
  widget_class->size_allocate = tablero_canvas_size_allocate;
  widget_class->snapshot = tablero_canvas_snapshot;
  widget_class->css_changed = tablero_canvas_css_changed;
  widget_class->system_setting_changed = tablero_canvas_system_setting_changed;
  widget_class->root = tablero_canvas_root;
  widget_class->query_tooltip = tablero_canvas_query_tooltip;

  properties[PROP_STACK] =
    g_param_spec_object ("stack", NULL, NULL, TABLERO_TYPE_STACK,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SNAP_TO_GRID] =
    g_param_spec_boolean ("snap-to-grid", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL,
                         TABLERO_CANVAS_MIN_ZOOM, TABLERO_CANVAS_MAX_ZOOM, 1.0,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TableroCanvas::edge-requested:
   * @source: the node the connection starts from
   * @target: the node that will subscribe to an endpoint of @source
   *
   * The user drew a connection; the handler asks for the endpoint and
   * adds the edge to the stack.
   */
  signals[EDGE_REQUESTED] =
    g_signal_new ("edge-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, TABLERO_TYPE_NODE, TABLERO_TYPE_NODE);

  /**
   * TableroCanvas::node-requested:
   * @kind: a #TableroNodeKind
   * @x: canvas x of the new node's centre
   * @y: canvas y
   *
   * A node was dropped from the palette or asked for from the menu.
   */
  signals[NODE_REQUESTED] =
    g_signal_new ("node-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_DOUBLE, G_TYPE_DOUBLE);

  signals[SELECTION_CHANGED] =
    g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /* Pan, zoom or size changed: what part of the canvas is visible. */
  signals[VIEW_CHANGED] =
    g_signal_new ("view-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /* Nodes were added, removed or moved, or changed level. */
  signals[LAYOUT_CHANGED] =
    g_signal_new ("layout-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (
    widget_class, "/io/github/tablero/Tablero/canvas/tablero-canvas.ui");
  gtk_widget_class_bind_template_child (widget_class, TableroCanvas, rename_popover);
  gtk_widget_class_bind_template_child (widget_class, TableroCanvas, rename_entry);
  gtk_widget_class_bind_template_child (widget_class, TableroCanvas, context_menu);
  gtk_widget_class_bind_template_callback (widget_class, on_rename_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_rename_closed);

  gtk_widget_class_install_action (widget_class, "canvas.select-all", NULL, action_select_all);
  gtk_widget_class_install_action (widget_class, "canvas.delete", NULL, action_delete);
  gtk_widget_class_install_action (widget_class, "canvas.rename", NULL, action_rename);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-in", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-out", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-reset", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-fit", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.align", "s", action_align);
  gtk_widget_class_install_action (widget_class, "canvas.add-node", "s", action_add_node);
  gtk_widget_class_install_property_action (widget_class, "canvas.snap-to-grid", "snap-to-grid");

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, GDK_CONTROL_MASK,
                                       "canvas.select-all", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "canvas.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Delete, 0, "canvas.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_BackSpace, 0, "canvas.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F2, 0, "canvas.rename", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, GDK_CONTROL_MASK,
                                       "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, GDK_CONTROL_MASK,
                                       "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, GDK_CONTROL_MASK,
                                       "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, GDK_CONTROL_MASK,
                                       "canvas.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, GDK_CONTROL_MASK,
                                       "canvas.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK,
                                       "canvas.zoom-reset", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_CONTROL_MASK,
                                       "canvas.zoom-fit", NULL);

  gtk_widget_class_set_css_name (widget_class, "canvas");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_WIDGET);
}

static void
tablero_canvas_init (TableroCanvas *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->zoom = 1.0;
  self->snap_to_grid = TRUE;
  self->fit_pending = TRUE;
  self->edges_dirty = TRUE;
  self->node_items = g_ptr_array_new_with_free_func (node_item_free);
  self->edge_items = g_ptr_array_new_with_free_func (edge_item_free);
  self->items_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->move_starts = g_array_new (FALSE, FALSE, sizeof (MoveStart));

  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_focus_on_click (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  /* Primary button: select, move, rubber band, pan with Ctrl or Space, connect. */
  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_PRIMARY);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end), self);
  g_signal_connect (gesture, "cancel", G_CALLBACK (drag_cancel), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  /* Middle button: pan. */
  gesture = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_MIDDLE);
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (pan_begin), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (pan_update), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (pan_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  /* Secondary button: context menu. */
  gesture = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (gesture), GDK_BUTTON_SECONDARY);
  g_signal_connect (gesture, "pressed", G_CALLBACK (on_context_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (zoom_begin), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (zoom_scale_changed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  g_signal_connect (controller, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (controller, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect (controller, "key-pressed", G_CALLBACK (on_key_pressed), self);
  g_signal_connect (controller, "key-released", G_CALLBACK (on_key_released), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_focus_new ();
  g_signal_connect (controller, "leave", G_CALLBACK (on_focus_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = GTK_EVENT_CONTROLLER (gtk_drop_target_new (G_TYPE_STRING, GDK_ACTION_COPY));
  g_signal_connect (controller, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  load_colors (self);
  update_selection_actions (self);
  update_accessible_description (self);
}
