//! Plugin views: any list of nodes a plugin could return (the WIT types
//! have no serde or `Arbitrary` of their own, so the view is built here
//! from the fuzzer's bytes), through `view::validate` and
//! `view::validate_within`.
//!
//! Checks: validation never panics; it answers the same twice; no limits
//! passed to `validate_within` take it past the contract's maxima; and a
//! view it accepts is a tree (every node reached once from the root, only
//! containers with children), at most `MAX_VIEW_NODES` nodes and
//! `MAX_VIEW_DEPTH` deep, which the portal's recursive drawing relies on.

#![no_main]

use arbitrary::{Result, Unstructured};
use greenroom_contract::view::{self, MAX_VIEW_DEPTH, MAX_VIEW_NODES, ViewLimits, is_container};
use greenroom_contract::wit::latest::greenroom::plugin::view::{
    Align, Badge, Card, Cell, Chart, ChartKind, Choice, CodeBlock, Column, Direction, Emphasis,
    EmptyState, ErrorState, Field, FieldKind, Form, Grid, Heading, Link, ListSpec, Node, NodeKind,
    Property, Series, Stack, Stat, Table, Tabs, Text, Tone, View,
};
use libfuzzer_sys::fuzz_target;
use std::cell::Cell as Counter;

/// The most bytes the long texts of one input may add up to: past the
/// view's text budget, so that it is reached, and small enough that
/// building the view cannot run the fuzzer out of memory.
const LONG_TEXT_BYTES: usize = 2 * view::MAX_VIEW_TEXT_BYTES;

thread_local! {
    static LONG_TEXT_LEFT: Counter<usize> = const { Counter::new(0) };
}

fuzz_target!(|data: &[u8]| {
    LONG_TEXT_LEFT.set(LONG_TEXT_BYTES);
    let Ok(view) = any_view(&mut Unstructured::new(data)) else {
        return;
    };
    let verdict = view::validate(&view);
    assert_eq!(
        view::validate(&view),
        verdict,
        "validation is deterministic"
    );
    let unbounded = ViewLimits {
        nodes: usize::MAX,
        text_bytes: usize::MAX,
    };
    assert_eq!(view::validate_within(&view, unbounded), verdict);
    if verdict.is_ok() {
        assert_is_a_shallow_tree(&view);
    }
});

fn assert_is_a_shallow_tree(view: &View) {
    let nodes = &view.nodes;
    assert!(!nodes.is_empty() && nodes.len() <= MAX_VIEW_NODES);
    let mut reached = vec![false; nodes.len()];
    reached[0] = true;
    let mut pending = vec![(0usize, 1usize)];
    while let Some((index, depth)) = pending.pop() {
        assert!(depth <= MAX_VIEW_DEPTH, "accepted {depth} levels deep");
        let node = &nodes[index];
        assert!(node.children.is_empty() || is_container(&node.kind));
        for &child in &node.children {
            let child = child as usize;
            assert!(
                !std::mem::replace(&mut reached[child], true),
                "node {child} reached twice"
            );
            pending.push((child, depth + 1));
        }
    }
    assert!(reached.iter().all(|&r| r), "a node is not reachable");
}

fn any_view(u: &mut Unstructured) -> Result<View> {
    // Past the node limit now and then.
    let count = if u.ratio(1, 64)? {
        u.int_in_range(0..=MAX_VIEW_NODES + 8)?
    } else {
        u.int_in_range(0..=48)?
    };
    let mut nodes = Vec::with_capacity(count);
    for _ in 0..count {
        let kind = node_kind(u)?;
        let children = u
            .arbitrary_iter::<u32>()?
            .take(8)
            .map(|child| {
                child.map(|c| {
                    if c < u32::MAX - 8 {
                        c % (count as u32 + 2)
                    } else {
                        c
                    }
                })
            })
            .collect::<Result<_>>()?;
        nodes.push(Node { kind, children });
    }
    Ok(View { nodes })
}

/// Plugin text, now and then repeated to hundreds of KiB (to reach the
/// text budget from a small input), within [`LONG_TEXT_BYTES`] for the
/// whole input.
fn text(u: &mut Unstructured) -> Result<String> {
    let text: String = u.arbitrary()?;
    if text.is_empty() || !u.ratio(1, 32)? {
        return Ok(text);
    }
    let left = LONG_TEXT_LEFT.get();
    let times = u.int_in_range(1..=400_000)?.min(left / text.len()).max(1);
    LONG_TEXT_LEFT.set(left.saturating_sub(text.len() * times));
    Ok(text.repeat(times))
}

/// A short text, for the lists repeated thousands of times.
fn short_text(u: &mut Unstructured) -> Result<String> {
    let text: String = u.arbitrary()?;
    Ok(text.chars().take(8).collect())
}

fn opt_text(u: &mut Unstructured) -> Result<Option<String>> {
    Ok(if u.arbitrary()? { Some(text(u)?) } else { None })
}

/// A count for the lists that make a view draw a lot: tables' rows,
/// charts' points.
fn many(u: &mut Unstructured) -> Result<usize> {
    if u.ratio(1, 8)? {
        u.int_in_range(0..=70_000)
    } else {
        u.int_in_range(0..=4)
    }
}

fn tone(u: &mut Unstructured) -> Result<Tone> {
    u.choose_iter([
        Tone::Neutral,
        Tone::Info,
        Tone::Success,
        Tone::Warning,
        Tone::Danger,
    ])
}

fn link(u: &mut Unstructured) -> Result<Link> {
    Ok(Link {
        label: text(u)?,
        href: text(u)?,
    })
}

fn badge(u: &mut Unstructured) -> Result<Badge> {
    Ok(Badge {
        label: text(u)?,
        tone: tone(u)?,
    })
}

fn cell(u: &mut Unstructured) -> Result<Cell> {
    Ok(match u.int_in_range(0..=3)? {
        0 => Cell::Text(text(u)?),
        1 => Cell::Link(link(u)?),
        2 => Cell::Badge(badge(u)?),
        _ => Cell::Empty,
    })
}

fn list<T>(
    u: &mut Unstructured,
    most: usize,
    item: fn(&mut Unstructured) -> Result<T>,
) -> Result<Vec<T>> {
    let count = u.int_in_range(0..=most)?;
    (0..count).map(|_| item(u)).collect()
}

fn table(u: &mut Unstructured) -> Result<Table> {
    let columns = list(u, 4, |u| {
        Ok(Column {
            label: text(u)?,
            align: u.choose_iter([Align::Start, Align::Center, Align::End])?,
        })
    })?;
    let mut rows = list(u, 3, |u| list(u, 4, cell))?;
    rows.resize(rows.len() + many(u)?, Vec::new());
    Ok(Table { columns, rows })
}

fn chart(u: &mut Unstructured) -> Result<Chart> {
    let points = many(u)?;
    let x_labels = vec![short_text(u)?; points];
    let series = list(u, 3, |u| {
        Ok(Series {
            name: text(u)?,
            values: vec![u.arbitrary()?; u.int_in_range(0..=8)?],
        })
    })?;
    Ok(Chart {
        kind: u.choose_iter([ChartKind::Line, ChartKind::Bar])?,
        title: opt_text(u)?,
        x_labels,
        series,
        unit: opt_text(u)?,
    })
}

fn field(u: &mut Unstructured) -> Result<Field> {
    let choice = |u: &mut Unstructured| {
        Ok(Choice {
            value: text(u)?,
            label: text(u)?,
        })
    };
    let kind = match u.int_in_range(0..=10)? {
        0 => FieldKind::Text,
        1 => FieldKind::Textarea,
        2 => FieldKind::Number,
        3 => FieldKind::Email,
        4 => FieldKind::Url,
        5 => FieldKind::Date,
        6 => FieldKind::Checkbox,
        7 => FieldKind::Select(list(u, 4, choice)?),
        8 => FieldKind::Radio(list(u, 4, choice)?),
        9 => FieldKind::Rating(u.arbitrary()?),
        _ => FieldKind::Hidden,
    };
    Ok(Field {
        name: text(u)?,
        label: text(u)?,
        kind,
        required: u.arbitrary()?,
        help: opt_text(u)?,
        value: opt_text(u)?,
    })
}

fn node_kind(u: &mut Unstructured) -> Result<NodeKind> {
    Ok(match u.int_in_range(0..=18)? {
        0 => NodeKind::Card(Card {
            title: opt_text(u)?,
            subtitle: opt_text(u)?,
        }),
        1 => NodeKind::Stack(Stack {
            direction: u.choose_iter([Direction::Vertical, Direction::Horizontal])?,
        }),
        2 => NodeKind::Grid(Grid {
            columns: u.arbitrary()?,
        }),
        3 => NodeKind::Heading(Heading {
            level: u.arbitrary()?,
            text: text(u)?,
        }),
        4 => NodeKind::Text(Text {
            text: text(u)?,
            tone: tone(u)?,
            emphasis: u.choose_iter([
                Emphasis::Normal,
                Emphasis::Strong,
                Emphasis::Muted,
                Emphasis::Code,
            ])?,
        }),
        5 => NodeKind::Markdown(text(u)?),
        6 => NodeKind::Stat(Stat {
            label: text(u)?,
            value: text(u)?,
            unit: opt_text(u)?,
            delta: opt_text(u)?,
            tone: tone(u)?,
        }),
        7 => NodeKind::Badge(badge(u)?),
        8 => NodeKind::Link(link(u)?),
        9 => NodeKind::List(ListSpec {
            ordered: u.arbitrary()?,
        }),
        10 => NodeKind::Table(table(u)?),
        11 => NodeKind::Chart(chart(u)?),
        12 => NodeKind::Form(Form {
            action: text(u)?,
            fields: list(u, 4, field)?,
            submit_label: text(u)?,
        }),
        13 => NodeKind::Tabs(Tabs {
            labels: list(u, 4, text)?,
        }),
        14 => NodeKind::Properties(list(u, 4, |u| {
            Ok(Property {
                label: text(u)?,
                value: cell(u)?,
            })
        })?),
        15 => NodeKind::Code(CodeBlock {
            language: opt_text(u)?,
            code: text(u)?,
        }),
        16 => NodeKind::Divider,
        17 => NodeKind::Empty(EmptyState {
            title: text(u)?,
            description: opt_text(u)?,
        }),
        _ => NodeKind::Error(ErrorState {
            title: text(u)?,
            detail: opt_text(u)?,
        }),
    })
}
