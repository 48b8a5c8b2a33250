//! The overview's cards a kind calls for, each a table of related entities:
//! a component's APIs, an API's providers and consumers, a group's members,
//! child groups and what it owns, a user's groups and what they own.

use super::{Loaded, lifecycle_badge, ref_link};
use crate::catalog_pages::{Entry, parse_ref, short_ref};
use crate::render::links;
use greenroom_catalog::EntityRef;
use maud::{Markup, html};

/// A column of a table of related entities.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Kind,
    Type,
    Lifecycle,
    Owner,
    Email,
    Description,
}

impl Col {
    fn label(self) -> &'static str {
        match self {
            Col::Name => "Name",
            Col::Kind => "Kind",
            Col::Type => "Type",
            Col::Lifecycle => "Lifecycle",
            Col::Owner => "Owner",
            Col::Email => "Email",
            Col::Description => "Description",
        }
    }
}

/// A table of entities by reference; those not in the catalog get a row
/// that says so.
fn entity_table(loaded: &Loaded, refs: &[EntityRef], cols: &[Col]) -> Markup {
    html! {
        div.table-wrap {
            table.table {
                thead { tr { @for col in cols { th scope="col" { (col.label()) } } } }
                tbody {
                    @for target in refs {
                        tr {
                            @match loaded.find(target) {
                                Some(found) => {
                                    @for &col in cols { (entity_cell(loaded, found, col)) }
                                }
                                None => {
                                    td { span.missing-ref { (short_ref(target, None)) } }
                                    td.text-muted colspan=(cols.len() - 1) { "Not in the catalog." }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn entity_cell(loaded: &Loaded, entry: Entry<'_>, col: Col) -> Markup {
    match col {
        Col::Name => html! { td { a.link href=(entry.path()) { (entry.display_name()) } } },
        Col::Kind => html! { td { (entry.kind()) } },
        Col::Type => html! { td { (entry.spec("type").unwrap_or("")) } },
        Col::Lifecycle => {
            html! { td { @if let Some(l) = entry.spec("lifecycle") { (lifecycle_badge(l)) } } }
        }
        Col::Owner => html! {
            td { @if let Some(owner) = entry.owner() { (ref_link(loaded, &owner, Some("group"))) } }
        },
        Col::Email => html! {
            td { @if let Some(email) = entry.email() { (links::anchor(email, &format!("mailto:{email}"))) } }
        },
        Col::Description => html! { td.cell-description { (entry.description().unwrap_or("")) } },
    }
}

fn refs(entry: Entry<'_>, relation: &str) -> Vec<EntityRef> {
    entry
        .related(relation)
        .into_iter()
        .filter_map(parse_ref)
        .collect()
}

/// A card holding a table of related entities, or a line saying there are
/// none.
fn table_card(
    id: &str,
    title: &str,
    empty: &str,
    loaded: &Loaded,
    refs: &[EntityRef],
    cols: &[Col],
) -> Markup {
    html! {
        section.card.wide-card id=(id) {
            header.card-header { h2.card-title { (title) } }
            div.card-body {
                @if refs.is_empty() { p.text-muted { (empty) } } @else { (entity_table(loaded, refs, cols)) }
            }
        }
    }
}

pub(super) fn apis_card(loaded: &Loaded) -> Markup {
    let entry = loaded.entry();
    let cols = [
        Col::Name,
        Col::Type,
        Col::Lifecycle,
        Col::Owner,
        Col::Description,
    ];
    html! {
        (table_card("provided-apis", "Provided APIs", "It provides no APIs (spec.providesApis).", loaded, &refs(entry, "providesApi"), &cols))
        (table_card("consumed-apis", "Consumed APIs", "It consumes no APIs (spec.consumesApis).", loaded, &refs(entry, "consumesApi"), &cols))
    }
}

pub(super) fn api_users_card(loaded: &Loaded) -> Markup {
    let entry = loaded.entry();
    let cols = [Col::Name, Col::Type, Col::Lifecycle, Col::Owner];
    html! {
        (table_card("providers", "Providers", "No component provides this API.", loaded, &refs(entry, "apiProvidedBy"), &cols))
        (table_card("consumers", "Consumers", "No component consumes this API.", loaded, &refs(entry, "apiConsumedBy"), &cols))
    }
}

pub(super) fn members_card(loaded: &Loaded) -> Markup {
    let members = refs(loaded.entry(), "hasMember");
    table_card(
        "members",
        "Members",
        "This group has no members.",
        loaded,
        &members,
        &[Col::Name, Col::Email],
    )
}

pub(super) fn child_groups_card(loaded: &Loaded) -> Markup {
    let children = refs(loaded.entry(), "parentOf");
    if children.is_empty() {
        return html! {};
    }
    table_card(
        "child-groups",
        "Child groups",
        "",
        loaded,
        &children,
        &[Col::Name, Col::Type, Col::Description],
    )
}

pub(super) fn user_groups_card(loaded: &Loaded) -> Markup {
    let groups = refs(loaded.entry(), "memberOf");
    table_card(
        "groups",
        "Groups",
        "Not a member of any group.",
        loaded,
        &groups,
        &[Col::Name, Col::Type, Col::Description],
    )
}

/// What a group owns, or a user and the groups they are in.
pub(super) fn owned_card(loaded: &Loaded) -> Markup {
    let Some(page) = &loaded.owned else {
        return html! {};
    };
    let entry = loaded.entry();
    let is_user = entry.entity_ref().kind() == "user";
    let (title, empty) = if is_user {
        (
            "Owned by them or their groups",
            "Neither they nor their groups own anything in the catalog.",
        )
    } else {
        (
            "Owned by this group",
            "This group owns nothing in the catalog.",
        )
    };
    let refs: Vec<EntityRef> = page.items.iter().map(|e| Entry(e).entity_ref()).collect();
    let cols: &[Col] = if is_user {
        &[Col::Name, Col::Kind, Col::Type, Col::Lifecycle, Col::Owner]
    } else {
        &[
            Col::Name,
            Col::Kind,
            Col::Type,
            Col::Lifecycle,
            Col::Description,
        ]
    };
    let catalog_href = (!is_user).then(|| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("kind", "component")
            .append_pair("owner", &entry.entity_ref().to_string())
            .finish();
        format!("/catalog?{query}")
    });
    html! {
        section.card.wide-card id="owned" {
            header.card-header {
                h2.card-title { (title) }
                @if page.total_items > 0 {
                    p.card-subtitle {
                        (page.total_items) " in all"
                        @if page.total_items as usize > page.items.len() { ", the first " (page.items.len()) " shown" }
                        @if let Some(href) = &catalog_href { " · " a.link href=(href) { "Its components in the catalog" } }
                    }
                }
            }
            div.card-body {
                @if refs.is_empty() { p.text-muted { (empty) } } @else { (entity_table(loaded, &refs, cols)) }
            }
        }
    }
}
