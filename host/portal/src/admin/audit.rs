//! The audit log, for admins: `/admin/audit` and `GET /api/audit`.
//!
//! Both take the same filters — `plugin`, `actor`, `action`, `decision`
//! (`allow` or `deny`), each an exact match — and page newest first by the
//! entries' ids: `before=<id>` continues after the last entry of a page,
//! so entries recorded meanwhile never shift a page (keyset paging,
//! [`greenroom_access::AuditQuery`]). `limit` is 1 to
//! [`MAX_AUDIT_PAGE`], 50 unless given.

use super::api::admin;
use super::blocking;
use super::pages::{admin_page, breadcrumb};
use super::{Allowed, AuditRead};
use crate::error::{AppError, ErrorKind, Format};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use greenroom_access::{AuditEntry, AuditPage, AuditQuery, Decision, MAX_AUDIT_PAGE};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{Duration, UNIX_EPOCH};

/// The page.
const AUDIT_PAGE: &str = "/admin/audit";

pub(super) fn page_routes() -> Router<AppState> {
    Router::new().route("/audit", get(page))
}

/// The query string, as sent: every field is text, so that an empty field
/// of the page's form means "any" and a malformed number is a 400 that
/// says which.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    plugin: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    decision: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

impl Filters {
    /// The query they ask for, or why they cannot be read.
    fn query(&self) -> Result<AuditQuery, String> {
        let text = |field: &Option<String>| {
            field
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let decision = match text(&self.decision) {
            None => None,
            Some(name) => Some(
                Decision::parse(&name)
                    .ok_or_else(|| format!("decision must be `allow` or `deny`, not `{name}`"))?,
            ),
        };
        let before = match text(&self.before) {
            None => None,
            Some(id) => Some(id.parse::<i64>().map_err(|_| {
                format!("before must be an entry's id (a whole number), not `{id}`")
            })?),
        };
        let limit = match text(&self.limit) {
            None => AuditQuery::default().limit,
            Some(n) => n
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_AUDIT_PAGE).contains(n))
                .ok_or_else(|| {
                    format!("limit must be a whole number from 1 to {MAX_AUDIT_PAGE}, not `{n}`")
                })?,
        };
        Ok(AuditQuery {
            plugin: text(&self.plugin),
            actor: text(&self.actor),
            action: text(&self.action),
            decision,
            before,
            limit,
        })
    }
}

/// The query string selecting `query` (without its default limit), for
/// links to other pages of the same filters.
fn query_string(query: &AuditQuery) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("plugin", query.plugin.as_deref()),
        ("actor", query.actor.as_deref()),
        ("action", query.action.as_deref()),
        ("decision", query.decision.map(Decision::as_str)),
    ] {
        if let Some(value) = value {
            out.append_pair(name, value);
        }
    }
    if let Some(before) = query.before {
        out.append_pair("before", &before.to_string());
    }
    if query.limit != AuditQuery::default().limit {
        out.append_pair("limit", &query.limit.to_string());
    }
    out.finish()
}

/// `path?query`, or `path` when there is no query.
fn with_query(path: &str, query: &AuditQuery) -> String {
    match query_string(query) {
        q if q.is_empty() => path.to_owned(),
        q => format!("{path}?{q}"),
    }
}

/// The same filters, one page further back; none on the last page.
fn next_query(query: &AuditQuery, page: &AuditPage) -> Option<AuditQuery> {
    page.next_before.map(|before| AuditQuery {
        before: Some(before),
        ..query.clone()
    })
}

/// The audit page for one plugin.
pub(super) fn plugin_href(id: &str) -> String {
    with_query(
        AUDIT_PAGE,
        &AuditQuery {
            plugin: Some(id.to_owned()),
            ..AuditQuery::default()
        },
    )
}

/// A time stored in milliseconds since the Unix epoch, in UTC
/// (`2026-04-14T09:30:00Z`).
pub(super) fn time_of(at_ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(at_ms).unwrap_or_default());
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Reads one page, off the async runtime.
async fn read(state: &AppState, query: AuditQuery, format: Format) -> Result<AuditPage, AppError> {
    let admin = admin(state);
    blocking(format, move || {
        admin
            .marketplace
            .audit_log()
            .query(&query)
            .map_err(|e| AppError {
                kind: ErrorKind::Internal(e.to_string()),
                format,
            })
    })
    .await
}

// ---------------------------------------------------------------------------
// GET /api/audit

/// An entry as the API returns it.
pub(super) fn entry_json(entry: &AuditEntry) -> Value {
    json!({
        "id": entry.id,
        "at": time_of(entry.at_ms),
        "atMs": entry.at_ms,
        "actor": entry.actor,
        "plugin": entry.plugin,
        "action": entry.action,
        "resource": entry.resource,
        "decision": entry.decision.as_str(),
        "reason": entry.reason,
    })
}

/// `GET /api/audit?plugin=&actor=&action=&decision=&before=&limit=`:
/// `{ items, nextBefore, next }`, newest first; `next` is the URL of the
/// next (older) page, null on the last.
pub(crate) async fn api(
    State(state): State<AppState>,
    _admin: Allowed<AuditRead>,
    Query(filters): Query<Filters>,
) -> Result<Json<Value>, AppError> {
    let query = filters
        .query()
        .map_err(|message| AppError::api(ErrorKind::BadRequest(message)))?;
    let page = read(&state, query.clone(), Format::Json).await?;
    let next = next_query(&query, &page).map(|next| with_query("/api/audit", &next));
    Ok(Json(json!({
        "items": page.entries.iter().map(entry_json).collect::<Vec<_>>(),
        "nextBefore": page.next_before,
        "next": next,
    })))
}

// ---------------------------------------------------------------------------
// GET /admin/audit

async fn page(
    State(state): State<AppState>,
    actor: Allowed<AuditRead>,
    Query(filters): Query<Filters>,
) -> Result<Markup, AppError> {
    let query = filters
        .query()
        .map_err(|message| AppError::page(ErrorKind::BadRequest(message)))?;
    let page = read(&state, query.clone(), Format::Html).await?;
    let filtered = query.plugin.is_some()
        || query.actor.is_some()
        || query.action.is_some()
        || query.decision.is_some();
    let newest = AuditQuery {
        before: None,
        ..query.clone()
    };
    let content = html! {
        section.page-header {
            (breadcrumb("Audit log"))
            h1.page-title { "Audit log" }
            p.page-lead { "Every access the broker denied a plugin and every change an admin or operator made: who, through which plugin, what, on what, and why. Newest first." }
        }
        (filter_form(&query))
        section.card {
            @if page.entries.is_empty() {
                div.empty-state {
                    p.empty-title {
                        @if filtered { "No entry matches these filters" } @else { "The audit log is empty" }
                    }
                }
            } @else {
                (entries_table(&page.entries))
            }
            div.card-footer.pager {
                @if query.before.is_some() {
                    a.link href=(with_query(AUDIT_PAGE, &newest)) { "Newest entries" }
                    " "
                }
                @if let Some(next) = next_query(&query, &page) {
                    a.link rel="next" href=(with_query(AUDIT_PAGE, &next)) { "Older entries" }
                }
            }
        }
    };
    Ok(admin_page(&state, &actor, "Audit log", None, content))
}

fn filter_form(query: &AuditQuery) -> Markup {
    let field = |name: &str, label: &str, value: Option<&str>, placeholder: &str| {
        let id = format!("audit-{name}");
        html! {
            div.field {
                label.field-label for=(id) { (label) }
                input.input type="text" id=(id) name=(name) value=[value] placeholder=(placeholder);
            }
        }
    };
    let decision = query.decision.map(Decision::as_str);
    html! {
        form.filter-form method="get" action=(AUDIT_PAGE) role="search" {
            (field("plugin", "Plugin", query.plugin.as_deref(), "hello"))
            (field("actor", "Actor", query.actor.as_deref(), "user:default/jane.doe"))
            (field("action", "Action", query.action.as_deref(), "http.request"))
            div.field {
                label.field-label for="audit-decision" { "Decision" }
                select.input id="audit-decision" name="decision" {
                    option value="" selected[decision.is_none()] { "Any" }
                    option value="allow" selected[decision == Some("allow")] { "Allowed" }
                    option value="deny" selected[decision == Some("deny")] { "Denied" }
                }
            }
            div.filter-actions {
                button.button.button-primary type="submit" { "Filter" }
                a.link href=(AUDIT_PAGE) { "Clear" }
            }
        }
    }
}

/// Entries as a table, each plugin and actor linking to its own entries.
pub(super) fn entries_table(entries: &[AuditEntry]) -> Markup {
    let only = |edit: &dyn Fn(&mut AuditQuery)| {
        let mut query = AuditQuery::default();
        edit(&mut query);
        with_query(AUDIT_PAGE, &query)
    };
    html! {
        div.table-wrap {
            table.table.audit-log {
                thead { tr { th { "When" } th { "Actor" } th { "Plugin" } th { "Action" } th { "Resource" } th { "Decision" } th { "Reason" } } }
                tbody {
                    @for entry in entries {
                        tr {
                            td { (time_of(entry.at_ms)) }
                            td {
                                @match &entry.actor {
                                    Some(actor) => { a.link href=(only(&|q| q.actor = Some(actor.clone()))) { (actor) } }
                                    None => { span.text-muted { "scheduled task" } }
                                }
                            }
                            td {
                                @if let Some(plugin) = &entry.plugin {
                                    a.link href=(only(&|q| q.plugin = Some(plugin.clone()))) { code { (plugin) } }
                                }
                            }
                            td { code { (entry.action) } }
                            td { @if let Some(resource) = &entry.resource { code { (resource) } } }
                            td {
                                @match entry.decision {
                                    Decision::Allow => { span.badge.tone-success { "allow" } }
                                    Decision::Deny => { span.badge.tone-danger { "deny" } }
                                }
                            }
                            td { (entry.reason) }
                        }
                    }
                }
            }
        }
    }
}

/// The overview's card for the audit log.
pub(super) fn overview_card() -> Markup {
    html! {
        section.card {
            header.card-header { h2.card-title { "Audit log" } }
            div.card-body {
                p.text { "Denials and admin changes, with who, what and why; filter by plugin, actor, action or decision." }
                a.button href=(AUDIT_PAGE) { "Read the audit log" }
            }
        }
    }
}
