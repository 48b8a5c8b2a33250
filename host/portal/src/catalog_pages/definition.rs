//! An API's Definition tab: for OpenAPI, its operations, each expandable
//! to its description, parameters, request body and responses; for every
//! type, the definition itself as escaped text.
//!
//! The definition is read as data (YAML or JSON), never rendered as
//! markup: descriptions are shown as plain text, and no URL in it becomes
//! a link.

use super::Entry;
use maud::{Markup, html};
use serde_json::Value;

/// Operations listed; more than this is a definition to read as text.
/// The table is a summary, and each row is markup the page carries.
const MAX_OPERATIONS: usize = 300;

/// The HTTP methods an OpenAPI path item may have, in the order shown.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "options", "head", "trace",
];

/// One operation of an OpenAPI document.
struct Operation<'a> {
    method: &'static str,
    path: &'a str,
    summary: Option<&'a str>,
    deprecated: bool,
    /// The operation itself, for its details.
    detail: &'a Value,
    /// Parameters the path item declares for all its operations.
    shared_parameters: Option<&'a Value>,
}

/// A parameter of an operation: `name`, `in`, whether it is required.
fn parameters<'a>(op: &Operation<'a>) -> Vec<(&'a str, &'a str, bool)> {
    [op.shared_parameters, op.detail.get("parameters")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            let place = p.get("in").and_then(Value::as_str).unwrap_or("");
            Some((name, place, p.get("required") == Some(&Value::Bool(true))))
        })
        .collect()
}

/// The keys of an object at `pointer` in `value` (response codes, media
/// types), in the document's order.
fn keys<'a>(value: &'a Value, pointer: &str) -> Vec<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_object)
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The operations of an OpenAPI (or Swagger 2) document, path by path.
fn operations(document: &Value) -> Vec<Operation<'_>> {
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS.iter().filter_map(move |&method| {
                let operation = item.get(method)?;
                Some(Operation {
                    method,
                    path,
                    detail: operation,
                    shared_parameters: item.get("parameters"),
                    summary: operation
                        .get("summary")
                        .or_else(|| operation.get("operationId"))
                        .and_then(Value::as_str),
                    deprecated: operation.get("deprecated") == Some(&Value::Bool(true)),
                })
            })
        })
        .take(MAX_OPERATIONS)
        .collect()
}

fn method_tone(method: &str) -> &'static str {
    match method {
        "get" => "tone-info",
        "post" => "tone-success",
        "delete" => "tone-danger",
        "put" | "patch" => "tone-warning",
        _ => "tone-neutral",
    }
}

/// The tab's content.
pub(super) fn draw(entry: Entry<'_>) -> Markup {
    let spec_type = entry.spec("type").unwrap_or("unknown").to_ascii_lowercase();
    let text = match entry.0.pointer("/spec/definition") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    if text.trim().is_empty() {
        return html! {
            div.empty-state {
                p.empty-title { "No definition" }
                p.empty-description { "Put the API's definition in " code { "spec.definition" } ", or point to its file with " code { "$text: ./openapi.yaml" } "." }
            }
        };
    }
    let document = (spec_type == "openapi")
        .then(|| greenroom_catalog::parse_documents(&text).ok())
        .flatten()
        .and_then(|documents| documents.into_iter().next())
        .map(|d| d.value);
    html! {
        @if let Some(document) = &document { (openapi_summary(document)) }
        section.card {
            header.card-header {
                h2.card-title { "Definition" }
                p.card-subtitle { (spec_type) ", as written in the catalog" }
            }
            div.card-body {
                pre.code.definition-code { span.code-language { (spec_type) } code { (text) } }
            }
        }
    }
}

fn openapi_summary(document: &Value) -> Markup {
    let info = |field: &str| {
        document
            .pointer(&format!("/info/{field}"))
            .and_then(Value::as_str)
    };
    let servers: Vec<&str> = document
        .get("servers")
        .and_then(Value::as_array)
        .map(|servers| {
            servers
                .iter()
                .filter_map(|s| s.get("url")?.as_str())
                .collect()
        })
        .unwrap_or_default();
    let operations = operations(document);
    html! {
        section.card {
            header.card-header {
                h2.card-title { (info("title").unwrap_or("Operations")) @if let Some(v) = info("version") { " " span.card-title-version { (v) } } }
                @if let Some(description) = info("description") { p.card-subtitle { (description) } }
            }
            div.card-body {
                @if !servers.is_empty() {
                    p.text-small { "Servers: " @for (i, url) in servers.iter().enumerate() { @if i > 0 { ", " } code { (url) } } }
                }
                @if operations.is_empty() {
                    p.text-muted { "The definition lists no operations under " code { "paths" } "." }
                } @else {
                    ul.operations {
                        @for op in &operations { li { (operation(op)) } }
                    }
                }
            }
        }
    }
}

/// One operation, folded: its method, path and summary; opened, its
/// description, parameters, request body and responses, as plain text.
fn operation(op: &Operation) -> Markup {
    let description = op.detail.get("description").and_then(Value::as_str);
    let parameters = parameters(op);
    let bodies = keys(op.detail, "/requestBody/content");
    let responses: Vec<(&str, &str)> = keys(op.detail, "/responses")
        .into_iter()
        .map(|code| {
            let said = op
                .detail
                .pointer(&format!(
                    "/responses/{}",
                    code.replace('~', "~0").replace('/', "~1")
                ))
                .and_then(|r| r.get("description"))
                .and_then(Value::as_str)
                .unwrap_or("");
            (code, said)
        })
        .collect();
    html! {
        details.operation {
            summary {
                span class={ "badge method " (method_tone(op.method)) } { (op.method.to_uppercase()) }
                " " code { (op.path) }
                @if let Some(summary) = op.summary { " " span.operation-summary { (summary) } }
                @if op.deprecated { " " span.badge.tone-warning { "deprecated" } }
            }
            div.operation-detail {
                @if let Some(description) = description { p.text { (description) } }
                @if !parameters.is_empty() {
                    h4.heading.heading-4 { "Parameters" }
                    ul.plain-list {
                        @for (name, place, required) in &parameters {
                            li { code { (name) } " " span.text-muted { "in " (place) } @if *required { " " span.badge.tone-neutral { "required" } } }
                        }
                    }
                }
                @if !bodies.is_empty() {
                    h4.heading.heading-4 { "Request body" }
                    p.text { @for (i, media) in bodies.iter().enumerate() { @if i > 0 { ", " } code { (media) } } }
                }
                @if !responses.is_empty() {
                    h4.heading.heading-4 { "Responses" }
                    ul.plain-list {
                        @for (code, said) in &responses { li { code { (code) } " " (said) } }
                    }
                }
                @if description.is_none() && parameters.is_empty() && bodies.is_empty() && responses.is_empty() {
                    p.text-muted { "The definition says nothing more about it." }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_openapi_operations_path_by_path_in_method_order() {
        let document = json!({"paths": {
            "/a": {"post": {"summary": "make"}, "get": {"operationId": "read"}, "parameters": []},
            "/b": {"delete": {"deprecated": true}}
        }});
        let listed: Vec<(String, Option<&str>, bool)> = operations(&document)
            .iter()
            .map(|o| (format!("{} {}", o.method, o.path), o.summary, o.deprecated))
            .collect();
        assert_eq!(
            listed,
            [
                ("get /a".to_owned(), Some("read"), false),
                ("post /a".to_owned(), Some("make"), false),
                ("delete /b".to_owned(), None, true),
            ]
        );
    }

    #[test]
    fn each_operation_opens_to_its_parameters_body_and_responses() {
        let document = json!({"paths": {"/payments/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": true}],
            "post": {
                "summary": "Take a payment",
                "description": "Charges the <card>.",
                "parameters": [{"name": "dry-run", "in": "query"}],
                "requestBody": {"content": {"application/json": {}}},
                "responses": {"201": {"description": "Taken"}, "402": {"description": "Declined"}}
            }
        }}});
        let ops = operations(&document);
        let html = operation(&ops[0]).into_string();
        for expected in [
            "<details class=\"operation\"><summary>",
            ">POST</span> <code>/payments/{id}</code>",
            "Charges the &lt;card&gt;.",
            "<code>id</code> <span class=\"text-muted\">in path</span> <span class=\"badge tone-neutral\">required</span>",
            "<code>dry-run</code>",
            "<code>application/json</code>",
            "<code>201</code> Taken",
            "<code>402</code> Declined",
        ] {
            assert!(html.contains(expected), "`{expected}` in {html}");
        }
    }

    #[test]
    fn the_definition_is_shown_as_text_never_as_markup() {
        let entity = json!({"kind": "API", "metadata": {"name": "x"}, "spec": {
            "type": "openapi",
            "definition": "openapi: 3.0.0\ninfo:\n  title: <img src=x onerror=alert(1)>\n  description: <script>alert(1)</script>\npaths: {}\n"
        }});
        let html = draw(Entry(&entity)).into_string();
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
    }
}
