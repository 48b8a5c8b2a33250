//! The admin pages' editors: each section's form, its values for an item,
//! the item a submitted form describes, and the edit to keep (only the
//! fields that differ from the YAML, for a YAML item).
//!
//! Lists are written one item a line or comma-separated; rules and
//! collector settings as YAML, as in the `config` setting.

use crate::config::{Campaign, Check, CollectorConfig, CollectorKind, Section, Track};
use crate::rules::Operator;
use greenroom_sdk::FormData;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// A problem with one submitted field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The form field's name.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// One line.
    Line,
    /// Several lines.
    Lines,
    /// A number.
    Number,
    /// A date.
    Date,
    /// A tick box.
    Tick,
    /// One of the choices.
    Choice(&'static [(&'static str, &'static str)]),
}

/// One field of an editor.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The form field's name.
    pub name: &'static str,
    /// Its label.
    pub label: &'static str,
    /// How it is entered.
    pub input: Input,
    /// Help under it.
    pub help: &'static str,
}

const fn spec(
    name: &'static str,
    label: &'static str,
    input: Input,
    help: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        label,
        input,
        help,
    }
}

const DECIDED_BY: &[(&str, &str)] = &[
    ("rule", "A rule over collected facts"),
    ("manual", "Manually, by the entity's owners"),
    ("external", "By an external system (pushed results)"),
];

const KINDS: &[(&str, &str)] = &[
    ("catalog", "Catalog (built in)"),
    ("github", "GitHub"),
    ("sonarqube", "SonarQube"),
    ("pagerduty", "PagerDuty"),
    ("external", "External (facts are pushed)"),
];

/// The filter fields every editor has, and the filter key each sets.
pub const FILTER_FIELDS: [(&str, &str); 6] = [
    ("filter-kind", "kind"),
    ("filter-type", "type"),
    ("filter-lifecycle", "lifecycle"),
    ("filter-owner", "owner"),
    ("filter-system", "system"),
    ("filter-tags", "tags"),
];

const TRACK_FIELDS: &[FieldSpec] = &[
    spec("name", "Name", Input::Line, ""),
    spec("description", "Description", Input::Lines, ""),
    spec(
        "levels",
        "Levels",
        Input::Lines,
        "One level a line, lowest first: `Bronze: has-owner, has-description`, optionally followed by ` | what it means`.",
    ),
];

const CHECK_FIELDS: &[FieldSpec] = &[
    spec("name", "Name", Input::Line, ""),
    spec(
        "description",
        "Description",
        Input::Lines,
        "What it verifies and why it matters.",
    ),
    spec(
        "how-to-fix",
        "How to fix",
        Input::Lines,
        "Markdown, shown next to a failing result.",
    ),
    spec("decided-by", "Decided by", Input::Choice(DECIDED_BY), ""),
    spec(
        "rule",
        "Rule",
        Input::Lines,
        "For rule checks, in YAML: `{fact: sonarqube.coverage, op: greater-than, value: 80}`. Operators: equals, not-equals, greater-than, less-than, contains, matches, exists, all, any.",
    ),
    spec(
        "expiry-days",
        "Expiry (days)",
        Input::Number,
        "For manual checks: how long a record stays valid.",
    ),
];

const COLLECTOR_FIELDS: &[FieldSpec] = &[
    spec("kind", "Kind", Input::Choice(KINDS), ""),
    spec(
        "frequency",
        "Frequency",
        Input::Line,
        "How often each entity's fact is refreshed, e.g. `1h`.",
    ),
    spec(
        "rate-limit",
        "Rate limit",
        Input::Line,
        "Requests per period, e.g. `4000/h`; empty for none.",
    ),
    spec(
        "config",
        "Settings",
        Input::Lines,
        "In YAML, e.g. `base-url: https://api.github.com` and `credential: github` (the name of a host credential, never a token).",
    ),
];

const CAMPAIGN_FIELDS: &[FieldSpec] = &[
    spec("name", "Name", Input::Line, ""),
    spec("description", "Description", Input::Lines, ""),
    spec(
        "owner",
        "Owner",
        Input::Line,
        "The group running it, e.g. `team-platform-infra`.",
    ),
    spec(
        "checks",
        "Checks",
        Input::Line,
        "Check ids, comma-separated.",
    ),
    spec("start", "Start", Input::Date, ""),
    spec("deadline", "Deadline", Input::Date, ""),
    spec(
        "milestones",
        "Milestones",
        Input::Lines,
        "One a line: `2026-06-30: 50` (date: percent passing).",
    ),
    spec("archived", "Archived", Input::Tick, ""),
];

/// The fields of a section's editor, before the filter fields.
pub fn fields(section: Section) -> &'static [FieldSpec] {
    match section {
        Section::Tracks => TRACK_FIELDS,
        Section::Checks => CHECK_FIELDS,
        Section::Collectors => COLLECTOR_FIELDS,
        Section::Campaigns => CAMPAIGN_FIELDS,
    }
}

/// The form values showing `item` (an item's JSON, as the YAML writes it).
pub fn form_values(section: Section, item: &Value) -> Vec<(String, String)> {
    let text = |key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut values: Vec<(&str, String)> = match section {
        Section::Tracks => vec![
            ("name", text("name")),
            ("description", text("description")),
            ("levels", levels_text(item.get("levels"))),
        ],
        Section::Checks => vec![
            ("name", text("name")),
            ("description", text("description")),
            ("how-to-fix", text("how-to-fix")),
            ("decided-by", decided_by(item).to_owned()),
            ("rule", item.get("rule").map(yaml_text).unwrap_or_default()),
            (
                "expiry-days",
                item.pointer("/manual/expiry-days")
                    .map(Value::to_string)
                    .unwrap_or_default(),
            ),
        ],
        Section::Collectors => vec![
            ("kind", text("kind")),
            ("frequency", text("frequency")),
            ("rate-limit", text("rate-limit")),
            (
                "config",
                item.get("config").map(yaml_text).unwrap_or_default(),
            ),
        ],
        Section::Campaigns => vec![
            ("name", text("name")),
            ("description", text("description")),
            ("owner", text("owner")),
            ("checks", list_text(item.get("checks"))),
            ("start", text("start")),
            ("deadline", text("deadline")),
            ("milestones", milestones_text(item.get("milestones"))),
            (
                "archived",
                if item.get("archived") == Some(&Value::Bool(true)) {
                    "on"
                } else {
                    ""
                }
                .to_owned(),
            ),
        ],
    };
    for (field, key) in FILTER_FIELDS {
        values.push((
            field,
            list_text(item.get("filter").and_then(|f| f.get(key))),
        ));
    }
    values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn decided_by(item: &Value) -> &'static str {
    if item.get("manual").is_some() {
        "manual"
    } else if item.get("external").is_some() {
        "external"
    } else {
        "rule"
    }
}

fn list_text(list: Option<&Value>) -> String {
    let items = list
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    items
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn levels_text(levels: Option<&Value>) -> String {
    let levels = levels
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let line = |level: &Value| {
        let name = level
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut line = format!("{name}: {}", list_text(level.get("checks")));
        if let Some(description) = level.get("description").and_then(Value::as_str) {
            line.push_str(&format!(" | {description}"));
        }
        line
    };
    levels.iter().map(line).collect::<Vec<_>>().join("\n")
}

fn milestones_text(milestones: Option<&Value>) -> String {
    let milestones = milestones
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    milestones
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.get("date").and_then(Value::as_str).unwrap_or_default(),
                m.get("target").map(Value::to_string).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn yaml_text(value: &Value) -> String {
    serde_norway::to_string(value)
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

/// The item a submitted editor describes, as the YAML would write it
/// (not yet checked as a whole).
pub fn item_from_form(
    section: Section,
    id: &str,
    form: &FormData,
) -> Result<Map<String, Value>, FieldProblem> {
    let mut item = Map::new();
    item.insert("id".into(), json!(id));
    let text = |name: &str| form.get(name).map(str::trim).unwrap_or_default().to_owned();
    let put_text = |item: &mut Map<String, Value>, name: &str| {
        let value = text(name);
        if !value.is_empty() {
            item.insert(name.to_owned(), Value::String(value));
        }
    };
    match section {
        Section::Tracks => {
            put_text(&mut item, "name");
            put_text(&mut item, "description");
            item.insert("levels".into(), parse_levels(&text("levels"))?);
        }
        Section::Checks => {
            put_text(&mut item, "name");
            put_text(&mut item, "description");
            put_text(&mut item, "how-to-fix");
            let (key, value) = decision(form)?;
            item.insert(key.into(), value);
        }
        Section::Collectors => {
            put_text(&mut item, "kind");
            put_text(&mut item, "frequency");
            put_text(&mut item, "rate-limit");
            let config = parse_yaml(&text("config"), "config")?;
            if config.as_object().is_some_and(|o| !o.is_empty()) {
                item.insert("config".into(), config);
            }
        }
        Section::Campaigns => {
            for name in ["name", "description", "owner", "start", "deadline"] {
                put_text(&mut item, name);
            }
            item.insert("checks".into(), json!(split_list(&text("checks"))));
            let milestones = parse_milestones(&text("milestones"))?;
            if !milestones.is_empty() {
                item.insert("milestones".into(), Value::Array(milestones));
            }
            if matches!(form.get("archived"), Some("on" | "true")) {
                item.insert("archived".into(), Value::Bool(true));
            }
        }
    }
    let filter = filter_from_form(form);
    if !filter.is_empty() {
        item.insert("filter".into(), Value::Object(filter));
    }
    Ok(item)
}

fn split_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn filter_from_form(form: &FormData) -> Map<String, Value> {
    FILTER_FIELDS
        .iter()
        .filter_map(|(field, key)| {
            let values = split_list(form.get(field).unwrap_or_default());
            (!values.is_empty()).then(|| ((*key).to_owned(), json!(values)))
        })
        .collect()
}

fn parse_levels(text: &str) -> Result<Value, FieldProblem> {
    let mut levels = Vec::new();
    for (n, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let (line, description) = match line.split_once('|') {
            Some((line, description)) => (line, Some(description.trim())),
            None => (line, None),
        };
        let Some((name, checks)) = line.split_once(':') else {
            return Err(problem(
                "levels",
                format!("line {}: write `Name: check-a, check-b`", n + 1),
            ));
        };
        let mut level = json!({ "name": name.trim(), "checks": split_list(checks) });
        if let Some(description) = description.filter(|d| !d.is_empty()) {
            level["description"] = json!(description);
        }
        levels.push(level);
    }
    Ok(Value::Array(levels))
}

fn parse_milestones(text: &str) -> Result<Vec<Value>, FieldProblem> {
    let mut milestones = Vec::new();
    for (n, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let parsed = line.rsplit_once(':').and_then(|(date, target)| {
            Some((
                date.trim(),
                target.trim().trim_end_matches('%').parse::<f64>().ok()?,
            ))
        });
        let Some((date, target)) = parsed else {
            return Err(problem(
                "milestones",
                format!("line {}: write `2026-06-30: 50`", n + 1),
            ));
        };
        milestones.push(json!({ "date": date, "target": target }));
    }
    Ok(milestones)
}

fn parse_yaml(text: &str, field: &str) -> Result<Value, FieldProblem> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_norway::from_str(text).map_err(|e| problem(field, format!("not YAML: {e}")))
}

fn decision(form: &FormData) -> Result<(&'static str, Value), FieldProblem> {
    match form.get("decided-by").unwrap_or("rule") {
        "manual" => {
            let days = form
                .get("expiry-days")
                .map(str::trim)
                .filter(|d| !d.is_empty());
            let days: Option<u32> = match days {
                Some(d) => Some(
                    d.parse()
                        .map_err(|_| problem("expiry-days", "a whole number of days"))?,
                ),
                None => None,
            };
            Ok((
                "manual",
                days.map_or_else(|| json!({}), |d| json!({ "expiry-days": d })),
            ))
        }
        "external" => Ok(("external", Value::Bool(true))),
        _ => {
            let rule = parse_yaml(form.get("rule").unwrap_or_default(), "rule")?;
            if rule.as_object().is_none_or(Map::is_empty) {
                let ops: Vec<&str> = Operator::ALL.iter().map(|o| o.name()).collect();
                return Err(problem(
                    "rule",
                    format!(
                        "a rule check needs a rule: `{{fact: …, op: …, value: …}}` with op one of {}",
                        ops.join(", ")
                    ),
                ));
            }
            Ok(("rule", rule))
        }
    }
}

/// The item in its canonical form (as it serialises), or why it is not an
/// item of `section`.
pub fn canonical(
    section: Section,
    item: Map<String, Value>,
) -> Result<Map<String, Value>, FieldProblem> {
    fn round<T: Serialize + DeserializeOwned>(item: Map<String, Value>) -> Result<Value, String> {
        let typed: T = serde_json::from_value(Value::Object(item)).map_err(|e| e.to_string())?;
        serde_json::to_value(typed).map_err(|e| e.to_string())
    }
    let result = match section {
        Section::Tracks => round::<Track>(item),
        Section::Checks => round::<Check>(item),
        Section::Collectors => round::<CollectorConfig>(item),
        Section::Campaigns => round::<Campaign>(item),
    };
    match result {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(problem("name", "not an item")),
        Err(message) => Err(problem(guess_field(section, &message), message)),
    }
}

/// The form field a message is most likely about.
pub fn guess_field(section: Section, message: &str) -> &'static str {
    let fields = fields(section);
    let named = fields
        .iter()
        .map(|f| f.name)
        .chain(FILTER_FIELDS.iter().map(|(f, _)| *f))
        .find(|name| {
            message.contains(&format!("`{name}`")) || message.contains(&format!("{name}:"))
        });
    if let Some(name) = named {
        return name;
    }
    let keyword = [
        ("level", "levels"),
        ("rule", "rule"),
        ("regular expression", "rule"),
        ("milestone", "milestones"),
        ("deadline", "deadline"),
        ("date", "start"),
        ("check", "checks"),
        ("filter", "filter-kind"),
        ("duration", "frequency"),
        ("rate limit", "rate-limit"),
        ("base-url", "config"),
    ];
    keyword
        .iter()
        .filter(|(word, _)| message.contains(word))
        .map(|(_, field)| *field)
        .find(|field| fields.iter().any(|f| f.name == *field))
        .unwrap_or(fields[0].name)
}

/// The edit to keep: for a YAML item (`baseline`), the fields that differ
/// from it (`null` for one taken away); for a new item, all of them.
pub fn edit_fields(
    baseline: Option<&Map<String, Value>>,
    item: &Map<String, Value>,
) -> Map<String, Value> {
    let Some(baseline) = baseline else {
        return item
            .iter()
            .filter(|(k, _)| *k != "id")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    };
    let mut fields: Map<String, Value> = item
        .iter()
        .filter(|(k, v)| *k != "id" && baseline.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for key in baseline
        .keys()
        .filter(|k| *k != "id" && !item.contains_key(*k))
    {
        fields.insert(key.clone(), Value::Null);
    }
    fields
}

/// The collector kinds, for pages that list them.
pub fn collector_kind_label(kind: CollectorKind) -> &'static str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind.name())
        .map(|(_, label)| *label)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> FormData {
        FormData::new(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_track_round_trips_through_its_form() {
        let track = json!({
            "id": "security", "name": "Security",
            "filter": {"kind": ["Component"], "tags": ["pci-dss", "tier-1"]},
            "levels": [{"name": "Bronze", "checks": ["a", "b"], "description": "The basics"}, {"name": "Silver", "checks": ["c"]}]
        });
        let values = form_values(Section::Tracks, &track);
        let levels = &values.iter().find(|(k, _)| k == "levels").unwrap().1;
        assert_eq!(levels, "Bronze: a, b | The basics\nSilver: c");
        let data = FormData::new(values);
        let item = canonical(
            Section::Tracks,
            item_from_form(Section::Tracks, "security", &data).unwrap(),
        )
        .unwrap();
        assert_eq!(Value::Object(item), track);
    }

    #[test]
    fn a_check_is_decided_by_a_rule_a_person_or_a_system() {
        let rule = form(&[
            ("name", "Coverage"),
            ("decided-by", "rule"),
            (
                "rule",
                "{fact: sonarqube.coverage, op: greater-than, value: 80}",
            ),
        ]);
        let item = canonical(
            Section::Checks,
            item_from_form(Section::Checks, "cov", &rule).unwrap(),
        )
        .unwrap();
        assert_eq!(
            item["rule"],
            json!({"fact": "sonarqube.coverage", "op": "greater-than", "value": 80})
        );
        let values = form_values(Section::Checks, &Value::Object(item));
        assert!(
            values.contains(&(
                "rule".into(),
                "fact: sonarqube.coverage\nop: greater-than\nvalue: 80".into()
            )),
            "{values:?}"
        );
        let manual = form(&[
            ("name", "Threat model"),
            ("decided-by", "manual"),
            ("expiry-days", "180"),
        ]);
        let item = item_from_form(Section::Checks, "tm", &manual).unwrap();
        assert_eq!(item["manual"], json!({"expiry-days": 180}));
        let bad = form(&[
            ("name", "Bad"),
            ("decided-by", "rule"),
            ("rule", "{fact: a.b, op: matches, value: '('}"),
        ]);
        let refused = canonical(
            Section::Checks,
            item_from_form(Section::Checks, "bad", &bad).unwrap(),
        )
        .unwrap_err();
        assert_eq!(refused.field, "rule");
        assert!(refused.message.contains("regular expression"));
        let empty = form(&[("name", "Empty"), ("decided-by", "rule")]);
        assert_eq!(
            item_from_form(Section::Checks, "e", &empty)
                .unwrap_err()
                .field,
            "rule"
        );
    }

    #[test]
    fn a_campaign_reads_its_milestones_and_archive_box() {
        let data = form(&[
            ("name", "On call"),
            ("owner", "team-platform-infra"),
            ("checks", "has-on-call, pagerduty-policy"),
            ("start", "2026-04-01"),
            ("deadline", "2026-09-30"),
            ("milestones", "2026-06-30: 50%\n2026-09-30: 100"),
            ("archived", "on"),
        ]);
        let item = canonical(
            Section::Campaigns,
            item_from_form(Section::Campaigns, "oncall", &data).unwrap(),
        )
        .unwrap();
        assert_eq!(
            item["milestones"],
            json!([{"date": "2026-06-30", "target": 50.0}, {"date": "2026-09-30", "target": 100.0}])
        );
        assert_eq!(item["archived"], true);
        let bad = form(&[("milestones", "soon")]);
        assert_eq!(
            item_from_form(Section::Campaigns, "x", &bad)
                .unwrap_err()
                .field,
            "milestones"
        );
        let late = form(&[
            ("name", "X"),
            ("owner", "t"),
            ("checks", "a"),
            ("start", "2026-04-01"),
            ("deadline", "2026-31-01"),
        ]);
        let refused = canonical(
            Section::Campaigns,
            item_from_form(Section::Campaigns, "x", &late).unwrap(),
        )
        .unwrap_err();
        assert_eq!(refused.field, "start", "{refused:?}");
    }

    #[test]
    fn a_collector_takes_its_settings_as_yaml() {
        let data = form(&[
            ("kind", "github"),
            ("frequency", "60m"),
            ("rate-limit", "4000/h"),
            (
                "config",
                "base-url: https://api.github.com\ncredential: github",
            ),
        ]);
        let item = canonical(
            Section::Collectors,
            item_from_form(Section::Collectors, "gh", &data).unwrap(),
        )
        .unwrap();
        assert_eq!(item["frequency"], "1h");
        assert_eq!(item["config"]["credential"], "github");
    }

    #[test]
    fn an_override_keeps_only_what_differs_from_the_yaml() {
        let baseline = json!({"id": "a", "name": "A", "description": "old", "levels": []})
            .as_object()
            .cloned()
            .unwrap();
        let item = json!({"id": "a", "name": "A", "levels": [{"name": "X", "checks": ["c"]}]})
            .as_object()
            .cloned()
            .unwrap();
        let fields = edit_fields(Some(&baseline), &item);
        assert_eq!(
            Value::Object(fields),
            json!({"description": null, "levels": [{"name": "X", "checks": ["c"]}]})
        );
        assert!(edit_fields(Some(&baseline), &baseline).is_empty());
        assert_eq!(
            Value::Object(edit_fields(None, &item)),
            json!({"name": "A", "levels": [{"name": "X", "checks": ["c"]}]})
        );
    }

    #[test]
    fn guesses_the_field_a_message_is_about() {
        assert_eq!(
            guess_field(
                Section::Tracks,
                "track `t`, level `Gold`: unknown check `x`"
            ),
            "levels"
        );
        assert_eq!(guess_field(Section::Checks, "missing field `name`"), "name");
        assert_eq!(
            guess_field(
                Section::Campaigns,
                "campaign `c`: the deadline 2026-01-01 is before the start"
            ),
            "deadline"
        );
        assert_eq!(
            guess_field(Section::Collectors, "`2x` is not a duration"),
            "frequency"
        );
    }
}
