//! Drawing plugin views as HTML with the portal's design system.
//!
//! A view is data from a plugin: every string in it is untrusted. maud
//! escapes every interpolated string; links go through [`links::safe_href`]
//! (only portal paths and `http:`, `https:` and `mailto:` URLs become
//! links); markdown goes through [`markdown::to_html`], which turns raw HTML
//! into text. Charts are drawn here as SVG from the plugin's numbers. No
//! plugin-provided string ever reaches an attribute that could run script.

mod chart;
pub(crate) mod links;
mod markdown;

use greenroom_contract::view::is_container;
use greenroom_runtime::types::FieldError;
use greenroom_runtime::view::{
    Align, Cell, Direction, Emphasis, Field, FieldKind, Form, NodeKind, Tone, View,
};
use maud::{Markup, PreEscaped, html};

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

/// Draws a (validated) view.
pub(crate) fn view(view: &View, target: &Target<'_>) -> Markup {
    Drawer { view, target }.node(0)
}

struct Drawer<'a> {
    view: &'a View,
    target: &'a Target<'a>,
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

    fn node(&self, index: usize) -> Markup {
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
            NodeKind::Markdown(source) => {
                html! { div.markdown { (PreEscaped(markdown::to_html(source))) } }
            }
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

#[cfg(test)]
mod tests;
