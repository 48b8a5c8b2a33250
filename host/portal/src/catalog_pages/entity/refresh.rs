//! `POST /catalog/{namespace}/{kind}/{name}/refresh`: reads an entity's
//! location again now, from the Refresh button of its page.

use crate::catalog_pages::{entity_path, read, restriction};
use crate::csrf::CsrfForm;
use crate::error::{AppError, ErrorKind};
use crate::identity::Actor;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use greenroom_access::rbac::Permission;
use greenroom_catalog::EntityRef;

/// `POST /catalog/{namespace}/{kind}/{name}/refresh`: reads the entity's
/// location again now, as the API's `POST /refresh` does (the entity must
/// be visible, and `catalog.entity.refresh` allowed on it), then back to
/// its page with what happened.
pub(in crate::catalog_pages) async fn refresh(
    State(state): State<AppState>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    Actor(user): Actor,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let key = entity_ref.key();
    let visible = restriction(&state, &user);
    let permission = state.entity_permission(&user, &Permission::CATALOG_ENTITY_REFRESH);
    let allowed = permission.restriction();
    let found = key.clone();
    let (exists, may) = read(&state, move |store| {
        let exists = store
            .entity_by_ref_where(&found, visible.as_ref())?
            .is_some();
        let may = exists
            && store
                .entity_by_ref_where(&found, allowed.as_ref())?
                .is_some();
        Ok((exists, may))
    })
    .await?;
    if !exists {
        return Err(AppError::page(ErrorKind::NotFound(format!(
            "The catalog has no {key}, or you may not see it."
        ))));
    }
    if !may {
        return Err(permission.refuse_page(&key));
    }
    let catalog = state.catalog().clone();
    let target = key.clone();
    let report = tokio::task::spawn_blocking(move || catalog.refresh_entity(&target))
        .await
        .map_err(|e| AppError::page(ErrorKind::Internal(e.to_string())))?;
    let notice = match report {
        Ok(_) => "Read again from its location just now.".to_owned(),
        Err(error) => format!("Could not read it again: {error}"),
    };
    let page = entity_path(&entity_ref);
    Ok((
        CookieJar::new().add(crate::actions::notice_cookie(&notice)),
        Redirect::to(&page),
    )
        .into_response())
}
