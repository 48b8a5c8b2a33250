//! Form submissions: manual checks and "Collect now" on the entity tab,
//! and the admin pages' edits and on-demand runs.

use crate::admin::{FieldProblem, canonical, edit_fields, guess_field, item_from_form};
use crate::config::merge::{AdminEdit, delete_edit, item_json, load_edits, save_edit};
use crate::config::yaml::ConfigError;
use crate::config::{CheckKind, Edits, ItemId, Section, resolve_usable, yaml};
use crate::day::{date, now_ms};
use crate::entity::Subject;
use crate::evaluate::{evaluate_entity, record_manual};
use crate::permissions::{ADMIN, MANUAL_CHECK, may};
use crate::settings::Loaded;
use crate::source::{EntitySource, HostCatalog};
use crate::store::{HostStore, Store};
use crate::tasks;
use crate::views::admin::capitalised;
use crate::{collectors, keys};
use greenroom_sdk::{Context, Error, FormData, Outcome, Result};
use serde_json::Value;
use std::collections::BTreeSet;

/// The box an admin ticks to confirm removing an edit or an item.
pub const CONFIRM_FIELD: &str = "confirm";

/// The plugin's page, where admin edits send people back to.
const BASE: &str = "/plugins/soundcheck";

/// The longest note kept with a manual check.
const MAX_NOTE_CHARS: usize = 1000;

/// How soon "Collect now" may run again for one entity: each run costs
/// upstream requests from the collectors' rate limits.
const COLLECT_NOW_EVERY_MS: u64 = 60_000;

/// What an on-demand run may take of an action's 10 s.
const ACTION_RUN_MS: u64 = 7_000;

/// Handles the form `name`.
pub fn action(name: &str, form: &FormData, cx: &Context) -> Result<Outcome> {
    let store = HostStore;
    let loaded = Loaded::read(&store)?;
    match name {
        "record-manual" => record(&store, &loaded, form, cx),
        "collect-now" => collect_now(&store, &loaded, form),
        "admin-save" | "admin-reset" | "campaign-archive" | "run-collectors" | "evaluate-now" => {
            if !may(ADMIN, None)? {
                return Err(Error::failed(format!(
                    "{} may not administer Soundcheck: that needs the soundcheck.admin permission",
                    cx.user.ref_
                )));
            }
            admin_action(&store, &loaded, name, form, cx)
        }
        _ => Err(Error::unsupported(format!(
            "Soundcheck has no action `{name}`"
        ))),
    }
}

fn admin_action(
    store: &dyn Store,
    loaded: &Loaded,
    name: &str,
    form: &FormData,
    cx: &Context,
) -> Result<Outcome> {
    match name {
        "admin-save" => save(store, loaded, form, &cx.user.ref_),
        "admin-reset" => reset(store, loaded, form),
        "campaign-archive" => archive(store, loaded, form, &cx.user.ref_),
        "run-collectors" => run_collectors(store, loaded),
        _ => evaluate_now(store, loaded),
    }
}

/// The entity named in the form, if it exists and the user may see it.
fn entity_of(form: &FormData) -> Result<std::result::Result<greenroom_sdk::Entity, Outcome>> {
    let entity = match form.require("entity") {
        Ok(entity) => entity,
        Err(invalid) => return Ok(Err(invalid)),
    };
    Ok(HostCatalog
        .find(entity)?
        .map_err(|no| Outcome::invalid("entity", no.message())))
}

fn record(store: &dyn Store, loaded: &Loaded, form: &FormData, cx: &Context) -> Result<Outcome> {
    let config = loaded.config()?;
    let entity = match entity_of(form)? {
        Ok(entity) => entity,
        Err(invalid) => return Ok(invalid),
    };
    let entity_ref = entity.ref_.to_lowercase();
    let check_id = form.get("check").unwrap_or_default();
    let Some(check) = config
        .check(check_id)
        .filter(|c| matches!(c.kind, CheckKind::Manual { .. }))
    else {
        return Ok(Outcome::invalid(
            "check",
            format!("no manual check `{check_id}`"),
        ));
    };
    if !may(MANUAL_CHECK, Some(&entity_ref))? {
        return Ok(Outcome::invalid(
            "result",
            format!(
                "Not recorded: {} may not record manual checks on {entity_ref}; that needs the permission soundcheck.manual-check on it, which an admin grants (usually to its owners)",
                cx.user.display_name
            ),
        ));
    }
    let passed = match form.get("result") {
        Some("pass") => true,
        Some("fail") => false,
        _ => return Ok(Outcome::invalid("result", "choose pass or fail")),
    };
    let note = form
        .get("note")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(MAX_NOTE_CHARS).collect());
    let now = now_ms();
    let record = record_manual(store, check, &entity_ref, passed, note, &cx.user.ref_, now)?;
    evaluate_entity(store, config, Subject::of(&entity), now)?;
    let result = if passed { "passing" } else { "failing" };
    let until = record
        .expires_at_ms
        .map(|e| format!("; valid until {}", date(e)))
        .unwrap_or_default();
    Ok(Outcome::done(format!(
        "Recorded “{}” as {result}{until}.",
        check.name
    )))
}

fn collect_now(store: &dyn Store, loaded: &Loaded, form: &FormData) -> Result<Outcome> {
    let config = loaded.config()?;
    let entity = match entity_of(form)? {
        Ok(entity) => entity,
        Err(invalid) => return Ok(invalid),
    };
    let entity_ref = entity.ref_.to_lowercase();
    let now = now_ms();
    let last: Option<u64> = store.get_json(&keys::collect_now(&entity_ref))?;
    if last.is_some_and(|last| now.saturating_sub(last) < COLLECT_NOW_EVERY_MS) {
        return Ok(Outcome::done(
            "Collected less than a minute ago; try again shortly.",
        ));
    }
    store.set_json(&keys::collect_now(&entity_ref), &now)?;
    let attempts = tasks::collect_entity(store, config, &entity, now)?;
    let mut collected = Vec::new();
    let mut problems = Vec::new();
    for attempt in attempts {
        match attempt.outcome {
            Ok(true) => collected.push(attempt.collector),
            Ok(false) => {}
            Err(error) => problems.push(format!("{}: {error}", attempt.collector)),
        }
    }
    let mut message = if collected.is_empty() {
        "No collector had anything for this entity.".to_owned()
    } else {
        format!(
            "Collected {} and evaluated the entity.",
            collected.join(", ")
        )
    };
    if !problems.is_empty() {
        message.push_str(&format!(" Problems: {}.", problems.join("; ")));
    }
    Ok(Outcome::done(message))
}

fn invalid(problem: FieldProblem) -> Outcome {
    Outcome::invalid(&problem.field, problem.message)
}

fn section_of(form: &FormData) -> Result<Section> {
    let key = form.get("section").unwrap_or_default();
    Section::from_key(key).ok_or_else(|| Error::invalid_input(format!("no section `{key}`")))
}

fn save(store: &dyn Store, loaded: &Loaded, form: &FormData, by: &str) -> Result<Outcome> {
    let section = section_of(form)?;
    let id = form.get("id").map(str::trim).unwrap_or_default();
    if let Err(message) = ItemId::parse(id) {
        return Ok(Outcome::invalid("id", message));
    }
    let is_new = form.get("new") == Some("true");
    let item = match item_from_form(section, id, form).and_then(|item| canonical(section, item)) {
        Ok(item) => item,
        Err(problem) => return Ok(invalid(problem)),
    };
    save_item(store, loaded, section, id, is_new, Value::Object(item), by)
}

/// Keeps `item` as an admin edit: the fields that differ from the YAML for
/// a YAML item, all of them for an added one; after checking that the
/// whole configuration still holds together.
fn save_item(
    store: &dyn Store,
    loaded: &Loaded,
    section: Section,
    id: &str,
    is_new: bool,
    item: Value,
    by: &str,
) -> Result<Outcome> {
    let yaml_text = &loaded.settings.config;
    let baseline = match yaml::parse(yaml_text) {
        Ok(baseline) => baseline,
        Err(error) => {
            return Ok(Outcome::invalid(
                guess_field(section, ""),
                format!("fix the YAML setting first: {error}"),
            ));
        }
    };
    let mut edits = load_edits(store)?;
    let before = edits.clone();
    let baseline_item = item_json(&baseline, section, id);
    let exists = baseline_item.is_some() || edits.get(&section).is_some_and(|e| e.contains_key(id));
    if is_new && exists {
        return Ok(Outcome::invalid(
            "id",
            format!("a {} `{id}` exists already", section.noun()),
        ));
    }
    let Some(item) = item.as_object() else {
        return Err(Error::failed("an item is an object"));
    };
    let fields = edit_fields(baseline_item.as_ref().and_then(Value::as_object), item);
    let section_edits = edits.entry(section).or_default();
    if fields.is_empty() && baseline_item.is_some() {
        section_edits.remove(id);
    } else {
        section_edits.insert(
            id.to_owned(),
            AdminEdit {
                fields,
                by: by.to_owned(),
                at_ms: now_ms(),
            },
        );
    }
    let broken = new_problems(yaml_text, &before, &edits);
    if let Some(first) = broken.first() {
        let messages: Vec<String> = broken.iter().map(ToString::to_string).collect();
        return Ok(Outcome::invalid(
            guess_field(section, &first.message),
            messages.join("; "),
        ));
    }
    match edits.get(&section).and_then(|e| e.get(id)) {
        Some(edit) => save_edit(store, section, id, edit)?,
        None => {
            delete_edit(store, section, id)?;
        }
    }
    let path = format!("{BASE}/admin/{}/{id}", section.key());
    if is_new {
        return Ok(Outcome::Redirect(path));
    }
    Ok(Outcome::done(format!("Saved {} `{id}`.", section.noun())))
}

/// The problems the configuration would have with the edits `after` that
/// it does not have with `before`: what a change would break. Problems
/// already there (say, in the operator's YAML) do not stop an edit that
/// leaves them as they are.
fn new_problems(yaml_text: &str, before: &Edits, after: &Edits) -> Vec<ConfigError> {
    let problems = |edits: &Edits| match resolve_usable(yaml_text, edits) {
        Ok(resolved) => resolved.problems,
        Err(errors) => errors,
    };
    let known: BTreeSet<String> = problems(before).iter().map(ToString::to_string).collect();
    problems(after)
        .into_iter()
        .filter(|p| !known.contains(&p.to_string()))
        .collect()
}

/// Removes an admin edit (resetting a YAML item, deleting an added one),
/// once the form's confirmation box is ticked, and only when the rest of
/// the configuration still holds together without it: a check a track
/// still names is not deleted, and the form says which track to change.
fn reset(store: &dyn Store, loaded: &Loaded, form: &FormData) -> Result<Outcome> {
    let section = section_of(form)?;
    let id = form.get("id").unwrap_or_default();
    let before = load_edits(store)?;
    if !before.get(&section).is_some_and(|e| e.contains_key(id)) {
        return Ok(Outcome::done(format!(
            "{} `{id}` had no edit.",
            capitalised(section.noun())
        )));
    }
    if form.get(CONFIRM_FIELD) != Some("true") {
        return Ok(Outcome::invalid(
            CONFIRM_FIELD,
            "Nothing was changed: tick the box to confirm; this cannot be undone.",
        ));
    }
    let mut after = before.clone();
    if let Some(items) = after.get_mut(&section) {
        items.remove(id);
    }
    let broken = new_problems(&loaded.settings.config, &before, &after);
    if !broken.is_empty() {
        let uses: Vec<String> = broken.iter().map(|p| p.message.clone()).collect();
        return Ok(Outcome::invalid(
            CONFIRM_FIELD,
            format!(
                "Not removed: the rest of the configuration still needs {} `{id}` ({}). Change those first.",
                section.noun(),
                uses.join("; ")
            ),
        ));
    }
    delete_edit(store, section, id)?;
    Ok(Outcome::Redirect(format!("{BASE}/admin/{}", section.key())))
}

fn archive(store: &dyn Store, loaded: &Loaded, form: &FormData, by: &str) -> Result<Outcome> {
    let config = loaded.config()?;
    let id = form.get("id").unwrap_or_default();
    let Some(campaign) = config.campaign(id) else {
        return Ok(Outcome::invalid("id", format!("no campaign `{id}`")));
    };
    let mut campaign = campaign.clone();
    campaign.archived = form.get("archived") == Some("true");
    let item = serde_json::to_value(&campaign)?;
    save_item(store, loaded, Section::Campaigns, id, false, item, by)
}

fn run_collectors(store: &dyn Store, loaded: &Loaded) -> Result<Outcome> {
    let config = loaded.config()?;
    let mut budget = collectors::Budget {
        http_requests: loaded.settings.http_requests_per_run,
        deadline_ms: now_ms() + ACTION_RUN_MS,
        now: now_ms,
    };
    let collected = tasks::collect(store, &HostCatalog, config, &mut budget)?;
    let facts: u32 = collected.reports.iter().map(|r| r.collected).sum();
    let stopped: Vec<String> = collected
        .reports
        .iter()
        .filter_map(|r| r.stopped.as_ref().map(|s| format!("{}: {s}", r.collector)))
        .collect();
    let mut message = format!(
        "Collected {facts} facts and evaluated {} entities.",
        collected.evaluated
    );
    if !stopped.is_empty() {
        message.push_str(&format!(" Stopped early: {}.", stopped.join("; ")));
    }
    Ok(Outcome::done(message))
}

fn evaluate_now(store: &dyn Store, loaded: &Loaded) -> Result<Outcome> {
    let config = loaded.config()?;
    let evaluated = tasks::evaluate_all(
        store,
        &HostCatalog,
        config,
        now_ms,
        now_ms() + ACTION_RUN_MS,
    )?;
    let run = evaluated.run;
    Ok(Outcome::done(if evaluated.complete {
        format!(
            "Evaluated {} entities in {} ms; {} results changed.",
            run.entities, run.took_ms, run.changes
        )
    } else {
        format!(
            "Evaluated {} entities before the time ran out; the evaluate task does the rest.",
            run.entities
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::merge::save_edit;
    use crate::settings::Settings;
    use crate::store::MemoryStore;
    use serde_json::json;

    const YAML: &str = "\
collectors: [{id: catalog, kind: catalog}]
tracks:
  - {id: basics, name: Basics, levels: [{name: Bronze, checks: [has-owner]}]}
";

    /// A store holding an added check, `has-owner`, that the YAML's track
    /// names.
    fn added_check() -> (MemoryStore, Loaded) {
        let store = MemoryStore::default();
        let fields =
            json!({"name": "Has an owner", "rule": {"fact": "catalog.owner", "op": "exists"}});
        let edit = AdminEdit {
            fields: fields.as_object().cloned().unwrap(),
            by: "user:default/ada".into(),
            at_ms: 1,
        };
        save_edit(&store, Section::Checks, "has-owner", &edit).unwrap();
        let settings = Settings {
            config: YAML.into(),
            ..Settings::default()
        };
        let loaded = Loaded::from(&store, settings).unwrap();
        assert!(loaded.problems().is_empty(), "{:?}", loaded.problems());
        (store, loaded)
    }

    fn delete(store: &MemoryStore, loaded: &Loaded, confirm: bool) -> Outcome {
        let mut fields = vec![
            ("section".to_owned(), "checks".to_owned()),
            ("id".to_owned(), "has-owner".to_owned()),
        ];
        if confirm {
            fields.push((CONFIRM_FIELD.to_owned(), "true".to_owned()));
        }
        reset(store, loaded, &FormData::new(fields)).unwrap()
    }

    fn refusal(outcome: Outcome) -> String {
        match outcome {
            Outcome::Invalid(errors) => errors[0].message.clone(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_check_a_track_still_names_is_not_deleted_and_the_track_is_named() {
        let (store, loaded) = added_check();
        let message = refusal(delete(&store, &loaded, true));
        assert!(
            message.starts_with(
                "Not removed: the rest of the configuration still needs check `has-owner`"
            ) && message.contains("track `basics`, level `Bronze`"),
            "{message}"
        );
        let edits = load_edits(&store).unwrap();
        assert!(edits[&Section::Checks].contains_key("has-owner"), "kept");
    }

    #[test]
    fn nothing_is_deleted_until_the_box_is_ticked() {
        let (store, _) = added_check();
        let settings = Settings {
            config: "collectors: [{id: catalog, kind: catalog}]".into(),
            ..Settings::default()
        };
        let loaded = Loaded::from(&store, settings).unwrap();
        let message = refusal(delete(&store, &loaded, false));
        assert!(message.contains("tick the box"), "{message}");
        assert!(load_edits(&store).unwrap().contains_key(&Section::Checks));
        let outcome = delete(&store, &loaded, true);
        assert!(
            matches!(outcome, Outcome::Redirect(ref to) if to == "/plugins/soundcheck/admin/checks")
        );
        assert!(
            load_edits(&store).unwrap().is_empty(),
            "deleted once confirmed"
        );
    }
}
