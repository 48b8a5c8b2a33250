//! `GET` and `POST /catalog/{namespace}/{kind}/{name}/unregister`: what
//! unregistering an entity's location would remove, and removing it once confirmed.

use crate::catalog_pages::{entity_path, read, restriction};
use crate::chrome::Chrome;
use crate::csrf::{CsrfForm, CsrfToken};
use crate::error::{AppError, ErrorKind};
use crate::identity::Actor;
use crate::render::shell::Nav;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use greenroom_access::Identity;
use greenroom_access::rbac::Permission;
use greenroom_catalog::EntityRef;
use maud::html;

/// The box that confirms unregistering.
const CONFIRM_FIELD: &str = "confirm";

/// What unregistering an entity would remove: its registered location and
/// how many entities that location provided.
struct Unregistering {
    location: greenroom_catalog::Location,
    entities: usize,
}

/// The location behind an entity the user may see, after checking they
/// may delete locations (refused and audited otherwise).
async fn unregistering(
    state: &AppState,
    user: &Identity,
    entity_ref: &EntityRef,
) -> Result<Unregistering, AppError> {
    state.require(
        user,
        &Permission::CATALOG_LOCATION_DELETE,
        crate::error::Format::Html,
    )?;
    let visible = restriction(state, user);
    let key = entity_ref.key();
    let found = read(state, move |store| {
        if store.entity_by_ref_where(&key, visible.as_ref())?.is_none() {
            return Ok(None);
        }
        let Some(location) = store.location_of(&key)? else {
            return Ok(None);
        };
        let entities = store.entity_count_of_location(&location.id)?;
        Ok(Some(Unregistering { location, entities }))
    })
    .await?;
    found.ok_or_else(|| {
        AppError::page(ErrorKind::NotFound(format!(
            "The catalog has no {entity_ref} from a registered location, or you may not see it."
        )))
    })
}

/// Why a location cannot be unregistered here, if it cannot: the
/// operator's configuration lists it, and would register it again.
fn kept_by_config(location: &greenroom_catalog::Location) -> Option<String> {
    (location.origin == "config").then(|| {
        format!(
            "{}:{} is listed in the server's configuration (`[[catalog.locations]]`); remove it there, and it goes at the next start.",
            location.kind, location.target
        )
    })
}

/// `GET /catalog/{namespace}/{kind}/{name}/unregister`: what unregistering
/// would remove, and the form that does it, as Backstage's "Unregister
/// entity" dialog.
pub(in crate::catalog_pages) async fn unregister_page(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    Actor(user): Actor,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let Unregistering { location, entities } = unregistering(&state, &user, &entity_ref).await?;
    let page = entity_path(&entity_ref);
    let content = html! {
        section.page-header {
            p.eyebrow { a.link href="/catalog" { "Catalog" } " / " a.link href=(page) { (entity_ref.to_string()) } }
            h1.page-title { "Unregister " (entity_ref.name()) }
        }
        section.card {
            div.card-body {
                @match kept_by_config(&location) {
                    Some(why) => { p.callout.tone-warning role="note" { (why) } }
                    None => {
                        p.text {
                            "It was read from " code { (location.kind) ":" (location.target) } ". Unregistering removes that location and all "
                            strong { (entities) } " entities read from it, this one included. The file itself is not touched; register it again to bring them back."
                        }
                        form.form method="post" action={ (page) "/unregister" } {
                            input type="hidden" name=(crate::csrf::CSRF_FIELD) value=(csrf.0);
                            label.checkbox {
                                input type="checkbox" name=(CONFIRM_FIELD) value="yes" required;
                                span { "Yes: remove the location and its " (entities) " entities" }
                            }
                            button.button type="submit" { "Unregister" }
                        }
                    }
                }
                p.text { a.link href=(page) { "Back to " (entity_ref.name()) } }
            }
        }
    };
    Ok(Chrome::new(&state, Some(&user), Some(&csrf.0))
        .page("Unregister", Nav::Catalog, None, content)
        .into_response())
}

/// `POST /catalog/{namespace}/{kind}/{name}/unregister`: removes the
/// entity's location and every entity it provided, once confirmed.
pub(in crate::catalog_pages) async fn unregister(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    Actor(user): Actor,
    form: CsrfForm,
) -> Result<Response, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let Unregistering { location, entities } = unregistering(&state, &user, &entity_ref).await?;
    if let Some(why) = kept_by_config(&location) {
        return Err(AppError::page(ErrorKind::BadRequest(why)));
    }
    if form.value(CONFIRM_FIELD).as_deref() != Some("yes") {
        return Err(AppError::page(ErrorKind::BadRequest(
            "Nothing was removed: tick the box to confirm.".into(),
        )));
    }
    let catalog = state.catalog().clone();
    let id = location.id.clone();
    tokio::task::spawn_blocking(move || catalog.remove_location(&id))
        .await
        .map_err(|e| AppError::page(ErrorKind::Internal(e.to_string())))?
        .map_err(|e| AppError::page(ErrorKind::Internal(e.to_string())))?;
    let notice = format!(
        "Unregistered {}:{}: its {entities} entities are gone from the catalog.",
        location.kind, location.target
    );
    Ok((
        CookieJar::new().add(crate::actions::notice_cookie(&notice)),
        Redirect::to("/catalog"),
    )
        .into_response())
}
