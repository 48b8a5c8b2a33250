//! Form submissions to plugin actions.

use crate::csrf;
use crate::csrf::CSRF_FIELD;
use crate::error::{AppError, ErrorKind};
use crate::extract::{local_path, query_pairs};
use crate::identity::Actor;
use crate::pages::{NOTICE_COOKIE, PluginPage};
use crate::render::SubmittedForm;
use crate::state::AppState;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use greenroom_runtime::CallContext;
use greenroom_runtime::types::Outcome;

/// A hidden field the portal adds to forms: where to go afterwards; never
/// passed to plugins.
const RETURN_FIELD: &str = "_return";

/// `POST /plugins/<id>/actions/<action>`: checks the CSRF token, calls the
/// plugin's `action` and acts on its outcome.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Actor(user): Actor,
    jar: CookieJar,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, AppError> {
    let Form(mut fields) =
        form.map_err(|rejection| AppError::page(ErrorKind::BadRequest(rejection.body_text())))?;
    let take = |fields: &mut Vec<(String, String)>, name: &str| {
        let value = fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone());
        fields.retain(|(n, _)| n != name);
        value
    };
    let token = take(&mut fields, CSRF_FIELD);
    if !csrf::matches(&jar, token.as_deref()) {
        return Err(AppError::page(ErrorKind::Forbidden(
            "the form's security token is missing or does not match; reload the page and submit the form again".into(),
        )));
    }
    // Only a plugin the gate lets through is called; its data stays.
    let plugin = state.plugins().callable(&id).map_err(|refusal| {
        let context = match state.plugins().get(&id) {
            Some(plugin) => format!("{} did not take the form", plugin.manifest().name),
            None => format!("plugin `{id}`"),
        };
        AppError::page(crate::refusal::error(&refusal, &context))
    })?;
    let default_return = format!("/plugins/{id}");
    let return_to = take(&mut fields, RETURN_FIELD)
        .filter(|r| local_path(r).is_some())
        .unwrap_or(default_return);
    let (return_path, return_query) = match return_to.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (return_to.clone(), None),
    };
    // The plugin's own page path, when the form was on it.
    let page_prefix = format!("/plugins/{id}");
    let page_path = return_path
        .strip_prefix(&page_prefix)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        .map(|rest| rest.trim_start_matches('/').to_owned());
    let cx = CallContext {
        user: user.clone(),
        entity: None,
        path: page_path.clone().unwrap_or_default(),
        query: query_pairs(return_query.as_deref()),
    };
    let outcome = plugin
        .action(&action, fields.clone(), &cx)
        .await
        .map_err(|error| {
            AppError::page(ErrorKind::Plugin {
                plugin: id.clone(),
                error,
            })
        })?;
    match outcome {
        Outcome::Done(message) => {
            let jar = match message {
                Some(message) => jar.add(notice_cookie(&message)),
                None => jar,
            };
            Ok((jar, Redirect::to(&return_to)).into_response())
        }
        Outcome::Redirect(target) => match local_path(&target) {
            Some(target) => Ok(Redirect::to(target).into_response()),
            None => Err(AppError::page(ErrorKind::Plugin {
                plugin: id,
                error: greenroom_runtime::CallError::InvalidResponse(format!(
                    "redirect to `{target}` is not a portal path"
                )),
            })),
        },
        Outcome::Invalid(errors) => {
            let submitted = SubmittedForm {
                action,
                values: fields,
                errors,
            };
            match page_path {
                Some(path) => {
                    let page = PluginPage {
                        id,
                        path,
                        query: return_query,
                        submitted: Some(submitted),
                    };
                    page.draw(&state, user, token.as_deref().unwrap_or_default(), jar)
                        .await
                }
                None => {
                    // The form was elsewhere (a home widget): say what was
                    // wrong in a notice on the page it came from.
                    let summary: Vec<String> = submitted
                        .errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect();
                    let jar = jar.add(notice_cookie(&format!("Not saved. {}", summary.join("; "))));
                    Ok((jar, Redirect::to(&return_to)).into_response())
                }
            }
        }
    }
}

/// The most bytes of a notice carried to the next page. It travels in a
/// cookie, percent-encoded (up to three times longer), and browsers drop
/// cookies over 4 KiB; a plugin's 40 MiB message would otherwise be a
/// 120 MiB header.
const MAX_NOTICE_BYTES: usize = 1024;

pub(crate) fn notice_cookie(message: &str) -> Cookie<'static> {
    let message = greenroom_access::truncate(message, MAX_NOTICE_BYTES);
    let encoded =
        percent_encoding::utf8_percent_encode(&message, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    Cookie::build((NOTICE_COOKIE, encoded))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_notice_is_cut_to_fit_a_cookie() {
        let cookie = notice_cookie(&"é".repeat(1 << 20));
        assert!(
            cookie.value().len() <= 4 << 10,
            "{} bytes",
            cookie.value().len()
        );
        let short = notice_cookie("Saved.");
        assert_eq!(short.value(), "Saved%2E");
    }
}
