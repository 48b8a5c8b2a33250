//! The overview's Relations card and relations graph: an entity's
//! relations grouped by type, each group's full list where it has a card.

use super::{Loaded, ref_link};
use crate::catalog_pages::{Entry, entity_path, graph, parse_ref};
use greenroom_catalog::EntityRef;
use maud::{Markup, html};

/// Relation types in the order the Relations card and the graph show
/// them: what the entity belongs to first, then what it is made of and
/// talks to, then people.
const RELATION_ORDER: [&str; 14] = [
    "ownedBy",
    "partOf",
    "hasPart",
    "providesApi",
    "consumesApi",
    "apiProvidedBy",
    "apiConsumedBy",
    "dependsOn",
    "dependencyOf",
    "childOf",
    "parentOf",
    "memberOf",
    "hasMember",
    "ownerOf",
];

/// A relation type as a heading: `consumesApi` reads "Consumes API".
fn relation_label(relation: &str) -> &str {
    match relation {
        "ownedBy" => "Owned by",
        "ownerOf" => "Owner of",
        "partOf" => "Part of",
        "hasPart" => "Has part",
        "providesApi" => "Provides API",
        "apiProvidedBy" => "API provided by",
        "consumesApi" => "Consumes API",
        "apiConsumedBy" => "API consumed by",
        "dependsOn" => "Depends on",
        "dependencyOf" => "Dependency of",
        "memberOf" => "Member of",
        "hasMember" => "Has member",
        "parentOf" => "Parent of",
        "childOf" => "Child of",
        other => other,
    }
}

/// The id of the card listing every relation of this type on a `kind`'s
/// page: a card of its own (members, provided APIs…), or Relations.
fn list_anchor(kind: &str, relation: &str) -> &'static str {
    match (kind, relation) {
        ("component", "providesApi") => "provided-apis",
        ("component", "consumesApi") => "consumed-apis",
        ("api", "apiProvidedBy") => "providers",
        ("api", "apiConsumedBy") => "consumers",
        ("group", "hasMember") => "members",
        ("group", "parentOf") => "child-groups",
        ("group" | "user", "ownerOf") => "owned",
        ("user", "memberOf") => "groups",
        _ => "relations",
    }
}

/// Relations grouped by type, in [`RELATION_ORDER`] (unknown types last).
pub(super) fn grouped_relations<'a>(entry: Entry<'a>) -> Vec<(&'a str, Vec<EntityRef>)> {
    let mut groups: Vec<(&str, Vec<EntityRef>)> = Vec::new();
    for (relation, target) in entry.relations() {
        let Some(target) = parse_ref(target) else {
            continue;
        };
        match groups.iter_mut().find(|(r, _)| *r == relation) {
            Some((_, targets)) => targets.push(target),
            None => groups.push((relation, vec![target])),
        }
    }
    groups.sort_by_key(|(relation, _)| {
        RELATION_ORDER
            .iter()
            .position(|r| r == relation)
            .unwrap_or(RELATION_ORDER.len())
    });
    groups
}

/// The relations no card of their own lists, by type. Left out when
/// every relation has its card, or for a Location (which has none).
pub(super) fn relations_card(
    loaded: &Loaded,
    kind: &str,
    groups: &[(&str, Vec<EntityRef>)],
) -> Markup {
    let listed: Vec<&(&str, Vec<EntityRef>)> = groups
        .iter()
        .filter(|(relation, _)| list_anchor(kind, relation) == "relations")
        .collect();
    if listed.is_empty() && (!groups.is_empty() || kind == "location") {
        return html! {};
    }
    html! {
        section.card.relations-card id="relations" {
            header.card-header {
                h2.card-title { "Relations" }
                @if listed.len() < groups.len() {
                    p.card-subtitle { "Other relations have cards of their own below." }
                }
            }
            div.card-body {
                @if listed.is_empty() {
                    p.text-muted { "No relations. They come from fields such as " code { "spec.owner" } ", " code { "spec.system" } " and " code { "spec.dependsOn" } "." }
                } @else {
                    dl.relation-groups {
                        @for (relation, targets) in listed {
                            div.relation-group {
                                dt { (relation_label(relation)) }
                                dd {
                                    ul.plain-list {
                                        @for target in targets {
                                            li { (ref_link(loaded, target, None)) " " span.kind-tag { (target.kind()) } }
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

pub(super) fn graph_card(loaded: &Loaded, kind: &str, groups: &[(&str, Vec<EntityRef>)]) -> Markup {
    if groups.is_empty() {
        return html! {};
    }
    let entry = loaded.entry();
    let graph_groups: Vec<graph::Group> = groups
        .iter()
        .map(|(relation, targets)| graph::Group {
            label: relation_label(relation).to_owned(),
            full_list: format!("#{}", list_anchor(kind, relation)),
            nodes: targets
                .iter()
                .map(|target| {
                    let found = loaded.find(target);
                    graph::Node {
                        kind: target.kind().to_owned(),
                        label: found.map_or_else(
                            || target.name().to_owned(),
                            |f| f.display_name().to_owned(),
                        ),
                        title: target.to_string(),
                        href: found.map(|_| entity_path(target)),
                    }
                })
                .collect(),
        })
        .collect();
    let center = graph::Node {
        kind: entry.entity_ref().kind().to_owned(),
        label: entry.display_name().to_owned(),
        title: entry.entity_ref().to_string(),
        href: None,
    };
    html! {
        section.card.graph-card {
            header.card-header {
                h2.card-title { "Relations graph" }
                p.card-subtitle { "This entity in the middle; each neighbour links to its own page." }
            }
            div.card-body { (graph::draw(&center, &graph_groups)) }
        }
    }
}
