//! Every published version, one version against the one in force, and the
//! form that publishes an earlier version again.

use super::{Route, change_list, checkbox, hidden, ticked};
use crate::diff::{line_diff, summary};
use crate::draft::{self, Working};
use crate::format::when;
use greenroom_sdk::HostError;
use greenroom_sdk::prelude::*;
use greenroom_sdk::rbac::{self, PolicyVersion, VersionStatus};

fn status_badge(status: VersionStatus) -> (&'static str, Tone) {
    match status {
        VersionStatus::Published => ("in force", Tone::Success),
        VersionStatus::Superseded => ("superseded", Tone::Neutral),
        VersionStatus::Draft => ("draft", Tone::Warning),
    }
}

/// `history` — every published version, newest first.
pub fn list(cx: &Context, _working: &Working) -> Result<El> {
    let versions = rbac::history()?;
    if versions.is_empty() {
        return Ok(empty(
            "Nothing published yet",
            "Each publish is kept here with who published it, when and why.",
        ));
    }
    let listed = versions.iter().fold(
        table(["Version", "Status", "Published by", "When", "Note"]),
        |listed, version| {
            let (label, tone) = status_badge(version.status);
            listed.row([
                link_cell(
                    format!("Version {}", version.id),
                    Route::Version(version.id).link(cx),
                ),
                badge_cell(label, tone),
                Cell::from(version.author.as_str()),
                Cell::from(when(version.saved_at)),
                Cell::from(version.note.as_str()),
            ])
        },
    );
    Ok(card("Published versions")
        .subtitle("Newest first; open one to compare it with the version in force or go back to it")
        .child(listed)
        .into())
}

/// `history/<id>` — one version, compared with the version in force.
pub fn version(cx: &Context, working: &Working, id: u64) -> Result<El> {
    let Some(version) = rbac::version(id)? else {
        return Ok(column()
            .child(empty(
                "No such version",
                format!("There is no version {id}."),
            ))
            .child(link("History", Route::History.link(cx))));
    };
    let (label, tone) = status_badge(version.status);
    let about = properties()
        .property("Status", badge_cell(label, tone))
        .property("Saved by", version.author.as_str())
        .property("When", when(version.saved_at))
        .property(
            "Note",
            if version.note.is_empty() {
                "—"
            } else {
                version.note.as_str()
            },
        );
    let page = column()
        .child(link("← History", Route::History.link(cx)))
        .child(card(format!("Version {id}")).child(about))
        .child(
            tabs()
                .tab(
                    "Compared with the version in force",
                    comparison(working, &version)?,
                )
                .tab("Document", code("yaml", &version.document)),
        );
    Ok(match version.status {
        VersionStatus::Superseded => page.child(revert_form(&version)),
        VersionStatus::Published => page.child(text("This is the version in force.").muted()),
        VersionStatus::Draft => page.child(link(
            "Review and publish the draft",
            Route::Changes.link(cx),
        )),
    })
}

/// What would change if `version` were put in force again.
fn comparison(working: &Working, version: &PolicyVersion) -> Result<El> {
    let Some(published) = &working.published else {
        return Ok(text("Nothing is in force to compare with.").muted().into());
    };
    if published.id == version.id {
        return Ok(text("This is the version in force.").muted().into());
    }
    let changes = summary(
        &working.published_document()?,
        &draft::parse(&version.document)?,
    );
    let listed = change_list(&changes, "It is the same as the version in force.");
    Ok(column()
        .child(text(format!(
            "Going from version {} (in force) to version {}:",
            published.id, version.id
        )))
        .child(listed)
        .child(code(
            "diff",
            line_diff(
                &published.document,
                &version.document,
                &format!("version {} (in force)", published.id),
                &format!("version {}", version.id),
            ),
        )))
}

fn revert_form(version: &PolicyVersion) -> Card {
    card(format!("Go back to version {}", version.id))
        .subtitle(
            "Publishes a copy of it as a new version, in force at once, and throws away any draft",
        )
        .child(
            form("revert", "Publish this version again")
                .field(hidden("version", version.id.to_string()))
                .field(Field::text("note", "Note").help(format!(
                    "Why; \"revert to version {}\" when empty.",
                    version.id
                )))
                .field(checkbox(
                    "confirm",
                    &format!("Yes, put version {} in force again", version.id),
                )),
        )
}

/// `revert`: `version`, `note` (optional), `confirm` (a ticked checkbox).
pub fn revert(form: &FormData) -> Result<Outcome> {
    let Some(id) = form
        .get("version")
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return Ok(Outcome::invalid("note", "No version was named."));
    };
    if !ticked(form, "confirm") {
        return Ok(Outcome::invalid(
            "confirm",
            format!("Tick the box to confirm: version {id} goes in force at once."),
        ));
    }
    let note = form.get("note").unwrap_or_default().trim();
    match rbac::revert(id, note) {
        Ok(new) => Ok(Outcome::done(format!(
            "Version {id} is in force again, as version {new}."
        ))),
        Err(Error::Host(HostError::InvalidArgument(message))) => {
            Ok(Outcome::invalid("note", message))
        }
        Err(error) => Err(error),
    }
}
