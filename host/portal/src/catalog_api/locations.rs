//! Location routes: list, register (or try, with `dryRun`), look up and
//! remove locations, the location of an entity, and analysing a location
//! before registering it.
//!
//! Locations registered here have the origin `api`. `file` locations are
//! accepted (Backstage's default accepts only `url`): this is the operator's
//! API, and it reads files of the host's disk — `docs/catalog-api.md` says
//! what that means until access control narrows who may call it.

use super::entities::NamePath;
use super::params::Params;
use super::{JsonBody, JsonWrite, blocking, input_error, not_found, visible};
use crate::error::{AppError, Format};
use crate::identity::Actor;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use greenroom_access::rbac::Permission;
use greenroom_catalog::{
    Catalog, DEFAULT_NAMESPACE, EntityRef, Location, LocationType, generated_location_name,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Who registered the locations this API registers.
const ORIGIN: &str = "api";

/// A location as Backstage returns it: `{id, type, target, entityRef}`, the
/// last naming the Location entity generated for it.
fn location_json(location: &Location) -> Value {
    json!({
        "id": location.id,
        "type": location.kind,
        "target": location.target,
        "entityRef": location_entity_ref(location.kind, &location.target),
    })
}

fn location_entity_ref(kind: LocationType, target: &str) -> String {
    EntityRef::new(
        "location",
        DEFAULT_NAMESPACE,
        &generated_location_name(kind, target),
    )
    .to_string()
}

/// `GET /locations`: every registered location, each as `{data: …}`.
pub(super) async fn list(
    State(state): State<AppState>,
    Actor(user): Actor,
) -> Result<Json<Value>, AppError> {
    state.require(&user, &Permission::CATALOG_LOCATION_READ, Format::Json)?;
    let locations = blocking(&state, |catalog| Ok(catalog.store().locations()?)).await?;
    let items: Vec<Value> = locations
        .iter()
        .map(|location| json!({ "data": location_json(location) }))
        .collect();
    Ok(Json(Value::Array(items)))
}

/// `GET /locations/{id}`.
pub(super) async fn by_id(
    State(state): State<AppState>,
    Actor(user): Actor,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    state.require(&user, &Permission::CATALOG_LOCATION_READ, Format::Json)?;
    let location = blocking(&state, move |catalog| {
        catalog
            .store()
            .location(&id)?
            .ok_or_else(|| not_found(format!("Found no location with ID {id}")))
    })
    .await?;
    Ok(Json(location_json(&location)))
}

/// `DELETE /locations/{id}`: the location and every entity it provided.
pub(super) async fn delete(
    State(state): State<AppState>,
    Actor(user): Actor,
    Path(id): Path<String>,
    _json: JsonWrite,
) -> Result<StatusCode, AppError> {
    state.require(&user, &Permission::CATALOG_LOCATION_DELETE, Format::Json)?;
    blocking(&state, move |catalog| Ok(catalog.remove_location(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /locations/by-entity/{kind}/{namespace}/{name}`: the registered
/// location the entity came from.
pub(super) async fn by_entity(
    State(state): State<AppState>,
    Actor(user): Actor,
    Path((kind, namespace, name)): NamePath,
) -> Result<Json<Value>, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name).to_string();
    let restriction = visible(&state, &user);
    let location = blocking(&state, move |catalog| {
        let store = catalog.store();
        if store
            .entity_by_ref_where(&entity_ref, restriction.as_ref())?
            .is_none()
        {
            return Err(not_found(format!("found no entity for ref {entity_ref}")));
        }
        store
            .location_of(&entity_ref)?
            .ok_or_else(|| not_found(format!("found no location for ref {entity_ref}")))
    })
    .await?;
    Ok(Json(location_json(&location)))
}

/// A location in a request body: `{type, target}` (and Backstage's
/// `presence`, accepted and not used), nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LocationInput {
    #[serde(rename = "type")]
    kind: String,
    target: String,
    #[serde(default)]
    #[allow(dead_code)]
    presence: Option<Presence>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Presence {
    Required,
    Optional,
}

impl LocationInput {
    /// The type, of those a caller may register: `plugin` locations belong
    /// to plugins.
    fn kind(&self) -> Result<LocationType, AppError> {
        match LocationType::parse(&self.kind) {
            Some(kind @ (LocationType::Url | LocationType::File)) => Ok(kind),
            _ => Err(input_error(format!(
                "Registered locations must be of an allowed type [\"url\",\"file\"], not \"{}\"",
                self.kind
            ))),
        }
    }
}

/// `POST /locations?dryRun=…&onConflict=…`: registers a location and reads
/// it (201 `{location, entities: []}`), or with `dryRun` only reads it (201
/// `{location, entities, exists}`). An existing location is a 409, unless
/// `onConflict=refresh`, which reads it again.
pub(super) async fn create(
    State(state): State<AppState>,
    Actor(user): Actor,
    params: Params,
    JsonBody(input): JsonBody<LocationInput>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    state.require(&user, &Permission::CATALOG_LOCATION_CREATE, Format::Json)?;
    let kind = input.kind()?;
    let dry_run = params.flag("dryRun")?;
    let refresh_existing = match params.one("onConflict")? {
        None | Some("reject") => false,
        Some("refresh") => true,
        Some(other) => {
            return Err(input_error(format!(
                "Invalid onConflict \"{other}\", expected reject or refresh"
            )));
        }
    };
    let body = blocking(&state, move |catalog| {
        if dry_run {
            return dry_run_json(catalog, kind, input);
        }
        let (location, _report) =
            catalog.add_location(kind, &input.target, ORIGIN, refresh_existing)?;
        // Backstage reads a new location later and so returns no entities;
        // here they are read already, and are in the catalog.
        Ok(json!({ "location": location_json(&location), "entities": [] }))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// What registering `input` would add, without registering it: refused
/// (400) when any of it is invalid, as Backstage.
fn dry_run_json(
    catalog: &Catalog,
    kind: LocationType,
    input: LocationInput,
) -> Result<Value, AppError> {
    let target = Catalog::normalise_target(kind, &input.target)?;
    let reading = catalog.analyze(kind, &target, ORIGIN)?;
    if !reading.problems.is_empty() {
        let problems: Vec<String> = reading.problems.iter().map(ToString::to_string).collect();
        return Err(input_error(problems.join(", ")));
    }
    let exists = catalog.store().location_by_target(kind, &target)?.is_some();
    let entities: Vec<Value> = reading.entities.into_iter().map(|e| e.entity).collect();
    Ok(json!({
        "exists": exists,
        "location": {
            "id": format!("{kind}:{}", input.target),
            "type": kind,
            "target": input.target,
            "entityRef": location_entity_ref(kind, &target),
        },
        "entities": entities,
    }))
}

/// The body of `POST /analyze-location`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AnalyzeRequest {
    location: LocationInput,
    #[serde(default)]
    #[allow(dead_code)]
    catalog_filename: Option<String>,
}

/// `POST /analyze-location`: the catalog files a location already holds
/// (`existingEntityFiles`), or, when it holds none, a Component to start
/// from (`generateEntities`), as Backstage's repository analyser answers.
pub(super) async fn analyze(
    State(state): State<AppState>,
    Actor(user): Actor,
    JsonBody(body): JsonBody<AnalyzeRequest>,
) -> Result<Json<Value>, AppError> {
    state.require(&user, &Permission::CATALOG_LOCATION_CREATE, Format::Json)?;
    let kind = body.location.kind()?;
    let target = body.location.target;
    let restriction = visible(&state, &user);
    let answer = blocking(&state, move |catalog| {
        let reading = catalog.analyze(kind, &target, ORIGIN)?;
        let mut existing = Vec::new();
        // The first entity is the Location generated for the target itself.
        for ingested in reading.entities.iter().skip(1) {
            let registered = catalog
                .store()
                .entity_by_ref_where(&ingested.entity_ref.to_string(), restriction.as_ref())?
                .is_some();
            existing.push(json!({
                "location": source_location(&ingested.source),
                "isRegistered": registered,
                "entity": ingested.entity,
            }));
        }
        Ok(analysis(&target, existing))
    })
    .await?;
    Ok(Json(answer))
}

fn analysis(target: &str, existing: Vec<Value>) -> Value {
    if !existing.is_empty() {
        return json!({ "existingEntityFiles": existing, "generateEntities": [] });
    }
    let name = target
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let name = name.split('.').next().unwrap_or(name);
    json!({
        "existingEntityFiles": [],
        "generateEntities": [{
            "entity": {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": { "name": name },
                "spec": { "type": "other", "lifecycle": "unknown" },
            },
            "fields": [],
        }],
    })
}

/// `{type, target}` of the file or URL an entity was read from.
fn source_location(source: &str) -> Value {
    match source.strip_prefix("file:") {
        Some(path) => json!({ "type": "file", "target": path }),
        None => json!({ "type": "url", "target": source }),
    }
}
