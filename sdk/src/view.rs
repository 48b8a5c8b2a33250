//! Views: what a plugin draws, built as a tree.
//!
//! The host draws views with the portal's own components and design
//! system; plugins never ship HTML or JavaScript. Build a tree of [`El`]
//! with the functions here and turn it into a [`View`] with `.into()`; the
//! SDK flattens it into the contract's node list.
//!
//! ```
//! use greenroom_sdk::view::*;
//!
//! let view: View = card("Deployments")
//!     .subtitle("last 7 days")
//!     .child(row().child(stat("Deploys", 42)).child(stat("Failures", 1).tone(Tone::Danger)))
//!     .child(
//!         table(["Service", "Status"])
//!             .row([Cell::from("payments"), badge_cell("passing", Tone::Success)]),
//!     )
//!     .into();
//! assert_eq!(view.nodes.len(), 5);
//! ```

use crate::bindings::greenroom::plugin::view as wit;

pub use wit::{Align, Cell, ChartKind, Choice, Direction, Emphasis, FieldKind, Tone, View};

/// An element of a view: a node and its children.
#[derive(Debug, Clone)]
pub struct El {
    kind: wit::NodeKind,
    children: Vec<El>,
}

impl El {
    fn leaf(kind: wit::NodeKind) -> El {
        El {
            kind,
            children: Vec::new(),
        }
    }

    /// Adds a child. Only containers (card, row, column, grid, list, tabs,
    /// form) draw children; the host rejects children elsewhere.
    pub fn child(mut self, child: impl Into<El>) -> El {
        self.children.push(child.into());
        self
    }

    /// Adds several children.
    pub fn children<I>(mut self, children: I) -> El
    where
        I: IntoIterator,
        I::Item: Into<El>,
    {
        self.children.extend(children.into_iter().map(Into::into));
        self
    }
}

impl From<El> for View {
    /// Flattens the tree in pre-order, so every child's index is greater
    /// than its parent's, as the contract requires.
    fn from(root: El) -> View {
        fn push(el: El, nodes: &mut Vec<wit::Node>) -> u32 {
            let index = nodes.len();
            nodes.push(wit::Node {
                kind: el.kind,
                children: Vec::new(),
            });
            let children: Vec<u32> = el.children.into_iter().map(|c| push(c, nodes)).collect();
            nodes[index].children = children;
            index as u32
        }
        let mut nodes = Vec::new();
        push(root, &mut nodes);
        View { nodes }
    }
}

macro_rules! into_view_via_el {
    ($($ty:ty),*) => {$(
        impl From<$ty> for View {
            fn from(builder: $ty) -> View {
                El::from(builder).into()
            }
        }
    )*};
}

// ===== containers =====

/// A bordered card with a title.
pub fn card(title: impl Into<String>) -> Card {
    Card {
        spec: wit::Card {
            title: Some(title.into()),
            subtitle: None,
        },
        children: Vec::new(),
    }
}

/// A card without a title.
pub fn plain_card() -> Card {
    Card {
        spec: wit::Card {
            title: None,
            subtitle: None,
        },
        children: Vec::new(),
    }
}

/// A card being built; see [`card`].
#[derive(Debug, Clone)]
pub struct Card {
    spec: wit::Card,
    children: Vec<El>,
}

impl Card {
    /// A line under the title.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Card {
        self.spec.subtitle = Some(subtitle.into());
        self
    }

    /// Adds a child to the card's body.
    pub fn child(mut self, child: impl Into<El>) -> Card {
        self.children.push(child.into());
        self
    }

    /// Adds several children to the card's body.
    pub fn children<I>(mut self, children: I) -> Card
    where
        I: IntoIterator,
        I::Item: Into<El>,
    {
        self.children.extend(children.into_iter().map(Into::into));
        self
    }
}

impl From<Card> for El {
    fn from(card: Card) -> El {
        El {
            kind: wit::NodeKind::Card(card.spec),
            children: card.children,
        }
    }
}

/// Children side by side.
pub fn row() -> El {
    El::leaf(wit::NodeKind::Stack(wit::Stack {
        direction: Direction::Horizontal,
    }))
}

/// Children one under another.
pub fn column() -> El {
    El::leaf(wit::NodeKind::Stack(wit::Stack {
        direction: Direction::Vertical,
    }))
}

/// Children in a grid of 1 to 4 columns.
pub fn grid(columns: u8) -> El {
    El::leaf(wit::NodeKind::Grid(wit::Grid {
        columns: columns.clamp(1, 4),
    }))
}

/// A bulleted list; each child is an item.
pub fn bullet_list() -> El {
    El::leaf(wit::NodeKind::List(wit::ListSpec { ordered: false }))
}

/// A numbered list; each child is an item.
pub fn numbered_list() -> El {
    El::leaf(wit::NodeKind::List(wit::ListSpec { ordered: true }))
}

/// Tabs, one panel each; see [`Tabs::tab`].
pub fn tabs() -> Tabs {
    Tabs {
        labels: Vec::new(),
        panels: Vec::new(),
    }
}

/// Tabs being built.
#[derive(Debug, Clone)]
pub struct Tabs {
    labels: Vec<String>,
    panels: Vec<El>,
}

impl Tabs {
    /// Adds a tab with its panel.
    pub fn tab(mut self, label: impl Into<String>, panel: impl Into<El>) -> Tabs {
        self.labels.push(label.into());
        self.panels.push(panel.into());
        self
    }
}

impl From<Tabs> for El {
    fn from(tabs: Tabs) -> El {
        El {
            kind: wit::NodeKind::Tabs(wit::Tabs {
                labels: tabs.labels,
            }),
            children: tabs.panels,
        }
    }
}

// ===== text =====

/// A heading of level 2; see [`heading_level`] for others.
pub fn heading(text: impl Into<String>) -> El {
    heading_level(2, text)
}

/// A heading of level 1 (largest) to 4.
pub fn heading_level(level: u8, text: impl Into<String>) -> El {
    El::leaf(wit::NodeKind::Heading(wit::Heading {
        level: level.clamp(1, 4),
        text: text.into(),
    }))
}

/// A paragraph.
pub fn text(text: impl Into<String>) -> Text {
    Text(wit::Text {
        text: text.into(),
        tone: Tone::Neutral,
        emphasis: Emphasis::Normal,
    })
}

/// A paragraph being built; see [`text`].
#[derive(Debug, Clone)]
pub struct Text(wit::Text);

impl Text {
    /// Colours the text.
    pub fn tone(mut self, tone: Tone) -> Text {
        self.0.tone = tone;
        self
    }

    /// Sets the text in bold.
    pub fn strong(mut self) -> Text {
        self.0.emphasis = Emphasis::Strong;
        self
    }

    /// Sets the text in grey.
    pub fn muted(mut self) -> Text {
        self.0.emphasis = Emphasis::Muted;
        self
    }

    /// Sets the text in a monospace font.
    pub fn code(mut self) -> Text {
        self.0.emphasis = Emphasis::Code;
        self
    }
}

impl From<Text> for El {
    fn from(text: Text) -> El {
        El::leaf(wit::NodeKind::Text(text.0))
    }
}

/// CommonMark text. Raw HTML is shown as text.
pub fn markdown(source: impl Into<String>) -> El {
    El::leaf(wit::NodeKind::Markdown(source.into()))
}

/// Preformatted code, with a language hint such as `yaml`.
pub fn code(language: &str, code: impl Into<String>) -> El {
    let language = (!language.is_empty()).then(|| language.to_owned());
    El::leaf(wit::NodeKind::Code(wit::CodeBlock {
        language,
        code: code.into(),
    }))
}

/// A horizontal rule.
pub fn divider() -> El {
    El::leaf(wit::NodeKind::Divider)
}

// ===== data =====

/// A big number with a label.
pub fn stat(label: impl Into<String>, value: impl ToString) -> Stat {
    Stat(wit::Stat {
        label: label.into(),
        value: value.to_string(),
        unit: None,
        delta: None,
        tone: Tone::Neutral,
    })
}

/// A stat being built; see [`stat`].
#[derive(Debug, Clone)]
pub struct Stat(wit::Stat);

impl Stat {
    /// A unit after the value, e.g. `%`.
    pub fn unit(mut self, unit: impl Into<String>) -> Stat {
        self.0.unit = Some(unit.into());
        self
    }

    /// A change under the value, e.g. `+3 this week`.
    pub fn delta(mut self, delta: impl Into<String>) -> Stat {
        self.0.delta = Some(delta.into());
        self
    }

    /// Colours the value.
    pub fn tone(mut self, tone: Tone) -> Stat {
        self.0.tone = tone;
        self
    }
}

impl From<Stat> for El {
    fn from(stat: Stat) -> El {
        El::leaf(wit::NodeKind::Stat(stat.0))
    }
}

/// A small coloured label.
pub fn badge(label: impl Into<String>, tone: Tone) -> El {
    El::leaf(wit::NodeKind::Badge(wit::Badge {
        label: label.into(),
        tone,
    }))
}

/// A link to a portal path (`/catalog/…`) or an `http(s):`/`mailto:` URL.
pub fn link(label: impl Into<String>, href: impl Into<String>) -> El {
    El::leaf(wit::NodeKind::Link(wit::Link {
        label: label.into(),
        href: href.into(),
    }))
}

/// A table cell holding a link.
pub fn link_cell(label: impl Into<String>, href: impl Into<String>) -> Cell {
    Cell::Link(wit::Link {
        label: label.into(),
        href: href.into(),
    })
}

/// A table cell holding a badge.
pub fn badge_cell(label: impl Into<String>, tone: Tone) -> Cell {
    Cell::Badge(wit::Badge {
        label: label.into(),
        tone,
    })
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_owned())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

/// A table with these column headers.
pub fn table<I>(columns: I) -> Table
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    let columns = columns
        .into_iter()
        .map(|label| wit::Column {
            label: label.into(),
            align: Align::Start,
        })
        .collect();
    Table(wit::Table {
        columns,
        rows: Vec::new(),
    })
}

/// A table being built; see [`table`].
#[derive(Debug, Clone)]
pub struct Table(wit::Table);

impl Table {
    /// Adds a row; one cell per column.
    pub fn row<I>(mut self, cells: I) -> Table
    where
        I: IntoIterator,
        I::Item: Into<Cell>,
    {
        self.0
            .rows
            .push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Aligns column `index` (e.g. numbers to the end).
    pub fn align(mut self, index: usize, align: Align) -> Table {
        if let Some(column) = self.0.columns.get_mut(index) {
            column.align = align;
        }
        self
    }
}

impl From<Table> for El {
    fn from(table: Table) -> El {
        El::leaf(wit::NodeKind::Table(table.0))
    }
}

/// Label/value pairs, as in an "About" card.
pub fn properties() -> Properties {
    Properties(Vec::new())
}

/// Properties being built; see [`properties`].
#[derive(Debug, Clone)]
pub struct Properties(Vec<wit::Property>);

impl Properties {
    /// Adds a pair.
    pub fn property(mut self, label: impl Into<String>, value: impl Into<Cell>) -> Properties {
        self.0.push(wit::Property {
            label: label.into(),
            value: value.into(),
        });
        self
    }
}

impl From<Properties> for El {
    fn from(properties: Properties) -> El {
        El::leaf(wit::NodeKind::Properties(properties.0))
    }
}

/// A line chart over these x labels; add series with [`Chart::series`].
pub fn line_chart<I>(x_labels: I) -> Chart
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    chart(ChartKind::Line, x_labels)
}

/// A bar chart over these x labels.
pub fn bar_chart<I>(x_labels: I) -> Chart
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    chart(ChartKind::Bar, x_labels)
}

fn chart<I>(kind: ChartKind, x_labels: I) -> Chart
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    Chart(wit::Chart {
        kind,
        title: None,
        x_labels: x_labels.into_iter().map(Into::into).collect(),
        series: Vec::new(),
        unit: None,
    })
}

/// A chart being built.
#[derive(Debug, Clone)]
pub struct Chart(wit::Chart);

impl Chart {
    /// A title above the chart.
    pub fn title(mut self, title: impl Into<String>) -> Chart {
        self.0.title = Some(title.into());
        self
    }

    /// A unit for the y axis.
    pub fn unit(mut self, unit: impl Into<String>) -> Chart {
        self.0.unit = Some(unit.into());
        self
    }

    /// Adds a named series, one value per x label.
    pub fn series(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = f64>,
    ) -> Chart {
        self.0.series.push(wit::Series {
            name: name.into(),
            values: values.into_iter().collect(),
        });
        self
    }
}

impl From<Chart> for El {
    fn from(chart: Chart) -> El {
        El::leaf(wit::NodeKind::Chart(chart.0))
    }
}

// ===== forms =====

/// A form that calls the plugin's `action` with `action` as the name.
pub fn form(action: impl Into<String>, submit_label: impl Into<String>) -> Form {
    Form {
        spec: wit::Form {
            action: action.into(),
            fields: Vec::new(),
            submit_label: submit_label.into(),
        },
        children: Vec::new(),
    }
}

/// A form being built; see [`form`].
#[derive(Debug, Clone)]
pub struct Form {
    spec: wit::Form,
    children: Vec<El>,
}

impl Form {
    /// Adds a field.
    pub fn field(mut self, field: Field) -> Form {
        self.spec.fields.push(field.0);
        self
    }

    /// Adds an element shown above the fields (e.g. an explanation).
    pub fn child(mut self, child: impl Into<El>) -> Form {
        self.children.push(child.into());
        self
    }
}

impl From<Form> for El {
    fn from(form: Form) -> El {
        El {
            kind: wit::NodeKind::Form(form.spec),
            children: form.children,
        }
    }
}

/// A form field being built.
#[derive(Debug, Clone)]
pub struct Field(wit::Field);

impl Field {
    /// A field of any kind.
    pub fn new(kind: FieldKind, name: impl Into<String>, label: impl Into<String>) -> Field {
        Field(wit::Field {
            name: name.into(),
            label: label.into(),
            kind,
            required: false,
            help: None,
            value: None,
        })
    }

    /// A one-line text field.
    pub fn text(name: impl Into<String>, label: impl Into<String>) -> Field {
        Field::new(FieldKind::Text, name, label)
    }

    /// A multi-line text field.
    pub fn textarea(name: impl Into<String>, label: impl Into<String>) -> Field {
        Field::new(FieldKind::Textarea, name, label)
    }

    /// A drop-down of `(value, label)` choices.
    pub fn select<'a>(
        name: impl Into<String>,
        label: impl Into<String>,
        choices: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Field {
        let choices = choices
            .into_iter()
            .map(|(value, label)| Choice {
                value: value.into(),
                label: label.into(),
            })
            .collect();
        Field::new(FieldKind::Select(choices), name, label)
    }

    /// Must be filled in.
    pub fn required(mut self) -> Field {
        self.0.required = true;
        self
    }

    /// Help text under the field.
    pub fn help(mut self, help: impl Into<String>) -> Field {
        self.0.help = Some(help.into());
        self
    }

    /// The initial value.
    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.0.value = Some(value.into());
        self
    }
}

// ===== states =====

/// A friendly "nothing here yet" message.
pub fn empty(title: impl Into<String>, description: impl Into<String>) -> El {
    El::leaf(wit::NodeKind::Empty(wit::EmptyState {
        title: title.into(),
        description: Some(description.into()),
    }))
}

/// A problem shown in place of content.
pub fn error_state(title: impl Into<String>, detail: impl Into<String>) -> El {
    El::leaf(wit::NodeKind::Error(wit::ErrorState {
        title: title.into(),
        detail: Some(detail.into()),
    }))
}

impl From<&str> for El {
    /// Plain text.
    fn from(value: &str) -> El {
        text(value).into()
    }
}

impl From<String> for El {
    /// Plain text.
    fn from(value: String) -> El {
        text(value).into()
    }
}

into_view_via_el!(Card, Tabs, Text, Stat, Table, Properties, Chart, Form);

#[cfg(test)]
mod tests {
    use super::*;

    fn children(view: &View, index: usize) -> Vec<u32> {
        view.nodes[index].children.clone()
    }

    #[test]
    fn flattens_in_pre_order_with_children_after_parents() {
        let view: View = card("A")
            .child(row().child(stat("x", 1)).child(stat("y", 2)))
            .child(text("t"))
            .into();
        assert_eq!(view.nodes.len(), 5);
        assert_eq!(children(&view, 0), vec![1, 4]);
        assert_eq!(children(&view, 1), vec![2, 3]);
        for (i, node) in view.nodes.iter().enumerate() {
            assert!(node.children.iter().all(|&c| c as usize > i));
        }
    }

    #[test]
    fn tabs_have_one_panel_per_label() {
        let view: View = tabs().tab("One", text("1")).tab("Two", text("2")).into();
        let wit::NodeKind::Tabs(spec) = &view.nodes[0].kind else {
            panic!("root is tabs")
        };
        assert_eq!(spec.labels, vec!["One", "Two"]);
        assert_eq!(children(&view, 0), vec![1, 2]);
    }

    #[test]
    fn clamps_grid_columns_and_heading_levels() {
        let view: View = grid(9).child(heading_level(0, "h")).into();
        assert!(matches!(
            view.nodes[0].kind,
            wit::NodeKind::Grid(wit::Grid { columns: 4 })
        ));
        assert!(matches!(&view.nodes[1].kind, wit::NodeKind::Heading(h) if h.level == 1));
    }
}
