//! The rules a plugin's view must follow before the host draws it.
//!
//! The WIT documents them (`wit/since_v0.1.0/view.wit`); this module is
//! where they are enforced. A view that breaks one is refused as a whole:
//! the slot shows an error card naming the rule.

use crate::wit::latest::greenroom::plugin::view::{Cell, Chart, Field, FieldKind, NodeKind, View};

/// The most nodes in one view. A page of a thousand table rows is one
/// `table` node; thousands of nodes mean a plugin is drawing pixels with
/// cards, which would make the page slow for everyone.
pub const MAX_VIEW_NODES: usize = 5_000;

/// The most bytes of text in one view, counted as drawn: a string the
/// portal draws several times (a chart's unit and series names at each
/// point, a form field's name on each of its choices) counts each time.
/// The HTML the host draws is roughly this size; more would make the page
/// heavy and the render slow. Counted as sent, a chart with a 32 KiB unit
/// drew 125 MiB of HTML.
pub const MAX_VIEW_TEXT_BYTES: usize = 2 << 20;

/// The most table cells one view draws, counted as rows × columns (a cell
/// a row leaves out is drawn empty, and a row with no columns still
/// counts one). An empty 2 000 × 2 000 table is a few KiB of view and
/// was 110 MiB of HTML; 50 000 cells are a 5 000-row table of ten columns,
/// more than a page shows usefully. Raising it lets a small view draw that
/// many more `<td>`s (about 40 bytes each).
pub const MAX_TABLE_CELLS: usize = 50_000;

/// The most chart values one view draws, counted as points (x labels) ×
/// series: each is an SVG shape with a tooltip and a cell of the chart's
/// data table. Raising it makes every chart heavier for the browser.
pub const MAX_CHART_VALUES: usize = 20_000;

/// The deepest nesting of nodes. The portal draws views recursively;
/// real layouts nest a handful of levels, and a chain of thousands would
/// only exist to exhaust the host's stack.
pub const MAX_VIEW_DEPTH: usize = 32;

/// The most children a `grid` may have columns for.
const MAX_GRID_COLUMNS: u8 = 4;

/// A view that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid view: {0}")]
pub struct ViewError(pub String);

/// How large a view one plugin may return: the contract's maxima, or less
/// where the operator chose less for the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewLimits {
    /// Nodes, at most [`MAX_VIEW_NODES`].
    pub nodes: usize,
    /// Bytes of text, at most [`MAX_VIEW_TEXT_BYTES`].
    pub text_bytes: usize,
}

impl Default for ViewLimits {
    fn default() -> ViewLimits {
        ViewLimits {
            nodes: MAX_VIEW_NODES,
            text_bytes: MAX_VIEW_TEXT_BYTES,
        }
    }
}

/// Checks `view` against the contract's rules.
pub fn validate(view: &View) -> Result<(), ViewError> {
    validate_within(view, ViewLimits::default())
}

/// Checks `view` against the contract's rules, with `limits` for its size
/// (never more than the contract's maxima, whatever `limits` says).
pub fn validate_within(view: &View, limits: ViewLimits) -> Result<(), ViewError> {
    let most_nodes = limits.nodes.min(MAX_VIEW_NODES);
    let most_text = limits.text_bytes.min(MAX_VIEW_TEXT_BYTES);
    let nodes = &view.nodes;
    if nodes.is_empty() {
        return Err(ViewError("the view has no nodes".into()));
    }
    if nodes.len() > most_nodes {
        return Err(ViewError(format!(
            "the view has {} nodes; the most is {most_nodes}",
            nodes.len()
        )));
    }
    let mut has_parent = vec![false; nodes.len()];
    // Children come after their parents, so one pass in order sees every
    // parent's depth before its children's.
    let mut depth = vec![0usize; nodes.len()];
    let (mut text_bytes, mut cells, mut chart_values) = (0usize, 0usize, 0usize);
    for (index, node) in nodes.iter().enumerate() {
        text_bytes = text_bytes.saturating_add(node_text_bytes(&node.kind));
        match &node.kind {
            NodeKind::Table(table) => {
                cells = cells
                    .saturating_add(table.rows.len().saturating_mul(table.columns.len().max(1)));
            }
            NodeKind::Chart(chart) => {
                chart_values = chart_values.saturating_add(chart_points(chart));
            }
            _ => {}
        }
        if !node.children.is_empty() && !is_container(&node.kind) {
            return Err(ViewError(format!(
                "node {index} ({}) cannot have children",
                kind_name(&node.kind)
            )));
        }
        if let NodeKind::Tabs(tabs) = &node.kind
            && tabs.labels.len() != node.children.len()
        {
            return Err(ViewError(format!(
                "node {index} (tabs) has {} labels but {} panels",
                tabs.labels.len(),
                node.children.len()
            )));
        }
        if let NodeKind::Heading(heading) = &node.kind
            && !(1..=4).contains(&heading.level)
        {
            return Err(ViewError(format!(
                "node {index} (heading) has level {}; use 1 to 4",
                heading.level
            )));
        }
        if let NodeKind::Grid(grid) = &node.kind
            && !(1..=MAX_GRID_COLUMNS).contains(&grid.columns)
        {
            return Err(ViewError(format!(
                "node {index} (grid) has {} columns; use 1 to 4",
                grid.columns
            )));
        }
        for &child in &node.children {
            let child = child as usize;
            if child <= index || child >= nodes.len() {
                return Err(ViewError(format!(
                    "node {index} names child {child}; children must come after their parent and exist"
                )));
            }
            if std::mem::replace(&mut has_parent[child], true) {
                return Err(ViewError(format!("node {child} has more than one parent")));
            }
            depth[child] = depth[index] + 1;
            if depth[child] >= MAX_VIEW_DEPTH {
                return Err(ViewError(format!(
                    "the view nests deeper than {MAX_VIEW_DEPTH} levels"
                )));
            }
        }
    }
    if let Some(orphan) = has_parent.iter().skip(1).position(|&p| !p) {
        return Err(ViewError(format!(
            "node {} is not reachable from the root",
            orphan + 1
        )));
    }
    if cells > MAX_TABLE_CELLS {
        return Err(ViewError(format!(
            "the view's tables have {cells} cells (rows × columns); the most is {MAX_TABLE_CELLS}"
        )));
    }
    if chart_values > MAX_CHART_VALUES {
        return Err(ViewError(format!(
            "the view's charts have {chart_values} values (points × series); the most is {MAX_CHART_VALUES}"
        )));
    }
    if text_bytes > most_text {
        return Err(ViewError(format!(
            "the view has {text_bytes} bytes of text; the most is {most_text}"
        )));
    }
    Ok(())
}

/// Whether nodes of this kind draw children.
pub fn is_container(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Card(_)
            | NodeKind::Stack(_)
            | NodeKind::Grid(_)
            | NodeKind::List(_)
            | NodeKind::Tabs(_)
            | NodeKind::Form(_)
    )
}

/// The WIT name of a node kind, for messages.
pub fn kind_name(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Card(_) => "card",
        NodeKind::Stack(_) => "stack",
        NodeKind::Grid(_) => "grid",
        NodeKind::Heading(_) => "heading",
        NodeKind::Text(_) => "text",
        NodeKind::Markdown(_) => "markdown",
        NodeKind::Stat(_) => "stat",
        NodeKind::Badge(_) => "badge",
        NodeKind::Link(_) => "link",
        NodeKind::List(_) => "list",
        NodeKind::Table(_) => "table",
        NodeKind::Chart(_) => "chart",
        NodeKind::Form(_) => "form",
        NodeKind::Tabs(_) => "tabs",
        NodeKind::Properties(_) => "properties",
        NodeKind::Code(_) => "code",
        NodeKind::Divider => "divider",
        NodeKind::Empty(_) => "empty",
        NodeKind::Error(_) => "error",
    }
}

fn opt(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::len)
}

fn cell_text_bytes(cell: &Cell) -> usize {
    match cell {
        Cell::Text(text) => text.len(),
        Cell::Link(link) => link.label.len() + link.href.len(),
        Cell::Badge(badge) => badge.label.len(),
        Cell::Empty => 0,
    }
}

/// The values a chart draws: one per x label and series.
fn chart_points(chart: &Chart) -> usize {
    chart.x_labels.len().saturating_mul(chart.series.len())
}

/// The text a chart draws, counting repeats: the title twice (caption and
/// label), the unit at each axis tick and twice per value (tooltip and
/// data table), each x label on the axis, in the data table and in each
/// series' tooltip, each series name at each point and twice more (legend
/// and table header), and 8 bytes per number.
fn chart_text_bytes(chart: &Chart) -> usize {
    /// Axis ticks, each drawn with the unit (see the portal's chart.rs).
    const TICKS: usize = 5;
    let points = chart.x_labels.len();
    let series = chart.series.len();
    let labels: usize = chart.x_labels.iter().map(String::len).sum();
    let names: usize = chart
        .series
        .iter()
        .map(|s| {
            s.name
                .len()
                .saturating_mul(points.saturating_add(2))
                .saturating_add(8usize.saturating_mul(s.values.len()))
        })
        .fold(0, usize::saturating_add);
    let unit_repeats = TICKS.saturating_add(2usize.saturating_mul(chart_points(chart)));
    [
        opt(&chart.title).saturating_mul(2),
        opt(&chart.unit).saturating_mul(unit_repeats),
        labels.saturating_mul(series.saturating_add(2)),
        names,
    ]
    .into_iter()
    .fold(0, usize::saturating_add)
}

/// The text a form field draws: its name goes into the ids and names of
/// its input, label and each of its choices' inputs.
fn field_text_bytes(field: &Field) -> usize {
    let (choices, text) = match &field.kind {
        FieldKind::Select(choices) | FieldKind::Radio(choices) => (
            choices.len(),
            choices
                .iter()
                .map(|c| c.label.len() + c.value.len())
                .fold(0, usize::saturating_add),
        ),
        // Drawn as at most ten radio buttons.
        FieldKind::Rating(_) => (10, 0),
        _ => (0, 0),
    };
    let name_repeats = 4usize.saturating_add(3usize.saturating_mul(choices));
    [
        field.name.len().saturating_mul(name_repeats),
        field.label.len(),
        opt(&field.help),
        opt(&field.value),
        text,
    ]
    .into_iter()
    .fold(0, usize::saturating_add)
}

fn node_text_bytes(kind: &NodeKind) -> usize {
    match kind {
        NodeKind::Card(card) => opt(&card.title) + opt(&card.subtitle),
        NodeKind::Stack(_) | NodeKind::Grid(_) | NodeKind::List(_) | NodeKind::Divider => 0,
        NodeKind::Heading(heading) => heading.text.len(),
        NodeKind::Text(text) => text.text.len(),
        NodeKind::Markdown(source) => source.len(),
        NodeKind::Stat(stat) => {
            stat.label.len() + stat.value.len() + opt(&stat.unit) + opt(&stat.delta)
        }
        NodeKind::Badge(badge) => badge.label.len(),
        NodeKind::Link(link) => link.label.len() + link.href.len(),
        NodeKind::Table(table) => {
            table.columns.iter().map(|c| c.label.len()).sum::<usize>()
                + table
                    .rows
                    .iter()
                    .flatten()
                    .map(cell_text_bytes)
                    .sum::<usize>()
        }
        NodeKind::Chart(chart) => chart_text_bytes(chart),
        NodeKind::Form(form) => form.fields.iter().map(field_text_bytes).fold(
            form.action.len() + form.submit_label.len(),
            usize::saturating_add,
        ),
        NodeKind::Tabs(tabs) => tabs.labels.iter().map(String::len).sum(),
        NodeKind::Properties(properties) => properties
            .iter()
            .map(|p| p.label.len() + cell_text_bytes(&p.value))
            .sum(),
        NodeKind::Code(code) => opt(&code.language) + code.code.len(),
        NodeKind::Empty(empty) => empty.title.len() + opt(&empty.description),
        NodeKind::Error(error) => error.title.len() + opt(&error.detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::latest::greenroom::plugin::view::{Card, Emphasis, Node, Tabs, Text, Tone};

    fn text(s: &str) -> Node {
        Node {
            kind: NodeKind::Text(Text {
                text: s.into(),
                tone: Tone::Neutral,
                emphasis: Emphasis::Normal,
            }),
            children: vec![],
        }
    }

    fn card(children: Vec<u32>) -> Node {
        Node {
            kind: NodeKind::Card(Card {
                title: None,
                subtitle: None,
            }),
            children,
        }
    }

    #[test]
    fn accepts_a_tree() {
        let view = View {
            nodes: vec![card(vec![1, 2]), text("a"), text("b")],
        };
        assert_eq!(validate(&view), Ok(()));
    }

    #[test]
    fn refuses_cycles_and_dangling_children() {
        let cycle = View {
            nodes: vec![card(vec![1]), card(vec![0])],
        };
        assert!(validate(&cycle).is_err());
        let dangling = View {
            nodes: vec![card(vec![7])],
        };
        assert!(validate(&dangling).unwrap_err().0.contains("child 7"));
        let self_loop = View {
            nodes: vec![card(vec![0])],
        };
        assert!(validate(&self_loop).is_err());
    }

    #[test]
    fn refuses_shared_children_and_orphans() {
        let shared = View {
            nodes: vec![card(vec![1, 2]), card(vec![2]), text("x")],
        };
        assert!(
            validate(&shared)
                .unwrap_err()
                .0
                .contains("more than one parent")
        );
        let orphan = View {
            nodes: vec![card(vec![]), text("x")],
        };
        assert!(validate(&orphan).unwrap_err().0.contains("not reachable"));
    }

    #[test]
    fn refuses_children_on_leaves_and_mismatched_tabs() {
        let leaf = View {
            nodes: vec![
                Node {
                    children: vec![1],
                    ..text("x")
                },
                text("y"),
            ],
        };
        assert!(
            validate(&leaf)
                .unwrap_err()
                .0
                .contains("cannot have children")
        );
        let tabs = View {
            nodes: vec![
                Node {
                    kind: NodeKind::Tabs(Tabs {
                        labels: vec!["a".into(), "b".into()],
                    }),
                    children: vec![1],
                },
                text("x"),
            ],
        };
        assert!(
            validate(&tabs)
                .unwrap_err()
                .0
                .contains("2 labels but 1 panels")
        );
    }

    #[test]
    fn refuses_headings_and_grids_out_of_range() {
        use crate::wit::latest::greenroom::plugin::view::{Grid, Heading};
        let heading = |level| View {
            nodes: vec![Node {
                kind: NodeKind::Heading(Heading {
                    level,
                    text: "h".into(),
                }),
                children: vec![],
            }],
        };
        assert!(validate(&heading(0)).unwrap_err().0.contains("level 0"));
        assert!(validate(&heading(5)).is_err());
        assert_eq!(validate(&heading(4)), Ok(()));
        let grid = View {
            nodes: vec![Node {
                kind: NodeKind::Grid(Grid { columns: 0 }),
                children: vec![],
            }],
        };
        assert!(validate(&grid).unwrap_err().0.contains("0 columns"));
    }

    #[test]
    fn refuses_views_nested_too_deep() {
        let chain = |levels: usize| View {
            nodes: (0..levels)
                .map(|i| {
                    if i + 1 < levels {
                        card(vec![i as u32 + 1])
                    } else {
                        text("leaf")
                    }
                })
                .collect(),
        };
        assert_eq!(validate(&chain(MAX_VIEW_DEPTH)), Ok(()));
        assert!(
            validate(&chain(MAX_VIEW_DEPTH + 1))
                .unwrap_err()
                .0
                .contains("deeper")
        );
    }

    #[test]
    fn refuses_empty_and_oversized_views() {
        assert!(validate(&View { nodes: vec![] }).is_err());
        let big = View {
            nodes: vec![text(&"x".repeat(MAX_VIEW_TEXT_BYTES + 1))],
        };
        assert!(validate(&big).unwrap_err().0.contains("bytes of text"));
        let mut many = vec![card((1..=MAX_VIEW_NODES as u32).collect())];
        many.extend((0..MAX_VIEW_NODES).map(|_| text("")));
        assert!(
            validate(&View { nodes: many })
                .unwrap_err()
                .0
                .contains("nodes")
        );
    }

    fn leaf(kind: NodeKind) -> View {
        View {
            nodes: vec![Node {
                kind,
                children: vec![],
            }],
        }
    }

    fn table(rows: usize, columns: usize) -> View {
        use crate::wit::latest::greenroom::plugin::view::{Align, Column, Table};
        leaf(NodeKind::Table(Table {
            columns: (0..columns)
                .map(|_| Column {
                    label: String::new(),
                    align: Align::Start,
                })
                .collect(),
            rows: vec![vec![]; rows],
        }))
    }

    fn chart(points: usize, unit: &str) -> View {
        use crate::wit::latest::greenroom::plugin::view::{Chart, ChartKind, Series};
        leaf(NodeKind::Chart(Chart {
            kind: ChartKind::Bar,
            title: None,
            x_labels: vec![String::new(); points],
            series: vec![Series {
                name: "s".into(),
                values: vec![1.0; points],
            }],
            unit: Some(unit.into()),
        }))
    }

    #[test]
    fn refuses_an_empty_table_that_would_draw_millions_of_cells() {
        assert_eq!(validate(&table(1_000, 10)), Ok(()));
        assert_eq!(
            validate(&table(2_000, 2_000)),
            Err(ViewError(
                "the view's tables have 4000000 cells (rows × columns); the most is 50000".into()
            ))
        );
        // Rows without columns are drawn too.
        assert!(validate(&table(MAX_TABLE_CELLS + 1, 0)).is_err());
    }

    #[test]
    fn counts_a_charts_unit_at_every_point_it_is_drawn() {
        assert_eq!(validate(&chart(30, "ms")), Ok(()));
        let err = validate(&chart(2_000, &"u".repeat(32 << 10))).unwrap_err();
        assert!(err.0.contains("bytes of text"), "{err}");
        let err = validate(&chart(MAX_CHART_VALUES + 1, "")).unwrap_err();
        assert!(err.0.contains("values (points × series)"), "{err}");
    }

    #[test]
    fn counts_a_fields_name_on_each_of_its_choices() {
        use crate::wit::latest::greenroom::plugin::view::{Choice, Field, FieldKind, Form};
        let form = |name: &str, choices: usize| {
            leaf(NodeKind::Form(Form {
                action: "a".into(),
                submit_label: "Send".into(),
                fields: vec![Field {
                    name: name.into(),
                    label: "L".into(),
                    kind: FieldKind::Radio(vec![
                        Choice {
                            value: "v".into(),
                            label: "c".into()
                        };
                        choices
                    ]),
                    required: false,
                    help: None,
                    value: None,
                }],
            }))
        };
        assert_eq!(validate(&form("answer", 5)), Ok(()));
        assert!(validate(&form(&"n".repeat(64 << 10), 100)).is_err());
    }

    #[test]
    fn size_limits_can_be_lowered_but_never_raised_past_the_contract() {
        let small = View {
            nodes: vec![card(vec![1, 2]), text("ab"), text("c")],
        };
        let fewer_nodes = ViewLimits {
            nodes: 2,
            ..ViewLimits::default()
        };
        assert_eq!(
            validate_within(&small, fewer_nodes),
            Err(ViewError("the view has 3 nodes; the most is 2".into()))
        );
        let less_text = ViewLimits {
            text_bytes: 1,
            ..ViewLimits::default()
        };
        assert!(validate_within(&small, less_text).is_err());
        let unbounded = ViewLimits {
            nodes: usize::MAX,
            text_bytes: usize::MAX,
        };
        let big = View {
            nodes: vec![text(&"x".repeat(MAX_VIEW_TEXT_BYTES + 1))],
        };
        assert!(validate_within(&big, unbounded).is_err());
    }
}
