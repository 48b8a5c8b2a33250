//! The draft against what is in force, and the forms that publish or
//! discard it.

use super::{Route, change_list, checkbox, count, ticked};
use crate::diff::line_diff;
use crate::draft::{self, Working};
use crate::format::when;
use greenroom_sdk::HostError;
use greenroom_sdk::prelude::*;
use greenroom_sdk::rbac;

/// `changes` — what publishing the draft would change.
pub fn page(cx: &Context, working: &Working) -> Result<El> {
    let Some(draft) = &working.draft else {
        return Ok(column()
            .child(empty(
                "No draft",
                "There is nothing to publish: every change to a role starts a draft, shown here \
                 against the version in force.",
            ))
            .child(link("Roles", Route::Roles.link(cx))));
    };
    let changes = working.changes()?;
    let summary = change_list(&changes, "The draft is the same as the version in force.");
    let (old_name, old_yaml) = match &working.published {
        Some(published) => (
            format!("published (version {})", published.id),
            published.document.clone(),
        ),
        None => ("nothing published".to_owned(), String::new()),
    };
    let title = format!("Draft with {}", count(changes.len(), "change", "changes"));
    let mut page = column().child(
        card(title)
            .subtitle(format!(
                "saved {} by {}",
                when(draft.saved_at),
                draft.author
            ))
            .child(summary),
    );
    // Permissions may have gone since the draft was saved (a plugin was
    // removed); publishing would then fail, so say so before anyone tries.
    let problems = rbac::validate(&draft.document)?;
    if !problems.is_empty() {
        let listed = problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        page = page.child(error_state(
            "The draft cannot be published as it is",
            listed,
        ));
    }
    Ok(page
        .child(
            card("Line by line")
                .subtitle("The policy document, as `greenroom rbac export` writes it")
                .child(code(
                    "diff",
                    line_diff(&old_yaml, &draft.document, &old_name, "draft"),
                )),
        )
        .child(
            grid(2)
                .child(
                    card("Publish")
                        .subtitle("In force from the next request on")
                        .child(
                            form("publish", "Publish").field(
                                Field::text("note", "Note").required().help(
                                    "Why, for the history, e.g. \"contractors may not delete\".",
                                ),
                            ),
                        ),
                )
                .child(
                    card("Discard the draft")
                        .subtitle("What is in force stays as it is")
                        .child(
                            form("discard-draft", "Discard draft")
                                .field(checkbox("confirm", "Yes, throw the draft away")),
                        ),
                ),
        ))
}

/// `publish`: `note`.
pub fn publish(form: &FormData) -> Result<Outcome> {
    let note = step!(form.require("note"));
    match rbac::publish(note) {
        Ok(id) => Ok(Outcome::done(format!(
            "Published version {id}: it is in force now."
        ))),
        // No draft, or one no longer valid: the host says which.
        Err(Error::Host(HostError::InvalidArgument(message))) => {
            Ok(Outcome::invalid("note", message))
        }
        Err(error) => Err(error),
    }
}

/// `discard-draft`: `confirm` (a ticked checkbox).
pub fn discard(form: &FormData) -> Result<Outcome> {
    if !ticked(form, "confirm") {
        return Ok(Outcome::invalid(
            "confirm",
            "Tick the box to confirm: the draft's changes are lost.",
        ));
    }
    Ok(if rbac::discard_draft()? {
        Outcome::done("The draft was thrown away.")
    } else {
        draft::as_notice(Outcome::invalid("confirm", "there was no draft."))
    })
}
