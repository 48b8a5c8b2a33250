//! Properties of view validation (issue 13): [`view::validate`] and
//! [`view::validate_within`] against views generated as trees, broken on
//! purpose, or made of anything at all. What the portal relies on: a view
//! validation accepts is a tree, within every limit the contract documents
//! (the portal draws it recursively and holds it whole), and a view that
//! breaks a rule is refused with a message naming the rule, whatever the
//! plugin sent.
//!
//! The facts each property checks are computed here, by walking the view
//! from its root, not by the validator's own single pass.

use greenroom_contract::view::{
    self, MAX_CHART_VALUES, MAX_TABLE_CELLS, MAX_VIEW_DEPTH, MAX_VIEW_NODES, MAX_VIEW_TEXT_BYTES,
    ViewLimits, is_container,
};
use greenroom_contract::wit::latest::greenroom::plugin::view::{
    Align, Badge, Card, Cell, Chart, ChartKind, Choice, CodeBlock, Column, Direction, Emphasis,
    EmptyState, ErrorState, Field, FieldKind, Form, Grid, Heading, Link, ListSpec, Node, NodeKind,
    Property, Series, Stack, Stat, Table, Tabs, Text, Tone, View,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Plugin text: short, with markup and non-ASCII characters.
fn text() -> impl Strategy<Value = String> {
    "[a-z<&\"é ]{0,8}"
}

fn tone() -> impl Strategy<Value = Tone> {
    proptest::sample::select(vec![
        Tone::Neutral,
        Tone::Info,
        Tone::Success,
        Tone::Warning,
        Tone::Danger,
    ])
}

fn link() -> impl Strategy<Value = Link> {
    (text(), text()).prop_map(|(label, href)| Link { label, href })
}

fn badge() -> impl Strategy<Value = Badge> {
    (text(), tone()).prop_map(|(label, tone)| Badge { label, tone })
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        text().prop_map(Cell::Text),
        link().prop_map(Cell::Link),
        badge().prop_map(Cell::Badge),
        Just(Cell::Empty),
    ]
}

/// A table: a few written rows, or (cheaply) thousands of empty ones, so
/// that both sides of the cell budget are reached.
fn table() -> impl Strategy<Value = Table> {
    let columns = vec(
        (
            text(),
            proptest::sample::select(vec![Align::Start, Align::Center, Align::End]),
        )
            .prop_map(|(label, align)| Column { label, align }),
        0..4,
    );
    let rows = prop_oneof![
        vec(vec(cell(), 0..4), 0..4),
        (0usize..30_000).prop_map(|n| vec![Vec::new(); n]),
    ];
    (columns, rows).prop_map(|(columns, rows)| Table { columns, rows })
}

/// A chart: a few points, or (cheaply) thousands, so that both sides of
/// the chart budget are reached.
fn chart() -> impl Strategy<Value = Chart> {
    let points = prop_oneof![0usize..6, 0usize..12_000];
    (
        proptest::sample::select(vec![ChartKind::Line, ChartKind::Bar]),
        option::of(text()),
        points,
        vec(text(), 0..4),
        option::of("[a-z%]{0,3}"),
    )
        .prop_map(|(kind, title, points, names, unit)| Chart {
            kind,
            title,
            x_labels: vec![String::new(); points],
            series: names
                .into_iter()
                .map(|name| Series {
                    name,
                    values: vec![1.5; points],
                })
                .collect(),
            unit,
        })
}

fn field() -> impl Strategy<Value = Field> {
    let choices = || {
        vec(
            (text(), text()).prop_map(|(value, label)| Choice { value, label }),
            0..3,
        )
    };
    let kind = prop_oneof![
        proptest::sample::select(vec![
            FieldKind::Text,
            FieldKind::Textarea,
            FieldKind::Number,
            FieldKind::Email,
            FieldKind::Url,
            FieldKind::Date,
            FieldKind::Checkbox,
            FieldKind::Hidden,
        ]),
        choices().prop_map(FieldKind::Select),
        choices().prop_map(FieldKind::Radio),
        any::<u8>().prop_map(FieldKind::Rating),
    ];
    (
        text(),
        text(),
        kind,
        any::<bool>(),
        option::of(text()),
        option::of(text()),
    )
        .prop_map(|(name, label, kind, required, help, value)| Field {
            name,
            label,
            kind,
            required,
            help,
            value,
        })
}

/// Every kind of node that draws no children, with valid settings.
/// `repeated` includes the kinds whose text is drawn more than once
/// (charts, forms).
fn leaf_kind(repeated: bool) -> BoxedStrategy<NodeKind> {
    let once = prop_oneof![
        (1u8..=4, text()).prop_map(|(level, text)| NodeKind::Heading(Heading { level, text })),
        (
            text(),
            tone(),
            proptest::sample::select(vec![
                Emphasis::Normal,
                Emphasis::Strong,
                Emphasis::Muted,
                Emphasis::Code
            ])
        )
            .prop_map(|(text, tone, emphasis)| NodeKind::Text(Text {
                text,
                tone,
                emphasis
            })),
        text().prop_map(NodeKind::Markdown),
        (
            text(),
            text(),
            option::of(text()),
            option::of(text()),
            tone()
        )
            .prop_map(|(label, value, unit, delta, tone)| NodeKind::Stat(Stat {
                label,
                value,
                unit,
                delta,
                tone
            })),
        badge().prop_map(NodeKind::Badge),
        link().prop_map(NodeKind::Link),
        table().prop_map(NodeKind::Table),
        vec(
            (text(), cell()).prop_map(|(label, value)| Property { label, value }),
            0..3
        )
        .prop_map(NodeKind::Properties),
        (option::of(text()), text())
            .prop_map(|(language, code)| NodeKind::Code(CodeBlock { language, code })),
        Just(NodeKind::Divider),
        (text(), option::of(text()))
            .prop_map(|(title, description)| NodeKind::Empty(EmptyState { title, description })),
        (text(), option::of(text()))
            .prop_map(|(title, detail)| NodeKind::Error(ErrorState { title, detail })),
    ];
    if !repeated {
        return once.boxed();
    }
    prop_oneof![
        8 => once,
        1 => chart().prop_map(NodeKind::Chart),
        1 => form().prop_map(NodeKind::Form),
    ]
    .boxed()
}

fn form() -> impl Strategy<Value = Form> {
    (text(), vec(field(), 0..3), text()).prop_map(|(action, fields, submit_label)| Form {
        action,
        fields,
        submit_label,
    })
}

/// Every kind of node that draws children, with valid settings (a tabs'
/// labels are set to match its children when the tree is built). `repeated`
/// includes forms.
fn container_kind(repeated: bool) -> BoxedStrategy<NodeKind> {
    let plain = prop_oneof![
        (option::of(text()), option::of(text()))
            .prop_map(|(title, subtitle)| NodeKind::Card(Card { title, subtitle })),
        proptest::sample::select(vec![Direction::Vertical, Direction::Horizontal])
            .prop_map(|direction| NodeKind::Stack(Stack { direction })),
        (1u8..=4).prop_map(|columns| NodeKind::Grid(Grid { columns })),
        any::<bool>().prop_map(|ordered| NodeKind::List(ListSpec { ordered })),
        Just(NodeKind::Tabs(Tabs { labels: Vec::new() })),
    ];
    if !repeated {
        return plain.boxed();
    }
    prop_oneof![5 => plain, 1 => form().prop_map(NodeKind::Form)].boxed()
}

/// A view as a plugin author thinks of it: a tree.
#[derive(Debug, Clone)]
struct Tree {
    kind: NodeKind,
    children: Vec<Tree>,
}

impl Tree {
    fn new(kind: NodeKind, children: Vec<Tree>) -> Tree {
        let mut tree = Tree { kind, children };
        if let NodeKind::Tabs(tabs) = &mut tree.kind {
            tabs.labels = (0..tree.children.len())
                .map(|i| format!("tab {i}"))
                .collect();
        }
        tree
    }

    /// The view's flat list, children after their parents: depth first,
    /// or breadth first (both are valid orders).
    fn flatten(&self, breadth_first: bool) -> View {
        let mut nodes: Vec<Node> = Vec::new();
        let mut pending = std::collections::VecDeque::from([(self, None::<usize>)]);
        while let Some((tree, parent)) = if breadth_first {
            pending.pop_front()
        } else {
            pending.pop_back()
        } {
            let index = nodes.len();
            if let Some(parent) = parent {
                nodes[parent].children.push(index as u32);
            }
            nodes.push(Node {
                kind: tree.kind.clone(),
                children: Vec::new(),
            });
            let children = tree.children.iter().map(|child| (child, Some(index)));
            if breadth_first {
                pending.extend(children);
            } else {
                // Reversed so that the first child is taken first.
                pending.extend(children.rev());
            }
        }
        View { nodes }
    }
}

/// Trees of valid nodes: bushy ones a few levels deep, under a chain of
/// containers that may take them past the depth limit, with a root that
/// may hold thousands of dividers (past the node limit).
fn tree(repeated: bool) -> impl Strategy<Value = Tree> {
    let leaf = leaf_kind(repeated).prop_map(|kind| Tree::new(kind, Vec::new()));
    let bushy = leaf.prop_recursive(4, 48, 6, move |inner| {
        (container_kind(repeated), vec(inner, 0..6))
            .prop_map(|(kind, children)| Tree::new(kind, children))
    });
    let chain = vec(container_kind(repeated), 0..(MAX_VIEW_DEPTH + 8));
    let wide = prop_oneof![4 => Just(0usize), 1 => 0..(MAX_VIEW_NODES + 100)];
    (bushy, chain, wide).prop_map(|(bushy, chain, wide)| {
        let tree = chain
            .into_iter()
            .fold(bushy, |tree, kind| Tree::new(kind, vec![tree]));
        let dividers = std::iter::repeat_n(Tree::new(NodeKind::Divider, Vec::new()), wide);
        match wide {
            0 => tree,
            _ => Tree::new(
                NodeKind::Stack(Stack {
                    direction: Direction::Vertical,
                }),
                std::iter::once(tree).chain(dividers).collect(),
            ),
        }
    })
}

/// What a view holds, found by walking it from its root.
#[derive(Debug, Default)]
struct Facts {
    /// Whether it is a tree whose nodes obey their kind's rules: every
    /// node reached exactly once from the root, children only on
    /// containers, one tab panel per label, headings and grids in range.
    well_formed: bool,
    /// Nodes on the longest path from the root (1 for the root alone).
    depth: usize,
    /// Table cells drawn: rows × columns (at least one).
    cells: usize,
    /// Chart values drawn: points × series.
    chart_values: usize,
    /// Bytes of every string, each counted once.
    text_bytes: usize,
}

fn strings(kind: &NodeKind) -> Vec<&str> {
    fn cell(cell: &Cell) -> Vec<&str> {
        match cell {
            Cell::Text(text) => vec![text],
            Cell::Link(link) => vec![&link.label, &link.href],
            Cell::Badge(badge) => vec![&badge.label],
            Cell::Empty => vec![],
        }
    }
    let mut found: Vec<&str> = Vec::new();
    match kind {
        NodeKind::Card(card) => {
            found.extend(card.title.iter().chain(&card.subtitle).map(String::as_str))
        }
        NodeKind::Stack(_) | NodeKind::Grid(_) | NodeKind::List(_) | NodeKind::Divider => {}
        NodeKind::Heading(heading) => found.push(&heading.text),
        NodeKind::Text(text) => found.push(&text.text),
        NodeKind::Markdown(source) => found.push(source),
        NodeKind::Stat(stat) => {
            found.extend([&stat.label, &stat.value].map(String::as_str));
            found.extend(stat.unit.iter().chain(&stat.delta).map(String::as_str));
        }
        NodeKind::Badge(badge) => found.push(&badge.label),
        NodeKind::Link(link) => found.extend([&link.label, &link.href].map(String::as_str)),
        NodeKind::Table(table) => {
            found.extend(table.columns.iter().map(|c| c.label.as_str()));
            found.extend(table.rows.iter().flatten().flat_map(cell));
        }
        NodeKind::Chart(chart) => {
            found.extend(chart.title.iter().chain(&chart.unit).map(String::as_str));
            found.extend(chart.x_labels.iter().map(String::as_str));
            found.extend(chart.series.iter().map(|s| s.name.as_str()));
        }
        NodeKind::Form(form) => {
            found.extend([&form.action, &form.submit_label].map(String::as_str));
            for field in &form.fields {
                found.extend([&field.name, &field.label].map(String::as_str));
                found.extend(field.help.iter().chain(&field.value).map(String::as_str));
                if let FieldKind::Select(choices) | FieldKind::Radio(choices) = &field.kind {
                    found.extend(
                        choices
                            .iter()
                            .flat_map(|c| [c.value.as_str(), c.label.as_str()]),
                    );
                }
            }
        }
        NodeKind::Tabs(tabs) => found.extend(tabs.labels.iter().map(String::as_str)),
        NodeKind::Properties(properties) => {
            for property in properties {
                found.push(&property.label);
                found.extend(cell(&property.value));
            }
        }
        NodeKind::Code(code) => {
            found.extend(code.language.iter().map(String::as_str));
            found.push(&code.code);
        }
        NodeKind::Empty(empty) => {
            found.push(&empty.title);
            found.extend(empty.description.iter().map(String::as_str));
        }
        NodeKind::Error(error) => {
            found.push(&error.title);
            found.extend(error.detail.iter().map(String::as_str));
        }
    }
    found
}

fn rules_hold(node: &Node) -> bool {
    let children = node.children.len();
    match &node.kind {
        _ if children > 0 && !is_container(&node.kind) => false,
        NodeKind::Tabs(tabs) => tabs.labels.len() == children,
        NodeKind::Heading(heading) => (1..=4).contains(&heading.level),
        NodeKind::Grid(grid) => (1..=4).contains(&grid.columns),
        _ => true,
    }
}

impl Facts {
    fn of(view: &View) -> Facts {
        let nodes = &view.nodes;
        let mut facts = Facts::default();
        for node in nodes {
            facts.text_bytes += strings(&node.kind).iter().map(|s| s.len()).sum::<usize>();
            match &node.kind {
                NodeKind::Table(table) => {
                    facts.cells += table.rows.len() * table.columns.len().max(1)
                }
                NodeKind::Chart(chart) => {
                    facts.chart_values += chart.x_labels.len() * chart.series.len()
                }
                _ => {}
            }
        }
        if nodes.is_empty() {
            return facts;
        }
        let mut reached = vec![false; nodes.len()];
        let mut pending = vec![(0usize, 1usize)];
        reached[0] = true;
        let mut tree = true;
        while let Some((index, depth)) = pending.pop() {
            facts.depth = facts.depth.max(depth);
            tree &= rules_hold(&nodes[index]);
            for &child in &nodes[index].children {
                let child = child as usize;
                if child >= nodes.len() || std::mem::replace(&mut reached[child], true) {
                    tree = false;
                    continue;
                }
                pending.push((child, depth + 1));
            }
        }
        facts.well_formed = tree && reached.iter().all(|&r| r);
        facts
    }

    /// Whether a view with these facts is within `limits` and the
    /// contract's maxima (text counted once: a lower bound of what is
    /// drawn).
    fn within(&self, view: &View, limits: ViewLimits) -> Result<(), String> {
        let nodes = view.nodes.len();
        let checks = [
            (self.well_formed, "a well-formed tree"),
            (
                nodes <= limits.nodes.min(MAX_VIEW_NODES),
                "within the node limit",
            ),
            (self.depth <= MAX_VIEW_DEPTH, "within the depth limit"),
            (self.cells <= MAX_TABLE_CELLS, "within the cell limit"),
            (
                self.chart_values <= MAX_CHART_VALUES,
                "within the chart limit",
            ),
            (
                self.text_bytes <= limits.text_bytes.min(MAX_VIEW_TEXT_BYTES),
                "within the text limit",
            ),
        ];
        match checks.iter().find(|(holds, _)| !holds) {
            Some((_, what)) => Err(format!("not {what}: {self:?}, {nodes} nodes")),
            None => Ok(()),
        }
    }
}

/// Any node kind, with settings in or out of range.
fn any_kind() -> BoxedStrategy<NodeKind> {
    prop_oneof![
        4 => leaf_kind(true),
        2 => container_kind(true),
        1 => (any::<u8>(), text()).prop_map(|(level, text)| NodeKind::Heading(Heading { level, text })),
        1 => any::<u8>().prop_map(|columns| NodeKind::Grid(Grid { columns })),
        1 => vec(text(), 0..3).prop_map(|labels| NodeKind::Tabs(Tabs { labels })),
    ]
    .boxed()
}

/// Any list of nodes: children that point anywhere (back, to themselves,
/// twice, past the end, to u32::MAX).
fn any_view() -> impl Strategy<Value = View> {
    let child = prop_oneof![8 => 0u32..12, 1 => any::<u32>()];
    vec((any_kind(), vec(child, 0..4)), 0..12).prop_map(|nodes| View {
        nodes: nodes
            .into_iter()
            .map(|(kind, children)| Node { kind, children })
            .collect(),
    })
}

/// One rule broken on purpose, in a view that kept every other.
#[derive(Debug, Clone, Copy)]
enum Break {
    /// A node names itself or an earlier node as a child.
    ChildBeforeParent,
    /// A node names a child past the end.
    MissingChild,
    /// A container names the same child twice.
    TwoParents,
    /// A node nobody names.
    Orphan,
    /// A leaf is given a child.
    ChildOfLeaf,
    /// A tabs node has one label too many.
    TabsMismatch,
    /// A heading level out of 1 to 4.
    HeadingLevel(u8),
    /// A grid's columns out of 1 to 4.
    GridColumns(u8),
    /// No nodes at all.
    Empty,
}

impl Break {
    /// What the refusal must say.
    fn says(self) -> &'static [&'static str] {
        match self {
            Break::ChildBeforeParent | Break::MissingChild => &["children must come after"],
            Break::TwoParents => &["more than one parent"],
            Break::Orphan => &["not reachable from the root"],
            Break::ChildOfLeaf => &["cannot have children"],
            Break::TabsMismatch => &["labels but"],
            Break::HeadingLevel(_) => &["use 1 to 4"],
            Break::GridColumns(_) => &["use 1 to 4"],
            Break::Empty => &["no nodes"],
        }
    }

    /// Breaks the rule in `view` (valid, and not a tabs node at the
    /// root), picking what to break with `pick`. False if the view has
    /// nothing this rule can be broken on.
    fn apply(self, view: &mut View, pick: usize) -> bool {
        let nodes = &mut view.nodes;
        let count = nodes.len();
        let parents: Vec<usize> = (0..count)
            .filter(|&i| !nodes[i].children.is_empty())
            .collect();
        let plain_parents: Vec<usize> = parents
            .iter()
            .copied()
            .filter(|&i| !matches!(nodes[i].kind, NodeKind::Tabs(_)))
            .collect();
        let choose = |list: &[usize]| list.get(pick % list.len().max(1)).copied();
        match self {
            Break::ChildBeforeParent => {
                let Some(parent) = choose(&parents) else {
                    return false;
                };
                nodes[parent].children[0] = (pick % (parent + 1)) as u32;
            }
            Break::MissingChild => {
                let Some(parent) = choose(&parents) else {
                    return false;
                };
                nodes[parent].children[0] = (count + pick % 3) as u32;
            }
            Break::TwoParents => {
                let Some(parent) = choose(&plain_parents) else {
                    return false;
                };
                let child = nodes[parent].children[0];
                nodes[parent].children.push(child);
            }
            Break::Orphan => nodes.push(Node {
                kind: NodeKind::Divider,
                children: Vec::new(),
            }),
            Break::ChildOfLeaf => {
                let leaves: Vec<usize> = (0..count)
                    .filter(|&i| !is_container(&nodes[i].kind))
                    .collect();
                let Some(leaf) = choose(&leaves) else {
                    return false;
                };
                nodes[leaf].children.push(count as u32);
                nodes.push(Node {
                    kind: NodeKind::Divider,
                    children: Vec::new(),
                });
            }
            Break::TabsMismatch => {
                nodes[0] = Node {
                    kind: NodeKind::Tabs(Tabs {
                        labels: vec!["tab".into(); nodes[0].children.len() + 1],
                    }),
                    children: std::mem::take(&mut nodes[0].children),
                };
            }
            Break::HeadingLevel(level) => {
                // Its children, if it had any, are orphaned, but the
                // level is checked first.
                let node = &mut nodes[pick % count];
                node.kind = NodeKind::Heading(Heading {
                    level,
                    text: "h".into(),
                });
                node.children.clear();
            }
            Break::GridColumns(columns) => {
                nodes[pick % count].kind = NodeKind::Grid(Grid { columns });
            }
            Break::Empty => nodes.clear(),
        }
        true
    }
}

fn any_break() -> impl Strategy<Value = Break> {
    prop_oneof![
        Just(Break::ChildBeforeParent),
        Just(Break::MissingChild),
        Just(Break::TwoParents),
        Just(Break::Orphan),
        Just(Break::ChildOfLeaf),
        Just(Break::TabsMismatch),
        prop_oneof![Just(0u8), 5u8..=u8::MAX].prop_map(Break::HeadingLevel),
        prop_oneof![Just(0u8), 5u8..=u8::MAX].prop_map(Break::GridColumns),
        Just(Break::Empty),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // Whatever nodes a plugin returns, validation answers (no panic, no
    // overflow), answers the same twice, cannot be talked past the
    // contract's maxima, and what it accepts is a tree within every limit.
    #[test]
    fn any_view_is_refused_or_within_every_limit(view in any_view()) {
        let verdict = view::validate(&view);
        prop_assert_eq!(&view::validate(&view), &verdict, "validation is deterministic");
        let unbounded = ViewLimits { nodes: usize::MAX, text_bytes: usize::MAX };
        prop_assert_eq!(&view::validate_within(&view, unbounded), &verdict);
        if verdict.is_ok() {
            let facts = Facts::of(&view);
            prop_assert!(facts.within(&view, ViewLimits::default()).is_ok(), "{:?}", facts.within(&view, ViewLimits::default()));
        }
    }

    // A tree of valid nodes, in any order that puts children after their
    // parents, is accepted exactly when it is within the node, depth,
    // cell and chart limits; a refusal names the limit it broke.
    #[test]
    fn a_tree_is_accepted_exactly_when_within_the_limits(
        tree in tree(true),
        breadth_first in any::<bool>(),
    ) {
        let view = tree.flatten(breadth_first);
        let facts = Facts::of(&view);
        prop_assert!(facts.well_formed, "the generator makes trees");
        let broken: Vec<&str> = [
            (view.nodes.len() > MAX_VIEW_NODES, "nodes; the most is"),
            (facts.depth > MAX_VIEW_DEPTH, "deeper than"),
            (facts.cells > MAX_TABLE_CELLS, "cells (rows × columns)"),
            (facts.chart_values > MAX_CHART_VALUES, "values (points × series)"),
        ]
        .into_iter()
        .filter_map(|(broken, says)| broken.then_some(says))
        .collect();
        match view::validate(&view) {
            Ok(()) => prop_assert!(broken.is_empty(), "accepted past {:?}: {:?}", broken, facts),
            Err(error) => prop_assert!(
                broken.iter().any(|says| error.0.contains(says)),
                "{error} for {facts:?}, {} nodes, breaking {broken:?}", view.nodes.len()
            ),
        }
    }

    // Limits an operator lowers for a plugin hold exactly: with text
    // drawn once (no charts or forms), a view is accepted when its nodes
    // and text fit them and refused when either does not, and whatever
    // the lowered limits accept the contract's accept too.
    #[test]
    fn lowered_limits_hold_exactly(
        tree in tree(false),
        nodes_slack in -3isize..3,
        text_slack in -3isize..3,
    ) {
        let view = tree.flatten(false);
        let facts = Facts::of(&view);
        let limits = ViewLimits {
            nodes: view.nodes.len().saturating_add_signed(nodes_slack),
            text_bytes: facts.text_bytes.saturating_add_signed(text_slack),
        };
        let fits = facts.within(&view, limits);
        let verdict = view::validate_within(&view, limits);
        prop_assert_eq!(verdict.is_ok(), fits.is_ok(), "{:?} but {:?}", verdict, fits);
        if verdict.is_ok() {
            prop_assert_eq!(view::validate(&view), Ok(()));
        }
    }

    // A view that breaks one rule is refused, with a message naming it.
    #[test]
    fn a_broken_rule_is_refused_naming_it(
        tree in tree(true).prop_filter("small valid trees", |tree| {
            let view = tree.flatten(false);
            view.nodes.len() < MAX_VIEW_NODES
                && view::validate(&view).is_ok()
                && !matches!(view.nodes[0].kind, NodeKind::Tabs(_))
        }),
        broken in any_break(),
        pick in any::<usize>(),
    ) {
        let mut view = tree.flatten(false);
        prop_assume!(broken.apply(&mut view, pick));
        let error = view::validate(&view).expect_err("a broken rule is refused");
        prop_assert!(
            broken.says().iter().any(|says| error.0.contains(says)),
            "{broken:?}: {error}"
        );
    }
}

#[test]
fn the_facts_see_what_is_wrong() {
    let text = |children: Vec<u32>| Node {
        kind: NodeKind::Markdown("ab".into()),
        children,
    };
    let card = |children| Node {
        kind: NodeKind::Card(Card {
            title: Some("t".into()),
            subtitle: None,
        }),
        children,
    };
    let good = Facts::of(&View {
        nodes: vec![card(vec![1, 2]), card(vec![3]), text(vec![]), text(vec![])],
    });
    assert!(good.well_formed);
    assert_eq!((good.depth, good.text_bytes), (3, 6));
    for nodes in [
        vec![card(vec![1, 1]), text(vec![])],
        vec![card(vec![]), text(vec![])],
        vec![text(vec![1]), text(vec![])],
        vec![card(vec![5])],
    ] {
        assert!(!Facts::of(&View { nodes }).well_formed);
    }
}
