//! The policy as YAML: export (shown, and downloaded from the JSON API)
//! and import or edit as a whole.

use super::{banner, error_body, refusal_title};
use crate::draft::{self, Working};
use greenroom_sdk::HostError;
use greenroom_sdk::prelude::*;
use greenroom_sdk::rbac;

/// The API path of the download, below `/api/plugins/<id>/`.
const EXPORT_PATH: &str = "export";

/// `yaml` — export and import.
pub fn page(cx: &Context, working: &Working) -> Result<El> {
    let download = format!("/api/plugins/{}/{EXPORT_PATH}", plugin_id(cx));
    let mut export =
        card("Export").subtitle("The version in force, as `greenroom rbac export` writes it");
    export = match &working.published {
        Some(published) => export
            .child(
                row()
                    .child(link("Download the version in force", download.clone()))
                    .child(
                        text(format!(
                            "(version {}; greenroom rbac import reads it)",
                            published.id
                        ))
                        .muted(),
                    ),
            )
            .child(code("yaml", &published.document)),
        None => export.child(text("Nothing has been published yet.").muted()),
    };
    if working.draft.is_some() {
        export = export.child(link(
            "Download the draft",
            format!("{download}?version=draft"),
        ));
    }
    Ok(column().child(banner(cx, working)?).child(export).child(
        card("Import, or edit as YAML").child(
            super::edit_form("save-document", "Save as the draft", working)
                .child(text(
                    "Paste a whole policy (YAML, or JSON) or edit the draft below. When it is \
                         valid it replaces the draft — changes made in the draft since are \
                         lost — and is in force once published. Every problem is shown here, \
                         with where it is.",
                ))
                .field(
                    Field::textarea("document", "Policy document")
                        .required()
                        .value(working.document.to_yaml()),
                ),
        ),
    ))
}

/// The plugin's id, from the page's path (`/plugins/<id>`).
fn plugin_id(cx: &Context) -> &str {
    cx.base_path.rsplit('/').next().unwrap_or("rbac")
}

/// `save-document`: `document` (YAML or JSON), checked by the host and
/// saved as the draft.
pub fn save(form: &FormData) -> Result<Outcome> {
    let document = step!(form.require("document"));
    // Not `draft::edit`: a pasted policy replaces the draft whatever it was
    // drawn from, so the revision is not checked.
    step!(draft::save_yaml(document, "document")?);
    let roles = draft::parse(&rbac::draft()?.map(|d| d.document).unwrap_or_default())
        .map(|d| d.roles.len())
        .unwrap_or_default();
    Ok(Outcome::done(format!(
        "Saved as the draft ({roles} roles); publish it to put it in force."
    )))
}

/// `GET export[?version=draft|<id>]`: the version in force (or the draft,
/// or version `id`) as a YAML download.
pub fn export(request: &Request) -> Result<Response> {
    let wanted = request.query("version").unwrap_or("published");
    let version = match wanted {
        "published" => rbac::published(),
        "draft" => rbac::draft(),
        id => match id.parse::<u64>() {
            Ok(id) => rbac::version(id),
            Err(_) => {
                return Ok(Response::json(
                    400,
                    &error_body("`version` is `published`, `draft` or a version number"),
                ));
            }
        },
    };
    let version = match version {
        Ok(version) => version,
        Err(Error::Host(error @ (HostError::Denied(_) | HostError::Unavailable(_)))) => {
            let status = if error.is_denied() { 403 } else { 503 };
            let message = format!("Refused: {}", refusal_title(&error));
            return Ok(Response::json(status, &error_body(&message)));
        }
        Err(error) => return Err(error),
    };
    let Some(version) = version else {
        return Ok(Response::json(
            404,
            &error_body(&format!("there is no {wanted} version of the policy")),
        ));
    };
    let name = match version.status {
        rbac::VersionStatus::Draft => format!("rbac-policy-draft-{}.yaml", version.id),
        _ => format!("rbac-policy-v{}.yaml", version.id),
    };
    Ok(Response {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/yaml; charset=utf-8".into()),
            (
                "content-disposition".into(),
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body: version.document.into_bytes(),
    })
}
