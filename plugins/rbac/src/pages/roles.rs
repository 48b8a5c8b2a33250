//! Every role, one role, and the forms that create, rename, delete a role
//! and change its members.

use super::{
    Route, banner, catalog_choices, catalog_href, chosen_entity, edit_form, hidden, select, ticked,
};
use crate::conditions::Described;
use crate::diff::Change;
use crate::draft::{self, Working};
use crate::edits::Edits;
use greenroom_model::policy::Role;
use greenroom_sdk::prelude::*;

/// Kinds of entity a role's member can be.
const MEMBER_KINDS: &[&str] = &["user", "group"];

/// `` — the roles, with how each differs from what is in force.
pub fn overview(cx: &Context, working: &Working) -> Result<El> {
    let changes = working.changes()?;
    let state_of = |name: &str| {
        changes
            .iter()
            .find(|c| c.role() == Some(name))
            .map(|c| badge_cell(c.kind(), Tone::Warning))
            .unwrap_or(Cell::Empty)
    };
    let document = &working.document;
    let mut roles = table(["Role", "Description", "Members", "Policies", "Draft"])
        .align(2, Align::End)
        .align(3, Align::End);
    for role in &document.roles {
        let name = if document.default_role.as_deref() == Some(role.name.as_str()) {
            format!("{} (default)", role.name)
        } else {
            role.name.clone()
        };
        roles = roles.row([
            link_cell(name, Route::Role(role.name.clone()).link(cx)),
            Cell::from(role.description.as_str()),
            Cell::from(role.members.len().to_string()),
            Cell::from(role.policies.len().to_string()),
            state_of(&role.name),
        ]);
    }
    for change in &changes {
        if let Change::Removed(name) = change {
            roles = roles.row([
                Cell::from(name.as_str()),
                Cell::from("removed in the draft"),
                Cell::Empty,
                Cell::Empty,
                badge_cell("removed", Tone::Danger),
            ]);
        }
    }
    let listed: El = if document.roles.is_empty() && changes.is_empty() {
        empty(
            "No roles yet",
            "Create one below: give it members and policies, then publish the draft.",
        )
    } else {
        roles.into()
    };
    let default_subtitle = match &document.default_role {
        Some(role) => format!("Every signed-in user has the role `{role}`."),
        None => "Signed-in users have only the roles they are members of.".to_owned(),
    };
    let role_choices: Vec<(String, String)> = document
        .roles
        .iter()
        .map(|r| (r.name.clone(), r.name.clone()))
        .collect();
    Ok(column()
        .child(banner(cx, working)?)
        .child(
            card("Roles")
                .subtitle(format!(
                    "{}; a user has the roles they or their groups are members of",
                    super::count(document.roles.len(), "role", "roles")
                ))
                .child(listed),
        )
        .child(
            grid(2)
                .child(
                    card("Create a role").child(
                        edit_form("create-role", "Create role", working)
                            .field(
                                Field::text("name", "Name")
                                    .required()
                                    .help("Unique, e.g. payments-engineers."),
                            )
                            .field(Field::text("description", "Description")),
                    ),
                )
                .child(
                    card("Default role").subtitle(default_subtitle).child(
                        edit_form("set-default-role", "Save default role", working).field(
                            select("default_role", "Default role", &role_choices)
                                .value(document.default_role.clone().unwrap_or_default())
                                .help("Leave empty for no default role."),
                        ),
                    ),
                ),
        ))
}

/// `roles/<name>` — one role.
pub fn role(cx: &Context, working: &Working, name: &str) -> Result<El> {
    let Ok(role) = working.document.role(name) else {
        return Ok(column()
            .child(empty(
                "No such role",
                format!(
                    "The draft has no role named `{name}`; it may have been renamed or removed."
                ),
            ))
            .child(link("All roles", Route::Roles.link(cx))));
    };
    let is_default = working.document.default_role.as_deref() == Some(name);
    let mut about = properties()
        .property("Members", role.members.len().to_string())
        .property("Policies", role.policies.len().to_string());
    if is_default {
        about = about.property("Default role", "every signed-in user has it");
    }
    Ok(column()
        .child(banner(cx, working)?)
        .child(link("← All roles", Route::Roles.link(cx)))
        .child(
            card(format!("Role: {}", role.name))
                .subtitle(if role.description.is_empty() {
                    "No description".to_owned()
                } else {
                    role.description.clone()
                })
                .child(about),
        )
        .child(members(working, role))
        .child(policies(cx, working, role)?)
        .child(
            grid(2)
                .child(
                    card("Rename or describe").child(
                        edit_form("edit-role", "Save", working)
                            .field(hidden("role", &role.name))
                            .field(Field::text("name", "Name").required().value(&role.name))
                            .field(
                                Field::text("description", "Description").value(&role.description),
                            ),
                    ),
                )
                .child(
                    card("Delete this role").child(
                        edit_form("delete-role", "Delete role", working)
                            .child(text(
                                "Its members lose what it allows once the draft is published.",
                            ))
                            .field(hidden("role", &role.name))
                            .field(
                                Field::new(
                                    FieldKind::Checkbox,
                                    "confirm",
                                    format!("Yes, delete `{}`", role.name),
                                )
                                .required(),
                            ),
                    ),
                ),
        ))
}

fn members(working: &Working, role: &Role) -> Card {
    let mut listed = bullet_list();
    for member in &role.members {
        let kind = member.split_once(':').map_or("?", |(kind, _)| kind);
        let name: El = match catalog_href(member) {
            Some(href) => link(member.clone(), href),
            None => text(member.clone()).into(),
        };
        listed = listed.child(
            row().child(badge(kind, Tone::Neutral)).child(name).child(
                edit_form("remove-member", "Remove", working)
                    .field(hidden("role", &role.name))
                    .field(hidden("member", member)),
            ),
        );
    }
    let listed: El = if role.members.is_empty() {
        empty(
            "No members",
            "Add users or groups below; a group's members include its subgroups' members.",
        )
    } else {
        listed
    };
    let mut add = edit_form("add-member", "Add member", working)
        .child(heading_level(4, "Add a member"))
        .field(hidden("role", &role.name));
    let typed_help = match catalog_choices(MEMBER_KINDS, &role.members) {
        Some(choices) => {
            add = add.field(select("member", "User or group", &choices));
            "Or type a reference the list does not have, e.g. group:default/payments."
        }
        None => "A reference such as user:default/jane or group:default/payments.",
    };
    card("Members")
        .subtitle("Users and groups; a group's members include its subgroups' members")
        .child(listed)
        .child(add.field(Field::text("member_ref", "Reference").help(typed_help)))
}

fn policies(cx: &Context, working: &Working, role: &Role) -> Result<Card> {
    let permissions = greenroom_sdk::rbac::permissions()?;
    let mut listed = table(["#", "Permission", "Effect", "Conditions", ""]);
    for (index, policy) in role.policies.iter().enumerate() {
        let effect = match policy.effect {
            greenroom_model::policy::Effect::Allow => badge_cell("allow", Tone::Success),
            greenroom_model::policy::Effect::Deny => badge_cell("deny", Tone::Danger),
        };
        let conditions = policy.conditions.as_ref().map_or_else(
            || "on every entity".to_owned(),
            |c| Described(c).to_string(),
        );
        listed = listed.row([
            Cell::from(index.to_string()),
            Cell::from(policy.permission.as_str()),
            effect,
            Cell::from(conditions),
            link_cell("Edit", Route::Policy(role.name.clone(), index).link(cx)),
        ]);
    }
    let listed: El = if role.policies.is_empty() {
        empty(
            "No policies",
            "The role allows nothing yet; add a policy below.",
        )
    } else {
        listed.into()
    };
    let choices = crate::permissions::choices(&permissions, true, None);
    Ok(card("Policies")
        .subtitle("A deny wins over an allow; what no policy allows is refused")
        .child(listed)
        .child(
            edit_form("add-policy", "Add policy", working)
                .child(heading_level(4, "Add a policy"))
                .field(hidden("role", &role.name))
                .field(
                    // Not `required`: the portal would then preselect the
                    // first choice, `*`, which is too easy to allow by mistake.
                    select("permission", "Permission", &choices)
                        .help("A family (catalog.*) names every permission in it."),
                )
                .field(super::policy::effect_field("allow"))
                .child(text("Conditions on the entity can be added on the policy's page.").muted()),
        ))
}

/// `create-role`: `name`, `description`.
pub fn create(form: &FormData, cx: &Context) -> Result<Outcome> {
    let name = step!(form.require("name")).to_owned();
    let description = form.get("description").unwrap_or_default();
    step!(draft::edit(form, "name", |document| {
        document
            .add_role(&name, description)
            .map_err(|e| Outcome::invalid("name", e.to_string()))
    })?);
    Ok(Outcome::Redirect(Route::Role(name).link(cx)))
}

/// `edit-role`: `role` (its current name), `name`, `description`.
pub fn update(form: &FormData, cx: &Context) -> Result<Outcome> {
    let role = step!(form.require("role")).to_owned();
    let name = step!(form.require("name")).to_owned();
    let description = form.get("description").unwrap_or_default();
    step!(draft::edit(form, "name", |document| {
        document
            .update_role(&role, &name, description)
            .map_err(|e| Outcome::invalid("name", e.to_string()))
    })?);
    if name == role {
        return Ok(Outcome::done(format!("Role `{name}` saved in the draft.")));
    }
    Ok(Outcome::Redirect(Route::Role(name).link(cx)))
}

/// `delete-role`: `role`, `confirm` (a ticked checkbox).
pub fn delete(form: &FormData, cx: &Context) -> Result<Outcome> {
    let role = step!(form.require("role")).to_owned();
    if !ticked(form, "confirm") {
        return Ok(Outcome::invalid(
            "confirm",
            "Tick the box to confirm: the role's members lose what it allows.",
        ));
    }
    step!(draft::edit(form, "confirm", |document| {
        document
            .remove_role(&role)
            .map_err(|e| Outcome::invalid("confirm", e.to_string()))
    })?);
    Ok(Outcome::Redirect(Route::Roles.link(cx)))
}

/// `set-default-role`: `default_role` (empty for none).
pub fn set_default(form: &FormData) -> Result<Outcome> {
    let role = form
        .get("default_role")
        .map(str::trim)
        .filter(|r| !r.is_empty());
    step!(draft::edit(form, "default_role", |document| {
        document
            .set_default_role(role)
            .map_err(|e| Outcome::invalid("default_role", e.to_string()))
    })?);
    Ok(Outcome::done(match role {
        Some(role) => {
            format!("Every signed-in user will have `{role}` once the draft is published.")
        }
        None => "No default role once the draft is published.".to_owned(),
    }))
}

/// `add-member`: `role`, and `member` (picked) or `member_ref` (typed).
pub fn add_member(form: &FormData) -> Result<Outcome> {
    let role = step!(form.require("role")).to_owned();
    let Some(member) = step!(chosen_entity(form, "member", "member_ref", MEMBER_KINDS)) else {
        return Ok(Outcome::invalid(
            "member_ref",
            "Choose a user or group, or type a reference.",
        ));
    };
    let field = if form.get("member_ref").is_some_and(|v| !v.trim().is_empty()) {
        "member_ref"
    } else {
        "member"
    };
    step!(draft::edit(form, field, |document| {
        document
            .add_member(&role, &member)
            .map_err(|e| Outcome::invalid(field, e.to_string()))
    })?);
    Ok(Outcome::done(format!(
        "`{member}` added to `{role}` in the draft."
    )))
}

/// `remove-member`: `role`, `member`. Drawn once per member, so it never
/// answers `invalid` (the portal would fill every such form with the
/// submitted values): a refusal is a notice.
pub fn remove_member(form: &FormData) -> Result<Outcome> {
    let (Some(role), Some(member)) = (form.get("role"), form.get("member")) else {
        return Ok(Outcome::done(
            "Nothing was changed: the form was incomplete.",
        ));
    };
    let removed = draft::edit(form, "member", |document| {
        document
            .remove_member(role, member)
            .map_err(|e| Outcome::invalid("member", e.to_string()))
    })?;
    Ok(match removed {
        Ok(()) => Outcome::done(format!("`{member}` removed from `{role}` in the draft.")),
        Err(outcome) => draft::as_notice(outcome),
    })
}
