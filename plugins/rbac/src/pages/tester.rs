//! The decision tester: may user X do P (on entity E), and which rule
//! decides? The form's action checks the question and sends the browser to
//! `tester?user=…&permission=…`, where the page asks the host and shows the
//! answer, so an answer has an address to share.

use super::{Route, catalog_choices, checkbox, chosen_entity, select, ticked};
use crate::draft::Working;
use crate::format::query;
use greenroom_sdk::HostError;
use greenroom_sdk::prelude::*;
use greenroom_sdk::rbac::{self, Decision, Verdict};

/// `tester` — the form, and the answer when the query asks a question.
pub fn page(cx: &Context, working: &Working) -> Result<El> {
    let permissions = rbac::permissions()?;
    let asked = |name: &str| cx.query(name).unwrap_or_default().to_owned();
    let on_draft = cx.query("draft") == Some("on");
    let mut question = form("test-decision", "Decide");
    let typed_help = match catalog_choices(&["user"], &[]) {
        Some(users) => {
            question = question.field(select("user", "User", &users).value(asked("user")));
            "Or type a user's reference, e.g. user:default/jane."
        }
        None => "A user's reference, e.g. user:default/jane.",
    };
    let mut draft_box = checkbox("on_draft", "Test the draft instead of the version in force");
    if on_draft {
        draft_box = draft_box.value("on");
    }
    question = question
        .field(Field::text("user_ref", "User reference").help(typed_help))
        .field(
            select(
                "permission",
                "Permission",
                &crate::permissions::choices(&permissions, false, None),
            )
            .value(asked("permission")),
        )
        .field(
            Field::text("entity", "Entity (optional)")
                .value(asked("entity"))
                .help("e.g. component:default/payments-api; without one, conditions are shown, not checked."),
        )
        .field(draft_box.help(if working.draft.is_some() {
            "Decide on the draft, as it would be once published."
        } else {
            "There is no draft now."
        }));
    let mut page = column().child(
        card("Decision tester")
            .subtitle("May this user do this, and which rule decides? Decided as the portal would, with the user's groups as the catalog has them now")
            .child(question),
    );
    let (user, permission) = (asked("user"), asked("permission"));
    if !user.is_empty() && !permission.is_empty() {
        let entity = asked("entity");
        let entity = (!entity.is_empty()).then_some(entity.as_str());
        let answer = match rbac::test(&user, &permission, entity, on_draft) {
            Ok(decision) => verdict(cx, working, &decision, &user, &permission, on_draft),
            Err(Error::Host(HostError::InvalidArgument(message))) => {
                error_state("The host cannot decide this", message)
            }
            Err(error) => return Err(error),
        };
        page = page.child(answer);
    }
    Ok(page)
}

/// The answer: the verdict as a badge, the rule that decided, the
/// conditions and the user's groups.
fn verdict(
    cx: &Context,
    working: &Working,
    decision: &Decision,
    user: &str,
    permission: &str,
    on_draft: bool,
) -> El {
    let (label, tone) = match decision.verdict {
        Verdict::Allowed => ("allowed", Tone::Success),
        Verdict::Denied => ("denied", Tone::Danger),
        Verdict::Conditional => ("conditional", Tone::Warning),
    };
    let decided_on = if on_draft {
        "the draft"
    } else {
        "the version in force"
    };
    let mut answer = card("Answer")
        .subtitle(format!("{user} · {permission} · on {decided_on}"))
        .child(
            row()
                .child(badge(label, tone))
                .child(text(&decision.decided_by)),
        );
    // Link the deciding policy when the pages show the same document the
    // decision was made on.
    let same_document = on_draft || working.draft.is_none();
    if same_document && let Some(route) = deciding_policy(&decision.decided_by) {
        answer = answer.child(link("Open the policy that decided", route.link(cx)));
    }
    if let Some(conditions) = &decision.conditions {
        answer = answer
            .child(text(
                "Allowed only where these conditions hold on the entity:",
            ))
            .child(code("", conditions));
    }
    let groups: El = if decision.groups.is_empty() {
        text("The user is in no group.").muted().into()
    } else {
        decision
            .groups
            .iter()
            .fold(bullet_list(), |list, group| list.child(text(group)))
    };
    answer
        .child(text(
            "Groups the user was found in (directly or through parent groups):",
        ))
        .child(groups)
        .into()
}

/// The policy a `decided-by` names: ``role `x`, policy 2 (…)``.
fn deciding_policy(decided_by: &str) -> Option<Route> {
    let rest = decided_by.strip_prefix("role `")?;
    let (role, rest) = rest.split_once("`, policy ")?;
    let index: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(Route::Policy(role.to_owned(), index.parse().ok()?))
}

/// `test-decision`: `user` (picked) or `user_ref` (typed), `permission`,
/// `entity` (optional), `on_draft` (a checkbox). Checks the question with
/// the host, then shows the answer at `tester?…`.
pub fn test(form: &FormData, cx: &Context) -> Result<Outcome> {
    let Some(user) = step!(chosen_entity(form, "user", "user_ref", &["user"])) else {
        return Ok(Outcome::invalid("user_ref", "Choose or type a user."));
    };
    let user_field = if form.get("user_ref").is_some_and(|v| !v.trim().is_empty()) {
        "user_ref"
    } else {
        "user"
    };
    let permission = step!(form.require("permission")).to_owned();
    let entity = form.get("entity").map(str::trim).unwrap_or_default();
    let entity = if entity.is_empty() {
        None
    } else {
        Some(step!(
            crate::format::entity_ref(entity, &[]).map_err(|m| Outcome::invalid("entity", m))
        ))
    };
    let on_draft = ticked(form, "on_draft");
    if let Err(Error::Host(HostError::InvalidArgument(message))) =
        rbac::test(&user, &permission, entity.as_deref(), on_draft)
    {
        let field = if message.contains("draft") {
            "on_draft"
        } else if message.contains(&user) {
            user_field
        } else if message.contains("permission") {
            "permission"
        } else {
            "entity"
        };
        return Ok(Outcome::invalid(field, message));
    }
    let asked = query([
        ("user", user.as_str()),
        ("permission", permission.as_str()),
        ("entity", entity.as_deref().unwrap_or_default()),
        ("draft", if on_draft { "on" } else { "" }),
    ]);
    Ok(Outcome::Redirect(format!(
        "{}{asked}",
        Route::Tester.link(cx)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_policy_a_decision_names() {
        assert_eq!(
            deciding_policy("role `payments team`, policy 12 (allow catalog.entity.*)"),
            Some(Route::Policy("payments team".into(), 12))
        );
        assert_eq!(
            deciding_policy(
                "role `viewer`, policy 0 (allow catalog.entity.read); its conditions … hold for component:default/x"
            ),
            Some(Route::Policy("viewer".into(), 0))
        );
        assert_eq!(
            deciding_policy("a bootstrap admin from the configuration"),
            None
        );
        assert_eq!(
            deciding_policy("no policy of the user's roles allows rbac.admin (default deny)"),
            None
        );
    }
}
