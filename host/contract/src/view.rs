//! The rules a plugin's view must follow before the host draws it.
//!
//! The WIT documents them (`wit/since_v0.1.0/view.wit`); this module is
//! where they are enforced. A view that breaks one is refused as a whole:
//! the slot shows an error card naming the rule.

use crate::wit::latest::greenroom::plugin::view::{Cell, NodeKind, View};

/// The most nodes in one view. A page of a thousand table rows is one
/// `table` node; thousands of nodes mean a plugin is drawing pixels with
/// cards, which would make the page slow for everyone.
pub const MAX_VIEW_NODES: usize = 5_000;

/// The most bytes of text in one view. The HTML the host draws is roughly
/// this size; more would make the page heavy and the render slow.
pub const MAX_VIEW_TEXT_BYTES: usize = 2 << 20;

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
    let mut text_bytes = 0usize;
    for (index, node) in nodes.iter().enumerate() {
        text_bytes += node_text_bytes(&node.kind);
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
        NodeKind::Chart(chart) => {
            opt(&chart.title)
                + opt(&chart.unit)
                + chart.x_labels.iter().map(String::len).sum::<usize>()
                + chart
                    .series
                    .iter()
                    .map(|s| s.name.len() + 8 * s.values.len())
                    .sum::<usize>()
        }
        NodeKind::Form(form) => {
            form.action.len()
                + form.submit_label.len()
                + form
                    .fields
                    .iter()
                    .map(|f| f.name.len() + f.label.len() + opt(&f.help) + opt(&f.value))
                    .sum::<usize>()
        }
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
