//! `/admin/licences`: the licences premium plugins run with, their
//! standing, and adding or removing one.

use super::{LICENCES_PAGE, admin_page, back_to, csrf_field};
use crate::admin::{AdminActor, blocking};
use crate::catalog_pages::SEGMENT;
use crate::csrf::{CsrfForm, CsrfToken};
use crate::error::{AppError, ErrorKind, Format};
use crate::pages::take_notice;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use maud::html;
use percent_encoding::utf8_percent_encode;

/// `GET /admin/licences`: every licence with its standing (seats used of
/// allowed, expiry), each loaded premium plugin's status, the warnings,
/// and a form to add one.
pub(super) async fn licences(
    State(state): State<AppState>,
    actor: AdminActor,
    jar: CookieJar,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, AppError> {
    let (notice, jar) = take_notice(jar);
    let Some(book) = state.plugins().licences().cloned() else {
        let content = html! {
            section.page-header {
                p.eyebrow { "Admin" }
                h1.page-title { "Licences" }
            }
            div.empty-state { p.empty-title { "Licences are not checked on this server" } p.text-muted { "It runs as a plugin author's development portal (greenroom plugin dev)." } }
        };
        return Ok((
            jar,
            admin_page(&state, &actor, "Licences", notice.as_deref(), content),
        )
            .into_response());
    };
    let now = std::time::SystemTime::now();
    let (stored, active) = blocking(Format::Html, move || {
        let internal = |e: greenroom_licensing::LicenceError| {
            AppError::page(ErrorKind::Internal(e.to_string()))
        };
        Ok((
            book.list(now).map_err(internal)?,
            book.active_users(now).map_err(internal)?,
        ))
    })
    .await?;
    let statuses = state.plugins().licence_statuses();
    let warnings = state.plugins().licence_warnings();
    let content = html! {
        section.page-header {
            p.eyebrow { "Admin" }
            h1.page-title { "Licences" }
            p.page-lead { "Premium plugins run only with a licence signed by their publisher. Seats count the distinct people active in the last 30 days: " strong { (active) } " now." }
        }
        @for warning in &warnings {
            div.banner.banner-licence role="status" { (warning) }
        }
        section.card {
            header.card-header { h2.card-title { "Premium plugins" } }
            div.card-body {
                @if statuses.is_empty() {
                    p.text-muted { "No premium plugin is loaded." }
                } @else {
                    ul.list {
                        @for (id, status) in &statuses {
                            li { code { (id) } ": " (status.describe()) }
                        }
                    }
                }
            }
        }
        section.card {
            header.card-header { h2.card-title { "Licences" } }
            @if stored.is_empty() {
                div.empty-state { p.empty-title { "No licence has been added" } }
            } @else {
                div.table-wrap {
                    table.table {
                        thead { tr { th { "Licensee" } th { "Plugins" } th { "Publisher" } th.align-end { "Seats" } th { "Expires" } th { "Standing" } th {} } }
                        tbody {
                            @for licence in &stored {
                                tr {
                                    td { (licence.licence.licensee) p.text-muted.table-note { code { (licence.id) } } }
                                    td { @for plugin in &licence.licence.plugins { code { (plugin.as_str()) } " " } }
                                    td { (licence.licence.publisher) }
                                    td.align-end { (active) " of " (licence.licence.seats) }
                                    td { (licence.licence.expires.to_string()) }
                                    td { (licence.status.describe()) }
                                    td {
                                        form method="post" action={ (LICENCES_PAGE) "/" (utf8_percent_encode(&licence.id, SEGMENT)) "/remove" } {
                                            (csrf_field(&csrf))
                                            button.button.button-danger type="submit" { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            header.card-header { h2.card-title { "Add a licence" } }
            div.card-body {
                form method="post" action=(LICENCES_PAGE) {
                    (csrf_field(&csrf))
                    label.label for="licence" { "The licence file your publisher sent (TOML)" }
                    textarea.input id="licence" name="licence" rows="10" required {}
                    p.text-muted { "Its signature is checked against the publishers this server trusts. The same as " code { "greenroom licence add FILE" } "." }
                    button.button type="submit" { "Add the licence" }
                }
            }
        }
    };
    Ok((
        jar,
        admin_page(&state, &actor, "Licences", notice.as_deref(), content),
    )
        .into_response())
}

/// The licence book, or a 404 where licences are not checked.
fn licence_book(state: &AppState) -> Result<greenroom_licensing::Licences, AppError> {
    state.plugins().licences().cloned().ok_or_else(|| {
        AppError::page(ErrorKind::NotFound(
            "licences are not checked on this server".into(),
        ))
    })
}

/// `POST /admin/licences`: verifies and adds a pasted licence.
pub(super) async fn add_licence(
    State(state): State<AppState>,
    actor: AdminActor,
    form: CsrfForm,
) -> Result<Response, AppError> {
    let book = licence_book(&state)?;
    let text = form.value("licence").unwrap_or_default();
    let notice = blocking(Format::Html, move || {
        let added = book
            .add(
                &text,
                "the pasted licence",
                &actor.name,
                std::time::SystemTime::now(),
            )
            .map_err(|e| AppError::page(ErrorKind::BadRequest(e.to_string())))?;
        state.plugins().refresh_licences();
        Ok(format!(
            "Added the licence of {} for {} seats, until {}",
            added.licence.licensee, added.licence.seats, added.licence.expires
        ))
    })
    .await?;
    Ok(back_to(LICENCES_PAGE, &notice))
}

/// `POST /admin/licences/{id}/remove`.
pub(super) async fn remove_licence(
    State(state): State<AppState>,
    actor: AdminActor,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, AppError> {
    let book = licence_book(&state)?;
    let notice = blocking(Format::Html, move || {
        let removed = book
            .remove(&id, &actor.name)
            .map_err(|e| AppError::page(ErrorKind::NotFound(e.to_string())))?;
        state.plugins().refresh_licences();
        Ok(format!("Removed the licence of {}", removed.licensee))
    })
    .await?;
    Ok(back_to(LICENCES_PAGE, &notice))
}
