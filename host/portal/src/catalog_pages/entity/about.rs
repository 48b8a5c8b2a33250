//! The overview's About card: description, owner, system and domain,
//! profile, links, where its source is, and its labels and annotations.

use super::{Loaded, lifecycle_badge, ref_link};
use crate::catalog_pages::{Entry, parse_ref, strings};
use crate::render::links;
use greenroom_catalog::EntityRef;
use maud::{Markup, html};
use serde_json::Value;

/// Where the source of an entity is recorded, as Backstage annotates it.
const MANAGED_BY: &str = greenroom_catalog::MANAGED_BY_LOCATION;

/// Where an entity's source code lives, when its author says so
/// (`url:https://github.com/acme/pay/tree/main/`).
const SOURCE_LOCATION: &str = "backstage.io/source-location";

pub(super) fn about_card(loaded: &Loaded) -> Markup {
    let entry = loaded.entry();
    let entity = &loaded.entity;
    let kind = entry.entity_ref().kind().to_owned();
    let systems: Vec<EntityRef> = refs_of_kind(entry, "partOf", "system");
    let domains: Vec<EntityRef> = if kind == "system" {
        refs_of_kind(entry, "partOf", "domain")
    } else {
        systems
            .iter()
            .filter_map(|s| loaded.find(s))
            .flat_map(|s| refs_of_kind(s, "partOf", "domain"))
            .collect()
    };
    let parents: Vec<EntityRef> = if kind == "group" {
        entry
            .related("childOf")
            .into_iter()
            .filter_map(parse_ref)
            .collect()
    } else {
        Vec::new()
    };
    let links = link_list(entity);
    let targets = strings(entity.pointer("/spec/targets"));
    html! {
        section.card.about-card {
            header.card-header { h2.card-title { "About" } }
            div.card-body {
                @match entry.description() {
                    Some(description) => p.about-description { (description) },
                    None if !matches!(kind.as_str(), "user" | "group" | "location") => {
                        p.text-muted { "No description. Add " code { "metadata.description" } " to its YAML file." }
                    }
                    None => {}
                }
                dl.properties {
                    @if let Some(owner) = entry.owner() {
                        div.property { dt { "Owner" } dd { (ref_link(loaded, &owner, Some("group"))) } }
                    }
                    @for system in &systems {
                        div.property { dt { "System" } dd { (ref_link(loaded, system, Some("system"))) } }
                    }
                    @for domain in &domains {
                        div.property { dt { "Domain" } dd { (ref_link(loaded, domain, Some("domain"))) } }
                    }
                    @for parent in &parents {
                        div.property { dt { "Parent group" } dd { (ref_link(loaded, parent, Some("group"))) } }
                    }
                    @if let Some(t) = entry.spec("type") { div.property { dt { "Type" } dd { (t) } } }
                    @if let Some(l) = entry.spec("lifecycle") { div.property { dt { "Lifecycle" } dd { (lifecycle_badge(l)) } } }
                    @if let Some(name) = entry.text("/spec/profile/displayName").filter(|n| *n != entry.display_name()) {
                        div.property { dt { "Display name" } dd { (name) } }
                    }
                    @if let Some(email) = entry.email() {
                        div.property { dt { "Email" } dd { (links::anchor(email, &format!("mailto:{email}"))) } }
                    }
                    @if let Some(target) = entry.spec("target") {
                        div.property { dt { "Target" } dd { code { (target) } } }
                    }
                    @if !targets.is_empty() {
                        div.property { dt { "Targets" } dd { ul.plain-list { @for t in &targets { li { code { (t) } } } } } }
                    }
                    @if !links.is_empty() {
                        div.property { dt { "Links" } dd { ul.plain-list { @for link in links { li { (link) } } } } }
                    }
                    @if let Some(source) = view_source(entry) {
                        div.property { dt { "Source" } dd { (source) } }
                    }
                }
                (metadata_details(entity))
            }
        }
    }
}

/// Where to read the entity's source, as Backstage's "View source" does:
/// `backstage.io/source-location`, else the location it was read from.
/// A `url:` target is a link to it; a `file:` one names only the file, not
/// the server's absolute path to it (a file on the server is nowhere a
/// reader can go, and its folder says how the server is laid out).
fn view_source(entry: Entry<'_>) -> Option<Markup> {
    let location = entry
        .annotation(SOURCE_LOCATION)
        .or_else(|| entry.annotation(MANAGED_BY))?;
    let (kind, target) = location.split_once(':')?;
    match kind {
        "url" => Some(links::web_anchor("View source", target)),
        "file" => {
            let file = target.rsplit(['/', '\\']).next().unwrap_or(target);
            Some(
                html! { code.source-path { (file) } " " span.text-muted { "(a file on the server)" } },
            )
        }
        _ => None,
    }
}

/// The entity's `metadata.links`: only `http:` and `https:` URLs become
/// links; anything else is shown as refused text.
fn link_list(entity: &Value) -> Vec<Markup> {
    entity
        .pointer("/metadata/links")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|link| {
                    let url = link.get("url")?.as_str()?;
                    let title = link.get("title").and_then(Value::as_str).unwrap_or(url);
                    Some(links::web_anchor(title, url))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Labels and annotations, folded away: they are for tools more than
/// people.
fn metadata_details(entity: &Value) -> Markup {
    let pairs = |pointer: &str| -> Vec<(String, String)> {
        entity
            .pointer(pointer)
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let labels = pairs("/metadata/labels");
    let annotations = pairs("/metadata/annotations");
    if labels.is_empty() && annotations.is_empty() {
        return html! {};
    }
    html! {
        details.metadata-details {
            summary { "Labels and annotations (" (labels.len() + annotations.len()) ")" }
            dl.properties.properties-code {
                @for (key, value) in labels.iter().chain(&annotations) {
                    div.property { dt { code { (key) } } dd { code { (value) } } }
                }
            }
        }
    }
}

/// The targets of `relation` that are of `kind`.
fn refs_of_kind(entry: Entry<'_>, relation: &str, kind: &str) -> Vec<EntityRef> {
    entry
        .related(relation)
        .into_iter()
        .filter_map(parse_ref)
        .filter(|r| r.kind() == kind)
        .collect()
}
