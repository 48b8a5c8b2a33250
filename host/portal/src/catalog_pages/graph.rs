//! An entity's relations as an SVG drawing, laid out by the host.
//!
//! The entity sits in the middle; its neighbours stand in two columns,
//! left and right, grouped under a heading per relation type, each joined
//! to the middle by a curve in its group's colour. Each neighbour in the
//! catalog is an `<a href>` to its page. The layout is a fixed grid, so
//! the drawing is the same for the same entity and needs no script;
//! labels go through maud's escaping like any other text.

use maud::{Markup, html};

/// User units across; the drawing scales to its card's width.
const WIDTH: i32 = 960;
/// A neighbour's box. 230 units hold a 26-character name at 13px.
const NODE_W: i32 = 230;
const NODE_H: i32 = 40;
const NODE_GAP: i32 = 8;
const CENTER_W: i32 = 260;
const CENTER_H: i32 = 60;
/// Room for a group's heading above its boxes.
const HEADING_H: i32 = 24;
const GROUP_GAP: i32 = 16;
const PAD: i32 = 12;
/// Neighbours drawn per relation type; the rest are one "+N more" box
/// linking to the card that lists them all. Eight keeps a
/// group that owns fifty things from turning the graph into a list.
const MAX_PER_GROUP: usize = 8;
/// Characters of a name that fit in a box; longer ones are cut, with the
/// whole reference in the box's tooltip.
const NODE_CHARS: usize = 26;
const CENTER_CHARS: usize = 28;
/// Edge colours in the design system (`.series-0` …).
const PALETTE: usize = 6;

/// One entity in the drawing.
pub(super) struct Node {
    /// Its kind, lower-cased.
    pub kind: String,
    /// What the box says.
    pub label: String,
    /// The tooltip: its full reference.
    pub title: String,
    /// Its page, when it is in the catalog.
    pub href: Option<String>,
}

/// The neighbours related one way, e.g. every "Consumes API" target.
pub(super) struct Group {
    pub label: String,
    /// Where the page lists them all (`#members`), for the "+N more" box.
    pub full_list: String,
    pub nodes: Vec<Node>,
}

/// A group placed in a column.
struct Placed<'a> {
    group: &'a Group,
    colour: usize,
    /// Left column or right.
    left: bool,
    /// The heading's top.
    top: i32,
}

impl Placed<'_> {
    fn shown(&self) -> &[Node] {
        &self.group.nodes[..self.group.nodes.len().min(MAX_PER_GROUP)]
    }

    fn hidden(&self) -> usize {
        self.group.nodes.len().saturating_sub(MAX_PER_GROUP)
    }

    /// Boxes drawn: the shown nodes, and one for the hidden ones.
    fn boxes(&self) -> i32 {
        (self.shown().len() + usize::from(self.hidden() > 0)) as i32
    }

    fn height(&self) -> i32 {
        HEADING_H + self.boxes() * (NODE_H + NODE_GAP) - NODE_GAP
    }

    fn x(&self) -> i32 {
        if self.left { PAD } else { WIDTH - PAD - NODE_W }
    }

    /// The top of box `i`.
    fn box_y(&self, i: usize) -> i32 {
        self.top + HEADING_H + i as i32 * (NODE_H + NODE_GAP)
    }
}

/// Puts each group in the shorter column, in order, then centres both
/// columns on the drawing's height, which it returns.
fn layout(groups: &[Group]) -> (Vec<Placed<'_>>, i32) {
    let mut placed: Vec<Placed<'_>> = Vec::with_capacity(groups.len());
    let mut heights = [0, 0];
    for (i, group) in groups.iter().enumerate() {
        let left = heights[0] <= heights[1];
        let column = usize::from(!left);
        let mut place = Placed {
            group,
            colour: i % PALETTE,
            left,
            top: 0,
        };
        if heights[column] > 0 {
            heights[column] += GROUP_GAP;
        }
        place.top = heights[column];
        heights[column] += place.height();
        placed.push(place);
    }
    let height = heights[0].max(heights[1]).max(CENTER_H) + 2 * PAD;
    for place in &mut placed {
        let column = heights[usize::from(!place.left)];
        place.top += (height - column) / 2;
    }
    (placed, height)
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Draws `center` and its related `groups` (which should not be empty).
pub(super) fn draw(center: &Node, groups: &[Group]) -> Markup {
    let (placed, height) = layout(groups);
    let center_x = (WIDTH - CENTER_W) / 2;
    let center_y = (height - CENTER_H) / 2;
    let mid_y = center_y + CENTER_H / 2;
    let total: usize = groups.iter().map(|g| g.nodes.len()).sum();
    let label = format!(
        "Relations of {}: {total} related {}",
        center.label,
        if total == 1 { "entity" } else { "entities" }
    );
    html! {
        figure.graph {
            svg.graph-svg viewBox={ "0 0 " (WIDTH) " " (height) } role="group" aria-label=(label) {
                // Edges first, so boxes paint over their ends.
                @for place in &placed {
                    @for i in 0..place.boxes() as usize {
                        @let y = place.box_y(i) + NODE_H / 2;
                        @let (from, to) = if place.left { (center_x, place.x() + NODE_W) } else { (center_x + CENTER_W, place.x()) };
                        @let bend = (from + to) / 2;
                        path class={ "graph-edge series-" (place.colour) }
                            d={ "M" (from) "," (mid_y) " C" (bend) "," (mid_y) " " (bend) "," (y) " " (to) "," (y) } {}
                    }
                }
                @for place in &placed {
                    circle class={ "graph-swatch series-" (place.colour) } cx=(place.x() + 5) cy=(place.top + 10) r="4" {}
                    text.graph-heading x=(place.x() + 15) y=(place.top + 14) {
                        (place.group.label) " · " (place.group.nodes.len())
                    }
                    @for (i, node) in place.shown().iter().enumerate() {
                        (node_box(node, place.x(), place.box_y(i)))
                    }
                    @if place.hidden() > 0 {
                        @let y = place.box_y(place.shown().len());
                        a.graph-node.graph-more href=(place.group.full_list) {
                            title { "See all " (place.group.nodes.len()) }
                            rect x=(place.x()) y=(y) width=(NODE_W) height=(NODE_H) rx="6" {}
                            text.graph-name x=(place.x() + NODE_W / 2) y=(y + 25) text-anchor="middle" {
                                "+" (place.hidden()) " more"
                            }
                        }
                    }
                }
                g.graph-node.graph-center {
                    title { (center.title) }
                    rect x=(center_x) y=(center_y) width=(CENTER_W) height=(CENTER_H) rx="10" {}
                    text.graph-kind x=(WIDTH / 2) y=(center_y + 22) text-anchor="middle" { (center.kind) }
                    text.graph-name.graph-center-name x=(WIDTH / 2) y=(center_y + 44) text-anchor="middle" {
                        (cut(&center.label, CENTER_CHARS))
                    }
                }
            }
        }
    }
}

fn node_box(node: &Node, x: i32, y: i32) -> Markup {
    let inner = html! {
        title { (node.title) @if node.href.is_none() { " (not in the catalog)" } }
        rect x=(x) y=(y) width=(NODE_W) height=(NODE_H) rx="6" {}
        text.graph-kind x=(x + 12) y=(y + 15) { (node.kind) }
        text.graph-name x=(x + 12) y=(y + 31) { (cut(&node.label, NODE_CHARS)) }
    };
    match &node.href {
        Some(href) => html! { a.graph-node href=(href) { (inner) } },
        None => html! { g.graph-node.graph-missing { (inner) } },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(label: &str, n: usize) -> Group {
        Group {
            label: label.to_owned(),
            full_list: "#relations".to_owned(),
            nodes: (0..n)
                .map(|i| Node {
                    kind: "component".into(),
                    label: format!("node-{i}"),
                    title: format!("component:default/node-{i}"),
                    href: Some(format!("/catalog/default/component/node-{i}")),
                })
                .collect(),
        }
    }

    #[test]
    fn groups_fill_the_shorter_column_and_both_are_centred() {
        let groups = [
            group("Consumes API", 8),
            group("Depends on", 3),
            group("Owned by", 1),
        ];
        let (placed, height) = layout(&groups);
        assert!(placed[0].left && !placed[1].left && !placed[2].left);
        let left = placed[0].height();
        assert_eq!(height, left + 2 * PAD, "the taller column sets the height");
        assert_eq!(placed[0].top, PAD);
        let right = placed[1].height() + GROUP_GAP + placed[2].height();
        assert_eq!(placed[1].top, (height - right) / 2);
    }

    #[test]
    fn a_large_group_is_cut_to_a_more_box_linking_to_the_full_list() {
        let center = Node {
            kind: "group".into(),
            label: "team".into(),
            title: "group:default/team".into(),
            href: None,
        };
        let svg = draw(&center, &[group("Owner of", 20)]).into_string();
        assert_eq!(
            svg.matches("href=\"/catalog/default/component/").count(),
            MAX_PER_GROUP
        );
        assert!(svg.contains("+12 more"), "{svg}");
        assert!(svg.contains("href=\"#relations\""));
    }

    #[test]
    fn labels_are_escaped_and_long_names_cut() {
        let center = Node {
            kind: "component".into(),
            label: "<script>alert(1)</script>".into(),
            title: "x".into(),
            href: None,
        };
        let mut evil = group("Depends on", 1);
        evil.nodes[0].label = "a-very-long-component-name-that-does-not-fit".into();
        let svg = draw(&center, &[evil]).into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("a-very-long-component-nam…"), "{svg}");
    }
}
