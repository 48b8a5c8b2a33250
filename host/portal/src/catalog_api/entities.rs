//! Entity routes: listing and querying, one entity by uid or by name, its
//! ancestry, batches by reference, facets, refresh and validation.

use super::params::{Fields, Params};
use super::{
    JsonBody, JsonWrite, RawJson, blocking, both, input_error, not_found, predicate, visible,
};
use crate::error::AppError;
use crate::extract::query_pairs;
use crate::identity::Actor;
use crate::state::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use greenroom_access::Identity;
use greenroom_access::rbac::Permission;
use greenroom_catalog::{
    AncestryItem, CatalogError, CatalogStore, Cursor, DEFAULT_NAMESPACE, EntityQuery, EntityRef,
    FullText, Order, Page, Predicate, prepare_entity,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Entities in a page of `/entities/by-query` when the request sets no
/// `limit`: Backstage's default (its code says 200; its documentation still
/// says 20). A larger page costs memory for the whole page at once.
const DEFAULT_LIMIT: usize = 200;

/// Any larger `limit` (or `offset`) is read as this: it is more than any
/// catalog holds, and keeps the store's "one more than the limit" and
/// SQLite's signed 64-bit `LIMIT` far from overflowing.
const MAX_LIMIT: usize = u32::MAX as usize;

// ---- listing ----

/// `GET /entities`: every matching entity, or with `limit`, `offset` or
/// `after` one window of them and a `Link` header to the next.
pub(super) async fn list(
    State(state): State<AppState>,
    Actor(user): Actor,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> Result<Response, AppError> {
    let query = EntityQuery {
        filter: params.filter()?,
        full_text: None,
        order: legacy_order(&params)?,
    };
    let fields = params.fields(&[])?;
    let window = Window::parse(&params)?;
    let restriction = visible(&state, &user);
    let mut entities = blocking(&state, move |catalog| {
        // One more than asked for tells whether there is a next window.
        let fetch = window.limit.map(|limit| limit.min(MAX_LIMIT) + 1);
        Ok(catalog
            .store()
            .list(&query, window.offset, fetch, restriction.as_ref())?)
    })
    .await?;
    let next = window.next(&mut entities);
    let mut response = Json(fields.project_all(entities)).into_response();
    if let Some(link) = next.and_then(|after| next_link(&uri, &after)) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// Backstage's `order=asc:metadata.name` (repeatable). The store sorts by
/// one field: the first orders, the others are checked but not used.
fn legacy_order(params: &Params) -> Result<Option<Order>, AppError> {
    let mut orders = Vec::new();
    for item in params.all("order") {
        let order = match item.split_once(':') {
            Some(("asc", field)) if !field.is_empty() => (field, false),
            Some(("desc", field)) if !field.is_empty() => (field, true),
            _ => {
                return Err(input_error(format!(
                    "Invalid order parameter \"{item}\", expected \"<asc or desc>:<field name>\""
                )));
            }
        };
        orders.push(Order {
            field: order.0.to_owned(),
            descending: order.1,
        });
    }
    Ok(orders.into_iter().next())
}

/// A window of `GET /entities`: `offset` and `limit`, or `after`, the
/// cursor of its `Link` header, which is Backstage's: base64 of
/// `{"limit":…,"offset":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Window {
    limit: Option<usize>,
    #[serde(default)]
    offset: usize,
}

impl Window {
    fn parse(params: &Params) -> Result<Window, AppError> {
        let mut window = Window {
            limit: params.count("limit")?,
            offset: params.count("offset")?.unwrap_or(0),
        };
        if window.limit == Some(0) {
            return Err(input_error("Invalid limit, must be greater than zero"));
        }
        let Some(after) = params.one("after")? else {
            return Ok(window);
        };
        if after.is_empty() {
            return Err(input_error("Invalid after, must not be empty"));
        }
        let cursor: Window = base64::engine::general_purpose::STANDARD
            .decode(after)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| input_error("Malformed after cursor, could not be parsed"))?;
        window.offset = cursor.offset.min(MAX_LIMIT);
        window.limit = cursor.limit.or(window.limit);
        Ok(window)
    }

    /// Drops the extra entity fetched past the window, and when there was
    /// one, returns the cursor of the next window.
    fn next(&self, entities: &mut Vec<Value>) -> Option<String> {
        let limit = self.limit?;
        if entities.len() <= limit {
            return None;
        }
        entities.truncate(limit);
        let next = Window {
            limit: Some(limit),
            offset: self.offset.saturating_add(limit),
        };
        let json = serde_json::to_vec(&next).expect("a window serialises");
        Some(base64::engine::general_purpose::STANDARD.encode(json))
    }
}

/// `<this path?same query, after=…>; rel="next"`.
fn next_link(uri: &Uri, after: &str) -> Option<HeaderValue> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in query_pairs(uri.query()) {
        if key != "offset" && key != "after" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("after", after);
    HeaderValue::try_from(format!("<{}?{}>; rel=\"next\"", uri.path(), query.finish())).ok()
}

// ---- querying ----

/// `GET /entities/by-query`: a page of entities and cursors to the pages
/// around it. With `cursor`, the query is the cursor's: only `limit` and
/// `fields` are read besides.
pub(super) async fn query(
    State(state): State<AppState>,
    Actor(user): Actor,
    params: Params,
) -> Result<Json<Value>, AppError> {
    let fields = params.fields(&[])?;
    let limit = params.count("limit")?.unwrap_or(DEFAULT_LIMIT);
    let start = match params.one("cursor")?.filter(|c| !c.is_empty()) {
        Some(cursor) => Start::Cursor(Cursor::decode(cursor).map_err(input_error)?),
        None => Start::First {
            query: EntityQuery {
                filter: params.filter()?,
                full_text: full_text(
                    params.one("fullTextFilterTerm")?.unwrap_or_default(),
                    params.list("fullTextFilterFields"),
                ),
                order: first_order(params.all("orderField").iter().map(|f| Order::parse(f)))?,
            },
            offset: params.count("offset")?.unwrap_or(0),
            count: TotalItems::parse(params.one("totalItems")?)? == TotalItems::Include,
        },
    };
    page(&state, &user, start, limit, fields).await
}

/// The body of `POST /entities/by-query`: Backstage's predicate query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PredicateQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
    #[serde(default)]
    order_by: Vec<OrderBy>,
    full_text_filter: Option<FullTextFilter>,
    #[serde(default)]
    fields: Vec<String>,
    total_items: Option<String>,
    query: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct OrderBy {
    field: String,
    order: String,
}

#[derive(Debug, Deserialize)]
struct FullTextFilter {
    #[serde(default)]
    term: String,
    #[serde(default)]
    fields: Vec<String>,
}

/// `POST /entities/by-query`: as the `GET`, with the filter written as a
/// predicate (`{"$all": [{"kind": "component"}, …]}`) in a JSON body.
pub(super) async fn query_by_predicate(
    State(state): State<AppState>,
    Actor(user): Actor,
    JsonBody(body): JsonBody<PredicateQuery>,
) -> Result<Json<Value>, AppError> {
    let fields = Fields::parse(&body.fields)?;
    let limit = body.limit.unwrap_or(DEFAULT_LIMIT);
    let start = match body.cursor.as_deref() {
        Some("") => return Err(input_error("Cursor cannot be empty")),
        Some(cursor) => Start::Cursor(Cursor::decode(cursor).map_err(input_error)?),
        None => Start::First {
            query: EntityQuery {
                filter: predicate::parse_query(body.query.as_ref())?,
                full_text: body
                    .full_text_filter
                    .and_then(|f| full_text(&f.term, f.fields)),
                order: first_order(
                    body.order_by
                        .iter()
                        .map(|o| Order::parse(&format!("{},{}", o.field, o.order))),
                )?,
            },
            offset: body.offset.unwrap_or(0),
            count: TotalItems::parse(body.total_items.as_deref())? == TotalItems::Include,
        },
    };
    page(&state, &user, start, limit, fields).await
}

/// The first of the sort orders asked for, all of them checked: the store
/// sorts by one field, as Backstage's `by-query` does.
fn first_order(
    orders: impl Iterator<Item = Result<Order, greenroom_catalog::QueryError>>,
) -> Result<Option<Order>, AppError> {
    let orders = orders.collect::<Result<Vec<_>, _>>().map_err(input_error)?;
    Ok(orders.into_iter().next())
}

fn full_text(term: &str, fields: Vec<String>) -> Option<FullText> {
    let term = term.trim();
    (!term.is_empty()).then(|| FullText {
        term: term.to_owned(),
        fields,
    })
}

/// Backstage's `totalItems`: whether to count the matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TotalItems {
    Include,
    Exclude,
}

impl TotalItems {
    fn parse(text: Option<&str>) -> Result<TotalItems, AppError> {
        match text {
            None | Some("include") => Ok(TotalItems::Include),
            Some("exclude") => Ok(TotalItems::Exclude),
            Some(other) => Err(input_error(format!(
                "Invalid totalItems parameter \"{other}\", expected one of: include, exclude"
            ))),
        }
    }
}

/// Where a page of `/entities/by-query` starts.
enum Start {
    /// The first page of a query, `offset` entities in; the matches counted
    /// unless `count` is false.
    First {
        query: EntityQuery,
        offset: usize,
        count: bool,
    },
    /// The page a cursor points to.
    Cursor(Cursor),
}

impl Start {
    fn read(
        self,
        store: &CatalogStore,
        limit: usize,
        restriction: Option<&Predicate>,
    ) -> Result<Page, CatalogError> {
        let (query, offset, count) = match self {
            Start::Cursor(cursor) => return store.query(&cursor, limit, restriction),
            Start::First {
                query,
                offset,
                count,
            } => (query, offset, count),
        };
        let mut first = Cursor::first(query);
        if !count {
            // Backstage's `totalItems=exclude`: no count, and 0 in its place.
            first.total_items = Some(0);
        }
        if offset == 0 {
            return store.query(&first, limit, restriction);
        }
        let offset = offset.min(MAX_LIMIT);
        // The store pages by cursor: the entities skipped are read once to
        // find where the page starts.
        let skipped = store.query(&first, offset, restriction)?;
        let Some(start) = skipped.next_cursor else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
                prev_cursor: None,
                ..skipped
            });
        };
        let mut page = store.query(&Cursor::decode(&start)?, limit, restriction)?;
        // A first page has no previous one, as in Backstage.
        page.prev_cursor = None;
        Ok(page)
    }
}

/// One page, in Backstage's shape: `{items, totalItems, pageInfo}`.
async fn page(
    state: &AppState,
    user: &Identity,
    start: Start,
    limit: usize,
    fields: Fields,
) -> Result<Json<Value>, AppError> {
    let restriction = visible(state, user);
    let limit = limit.min(MAX_LIMIT);
    let page = blocking(state, move |catalog| {
        Ok(start.read(catalog.store(), limit, restriction.as_ref())?)
    })
    .await?;
    let mut page_info = Map::new();
    if let Some(next) = page.next_cursor {
        page_info.insert("nextCursor".into(), next.into());
    }
    if let Some(prev) = page.prev_cursor {
        page_info.insert("prevCursor".into(), prev.into());
    }
    Ok(Json(json!({
        "items": fields.project_all(page.items),
        "totalItems": page.total_items,
        "pageInfo": page_info,
    })))
}

// ---- one entity ----

/// `GET /entities/by-uid/{uid}`.
pub(super) async fn by_uid(
    State(state): State<AppState>,
    Actor(user): Actor,
    Path(uid): Path<String>,
) -> Result<Json<Value>, AppError> {
    let restriction = visible(&state, &user);
    let entity = blocking(&state, move |catalog| {
        catalog
            .store()
            .entity_by_uid(&uid, restriction.as_ref())?
            .ok_or_else(|| not_found(format!("No entity with uid {uid}")))
    })
    .await?;
    Ok(Json(entity))
}

/// `DELETE /entities/by-uid/{uid}`: 204, also when there is no such
/// entity, as in Backstage. The entity comes back on its location's next
/// refresh if its source still has it.
pub(super) async fn delete_by_uid(
    State(state): State<AppState>,
    Actor(user): Actor,
    Path(uid): Path<String>,
    _json: JsonWrite,
) -> Result<StatusCode, AppError> {
    let delete = state.entity_permission(&user, &Permission::CATALOG_ENTITY_DELETE);
    blocking(&state, move |catalog| {
        // Refused where the user's conditions do not hold on this entity
        // (an entity that does not exist is a 204, as in Backstage).
        if catalog.store().entity_by_uid(&uid, None)?.is_some()
            && catalog
                .store()
                .entity_by_uid(&uid, delete.restriction().as_ref())?
                .is_none()
        {
            return Err(delete.refuse(&uid));
        }
        match catalog.store().delete_by_uid(&uid) {
            Ok(()) | Err(CatalogError::NotFound(_)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `{kind}/{namespace}/{name}` of a route.
pub(super) type NamePath = Path<(String, String, String)>;

/// `GET /entities/by-name/{kind}/{namespace}/{name}`.
pub(super) async fn by_name(
    State(state): State<AppState>,
    Actor(user): Actor,
    Path((kind, namespace, name)): NamePath,
) -> Result<Json<Value>, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name).to_string();
    let restriction = visible(&state, &user);
    let entity = blocking(&state, move |catalog| {
        catalog
            .store()
            .entity_by_ref_where(&entity_ref, restriction.as_ref())?
            .ok_or_else(|| {
                not_found(format!(
                    "No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
                ))
            })
    })
    .await?;
    Ok(Json(entity))
}

/// `GET /entities/by-name/{kind}/{namespace}/{name}/ancestry`: the entity,
/// then the entities that led to it, up to its registered location.
pub(super) async fn ancestry(
    State(state): State<AppState>,
    Actor(user): Actor,
    Path((kind, namespace, name)): NamePath,
) -> Result<Json<Value>, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name).to_string();
    let restriction = visible(&state, &user);
    let items = blocking(&state, move |catalog| {
        let store = catalog.store();
        let items = only_visible(store, store.ancestry(&entity_ref)?, restriction.as_ref())?;
        if items.is_empty() {
            return Err(not_found(format!("No such entity {entity_ref}")));
        }
        Ok(items)
    })
    .await?;
    Ok(Json(json!({
        "rootEntityRef": ref_of(&items[0].entity),
        "items": items,
    })))
}

/// The ancestry items `restriction` lets the caller see; none when it
/// hides the entity itself (the first), which is then as good as missing.
pub(super) fn only_visible(
    store: &CatalogStore,
    items: Vec<AncestryItem>,
    restriction: Option<&Predicate>,
) -> Result<Vec<AncestryItem>, CatalogError> {
    let Some(restriction) = restriction else {
        return Ok(items);
    };
    let refs: Vec<String> = items.iter().map(|item| ref_of(&item.entity)).collect();
    let seen = store.entities_by_refs(&refs, Some(restriction))?;
    if seen.first().is_none_or(Option::is_none) {
        return Ok(Vec::new());
    }
    // The entities as the caller may see them (relations to what they may
    // not read left out), and no parent named that they may not read.
    let kept: Vec<AncestryItem> = items
        .into_iter()
        .zip(seen)
        .filter_map(|(item, seen)| {
            seen.map(|entity| AncestryItem {
                entity,
                parent_entity_refs: item.parent_entity_refs,
            })
        })
        .collect();
    let shown: std::collections::HashSet<String> = kept
        .iter()
        .map(|item| ref_of(&item.entity).to_lowercase())
        .collect();
    Ok(kept
        .into_iter()
        .map(|mut item| {
            item.parent_entity_refs
                .retain(|parent| shown.contains(&parent.to_lowercase()));
            item
        })
        .collect())
}

/// `kind:namespace/name` of a stored entity.
fn ref_of(entity: &Value) -> String {
    let metadata = &entity["metadata"];
    EntityRef::new(
        entity["kind"].as_str().unwrap_or_default(),
        metadata["namespace"].as_str().unwrap_or(DEFAULT_NAMESPACE),
        metadata["name"].as_str().unwrap_or_default(),
    )
    .to_string()
}

// ---- batches and facets ----

/// The body of `POST /entities/by-refs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefsRequest {
    entity_refs: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
    /// A predicate the entities must also match.
    query: Option<Value>,
}

/// `POST /entities/by-refs`: the entities with these references, in the
/// same order, `null` where there is none (or the filter leaves it out).
pub(super) async fn by_refs(
    State(state): State<AppState>,
    Actor(user): Actor,
    params: Params,
    JsonBody(body): JsonBody<RefsRequest>,
) -> Result<Json<Value>, AppError> {
    let fields = params.fields(&body.fields)?;
    let query = predicate::parse_query(body.query.as_ref())?;
    let restriction = both(visible(&state, &user), both(params.filter()?, query));
    let refs = body.entity_refs;
    let found = blocking(&state, move |catalog| {
        Ok(catalog
            .store()
            .entities_by_refs(&refs, restriction.as_ref())?)
    })
    .await?;
    let items: Vec<Value> = found
        .iter()
        .map(|entity| entity.as_ref().map_or(Value::Null, |e| fields.project(e)))
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /entity-facets?facet=kind&facet=spec.type&filter=…`: for each
/// facet, how many matching entities have each value.
pub(super) async fn facets(
    State(state): State<AppState>,
    Actor(user): Actor,
    params: Params,
) -> Result<Json<Value>, AppError> {
    let facets: Vec<String> = params
        .all("facet")
        .into_iter()
        .filter(|f| !f.is_empty())
        .collect();
    if facets.is_empty() {
        return Err(input_error("Missing facet parameter"));
    }
    facet_counts(&state, &user, facets, params.filter()?).await
}

/// The body of `POST /entity-facets`.
#[derive(Debug, Deserialize)]
pub(super) struct FacetsRequest {
    #[serde(default)]
    facets: Vec<String>,
    query: Option<Value>,
}

/// `POST /entity-facets`: as the `GET`, with a predicate query.
pub(super) async fn facets_by_predicate(
    State(state): State<AppState>,
    Actor(user): Actor,
    JsonBody(body): JsonBody<FacetsRequest>,
) -> Result<Json<Value>, AppError> {
    let facets: Vec<String> = body.facets.into_iter().filter(|f| !f.is_empty()).collect();
    if facets.is_empty() {
        return Err(input_error("Missing or empty facets parameter"));
    }
    let filter = predicate::parse_query(body.query.as_ref())?;
    facet_counts(&state, &user, facets, filter).await
}

async fn facet_counts(
    state: &AppState,
    user: &Identity,
    facets: Vec<String>,
    filter: Option<Predicate>,
) -> Result<Json<Value>, AppError> {
    let restriction = visible(state, user);
    let counts = blocking(state, move |catalog| {
        Ok(catalog
            .store()
            .facets(&facets, filter.as_ref(), restriction.as_ref())?)
    })
    .await?;
    let facets: Map<String, Value> = counts
        .into_iter()
        .map(|(facet, values)| {
            let values = values
                .into_iter()
                .map(|(value, count)| json!({ "value": value, "count": count }))
                .collect();
            (facet, Value::Array(values))
        })
        .collect();
    Ok(Json(json!({ "facets": facets })))
}

// ---- refresh and validation ----

/// The body of `POST /refresh`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefreshRequest {
    entity_ref: String,
    /// Backstage acts with this token's identity; here the caller is who
    /// acts, so it is accepted and not used.
    #[serde(default)]
    #[allow(dead_code)]
    authorization_token: Option<String>,
}

/// `POST /refresh`: reads the entity's location again now.
pub(super) async fn refresh(
    State(state): State<AppState>,
    Actor(user): Actor,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<StatusCode, AppError> {
    let restriction = visible(&state, &user);
    let refresh = state.entity_permission(&user, &Permission::CATALOG_ENTITY_REFRESH);
    blocking(&state, move |catalog| {
        let entity_ref = body.entity_ref;
        if catalog
            .store()
            .entity_by_ref_where(&entity_ref, restriction.as_ref())?
            .is_none()
        {
            return Err(not_found(format!("No entity named {entity_ref}")));
        }
        if catalog
            .store()
            .entity_by_ref_where(&entity_ref, refresh.restriction().as_ref())?
            .is_none()
        {
            return Err(refresh.refuse(&entity_ref));
        }
        catalog.refresh_entity(&entity_ref)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::OK)
}

/// The body of `POST /validate-entity`.
#[derive(Debug, Deserialize)]
struct ValidateRequest {
    entity: Value,
    location: String,
}

/// `POST /validate-entity`: 200 when the entity is valid, else 400 with
/// `{errors: [{name, message}]}` (also for a malformed request, as
/// Backstage).
pub(super) async fn validate(_user: Actor, body: RawJson) -> Response {
    let errors = validation_errors(body);
    if errors.is_empty() {
        return StatusCode::OK.into_response();
    }
    (StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response()
}

fn validation_errors(body: RawJson) -> Vec<Value> {
    let error = |name: &str, message: String| json!({ "name": name, "message": message });
    let request: ValidateRequest = match body.parse() {
        Ok(request) => request,
        Err(message) => return vec![error("InputError", message)],
    };
    let location = request.location;
    let target = match location.split_once(':') {
        Some(("url", target)) if !target.is_empty() => target,
        Some((kind, target)) if !kind.is_empty() && !target.is_empty() => {
            return vec![error(
                "TypeError",
                format!(
                    "Invalid location ref {location}, only 'url:<target>' is supported, e.g. url:https://host/path"
                ),
            )];
        }
        _ => {
            return vec![error(
                "TypeError",
                format!(
                    "Unable to parse location ref '{location}', expected '<type>:<target>', e.g. 'url:https://host/path'"
                ),
            )];
        }
    };
    match prepare_entity(request.entity, target, &location, &location) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .into_iter()
            .map(|problem| error("InputError", problem.message))
            .collect(),
    }
}
