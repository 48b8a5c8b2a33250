//! `/catalog`: the entities of one kind, narrowed by facet filters and a
//! search box, sorted by a column, a page at a time.
//!
//! The state lives in the URL: the filter form is a GET form, column
//! headers and pager buttons are links. Pages follow the store's cursor,
//! which carries the whole query; a cursor that does not match the
//! filters in the URL (a filter changed since) is dropped and the first
//! page shown.

use super::{Entry, entity_path, parse_ref, read, restriction, short_ref};
use crate::chrome::Chrome;
use crate::error::AppError;
use crate::extract::query_pairs;
use crate::identity::Actor;
use crate::render::links;
use crate::render::shell::Nav;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use greenroom_access::rbac::Permission;
use greenroom_catalog::{
    Cursor, EntityQuery, EntityRef, FullText, Order, Page, Predicate, SourceProblem,
};
use maud::{Markup, html};
use std::collections::HashSet;

/// Rows per page: a screenful. Each row is one hydrated entity (its
/// relations and problems read with it), so a page costs this many
/// lookups.
const PAGE_SIZE: usize = 25;

/// The kind shown when the URL names none, as in Backstage.
const DEFAULT_KIND: &str = "component";

/// Problems listed on the page; the rest are counted. Each also shows on
/// the page of the Location entity that led to its file.
const MAX_PROBLEMS_LISTED: usize = 25;

/// The fields the search box looks in; the same as a plugin's full-text
/// query (the broker), all in the store's trigram index.
const SEARCH_FIELDS: [&str; 4] = [
    "metadata.name",
    "metadata.title",
    "metadata.description",
    "metadata.tags",
];

/// A filter in the form: a select of the values a field takes.
struct Facet {
    /// Its query parameter.
    param: &'static str,
    label: &'static str,
    /// The field it filters and counts.
    field: &'static str,
}

/// The facets, in the form's order. The owner facet counts relations
/// rather than `spec.owner`, so `team-a` and `group:default/team-a` are
/// one owner.
const FACETS: [Facet; 4] = [
    Facet {
        param: "type",
        label: "Type",
        field: "spec.type",
    },
    Facet {
        param: "owner",
        label: "Owner",
        field: "relations.ownedBy",
    },
    Facet {
        param: "lifecycle",
        label: "Lifecycle",
        field: "spec.lifecycle",
    },
    Facet {
        param: "tag",
        label: "Tag",
        field: "metadata.tags",
    },
];

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Owner,
    Type,
    Lifecycle,
    Email,
    Description,
    Tags,
}

impl Column {
    const ALL: [Column; 7] = [
        Column::Name,
        Column::Owner,
        Column::Type,
        Column::Lifecycle,
        Column::Email,
        Column::Description,
        Column::Tags,
    ];

    /// The columns worth showing for a kind.
    fn for_kind(kind: &str) -> &'static [Column] {
        use Column::*;
        match kind {
            "user" => &[Name, Email, Description],
            "group" => &[Name, Type, Description, Tags],
            "location" => &[Name, Type, Description],
            "system" | "domain" => &[Name, Owner, Description, Tags],
            _ => &[Name, Owner, Type, Lifecycle, Description, Tags],
        }
    }

    /// Its `sort=` value.
    fn param(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Owner => "owner",
            Column::Type => "type",
            Column::Lifecycle => "lifecycle",
            Column::Email => "email",
            Column::Description => "description",
            Column::Tags => "tags",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::Owner => "Owner",
            Column::Type => "Type",
            Column::Lifecycle => "Lifecycle",
            Column::Email => "Email",
            Column::Description => "Description",
            Column::Tags => "Tags",
        }
    }

    /// The field it sorts by; tags (a list) do not sort.
    fn sort_field(self) -> Option<&'static str> {
        match self {
            Column::Name => Some("metadata.name"),
            Column::Owner => Some("spec.owner"),
            Column::Type => Some("spec.type"),
            Column::Lifecycle => Some("spec.lifecycle"),
            Column::Email => Some("spec.profile.email"),
            Column::Description => Some("metadata.description"),
            Column::Tags => None,
        }
    }

    fn parse(param: &str) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|c| c.param() == param && c.sort_field().is_some())
    }
}

/// What the URL asks for: the filters, and where in the result to start.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filters {
    /// Lower-cased.
    kind: String,
    /// The chosen value of each of [`FACETS`].
    facets: [Option<String>; 4],
    /// The search box.
    text: Option<String>,
    sort: Column,
    descending: bool,
}

struct ListRequest {
    filters: Filters,
    cursor: Option<String>,
    /// The row number the cursor's page starts at, for "26–50 of 112".
    start: u64,
}

impl ListRequest {
    fn parse(query: Option<&str>) -> ListRequest {
        let mut filters = Filters {
            kind: DEFAULT_KIND.to_owned(),
            facets: Default::default(),
            text: None,
            sort: Column::Name,
            descending: false,
        };
        let mut cursor = None;
        let mut start = 1;
        for (key, value) in query_pairs(query) {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key.as_str() {
                "kind" => filters.kind = value.to_lowercase(),
                "q" => filters.text = Some(value.to_owned()),
                "sort" => filters.sort = Column::parse(value).unwrap_or(Column::Name),
                "dir" => filters.descending = value == "desc",
                "cursor" => cursor = Some(value.to_owned()),
                "start" => start = value.parse().unwrap_or(1).max(1),
                other => {
                    if let Some(i) = FACETS.iter().position(|f| f.param == other) {
                        filters.facets[i] = Some(value.to_owned());
                    }
                }
            }
        }
        ListRequest {
            filters,
            cursor,
            start,
        }
    }
}

impl Filters {
    /// The kind and every chosen facet but `except` (a facet's own counts
    /// ignore its own choice, so its other values stay selectable).
    fn predicate(&self, except: Option<usize>) -> Predicate {
        let mut all = vec![Predicate::field("kind", &[&self.kind])];
        for (i, (facet, value)) in FACETS.iter().zip(&self.facets).enumerate() {
            if let Some(value) = value.as_deref().filter(|_| Some(i) != except) {
                all.push(Predicate::field(facet.field, &[value]));
            }
        }
        Predicate::AllOf(all)
    }

    fn query(&self) -> EntityQuery {
        EntityQuery {
            filter: Some(self.predicate(None)),
            full_text: self.text.as_ref().map(|term| FullText {
                term: term.clone(),
                fields: SEARCH_FIELDS.map(str::to_owned).to_vec(),
            }),
            order: Some(Order {
                field: self.sort.sort_field().unwrap_or("metadata.name").to_owned(),
                descending: self.descending,
            }),
        }
    }

    /// `/catalog?…` for these filters, with `extra` parameters after them.
    fn href(&self, extra: &[(&str, &str)]) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("kind", &self.kind);
        for (facet, value) in FACETS.iter().zip(&self.facets) {
            if let Some(value) = value {
                query.append_pair(facet.param, value);
            }
        }
        if let Some(text) = &self.text {
            query.append_pair("q", text);
        }
        if self.sort != Column::Name || self.descending {
            query.append_pair("sort", self.sort.param());
            query.append_pair("dir", if self.descending { "desc" } else { "asc" });
        }
        for (key, value) in extra {
            query.append_pair(key, value);
        }
        format!("/catalog?{}", query.finish())
    }

    /// The same search in another kind: facet values belong to a kind, the
    /// search text does not.
    fn for_kind(&self, kind: &str) -> Filters {
        Filters {
            kind: kind.to_lowercase(),
            facets: Default::default(),
            text: self.text.clone(),
            sort: Column::Name,
            descending: false,
        }
    }

    /// Sorted by `column`: ascending, or the other way when it already is.
    fn sorted_by(&self, column: Column) -> Filters {
        Filters {
            sort: column,
            descending: self.sort == column && !self.descending,
            ..self.clone()
        }
    }

    fn is_narrowed(&self) -> bool {
        self.text.is_some() || self.facets.iter().any(Option::is_some)
    }
}

/// Everything the page shows, read in one go.
struct Listing {
    /// Each kind in the catalog with its count, as written (`API`).
    kinds: Vec<(String, u64)>,
    /// The values and counts of each of [`FACETS`].
    facets: Vec<Vec<(String, u64)>>,
    page: Page,
    /// Lower-cased references of the owners on this page that exist.
    known_owners: HashSet<String>,
    /// Entities in the whole catalog.
    catalog_size: u64,
    /// How many problems the last refreshes found, shown to everyone.
    problem_count: usize,
    /// The problems themselves — file paths, lines, the values written —
    /// only for a reader who may read catalog locations
    /// (`catalog.location.read`), as the locations API; empty otherwise.
    problems: Vec<SourceProblem>,
    /// Where each problem is shown: the entity it names when that exists,
    /// else the Location entity that led to its file.
    problem_pages: Vec<Option<EntityRef>>,
    /// The page is the query's first.
    first_page: bool,
}

impl Listing {
    fn load(
        store: &greenroom_catalog::CatalogStore,
        filters: &Filters,
        cursor: Option<&str>,
        restriction: Option<&Predicate>,
        reads_locations: bool,
    ) -> Result<Listing, greenroom_catalog::CatalogError> {
        let query = filters.query();
        let cursor = cursor
            .and_then(|c| Cursor::decode(c).ok())
            .filter(|c| c.query == query)
            .unwrap_or_else(|| Cursor::first(query));
        let first_page = cursor.boundary.is_none();
        let page = store.query(&cursor, PAGE_SIZE, restriction)?;
        let kinds = store
            .facets(&["kind".to_owned()], None, restriction)?
            .pop()
            .map(|(_, values)| values)
            .unwrap_or_default();
        let mut facets = Vec::with_capacity(FACETS.len());
        for (i, facet) in FACETS.iter().enumerate() {
            let filter = filters.predicate(Some(i));
            let counted = store.facets(&[facet.field.to_owned()], Some(&filter), restriction)?;
            facets.push(
                counted
                    .into_iter()
                    .next()
                    .map(|(_, v)| v)
                    .unwrap_or_default(),
            );
        }
        let owners: Vec<String> = page
            .items
            .iter()
            .filter_map(|e| Entry(e).owner().map(|o| o.key()))
            .collect();
        let known_owners = store
            .entities_by_refs(&owners, restriction)?
            .iter()
            .zip(&owners)
            .filter(|(found, _)| found.is_some())
            .map(|(_, key)| key.clone())
            .collect();
        let mut problems = store.problems()?;
        let problem_count = problems.len();
        if !reads_locations {
            problems.clear();
        }
        let named: Vec<String> = problems
            .iter()
            .map(|p| p.entity_ref.clone().unwrap_or_default())
            .collect();
        let problem_pages = store
            .entities_by_refs(&named, restriction)?
            .into_iter()
            .zip(&problems)
            .map(|(found, problem)| match found {
                Some(entity) => Some(Entry(&entity).entity_ref()),
                None => parse_ref(&problem.parent_ref),
            })
            .collect();
        Ok(Listing {
            kinds,
            facets,
            page,
            known_owners,
            problem_count,
            catalog_size: store.count()?,
            problems,
            problem_pages,
            first_page,
        })
    }

    /// The kind as the catalog writes it (`API`, `Component`).
    fn kind_label(&self, kind: &str) -> String {
        self.kinds
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind))
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| capitalised(kind))
    }
}

/// `/catalog`.
pub(super) async fn page(
    State(state): State<AppState>,
    Actor(user): Actor,
    chrome: Chrome,
    RawQuery(query): RawQuery,
) -> Result<Markup, AppError> {
    let request = ListRequest::parse(query.as_deref());
    let filters = request.filters.clone();
    let cursor = request.cursor.clone();
    let restriction = restriction(&state, &user);
    let reads_locations = state
        .permit(&user, &Permission::CATALOG_LOCATION_READ)
        .allowed();
    let listing = read(&state, move |store| {
        Listing::load(
            store,
            &filters,
            cursor.as_deref(),
            restriction.as_ref(),
            reads_locations,
        )
    })
    .await?;
    let content = draw(&request, &listing);
    Ok(chrome.page("Catalog", Nav::Catalog, None, content))
}

fn draw(request: &ListRequest, listing: &Listing) -> Markup {
    let filters = &request.filters;
    let kind_label = listing.kind_label(&filters.kind);
    html! {
        section.page-header {
            p.eyebrow { "Catalog" }
            h1.page-title { "Software catalog" }
            p.page-lead { "Every component, API, resource, system, team and person in the organisation, read from the catalog's YAML files." }
        }
        @if listing.problem_count > 0 {
            div.callout.tone-warning role="status" {
                strong { (count(listing.problem_count as u64, "problem", "problems")) " in the catalog's files." }
                " Some entities could not be read, or were read with errors. "
                @if listing.problems.is_empty() {
                    "People who may read catalog locations see them here."
                } @else {
                    a.link href="#problems" { "See the problems" }
                }
            }
        }
        (kind_nav(filters, listing))
        @if listing.catalog_size == 0 {
            (empty_catalog())
        } @else {
            div.catalog-layout {
                aside.catalog-filters aria-label="Filters" { (filter_form(filters, listing)) }
                div.catalog-results {
                    (results(request, listing, &kind_label))
                }
            }
        }
        @if !listing.problems.is_empty() { (problem_list(listing)) }
    }
}

fn kind_nav(filters: &Filters, listing: &Listing) -> Markup {
    let mut kinds = listing.kinds.clone();
    if !kinds
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case(&filters.kind))
    {
        kinds.push((capitalised(&filters.kind), 0));
    }
    kinds.sort_by_key(|(k, _)| k.to_lowercase());
    html! {
        nav.kind-nav aria-label="Kinds" {
            @for (kind, n) in &kinds {
                @let current = kind.eq_ignore_ascii_case(&filters.kind);
                a.kind-link.kind-current[current] href=(filters.for_kind(kind).href(&[]))
                    aria-current=[current.then_some("page")] {
                    (kind) " " span.kind-count { (n) }
                }
            }
        }
    }
}

fn filter_form(filters: &Filters, listing: &Listing) -> Markup {
    html! {
        form.filter-form method="get" action="/catalog" role="search" {
            input type="hidden" name="kind" value=(filters.kind);
            @if filters.sort != Column::Name || filters.descending {
                input type="hidden" name="sort" value=(filters.sort.param());
                input type="hidden" name="dir" value=(if filters.descending { "desc" } else { "asc" });
            }
            div.field {
                label.field-label for="catalog-q" { "Search" }
                input.input type="search" id="catalog-q" name="q" value=[filters.text.as_deref()]
                    placeholder="Name, tag or words";
            }
            @for (i, facet) in FACETS.iter().enumerate() {
                @let chosen = filters.facets[i].as_deref();
                @let values = &listing.facets[i];
                // A facet no entity of this kind has is left out, unless the
                // URL chose a value for it.
                @if !values.is_empty() || chosen.is_some() {
                    @let id = format!("catalog-{}", facet.param);
                    div.field {
                        label.field-label for=(id) { (facet.label) }
                        select.input id=(id) name=(facet.param) {
                            option value="" { "All" }
                            @if let Some(chosen) = chosen.filter(|c| !values.iter().any(|(v, _)| v.eq_ignore_ascii_case(c))) {
                                option value=(chosen) selected { (facet_label(facet, chosen)) " (0)" }
                            }
                            @for (value, n) in values {
                                option value=(value) selected[chosen.is_some_and(|c| c.eq_ignore_ascii_case(value))] {
                                    (facet_label(facet, value)) " (" (n) ")"
                                }
                            }
                        }
                    }
                }
            }
            div.filter-actions {
                button.button.button-primary type="submit" { "Apply filters" }
                @if filters.is_narrowed() {
                    a.link href=(filters.for_kind(&filters.kind).for_text(None).href(&[])) { "Clear" }
                }
            }
        }
    }
}

impl Filters {
    fn for_text(mut self, text: Option<String>) -> Filters {
        self.text = text;
        self
    }
}

/// How a facet value reads in the form: owners as short references.
fn facet_label(facet: &Facet, value: &str) -> String {
    if facet.param == "owner"
        && let Some(owner) = super::parse_ref(value)
    {
        return short_ref(&owner, Some("group"));
    }
    value.to_owned()
}

fn results(request: &ListRequest, listing: &Listing, kind_label: &str) -> Markup {
    let filters = &request.filters;
    let page = &listing.page;
    let plural = in_text(&plural(kind_label));
    if page.items.is_empty() {
        return no_results(filters, &plural);
    }
    let start = if listing.first_page { 1 } else { request.start };
    let end = start + page.items.len() as u64 - 1;
    let columns = Column::for_kind(&filters.kind);
    html! {
        p.results-summary role="status" {
            @if page.total_items as usize <= PAGE_SIZE && listing.first_page {
                strong { (count(page.total_items, &in_text(kind_label), &plural)) }
            } @else {
                "Showing " strong { (start) "–" (end) } " of " strong { (page.total_items) } " " (plural)
            }
            @if let Some(text) = &filters.text { " matching " q { (text) } }
        }
        div.table-wrap {
            table.table.catalog-table {
                thead {
                    tr {
                        @for &column in columns { (header(filters, column)) }
                    }
                }
                tbody {
                    @for entity in &page.items {
                        tr {
                            @for &column in columns { (cell(column, Entry(entity), listing)) }
                        }
                    }
                }
            }
        }
        (pager(request, listing, start))
    }
}

fn header(filters: &Filters, column: Column) -> Markup {
    if column.sort_field().is_none() {
        return html! { th scope="col" { (column.label()) } };
    }
    let current = filters.sort == column;
    let sort = match (current, filters.descending) {
        (false, _) => None,
        (true, false) => Some("ascending"),
        (true, true) => Some("descending"),
    };
    let arrow = match sort {
        Some("ascending") => "▲",
        Some(_) => "▼",
        None => "↕",
    };
    html! {
        th scope="col" aria-sort=[sort] {
            a.sort-link.sort-current[current] href=(filters.sorted_by(column).href(&[])) {
                (column.label())
                span.sort-arrow aria-hidden="true" { (arrow) }
                span.visually-hidden { ", sort" }
            }
        }
    }
}

fn cell(column: Column, entry: Entry<'_>, listing: &Listing) -> Markup {
    match column {
        Column::Name => html! {
            td.cell-name {
                a.link href=(entry.path()) { (entry.display_name()) }
                @if entry.display_name() != entry.name() { span.cell-subtitle { (entry.name()) } }
            }
        },
        Column::Owner => html! { td.cell-owner { (owner_link(entry, &listing.known_owners)) } },
        Column::Type => html! { td { (entry.spec("type").unwrap_or("")) } },
        Column::Lifecycle => {
            html! { td { @if let Some(l) = entry.spec("lifecycle") { (super::entity::lifecycle_badge(l)) } } }
        }
        Column::Email => html! {
            td { @if let Some(email) = entry.email() { (links::anchor(email, &format!("mailto:{email}"))) } }
        },
        Column::Description => {
            html! { td.cell-description { (entry.description().unwrap_or("")) } }
        }
        Column::Tags => html! {
            td.cell-tags { @for tag in entry.tags() { span.badge.tone-neutral { (tag) } " " } }
        },
    }
}

/// The owner as a link when it is in the catalog, else as text.
fn owner_link(entry: Entry<'_>, known: &HashSet<String>) -> Markup {
    let Some(owner) = entry.owner() else {
        return html! {};
    };
    let label = short_ref(&owner, Some("group"));
    if known.contains(&owner.key()) {
        html! { a.link href=(entity_path(&owner)) { (label) } }
    } else {
        html! { span title="not in the catalog" { (label) } }
    }
}

fn pager(request: &ListRequest, listing: &Listing, start: u64) -> Markup {
    let page = &listing.page;
    if page.next_cursor.is_none() && page.prev_cursor.is_none() {
        return html! {};
    }
    let filters = &request.filters;
    let prev = page.prev_cursor.as_ref().map(|cursor| {
        let start = start.saturating_sub(PAGE_SIZE as u64).max(1).to_string();
        filters.href(&[("cursor", cursor), ("start", &start)])
    });
    let next = page.next_cursor.as_ref().map(|cursor| {
        let start = (start + page.items.len() as u64).to_string();
        filters.href(&[("cursor", cursor), ("start", &start)])
    });
    html! {
        nav.pager aria-label="Pages" {
            @match prev {
                Some(href) => a.button href=(href) rel="prev" { "← Previous" },
                None => span.button.button-disabled aria-disabled="true" { "← Previous" },
            }
            @match next {
                Some(href) => a.button href=(href) rel="next" { "Next →" },
                None => span.button.button-disabled aria-disabled="true" { "Next →" },
            }
        }
    }
}

fn no_results(filters: &Filters, plural: &str) -> Markup {
    html! {
        div.empty-state {
            @if filters.is_narrowed() {
                p.empty-title { "No " (plural) " match these filters" }
                p.empty-description {
                    @if let Some(text) = &filters.text { "Nothing matches " q { (text) } ". " }
                    "Try fewer filters, another kind, or "
                    a.link href=(filters.for_kind(&filters.kind).for_text(None).href(&[])) { "clear the filters" } "."
                }
            } @else {
                p.empty-title { "The catalog has no " (plural) }
                p.empty-description {
                    "Pick another kind above, or describe one in a "
                    code { "catalog-info.yaml" } " file in a location the catalog reads."
                }
            }
        }
    }
}

fn empty_catalog() -> Markup {
    html! {
        div.empty-state {
            p.empty-title { "The catalog is empty" }
            p.empty-description {
                "Add the locations of your " code { "catalog-info.yaml" } " files under "
                code { "[catalog] locations" } " in " code { "greenroom.toml" }
                ", or try the demo organisation with " code { "greenroom serve --demo" } ". "
                "A new portal may also still be reading its locations: reload in a moment."
            }
        }
    }
}

fn problem_list(listing: &Listing) -> Markup {
    let shown = listing
        .problems
        .iter()
        .zip(&listing.problem_pages)
        .take(MAX_PROBLEMS_LISTED);
    let more = listing.problems.len().saturating_sub(MAX_PROBLEMS_LISTED);
    html! {
        section.card.card-danger id="problems" {
            header.card-header {
                h2.card-title { "Problems in the catalog's files" }
                p.card-subtitle { "Found by the last refresh of each location. Fix the file; the next refresh picks it up." }
            }
            div.card-body {
                ul.problem-list {
                    @for (problem, shown_on) in shown {
                        li {
                            code.problem-text { (problem.to_string()) }
                            @if let Some(entity_ref) = shown_on {
                                " " a.link href=(entity_path(entity_ref)) { "on " (short_ref(entity_ref, None)) }
                            }
                        }
                    }
                }
                @if more > 0 { p.text-muted.text-small { "and " (count(more as u64, "more problem", "more problems")) "." } }
            }
        }
    }
}

/// `1 component`, `3 components`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The plural of a kind as written: `Components`, `APIs`.
fn plural(kind: &str) -> String {
    if kind.ends_with('s') {
        kind.to_owned()
    } else {
        format!("{kind}s")
    }
}

/// A kind inside a sentence: `components`, but `APIs` stays an acronym.
fn in_text(kind: &str) -> String {
    if kind.chars().skip(1).any(char::is_uppercase) {
        kind.to_owned()
    } else {
        kind.to_lowercase()
    }
}

fn capitalised(kind: &str) -> String {
    let mut chars = kind.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
