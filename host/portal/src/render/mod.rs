//! Drawing plugin views as HTML with the portal's design system.
//!
//! A view is data from a plugin: every string in it is untrusted. maud
//! escapes every interpolated string; links go through [`links::safe_href`]
//! (only portal paths and `http:`, `https:` and `mailto:` URLs become
//! links); markdown goes through [`markdown::to_html_within`], which turns raw HTML
//! into text. Charts are drawn here as SVG from the plugin's numbers. No
//! plugin-provided string ever reaches an attribute that could run script.

mod chart;
pub(crate) mod links;
mod markdown;
pub(crate) mod shell;

use greenroom_contract::view::is_container;
use greenroom_runtime::types::FieldError;
use greenroom_runtime::view::{
    Align, Cell, Direction, Emphasis, Field, FieldKind, Form, NodeKind, Tone, View,
};
use maud::{Markup, PreEscaped, html};
use std::cell::Cell as Counter;

/// The most HTML one plugin view may draw, in bytes. The contract bounds
/// what a view holds (nodes, text counted as drawn, table cells, chart
/// values); this bounds what it becomes, whatever the contract missed
/// (escaping turns `"` into six bytes, markdown reference links repeat
/// their URL). A view past it is not shown: its slot shows an error card.
/// An empty 2 000 × 2 000 table once drew 110 MiB and the server held
/// 1.1 GiB. Raising it makes the worst page that much heavier.
pub(crate) const MAX_RENDERED_VIEW_BYTES: usize = 4 << 20;

/// A view drew more HTML than [`MAX_RENDERED_VIEW_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the plugin's view drew more than {} MiB of HTML, the most one view may draw; it is not shown",
    MAX_RENDERED_VIEW_BYTES >> 20
)]
pub(crate) struct TooLarge;

/// Where a view is drawn, which the drawing needs to know.
pub(crate) struct Target<'a> {
    /// The plugin whose view it is; forms post to its actions.
    pub plugin_id: &'a str,
    /// Prefix for element ids, unique on the page (slot kind and name).
    pub dom_prefix: &'a str,
    /// The CSRF token forms carry.
    pub csrf: &'a str,
    /// The page to come back to after a form is submitted.
    pub return_to: &'a str,
    /// Errors from a refused submission, for the form they belong to.
    pub form_errors: Option<&'a SubmittedForm>,
}

/// A form submission the plugin refused, to show again with its errors.
#[derive(Debug, Clone)]
pub(crate) struct SubmittedForm {
    /// The form's action.
    pub action: String,
    /// The values the user entered.
    pub values: Vec<(String, String)>,
    /// The plugin's complaints.
    pub errors: Vec<FieldError>,
}

/// Draws a (validated) view, within [`MAX_RENDERED_VIEW_BYTES`].
pub(crate) fn view(view: &View, target: &Target<'_>) -> Result<Markup, TooLarge> {
    view_within(view, target, MAX_RENDERED_VIEW_BYTES)
}

/// Draws a view within `budget` bytes of HTML. Drawing stops once the
/// leaves drawn so far pass it, so an oversized view costs about the
/// budget, not its full size.
fn view_within(view: &View, target: &Target<'_>, budget: usize) -> Result<Markup, TooLarge> {
    let drawer = Drawer {
        view,
        target,
        left: Counter::new(budget),
        over: Counter::new(false),
    };
    let markup = drawer.node(0);
    if drawer.over.get() || markup.0.len() > budget {
        return Err(TooLarge);
    }
    Ok(markup)
}

struct Drawer<'a> {
    view: &'a View,
    target: &'a Target<'a>,
    /// Bytes the leaves may still draw.
    left: Counter<usize>,
    /// Whether a leaf went past the budget: nothing more is drawn.
    over: Counter<bool>,
}

fn tone_class(tone: Tone) -> &'static str {
    match tone {
        Tone::Neutral => "tone-neutral",
        Tone::Info => "tone-info",
        Tone::Success => "tone-success",
        Tone::Warning => "tone-warning",
        Tone::Danger => "tone-danger",
    }
}

fn align_class(align: Align) -> &'static str {
    match align {
        Align::Start => "align-start",
        Align::Center => "align-center",
        Align::End => "align-end",
    }
}

impl Drawer<'_> {
    fn children(&self, index: usize) -> Markup {
        html! { @for &child in &self.view.nodes[index].children { (self.node(child as usize)) } }
    }

    /// Draws node `index`, counting a leaf's HTML against the budget.
    fn node(&self, index: usize) -> Markup {
        if self.over.get() {
            return html! {};
        }
        let markup = self.draw(index);
        if !is_container(&self.view.nodes[index].kind) {
            self.spend(markup.0.len());
        }
        markup
    }

    fn spend(&self, bytes: usize) {
        match self.left.get().checked_sub(bytes) {
            Some(left) => self.left.set(left),
            None => self.over.set(true),
        }
    }

    fn draw(&self, index: usize) -> Markup {
        let node = &self.view.nodes[index];
        debug_assert!(node.children.is_empty() || is_container(&node.kind));
        match &node.kind {
            NodeKind::Card(card) => html! {
                section.card {
                    @if card.title.is_some() || card.subtitle.is_some() {
                        header.card-header {
                            @if let Some(title) = &card.title { h3.card-title { (title) } }
                            @if let Some(subtitle) = &card.subtitle { p.card-subtitle { (subtitle) } }
                        }
                    }
                    div.card-body { (self.children(index)) }
                }
            },
            NodeKind::Stack(stack) => {
                let class = match stack.direction {
                    Direction::Vertical => "stack stack-vertical",
                    Direction::Horizontal => "stack stack-horizontal",
                };
                html! { div class=(class) { (self.children(index)) } }
            }
            NodeKind::Grid(grid) => {
                html! { div class={ "grid grid-cols-" (grid.columns.clamp(1, 4)) } { (self.children(index)) } }
            }
            NodeKind::Heading(heading) => match heading.level {
                1 => html! { h2.heading.heading-1 { (heading.text) } },
                2 => html! { h3.heading.heading-2 { (heading.text) } },
                3 => html! { h4.heading.heading-3 { (heading.text) } },
                _ => html! { h5.heading.heading-4 { (heading.text) } },
            },
            NodeKind::Text(text) => {
                let emphasis = match text.emphasis {
                    Emphasis::Normal => "",
                    Emphasis::Strong => " text-strong",
                    Emphasis::Muted => " text-muted",
                    Emphasis::Code => " text-code",
                };
                html! { p class={ "text " (tone_class(text.tone)) (emphasis) } { (text.text) } }
            }
            NodeKind::Markdown(source) => match markdown::to_html_within(source, self.left.get()) {
                Some(drawn) => html! { div.markdown { (PreEscaped(drawn)) } },
                None => {
                    self.over.set(true);
                    html! {}
                }
            },
            NodeKind::Stat(stat) => html! {
                div class={ "stat " (tone_class(stat.tone)) } {
                    div.stat-label { (stat.label) }
                    div.stat-value {
                        (stat.value)
                        @if let Some(unit) = &stat.unit { span.stat-unit { (unit) } }
                    }
                    @if let Some(delta) = &stat.delta { div.stat-delta { (delta) } }
                }
            },
            NodeKind::Badge(badge) => {
                html! { span class={ "badge " (tone_class(badge.tone)) } { (badge.label) } }
            }
            NodeKind::Link(link) => links::anchor(&link.label, &link.href),
            NodeKind::List(list) => {
                let items =
                    html! { @for &child in &node.children { li { (self.node(child as usize)) } } };
                if list.ordered {
                    html! { ol.list { (items) } }
                } else {
                    html! { ul.list { (items) } }
                }
            }
            NodeKind::Table(table) => html! {
                div.table-wrap {
                    table.table {
                        thead { tr { @for column in &table.columns { th class=(align_class(column.align)) { (column.label) } } } }
                        tbody {
                            @for row in &table.rows {
                                tr {
                                    @for (i, column) in table.columns.iter().enumerate() {
                                        td class=(align_class(column.align)) { (cell(row.get(i).unwrap_or(&Cell::Empty))) }
                                    }
                                }
                            }
                        }
                    }
                }
            },
            NodeKind::Chart(chart) => chart::draw(chart),
            NodeKind::Form(form) => self.form(index, form),
            NodeKind::Tabs(tabs) => {
                // Radio buttons and CSS show one panel at a time, without
                // any script.
                let group = format!("{}-tabs-{index}", self.target.dom_prefix);
                html! {
                    div.tabs {
                        @for (i, label) in tabs.labels.iter().enumerate() {
                            @let id = format!("{group}-{i}");
                            input.tab-radio type="radio" name=(group) id=(id) checked[i == 0];
                            label.tab-label for=(id) { (label) }
                        }
                        @for (i, &child) in node.children.iter().enumerate() {
                            div class={ "tab-panel tab-panel-" (i) } { (self.node(child as usize)) }
                        }
                    }
                }
            }
            NodeKind::Properties(properties) => html! {
                dl.properties {
                    @for property in properties {
                        div.property { dt { (property.label) } dd { (cell(&property.value)) } }
                    }
                }
            },
            NodeKind::Code(code) => html! {
                pre.code {
                    @if let Some(language) = &code.language { span.code-language { (language) } }
                    code { (code.code) }
                }
            },
            NodeKind::Divider => html! { hr.divider; },
            NodeKind::Empty(empty) => html! {
                div.empty-state {
                    p.empty-title { (empty.title) }
                    @if let Some(description) = &empty.description { p.empty-description { (description) } }
                }
            },
            NodeKind::Error(error) => error_box(&error.title, error.detail.as_deref()),
        }
    }

    fn form(&self, index: usize, form: &Form) -> Markup {
        let submitted = self.target.form_errors.filter(|s| s.action == form.action);
        let action = format!(
            "/plugins/{}/actions/{}",
            self.target.plugin_id,
            percent_encoding::utf8_percent_encode(&form.action, percent_encoding::NON_ALPHANUMERIC)
        );
        let form_id = format!("{}-form-{index}", self.target.dom_prefix);
        html! {
            form.form method="post" action=(action) {
                (self.children(index))
                input type="hidden" name="_csrf" value=(self.target.csrf);
                input type="hidden" name="_return" value=(self.target.return_to);
                @for field in &form.fields {
                    (form_field(&form_id, field, submitted))
                }
                button.button.button-primary type="submit" { (form.submit_label) }
            }
        }
    }
}

fn form_field(form_id: &str, field: &Field, submitted: Option<&SubmittedForm>) -> Markup {
    let id = format!("{form_id}-{}", field.name);
    let value = submitted
        .and_then(|s| {
            s.values
                .iter()
                .find(|(n, _)| *n == field.name)
                .map(|(_, v)| v.clone())
        })
        .or_else(|| field.value.clone())
        .unwrap_or_default();
    let errors: Vec<&str> = submitted
        .map(|s| {
            s.errors
                .iter()
                .filter(|e| e.field == field.name)
                .map(|e| e.message.as_str())
                .collect()
        })
        .unwrap_or_default();
    let input_type = match &field.kind {
        FieldKind::Number => "number",
        FieldKind::Email => "email",
        FieldKind::Url => "url",
        FieldKind::Date => "date",
        _ => "text",
    };
    if matches!(field.kind, FieldKind::Hidden) {
        return html! { input type="hidden" name=(field.name) value=(value); };
    }
    html! {
        div class={ "field" @if !errors.is_empty() { " field-invalid" } } {
            @match &field.kind {
                FieldKind::Checkbox => {
                    label.checkbox for=(id) {
                        input type="checkbox" id=(id) name=(field.name) value="on" checked[value == "on" || value == "true"];
                        " " (field.label)
                    }
                }
                FieldKind::Radio(choices) => {
                    fieldset.radio-group {
                        legend { (field.label) @if field.required { span.required { " *" } } }
                        @for (i, choice) in choices.iter().enumerate() {
                            @let choice_id = format!("{id}-{i}");
                            label.radio for=(choice_id) {
                                input type="radio" id=(choice_id) name=(field.name) value=(choice.value) checked[value == choice.value] required[field.required];
                                " " (choice.label)
                            }
                        }
                    }
                }
                FieldKind::Rating(max) => {
                    fieldset.rating {
                        legend { (field.label) @if field.required { span.required { " *" } } }
                        @for n in 1..=(*max).clamp(2, 10) {
                            @let choice_id = format!("{id}-{n}");
                            label.rating-option for=(choice_id) {
                                input type="radio" id=(choice_id) name=(field.name) value=(n) checked[value == n.to_string()] required[field.required];
                                span { (n) }
                            }
                        }
                    }
                }
                _ => {
                    label.field-label for=(id) { (field.label) @if field.required { span.required { " *" } } }
                    @match &field.kind {
                        FieldKind::Textarea => textarea.input id=(id) name=(field.name) rows="4" required[field.required] { (value) },
                        FieldKind::Select(choices) => select.input id=(id) name=(field.name) required[field.required] {
                            @if !field.required { option value="" { "—" } }
                            @for choice in choices { option value=(choice.value) selected[value == choice.value] { (choice.label) } }
                        },
                        _ => input.input type=(input_type) id=(id) name=(field.name) value=(value) required[field.required];,
                    }
                }
            }
            @if let Some(help) = &field.help { p.field-help { (help) } }
            @for error in errors { p.field-error { (error) } }
        }
    }
}

fn cell(cell: &Cell) -> Markup {
    match cell {
        Cell::Text(text) => html! { (text) },
        Cell::Link(link) => links::anchor(&link.label, &link.href),
        Cell::Badge(badge) => {
            html! { span class={ "badge " (tone_class(badge.tone)) } { (badge.label) } }
        }
        Cell::Empty => html! {},
    }
}

/// A red box explaining a problem.
pub(crate) fn error_box(title: &str, detail: Option<&str>) -> Markup {
    html! {
        div.error-state role="alert" {
            p.error-title { (title) }
            @if let Some(detail) = detail { p.error-detail { (detail) } }
        }
    }
}

/// The card a plugin's slot shows instead of its view when the host will
/// not call it (unlicensed, or turned off by an admin).
pub(crate) fn refusal_card(title: &str, message: &str) -> Markup {
    html! {
        div.licence-state role="status" {
            p.licence-title { (title) }
            p.licence-detail { (message) }
        }
    }
}

#[cfg(test)]
mod tests;
