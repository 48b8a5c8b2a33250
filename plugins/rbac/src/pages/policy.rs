//! One policy: its permission and effect, its conditions as rows of rules
//! or as YAML, and the forms that change them.

use super::{Route, banner, edit_form, hidden, select, ticked};
use crate::conditions::{Combine, Row, Rows, rule_help};
use crate::diff::PolicyLine;
use crate::draft::{self, Step, Working};
use crate::edits::Edits;
use crate::permissions::{choices, takes_conditions};
use greenroom_model::policy::{Condition, Effect, Policy, PolicyDocument, RuleName};
use greenroom_sdk::prelude::*;
use greenroom_sdk::rbac::{self, Permission};

/// The effect select, with `value` chosen.
pub fn effect_field(value: &str) -> Field {
    Field::select(
        "effect",
        "Effect",
        [
            ("allow", "allow — grants the permission"),
            ("deny", "deny — refuses it, whatever else allows it"),
        ],
    )
    .required()
    .value(value)
}

/// `roles/<name>/policies/<index>` — one policy.
pub fn page(cx: &Context, working: &Working, role: &str, index: usize) -> Result<El> {
    let Ok(policy) = working.document.policy(role, index) else {
        return Ok(column()
            .child(empty(
                "No such policy",
                format!("The role `{role}` has no policy {index} in the draft; it may have been removed."),
            ))
            .child(link("Back to the role", Route::Role(role.to_owned()).link(cx))));
    };
    let permissions = rbac::permissions()?;
    let ids = |form: Form| {
        form.field(hidden("role", role))
            .field(hidden("index", index.to_string()))
    };
    let edit = ids(edit_form("edit-policy", "Save policy", working))
        .field(
            select(
                "permission",
                "Permission",
                &choices(&permissions, true, Some(&policy.permission)),
            )
            .required()
            .value(&policy.permission),
        )
        .field(effect_field(policy.effect.as_str()));
    let remove = ids(edit_form("remove-policy", "Remove policy", working));
    Ok(column()
        .child(banner(cx, working)?)
        .child(
            row()
                .child(link("All roles", Route::Roles.link(cx)))
                .child(text("/"))
                .child(link(
                    format!("Role: {role}"),
                    Route::Role(role.to_owned()).link(cx),
                )),
        )
        .child(
            card(format!("Policy {index} of the role {role}"))
                .subtitle(PolicyLine(policy).to_string())
                .child(edit),
        )
        .child(conditions(working, role, index, policy, &permissions))
        .child(card("Remove this policy").child(remove)))
}

fn conditions(
    working: &Working,
    role: &str,
    index: usize,
    policy: &Policy,
    permissions: &[Permission],
) -> Card {
    let card = card("Conditions");
    let ids = |form: Form| {
        form.field(hidden("role", role))
            .field(hidden("index", index.to_string()))
    };
    let yaml_editor = ids(edit_form("save-conditions", "Save conditions", working))
        .child(heading_level(4, "As YAML"))
        .field(
            Field::textarea("conditions", "Conditions as YAML")
                .value(
                    policy
                        .conditions
                        .as_ref()
                        .map(condition_yaml)
                        .unwrap_or_default(),
                )
                .help(
                    "One rule (rule: HAS_LABEL, params: {label: tier}), or allOf / anyOf / not of \
                 conditions. Empty: no conditions.",
                ),
        );
    if !takes_conditions(&policy.permission, permissions) {
        let card = card.subtitle(format!(
            "{} is not about one entity, so it takes no conditions",
            policy.permission
        ));
        return match &policy.conditions {
            None => {
                card.child(text("The policy applies whenever the permission is checked.").muted())
            }
            Some(_) => card
                .child(error_state(
                    "These conditions cannot stay",
                    "Remove them (empty the field) or choose a permission on entities.",
                ))
                .child(yaml_editor),
        };
    }
    let card = card.subtitle(
        "The policy applies only to entities these hold for; without conditions, to every entity",
    );
    let Some(rows) = Rows::of(policy.conditions.as_ref()) else {
        return card
            .child(text(
                "These conditions nest deeper than rows of rules can show; edit them as YAML.",
            ))
            .child(yaml_editor);
    };
    let mut card = match rows.rows.len() {
        0 => card.child(text("No conditions: the policy applies to every entity.").muted()),
        1 => card.child(text("This holds:")),
        _ => card.child(text(match rows.combine {
            Combine::AllOf => "All of these hold:",
            Combine::AnyOf => "Any of these holds:",
        })),
    };
    let mut listed = numbered_list();
    for (number, row_of_rules) in rows.rows.iter().enumerate() {
        listed = listed.child(
            row().child(text(row_of_rules.to_string())).child(
                ids(edit_form("remove-condition", "Remove", working))
                    .field(hidden("row", number.to_string())),
            ),
        );
    }
    if !rows.rows.is_empty() {
        card = card.child(listed);
    }
    if rows.rows.len() > 1 {
        card = card.child(
            ids(edit_form("combine-conditions", "Save", working)).field(
                Field::select(
                    "combine",
                    "Combine the rules with",
                    [
                        ("allOf", "allOf — every rule holds"),
                        ("anyOf", "anyOf — at least one rule holds"),
                    ],
                )
                .required()
                .value(rows.combine.as_str()),
            ),
        );
    }
    let rules: Vec<(String, String)> = RuleName::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_owned(),
                format!("{} — {}", r.as_str(), rule_help(*r)),
            )
        })
        .collect();
    card.child(
        ids(edit_form("add-condition", "Add rule", working))
            .child(heading_level(4, "Add a rule"))
            .field(select("rule", "Rule", &rules).required())
            .field(Field::text("param", "Parameter").help(
                "IS_ENTITY_OWNER: owners instead of the user's own (optional, comma-separated); \
                 IS_ENTITY_KIND: kinds (comma-separated); HAS_ANNOTATION: the annotation; \
                 HAS_LABEL: the label; HAS_METADATA, HAS_SPEC: a dotted key.",
            ))
            .field(Field::text("value", "Value").help(
                "Optional: HAS_ANNOTATION, HAS_LABEL, HAS_METADATA and HAS_SPEC then also need \
                 this value.",
            ))
            .field(Field::new(
                FieldKind::Checkbox,
                "negate",
                "Not: the rule must not hold",
            )),
    )
    .child(yaml_editor)
}

fn condition_yaml(condition: &Condition) -> String {
    serde_norway::to_string(condition).unwrap_or_default()
}

/// The `role` and `index` fields of a policy's forms.
fn policy_of(form: &FormData) -> Step<(String, usize)> {
    let role = form.require("role")?.to_owned();
    let index = form
        .require("index")?
        .parse()
        .map_err(|_| Outcome::invalid("index", "Not a policy number."))?;
    Ok((role, index))
}

/// Applies `change` to the policy the form names, and saves the draft.
fn edit_policy<T>(
    form: &FormData,
    field: &'static str,
    change: impl FnOnce(&mut Policy) -> Step<T>,
) -> Result<Step<T>> {
    let (role, index) = match policy_of(form) {
        Ok(ids) => ids,
        Err(outcome) => return Ok(Err(outcome)),
    };
    draft::edit(form, field, |document: &mut PolicyDocument| {
        let policy = document
            .policy_mut(&role, index)
            .map_err(|e| Outcome::invalid(field, e.to_string()))?;
        change(policy)
    })
}

/// `add-policy`: `role`, `permission`, `effect`. Goes to the new policy's
/// page, where conditions are added.
pub fn add(form: &FormData, cx: &Context) -> Result<Outcome> {
    let role = step!(form.require("role")).to_owned();
    let permission = step!(form.require("permission")).to_owned();
    let effect = step!(effect_of(form));
    let index = step!(draft::edit(form, "permission", |document| {
        document
            .add_policy(
                &role,
                Policy {
                    permission,
                    effect,
                    conditions: None,
                },
            )
            .map_err(|e| Outcome::invalid("permission", e.to_string()))
    })?);
    Ok(Outcome::Redirect(Route::Policy(role, index).link(cx)))
}

fn effect_of(form: &FormData) -> Step<Effect> {
    Effect::parse(form.require("effect")?)
        .ok_or_else(|| Outcome::invalid("effect", "Choose allow or deny."))
}

/// `edit-policy`: `role`, `index`, `permission`, `effect`. A permission
/// that takes no conditions is refused while the policy has some.
pub fn update(form: &FormData) -> Result<Outcome> {
    let permission = step!(form.require("permission")).to_owned();
    let effect = step!(effect_of(form));
    let known = rbac::permissions()?;
    step!(edit_policy(form, "permission", |policy| {
        if policy.conditions.is_some() && !takes_conditions(&permission, &known) {
            return Err(Outcome::invalid(
                "permission",
                format!(
                    "{permission} is not about one entity, so it takes no conditions: remove \
                     the conditions first."
                ),
            ));
        }
        policy.permission = permission.clone();
        policy.effect = effect;
        Ok(())
    })?);
    Ok(Outcome::done(format!(
        "Saved in the draft: {effect} {permission}."
    )))
}

/// `remove-policy`: `role`, `index`. Back to the role. The form has no
/// field to show a refusal by, so a refusal is a notice.
pub fn remove(form: &FormData, cx: &Context) -> Result<Outcome> {
    let (role, index) = step!(policy_of(form).map_err(draft::as_notice));
    let removed = draft::edit(form, "index", |document| {
        document
            .remove_policy(&role, index)
            .map_err(|e| Outcome::invalid("index", e.to_string()))
    })?;
    step!(removed.map_err(draft::as_notice));
    Ok(Outcome::Redirect(Route::Role(role).link(cx)))
}

/// The policy's conditions as rows, or a refusal when they nest deeper.
fn rows_of(policy: &Policy, field: &str) -> Step<Rows> {
    Rows::of(policy.conditions.as_ref()).ok_or_else(|| {
        Outcome::invalid(
            field,
            "These conditions nest deeper than rows of rules; edit them as YAML.",
        )
    })
}

/// `add-condition`: `role`, `index`, `rule`, `param`, `value`, `negate`.
pub fn add_condition(form: &FormData) -> Result<Outcome> {
    let row = step!(
        Row::from_form(
            form.get("rule").unwrap_or_default(),
            form.get("param").unwrap_or_default(),
            form.get("value").unwrap_or_default(),
            ticked(form, "negate"),
        )
        .map_err(|mistake| Outcome::invalid(mistake.field, mistake.message))
    );
    let added = row.to_string();
    step!(edit_policy(form, "param", |policy| {
        let mut rows = rows_of(policy, "rule")?;
        rows.rows.push(row);
        policy.conditions = rows.to_condition();
        Ok(())
    })?);
    Ok(Outcome::done(format!(
        "Condition added to the draft: {added}."
    )))
}

/// `remove-condition`: `role`, `index`, `row`. Drawn once per row, so a
/// refusal is a notice, not `invalid`.
pub fn remove_condition(form: &FormData) -> Result<Outcome> {
    let Some(number) = form.get("row").and_then(|r| r.parse::<usize>().ok()) else {
        return Ok(Outcome::done("Nothing was changed: no rule was named."));
    };
    let removed = edit_policy(form, "row", |policy| {
        let mut rows = rows_of(policy, "row")?;
        if number >= rows.rows.len() {
            return Err(Outcome::invalid("row", "That rule is gone already."));
        }
        let removed = rows.rows.remove(number);
        policy.conditions = rows.to_condition();
        Ok(removed)
    })?;
    Ok(match removed {
        Ok(row) => Outcome::done(format!("Condition removed from the draft: {row}.")),
        Err(outcome) => draft::as_notice(outcome),
    })
}

/// `combine-conditions`: `role`, `index`, `combine` (`allOf` or `anyOf`).
pub fn combine(form: &FormData) -> Result<Outcome> {
    let combine = step!(
        Combine::parse(form.get("combine").unwrap_or_default())
            .ok_or_else(|| Outcome::invalid("combine", "Choose allOf or anyOf."))
    );
    step!(edit_policy(form, "combine", |policy| {
        let mut rows = rows_of(policy, "combine")?;
        rows.combine = combine;
        policy.conditions = rows.to_condition();
        Ok(())
    })?);
    Ok(Outcome::done(format!(
        "The rules are combined with {} in the draft.",
        combine.as_str()
    )))
}

/// `save-conditions`: `role`, `index`, `conditions` (YAML; empty for
/// none). The host checks them with the whole document; every problem is
/// shown next to the field with its path.
pub fn save_conditions(form: &FormData) -> Result<Outcome> {
    let source = form.get("conditions").unwrap_or_default().trim();
    let conditions = if source.is_empty() {
        None
    } else {
        Some(step!(serde_norway::from_str::<Condition>(source).map_err(
            |e| Outcome::invalid("conditions", format!("conditions: {e}"))
        )))
    };
    step!(edit_policy(form, "conditions", |policy| {
        policy.conditions = conditions;
        Ok(())
    })?);
    Ok(Outcome::done("Conditions saved in the draft."))
}
