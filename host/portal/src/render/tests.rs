//! Drawing views: structure and escaping.

use super::*;
use greenroom_runtime::view::{
    Badge, Card, Chart, ChartKind, CodeBlock, Column, EmptyState, ErrorState, Heading, Link,
    ListSpec, Node, Property, Series, Stat, Table, Tabs, Text,
};

const EVIL: &str = "<script>alert('x')</script>\"'&";

fn target() -> Target<'static> {
    Target {
        plugin_id: "probe",
        dom_prefix: "probe-main",
        csrf: "tok123",
        return_to: "/",
        form_errors: None,
    }
}

fn leaf(kind: NodeKind) -> Node {
    Node {
        kind,
        children: vec![],
    }
}

fn every_kind_with(s: &str) -> View {
    let t = || s.to_owned();
    let kinds = vec![
        NodeKind::Heading(Heading {
            level: 1,
            text: t(),
        }),
        NodeKind::Text(Text {
            text: t(),
            tone: Tone::Danger,
            emphasis: Emphasis::Code,
        }),
        NodeKind::Markdown(t()),
        NodeKind::Stat(Stat {
            label: t(),
            value: t(),
            unit: Some(t()),
            delta: Some(t()),
            tone: Tone::Info,
        }),
        NodeKind::Badge(Badge {
            label: t(),
            tone: Tone::Warning,
        }),
        NodeKind::Link(Link {
            label: t(),
            href: t(),
        }),
        NodeKind::Table(Table {
            columns: vec![Column {
                label: t(),
                align: Align::End,
            }],
            rows: vec![
                vec![Cell::Text(t())],
                vec![Cell::Link(Link {
                    label: t(),
                    href: t(),
                })],
            ],
        }),
        NodeKind::Chart(Chart {
            kind: ChartKind::Bar,
            title: Some(t()),
            x_labels: vec![t()],
            series: vec![Series {
                name: t(),
                values: vec![1.0],
            }],
            unit: Some(t()),
        }),
        NodeKind::Properties(vec![Property {
            label: t(),
            value: Cell::Badge(Badge {
                label: t(),
                tone: Tone::Success,
            }),
        }]),
        NodeKind::Code(CodeBlock {
            language: Some(t()),
            code: t(),
        }),
        NodeKind::Empty(EmptyState {
            title: t(),
            description: Some(t()),
        }),
        NodeKind::Error(ErrorState {
            title: t(),
            detail: Some(t()),
        }),
        NodeKind::Form(greenroom_runtime::view::Form {
            action: t(),
            submit_label: t(),
            fields: vec![Field {
                name: t(),
                label: t(),
                kind: FieldKind::Textarea,
                required: true,
                help: Some(t()),
                value: Some(t()),
            }],
        }),
    ];
    let count = kinds.len() as u32;
    let mut nodes = vec![Node {
        kind: NodeKind::Card(Card {
            title: Some(t()),
            subtitle: Some(t()),
        }),
        children: (1..=count).collect(),
    }];
    nodes.extend(kinds.into_iter().map(leaf));
    View { nodes }
}

#[test]
fn escapes_every_plugin_string_in_every_node_kind() {
    let view = every_kind_with(EVIL);
    greenroom_contract::view::validate(&view).expect("valid view");
    let html = super::view(&view, &target())
        .expect("within the budget")
        .into_string();
    assert!(!html.contains("<script>"), "unescaped markup in: {html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("href=\"<"), "{html}");
}

#[test]
fn never_draws_a_script_url_as_a_link() {
    let view = every_kind_with("javascript:alert(1)");
    let html = super::view(&view, &target())
        .expect("within the budget")
        .into_string();
    assert!(!html.contains("href=\"javascript"), "{html}");
}

#[test]
fn forms_post_to_the_plugins_action_with_a_csrf_token() {
    let view = every_kind_with("survey");
    let html = super::view(&view, &target())
        .expect("within the budget")
        .into_string();
    assert!(
        html.contains("action=\"/plugins/probe/actions/survey\""),
        "{html}"
    );
    assert!(html.contains("name=\"_csrf\" value=\"tok123\""), "{html}");
    assert!(html.contains("name=\"_return\" value=\"/\""), "{html}");
}

#[test]
fn shows_a_refused_submissions_values_and_errors() {
    let view = every_kind_with("survey");
    let submitted = SubmittedForm {
        action: "survey".into(),
        values: vec![("survey".into(), "my draft".into())],
        errors: vec![FieldError {
            field: "survey".into(),
            message: "Too short.".into(),
        }],
    };
    let target = Target {
        form_errors: Some(&submitted),
        ..target()
    };
    let html = super::view(&view, &target)
        .expect("within the budget")
        .into_string();
    assert!(
        html.contains("my draft") && html.contains("Too short."),
        "{html}"
    );
    assert!(html.contains("field-invalid"), "{html}");
}

#[test]
fn tabs_work_without_script() {
    let view = View {
        nodes: vec![
            Node {
                kind: NodeKind::Tabs(Tabs {
                    labels: vec!["One".into(), "Two".into()],
                }),
                children: vec![1, 2],
            },
            leaf(NodeKind::Text(Text {
                text: "first".into(),
                tone: Tone::Neutral,
                emphasis: Emphasis::Normal,
            })),
            leaf(NodeKind::List(ListSpec { ordered: false })),
        ],
    };
    let html = super::view(&view, &target())
        .expect("within the budget")
        .into_string();
    assert_eq!(html.matches("type=\"radio\"").count(), 2, "{html}");
    assert!(
        html.contains("checked") && !html.contains("<script"),
        "{html}"
    );
}

#[test]
fn a_view_that_draws_past_the_budget_is_refused_not_drawn() {
    let big = View {
        nodes: vec![leaf(NodeKind::Text(Text {
            text: "\"".repeat(1 << 20),
            tone: Tone::Neutral,
            emphasis: Emphasis::Normal,
        }))],
    };
    // A megabyte of quotes escapes to six.
    assert!(matches!(super::view(&big, &target()), Err(TooLarge)));
    let small = View {
        nodes: vec![leaf(NodeKind::Text(Text {
            text: "fine".into(),
            tone: Tone::Neutral,
            emphasis: Emphasis::Normal,
        }))],
    };
    assert!(super::view(&small, &target()).is_ok());
}

#[test]
fn drawing_stops_at_the_first_leaf_past_the_budget() {
    let text = |s: &str| {
        leaf(NodeKind::Text(Text {
            text: s.into(),
            tone: Tone::Neutral,
            emphasis: Emphasis::Normal,
        }))
    };
    let mut nodes = vec![Node {
        kind: NodeKind::Card(Card {
            title: None,
            subtitle: None,
        }),
        children: (1..=100).collect(),
    }];
    nodes.extend((0..100).map(|_| text(&"x".repeat(1000))));
    let view = View { nodes };
    assert!(matches!(
        view_within(&view, &target(), 10_000),
        Err(TooLarge)
    ));
    assert!(view_within(&view, &target(), 1 << 20).is_ok());
}
