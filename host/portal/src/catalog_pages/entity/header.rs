//! The entity page's header (name, facts, tags, the Refresh and Unregister
//! actions) and the problems its last refresh found.

use super::{Loaded, lifecycle_badge, ref_link};
use crate::catalog_pages::{Entry, entity_path};
use maud::{Markup, html};

pub(super) fn header(loaded: &Loaded, csrf: &str, may_unregister: bool) -> Markup {
    let entry = loaded.entry();
    let kind = entry.kind();
    let owner = entry.owner();
    let kind_href = format!("/catalog?kind={}", entry.entity_ref().kind());
    html! {
        section.page-header.entity-header {
            p.eyebrow { a.link href="/catalog" { "Catalog" } " / " a.link href=(kind_href) { (kind) } }
            h1.page-title { (entry.display_name()) }
            div.entity-facts {
                span.badge.tone-info { (kind) }
                @if let Some(t) = entry.spec("type") { span.badge.tone-neutral { (t) } }
                @if let Some(l) = entry.spec("lifecycle") { (lifecycle_badge(l)) }
                @if let Some(owner) = &owner {
                    span.entity-fact { "Owned by " (ref_link(loaded, owner, Some("group"))) }
                }
                code.entity-ref { (entry.entity_ref().to_string()) }
                form.entity-action method="post" action={ (entity_path(&entry.entity_ref())) "/refresh" } {
                    input type="hidden" name=(crate::csrf::CSRF_FIELD) value=(csrf);
                    button.button.button-small type="submit" title="Read this entity's file again now" { "Refresh" }
                }
                @if may_unregister {
                    a.button.button-small href={ (entity_path(&entry.entity_ref())) "/unregister" } { "Unregister…" }
                }
            }
            @let tags = entry.tags();
            @if !tags.is_empty() {
                ul.tag-list aria-label="Tags" {
                    @for tag in tags {
                        li { a.tag href=(tag_href(entry, tag)) { (tag) } }
                    }
                }
            }
        }
    }
}

/// The catalog page of the entity's kind, narrowed to a tag.
fn tag_href(entry: Entry<'_>, tag: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("kind", entry.entity_ref().kind())
        .append_pair("tag", tag)
        .finish();
    format!("/catalog?{query}")
}

/// The problems the last refresh found with the entity, or for a
/// Location, in the files it led to.
pub(super) fn problems(entry: Entry<'_>) -> Markup {
    let problems = entry.problems();
    if problems.is_empty() {
        return html! {};
    }
    let (title, lead) = if entry.entity_ref().kind() == "location" {
        (
            "Problems in the files this location led to",
            "Entities in these files could not be read. Fix the file; the next refresh picks it up.",
        )
    } else {
        (
            "Problems with this entity",
            "The last refresh could not read this entity's file as it is now; the page shows the last version that was read.",
        )
    };
    html! {
        section.card.card-danger id="problems" role="alert" {
            header.card-header {
                h2.card-title { (title) }
                p.card-subtitle { (lead) }
            }
            div.card-body {
                ul.problem-list {
                    @for problem in problems { li { code.problem-text { (problem) } } }
                }
            }
        }
    }
}
