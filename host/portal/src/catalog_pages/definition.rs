//! An API's Definition tab: for OpenAPI, its operations as a table; for
//! every type, the definition itself as escaped text.
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
                    div.table-wrap {
                        table.table {
                            thead { tr { th scope="col" { "Method" } th scope="col" { "Path" } th scope="col" { "Summary" } } }
                            tbody {
                                @for op in &operations {
                                    tr {
                                        td { span class={ "badge method " (method_tone(op.method)) } { (op.method.to_uppercase()) } }
                                        td { code { (op.path) } }
                                        td {
                                            (op.summary.unwrap_or(""))
                                            @if op.deprecated { " " span.badge.tone-warning { "deprecated" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
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
