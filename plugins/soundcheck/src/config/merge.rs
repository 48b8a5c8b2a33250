//! Combining the YAML baseline with the admin pages' edits (the rule is in
//! the [module docs](super)), and tracing every problem to where it is.

use super::validate::{Problem, validate};
use super::yaml::{self, ConfigError, Location, Step};
use super::{Campaign, Check, CollectorConfig, Config, Section, Track};
use crate::keys;
use crate::store::Store;
use greenroom_sdk::Result;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The most admin edits read; a guard against a runaway store, far above
/// any real configuration.
const MAX_EDITS: usize = 5000;

/// One item as edited in the admin pages: the fields it sets (all of them
/// for an added item), who saved it and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminEdit {
    /// Fields as in the YAML (kebab-case keys), replacing the YAML's.
    pub fields: Map<String, Value>,
    /// The user who saved it.
    pub by: String,
    /// When, in milliseconds since the epoch.
    pub at_ms: u64,
}

/// Every admin edit, by section and item id.
pub type Edits = BTreeMap<Section, BTreeMap<String, AdminEdit>>;

/// Reads every admin edit from storage.
pub fn load_edits(store: &dyn Store) -> Result<Edits> {
    let mut edits = Edits::new();
    let keys = store.all_keys("admin/", MAX_EDITS)?;
    let found = store.read_json_many::<AdminEdit>(&keys)?;
    for (key, edit) in keys.iter().zip(found) {
        let mut parts = key.splitn(3, '/').skip(1);
        let (Some(section), Some(id)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Some(section), Some(edit)) = (Section::from_key(section), edit) else {
            continue;
        };
        edits
            .entry(section)
            .or_default()
            .insert(id.to_owned(), edit);
    }
    Ok(edits)
}

/// Saves an admin edit of one item.
pub fn save_edit(store: &dyn Store, section: Section, id: &str, edit: &AdminEdit) -> Result<()> {
    store.set_json(&keys::admin(section.key(), id), edit)
}

/// Removes an admin edit: an override goes back to the YAML, an added item
/// is deleted.
pub fn delete_edit(store: &dyn Store, section: Section, id: &str) -> Result<bool> {
    store.delete(&keys::admin(section.key(), id))
}

/// Where a configured item comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Defined in the YAML; `edit` overrides some of its fields.
    Yaml {
        /// The admin's override, if any.
        edit: Option<AdminEdit>,
    },
    /// Added in the admin pages.
    Admin(AdminEdit),
}

/// The configuration in force, with where each item comes from.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// YAML and admin edits combined.
    pub config: Config,
    /// The YAML alone.
    pub baseline: Config,
    origins: BTreeMap<(Section, String), Origin>,
    /// Every problem found, each naming its YAML line or admin edit. The
    /// items they are about are set aside: `config` holds only the rest.
    pub problems: Vec<ConfigError>,
    /// The items set aside for their problems (or for naming one that
    /// was), by section and id.
    pub set_aside: Vec<(Section, String)>,
    /// YAML and admin edits combined, the items set aside included: what
    /// the admin pages list, so a broken item can be opened and fixed.
    pub merged: Config,
}

impl Resolved {
    /// Whether an item was set aside for a problem.
    pub fn is_set_aside(&self, section: Section, id: &str) -> bool {
        self.set_aside.iter().any(|(s, i)| *s == section && i == id)
    }
}

impl Resolved {
    /// Where an item comes from.
    pub fn origin(&self, section: Section, id: &str) -> Option<&Origin> {
        self.origins.get(&(section, id.to_owned()))
    }

    /// The YAML's own version of an item, as JSON.
    pub fn baseline_item(&self, section: Section, id: &str) -> Option<Value> {
        item_json(&self.baseline, section, id)
    }
}

/// One item of `config`, as JSON (as the YAML writes it).
pub fn item_json(config: &Config, section: Section, id: &str) -> Option<Value> {
    match section {
        Section::Tracks => find_json(&config.tracks, id),
        Section::Checks => find_json(&config.checks, id),
        Section::Collectors => find_json(&config.collectors, id),
        Section::Campaigns => find_json(&config.campaigns, id),
    }
}

fn find_json<T: Item>(items: &[T], id: &str) -> Option<Value> {
    let item = items.iter().find(|i| i.id() == id)?;
    serde_json::to_value(item).ok()
}

/// Something configured under an id in one of the four sections.
trait Item: Serialize + DeserializeOwned + Clone {
    const SECTION: Section;
    fn id(&self) -> &str;
}

impl Item for Track {
    const SECTION: Section = Section::Tracks;
    fn id(&self) -> &str {
        self.id.as_str()
    }
}

impl Item for Check {
    const SECTION: Section = Section::Checks;
    fn id(&self) -> &str {
        self.id.as_str()
    }
}

impl Item for CollectorConfig {
    const SECTION: Section = Section::Collectors;
    fn id(&self) -> &str {
        self.id.as_str()
    }
}

impl Item for Campaign {
    const SECTION: Section = Section::Campaigns;
    fn id(&self) -> &str {
        self.id.as_str()
    }
}

/// Combines the YAML in `yaml_text` with `edits` and checks the result,
/// strictly: every problem found is returned, each naming its YAML line or
/// admin edit. For what is in force, see [`resolve_usable`].
pub fn resolve(yaml_text: &str, edits: &Edits) -> Result<Resolved, Vec<ConfigError>> {
    let resolved = resolve_usable(yaml_text, edits)?;
    if resolved.problems.is_empty() {
        Ok(resolved)
    } else {
        Err(resolved.problems)
    }
}

/// The most rounds of setting items aside: each round sets aside at least
/// one item, so this only bounds a configuration with thousands of items
/// that name each other in a chain.
const MAX_SET_ASIDE_ROUNDS: usize = 64;

/// Combines the YAML in `yaml_text` with `edits`, and sets aside every item
/// with a problem, so that one bad track, check or edit never stops the
/// others: tracks, checks, collectors and campaigns that hold together are
/// in `config`; the problems are in `problems`, each naming its YAML line
/// or admin edit. An item that names one set aside (a level naming a
/// broken check) is set aside too, saying so. Fails only when the YAML
/// itself cannot be read, as then nothing can be trusted.
pub fn resolve_usable(yaml_text: &str, edits: &Edits) -> Result<Resolved, Vec<ConfigError>> {
    let baseline = yaml::parse(yaml_text).map_err(|e| vec![e])?;
    let mut resolved = Resolved {
        baseline: baseline.clone(),
        ..Resolved::default()
    };
    let mut errors = Vec::new();
    let mut merger = Merger {
        edits,
        resolved: &mut resolved,
        errors: &mut errors,
    };
    let config = Config {
        tracks: merger.merge(&baseline.tracks),
        checks: merger.merge(&baseline.checks),
        collectors: merger.merge(&baseline.collectors),
        campaigns: merger.merge(&baseline.campaigns),
    };
    resolved.config = config;
    let merged = resolved.config.clone();
    for round in 0..MAX_SET_ASIDE_ROUNDS {
        let problems = validate(&resolved.config);
        if problems.is_empty() {
            break;
        }
        let mut aside = BTreeSet::new();
        for problem in problems {
            let section = problem.section;
            let id = item_id(&resolved.config, section, problem.index);
            // Problems index the items in force; the YAML is traced by the
            // item's place before anything was set aside.
            let index = match round {
                0 => problem.index,
                _ => merged
                    .ids(section)
                    .iter()
                    .position(|i| *i == id)
                    .unwrap_or(problem.index),
            };
            let mut error = trace(&resolved, yaml_text, index, problem);
            if round > 0 {
                error
                    .message
                    .push_str(" (it names an item set aside for its own problems)");
            }
            errors.push(error);
            aside.insert((section, id));
        }
        resolved.config.remove(&aside);
        resolved.set_aside.extend(aside);
    }
    resolved.problems = errors;
    resolved.merged = merged;
    Ok(resolved)
}

struct Merger<'a> {
    edits: &'a Edits,
    resolved: &'a mut Resolved,
    errors: &'a mut Vec<ConfigError>,
}

impl Merger<'_> {
    fn merge<T: Item>(&mut self, baseline: &[T]) -> Vec<T> {
        let section = T::SECTION;
        let empty = BTreeMap::new();
        let edits = self.edits.get(&section).unwrap_or(&empty);
        let mut items = Vec::with_capacity(baseline.len());
        for item in baseline {
            let edit = edits.get(item.id());
            let merged = match edit {
                Some(edit) => self.apply(item, edit),
                None => item.clone(),
            };
            self.origin(
                section,
                item.id(),
                Origin::Yaml {
                    edit: edit.cloned(),
                },
            );
            items.push(merged);
        }
        for (id, edit) in edits {
            if baseline.iter().any(|item| item.id() == id) {
                continue;
            }
            let mut fields = edit.fields.clone();
            fields.insert("id".to_owned(), Value::String(id.clone()));
            match serde_json::from_value::<T>(Value::Object(fields)) {
                Ok(item) => items.push(item),
                Err(e) => self.fail(section, id, format!("cannot be read: {e}; delete it")),
            }
            self.origin(section, id, Origin::Admin(edit.clone()));
        }
        items
    }

    fn apply<T: Item>(&mut self, item: &T, edit: &AdminEdit) -> T {
        let mut json = serde_json::to_value(item).unwrap_or(Value::Null);
        if let Some(object) = json.as_object_mut() {
            overlay(object, &edit.fields);
        }
        match serde_json::from_value::<T>(json) {
            Ok(merged) => merged,
            Err(e) => {
                let message = format!("the override no longer applies to the YAML: {e}; reset it");
                self.fail(T::SECTION, item.id(), message);
                item.clone()
            }
        }
    }

    fn origin(&mut self, section: Section, id: &str, origin: Origin) {
        self.resolved
            .origins
            .insert((section, id.to_owned()), origin);
    }

    fn fail(&mut self, section: Section, id: &str, message: String) {
        self.errors.push(ConfigError {
            at: Location::AdminEdit,
            message: format!("{} `{id}`: {message}", section.noun()),
        });
    }
}

/// Replaces fields of `item` with the edit's; `null` removes a field
/// (back to its default). The id never changes.
pub fn overlay(item: &mut Map<String, Value>, fields: &Map<String, Value>) {
    for (name, value) in fields {
        if name == "id" {
            continue;
        }
        if value.is_null() {
            item.remove(name);
        } else {
            item.insert(name.clone(), value.clone());
        }
    }
}

/// Where a validation problem is: the YAML line of the field, unless an
/// admin edit set that field or added the item.
fn trace(resolved: &Resolved, yaml_text: &str, index: usize, problem: Problem) -> ConfigError {
    let Problem {
        section,
        index: in_force,
        path,
        message,
    } = problem;
    let id = item_id(&resolved.config, section, in_force);
    let field = match path.first() {
        Some(Step::Key(field)) => field.as_str(),
        _ => "",
    };
    let from_yaml = match resolved.origin(section, &id) {
        Some(Origin::Yaml { edit: None }) => true,
        Some(Origin::Yaml { edit: Some(edit) }) => !edit.fields.contains_key(field),
        _ => false,
    };
    if !from_yaml {
        return ConfigError {
            at: Location::AdminEdit,
            message,
        };
    }
    // YAML items keep their place at the front of each section.
    let full: Vec<Step> = [
        vec![Step::Key(section.key().to_owned()), Step::Index(index)],
        path,
    ]
    .concat();
    let at = yaml::locate(yaml_text, &full)
        .map(|(line, column)| Location::Line(line, column))
        .unwrap_or(Location::Whole);
    ConfigError { at, message }
}

fn item_id(config: &Config, section: Section, index: usize) -> String {
    let ids = config.ids(section);
    ids.get(index).copied().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use serde_json::json;

    const YAML: &str = "\
collectors:
  - {id: catalog, kind: catalog}
checks:
  - id: has-owner
    name: Has an owner
    rule: {fact: catalog.owner, op: exists}
  - id: has-docs
    name: Has docs
    rule: {fact: catalog.has_techdocs, op: equals, value: true}
tracks:
  - id: basics
    name: Basics
    levels:
      - name: Bronze
        checks: [has-owner]
      - name: Silver
        checks:
          - has-docs
          - has-runbook
";

    fn edit(fields: Value) -> AdminEdit {
        AdminEdit {
            fields: fields.as_object().cloned().unwrap(),
            by: "user:default/ada".into(),
            at_ms: 1,
        }
    }

    fn edits(section: Section, id: &str, fields: Value) -> Edits {
        let mut edits = Edits::new();
        edits
            .entry(section)
            .or_default()
            .insert(id.into(), edit(fields));
        edits
    }

    #[test]
    fn an_unknown_check_in_a_level_names_its_line() {
        let errors = resolve(YAML, &Edits::new()).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].at, Location::Line(19, 13));
        assert_eq!(
            errors[0].to_string(),
            "config line 19 column 13: track `basics`, level `Silver`: unknown check `has-runbook`; define it under `checks:` or take it out of the level"
        );
    }

    #[test]
    fn reports_every_problem_at_once() {
        let yaml = "\
checks:
  - {id: a, name: A, rule: {fact: github.private, op: equals, value: false}}
  - {id: a, name: '', external: true}
campaigns:
  - {id: c, name: C, owner: team-web, checks: [a, zz], start: 2026-05-01, deadline: 2026-04-01,
     milestones: [{date: 2026-04-15, target: 120}]}
";
        let errors: Vec<String> = resolve(yaml, &Edits::new())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let expect = [
            "config line 3 column 10: check `a` is defined twice",
            "config line 3 column 19: check `a` needs a `name`",
            "config line 2 column 35: check `a`: the rule reads `github.private`, but no collector is called `github` (none is)",
            "config line 5 column 51: campaign `c`: unknown check `zz`",
            "config line 5 column 85: campaign `c`: the deadline 2026-04-01 is before the start 2026-05-01",
            "config line 6 column 46: campaign `c`: milestone 1: a target is a percentage",
            "config line 6 column 26: campaign `c`: milestone 1 on 2026-04-15 is outside the campaign",
        ];
        for expected in expect {
            assert!(
                errors.iter().any(|e| e.starts_with(expected)),
                "{expected}\nnot in\n{errors:#?}"
            );
        }
    }

    #[test]
    fn an_override_replaces_only_the_fields_it_names() {
        let yaml = YAML.replace("          - has-runbook\n", "");
        let edits = edits(
            Section::Checks,
            "has-owner",
            json!({"name": "Owned", "how-to-fix": "Set `spec.owner`."}),
        );
        let resolved = resolve(&yaml, &edits).unwrap();
        let check = resolved.config.check("has-owner").unwrap();
        assert_eq!(check.name, "Owned");
        assert_eq!(check.how_to_fix, "Set `spec.owner`.");
        assert_eq!(
            check.kind,
            resolved.baseline.check("has-owner").unwrap().kind,
            "the rule still follows the YAML"
        );
        assert!(matches!(
            resolved.origin(Section::Checks, "has-owner"),
            Some(Origin::Yaml { edit: Some(_) })
        ));
        assert!(matches!(
            resolved.origin(Section::Checks, "has-docs"),
            Some(Origin::Yaml { edit: None })
        ));
        assert_eq!(
            resolved
                .baseline_item(Section::Checks, "has-owner")
                .unwrap()["name"],
            "Has an owner"
        );
    }

    #[test]
    fn an_admin_edit_can_add_what_the_yaml_lacks() {
        let edits = edits(
            Section::Checks,
            "has-runbook",
            json!({"name": "Has a runbook", "rule": {"fact": "catalog.links_count", "op": "greater-than", "value": 0}}),
        );
        let resolved = resolve(YAML, &edits).unwrap();
        assert_eq!(
            resolved.config.checks.last().unwrap().id.as_str(),
            "has-runbook"
        );
        assert!(matches!(
            resolved.origin(Section::Checks, "has-runbook"),
            Some(Origin::Admin(_))
        ));
    }

    #[test]
    fn a_problem_an_admin_edit_causes_is_blamed_on_the_edit() {
        let yaml = YAML.replace("          - has-runbook\n", "");
        let added = edits(
            Section::Tracks,
            "basics",
            json!({"levels": [{"name": "Gold", "checks": ["nope"]}]}),
        );
        let errors = resolve(&yaml, &added).unwrap_err();
        assert_eq!(errors[0].at, Location::AdminEdit);
        assert!(
            errors[0].message.contains("unknown check `nope`"),
            "{errors:?}"
        );
        let broken = edits(
            Section::Checks,
            "has-owner",
            json!({"rule": {"op": "equals"}}),
        );
        let errors = resolve(&yaml, &broken).unwrap_err();
        assert_eq!(errors[0].at, Location::AdminEdit);
        assert!(
            errors[0]
                .message
                .starts_with("check `has-owner`: the override no longer applies"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_broken_item_and_what_names_it_are_set_aside_and_the_rest_stays_in_force() {
        let yaml = YAML.replace("          - has-runbook\n", "").replace(
            "    rule: {fact: catalog.has_techdocs, op: equals, value: true}",
            "    rule: {fact: github.has_docs, op: equals, value: true}",
        );
        let resolved = resolve_usable(&yaml, &Edits::new()).unwrap();
        assert!(
            resolved.config.check("has-docs").is_none(),
            "the broken check"
        );
        assert!(
            resolved.config.track("basics").is_none(),
            "the track naming it"
        );
        assert!(
            resolved.config.check("has-owner").is_some(),
            "the sound check"
        );
        assert!(
            resolved.merged.track("basics").is_some(),
            "listed for admins"
        );
        assert!(resolved.is_set_aside(Section::Checks, "has-docs"));
        let problems: Vec<String> = resolved.problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].starts_with(
                "config line 9 column 18: check `has-docs`: the rule reads `github.has_docs`"
            ),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with(
                "config line 18 column 13: track `basics`, level `Silver`: unknown check `has-docs`"
            ) && problems[1].ends_with("(it names an item set aside for its own problems)"),
            "traced to the YAML line of the item's place before anything was set aside: {problems:#?}"
        );
        assert_eq!(
            resolve(&yaml, &Edits::new()).unwrap_err().len(),
            2,
            "strict"
        );
    }

    #[test]
    fn unreadable_yaml_is_the_only_problem_that_stops_everything() {
        assert!(resolve_usable("checks: [", &Edits::new()).is_err());
        let problems = resolve_usable(YAML, &Edits::new()).unwrap().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn edits_are_kept_one_key_per_item() {
        let store = MemoryStore::default();
        save_edit(&store, Section::Checks, "x", &edit(json!({"name": "X"}))).unwrap();
        save_edit(&store, Section::Tracks, "t", &edit(json!({"name": "T"}))).unwrap();
        assert_eq!(store.keys(), ["admin/checks/x", "admin/tracks/t"]);
        let edits = load_edits(&store).unwrap();
        assert_eq!(edits[&Section::Checks]["x"].fields["name"], "X");
        assert!(delete_edit(&store, Section::Checks, "x").unwrap());
        assert!(!load_edits(&store).unwrap().contains_key(&Section::Checks));
    }

    #[test]
    fn null_removes_a_field() {
        let mut item = json!({"id": "a", "name": "A", "description": "old"})
            .as_object()
            .cloned()
            .unwrap();
        overlay(
            &mut item,
            json!({"id": "b", "description": null}).as_object().unwrap(),
        );
        assert_eq!(Value::Object(item), json!({"id": "a", "name": "A"}));
    }
}
