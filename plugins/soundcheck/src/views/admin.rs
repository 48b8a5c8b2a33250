//! The admin pages under `/plugins/soundcheck/admin`: the configuration's
//! sources and problems, collectors at work, and an editor per section.
//! Only shown to holders of `soundcheck.admin`; the actions check again.

use super::when;
use crate::actions::CONFIRM_FIELD;
use crate::admin::{FILTER_FIELDS, FieldSpec, Input, collector_kind_label, fields, form_values};
use crate::collectors::{self, registered};
use crate::config::merge::{Edits, item_json, load_edits};
use crate::config::{Config, Origin, Resolved, Section};
use crate::settings::Loaded;
use crate::store::Store;
use greenroom_sdk::view::*;
use greenroom_sdk::{Context, Result};
use serde_json::Value;

/// The path segment of the "add an item" editor; `+` is never in an id.
pub const NEW: &str = "+new";

/// The admin page at `path` (below `admin/`).
pub fn admin_page(store: &dyn Store, loaded: &Loaded, path: &str, cx: &Context) -> Result<View> {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    let section = parts.next().and_then(Section::from_key);
    let id = parts.next();
    let resolved = loaded.config.as_ref().ok();
    let page = match (section, id, resolved) {
        (None, _, _) => overview(store, loaded, cx)?,
        (Some(section), None, Some(resolved)) => section_list(resolved, section, cx),
        (Some(section), Some(NEW), _) => editor(section, None, None),
        (Some(section), Some(id), Some(resolved)) => item_page(resolved, section, id),
        (Some(_), _, None) => column()
            .child(text("Fix the configuration's problems first; they are listed on the admin overview.").tone(Tone::Warning))
            .child(link("Admin overview", cx.link_to("admin"))),
    };
    Ok(column().child(breadcrumbs(section, cx)).child(page).into())
}

fn breadcrumbs(section: Option<Section>, cx: &Context) -> El {
    let mut trail = row()
        .child(link("Tech health", cx.link_to("")))
        .child(link("Admin", cx.link_to("admin")));
    if let Some(section) = section {
        trail = trail.child(link(
            capitalised(section.key()),
            cx.link_to(&format!("admin/{}", section.key())),
        ));
    }
    trail
}

/// `word` with its first letter in upper case.
pub fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn overview(store: &dyn Store, loaded: &Loaded, cx: &Context) -> Result<El> {
    let mut page = column().child(
        card("Configuration")
            .subtitle("YAML in the plugin's `config` setting, combined with the edits made here")
            .child(markdown(
                "The YAML defines the baseline, item by item (by `id`). Here you can **add** tracks, checks, \
                 collectors and campaigns the YAML does not define, and **override fields** of those it does: \
                 the fields you change replace the YAML's, the rest keep following it. An item from the YAML is \
                 marked *from YAML*; an override can be reset. Items from the YAML are removed in the YAML.",
            )),
    );
    if !loaded.problems().is_empty() {
        let extent = match loaded.config {
            Ok(_) => super::Extent::TheItemsNamed,
            Err(_) => super::Extent::Nothing,
        };
        page = page.child(super::config_problems(loaded.problems(), None, extent));
    }
    if let Ok(resolved) = &loaded.config {
        page = page.child(sections(&resolved.config, cx));
    }
    page = page.child(edits_card(&load_edits(store)?));
    if let Ok(resolved) = &loaded.config {
        page = page.child(collectors_card(store, &resolved.config)?);
    }
    Ok(page)
}

fn sections(config: &Config, cx: &Context) -> El {
    let counts = [
        (Section::Tracks, config.tracks.len()),
        (Section::Checks, config.checks.len()),
        (Section::Collectors, config.collectors.len()),
        (Section::Campaigns, config.campaigns.len()),
    ];
    let table = counts
        .iter()
        .fold(table(["Section", "Items"]), |table, (section, count)| {
            table.row([
                link_cell(
                    capitalised(section.key()),
                    cx.link_to(&format!("admin/{}", section.key())),
                ),
                Cell::from(count.to_string()),
            ])
        });
    card("Sections").child(table).into()
}

/// Every admin edit, each with its reset or delete: the way out when an
/// edit no longer fits the YAML.
fn edits_card(edits: &Edits) -> El {
    let all: Vec<(Section, &String, &crate::config::AdminEdit)> = edits
        .iter()
        .flat_map(|(section, items)| items.iter().map(move |(id, edit)| (*section, id, edit)))
        .collect();
    if all.is_empty() {
        return card("Edits made here")
            .child(text("None: everything comes from the YAML.").muted())
            .into();
    }
    let mut card = card("Edits made here");
    for (section, id, edit) in all {
        let fields: Vec<&str> = edit.fields.keys().map(String::as_str).collect();
        card = card
            .child(text(format!(
                "{} `{id}`: {} (by {} on {})",
                section.noun(),
                fields.join(", "),
                edit.by,
                when(edit.at_ms)
            )))
            .child(remove_form("admin-reset", "Remove this edit", section, id));
    }
    card.into()
}

/// A form that removes an edit or an added item: it asks for a ticked box
/// first, since nothing brings it back.
fn remove_form(action: &str, label: &str, section: Section, id: &str) -> El {
    form(action, label)
        .field(Field::new(FieldKind::Hidden, "section", "").value(section.key()))
        .field(Field::new(FieldKind::Hidden, "id", "").value(id.to_owned()))
        .field(
            Field::new(
                FieldKind::Checkbox,
                CONFIRM_FIELD,
                format!(
                    "Yes: {} for {} `{id}`",
                    label.to_lowercase(),
                    section.noun()
                ),
            )
            .required()
            .help("This cannot be undone."),
        )
        .into()
}

fn collectors_card(store: &dyn Store, config: &Config) -> Result<El> {
    let mut table = table([
        "Collector",
        "Kind",
        "Frequency",
        "Rate limit",
        "Last run",
        "Sweep",
        "Facts",
        "Last problem",
    ]);
    for collector in &config.collectors {
        let id = collector.id.as_str();
        let state = collectors::load_state(store, id)?;
        let sweep = match (&state.cursor, state.sweep_done_ms) {
            (Some(cursor), _) => format!("under way, at {cursor}"),
            (None, Some(done)) => format!("done {}", when(done)),
            (None, None) => "not started".to_owned(),
        };
        let pushed = collector.kind == crate::config::CollectorKind::External;
        let available = registered(collector.kind).is_some() || pushed;
        table = table.row([
            Cell::from(id),
            Cell::from(if available {
                collector_kind_label(collector.kind).to_owned()
            } else {
                format!("{} (not in this version)", collector.kind.name())
            }),
            Cell::from(if pushed {
                "pushed".to_owned()
            } else {
                collector.frequency.to_string()
            }),
            Cell::from(
                collector
                    .rate_limit
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "none".to_owned()),
            ),
            Cell::from(
                state
                    .last_run_ms
                    .map(when)
                    .unwrap_or_else(|| "never".to_owned()),
            ),
            Cell::from(sweep),
            Cell::from(state.collected.to_string()),
            Cell::from(state.last_error.clone().unwrap_or_default()),
        ]);
    }
    Ok(card("Collectors")
        .subtitle("The collect task runs every 5 minutes; the evaluate task every 10")
        .child(table)
        .child(
            row()
                .child(form("run-collectors", "Run collectors now"))
                .child(form("evaluate-now", "Evaluate every entity now")),
        )
        .into())
}

fn section_list(resolved: &Resolved, section: Section, cx: &Context) -> El {
    let items = item_names(&resolved.merged, section);
    let mut table = table(["Id", "Name", "Source", "State"]);
    for (id, name) in &items {
        let state = match resolved.is_set_aside(section, id) {
            true => badge_cell("Set aside: see the problems", Tone::Danger),
            false => badge_cell("In force", Tone::Success),
        };
        table = table.row([
            link_cell(
                id.clone(),
                cx.link_to(&format!("admin/{}/{id}", section.key())),
            ),
            Cell::from(name.clone()),
            origin_cell(resolved.origin(section, id)),
            state,
        ]);
    }
    card(capitalised(section.key()))
        .child(table)
        .child(link(
            format!("Add a {}", section.noun()),
            cx.link_to(&format!("admin/{}/{NEW}", section.key())),
        ))
        .into()
}

fn item_names(config: &Config, section: Section) -> Vec<(String, String)> {
    match section {
        Section::Tracks => config
            .tracks
            .iter()
            .map(|t| (t.id.to_string(), t.name.clone()))
            .collect(),
        Section::Checks => config
            .checks
            .iter()
            .map(|c| (c.id.to_string(), c.name.clone()))
            .collect(),
        Section::Collectors => config
            .collectors
            .iter()
            .map(|c| (c.id.to_string(), c.kind.name().to_owned()))
            .collect(),
        Section::Campaigns => config
            .campaigns
            .iter()
            .map(|c| (c.id.to_string(), c.name.clone()))
            .collect(),
    }
}

fn origin_cell(origin: Option<&Origin>) -> Cell {
    match origin {
        Some(Origin::Yaml { edit: None }) => badge_cell("From YAML", Tone::Neutral),
        Some(Origin::Yaml { edit: Some(_) }) => badge_cell("From YAML, overridden", Tone::Warning),
        Some(Origin::Admin(_)) => badge_cell("Added here", Tone::Info),
        None => Cell::Empty,
    }
}

fn item_page(resolved: &Resolved, section: Section, id: &str) -> El {
    let Some(item) = item_json(&resolved.merged, section, id) else {
        return empty(
            format!("No {} `{id}`", section.noun()),
            "It may have been removed from the YAML.",
        );
    };
    let origin = resolved.origin(section, id);
    let about = match origin {
        Some(Origin::Yaml { edit: None }) => {
            text("Defined in the YAML setting. Saving this form overrides the fields you change.")
                .muted()
                .into()
        }
        Some(Origin::Yaml { edit: Some(edit) }) => column()
            .child(
                text(format!(
                    "From YAML, overridden here: {} (by {} on {}).",
                    edit.fields.keys().cloned().collect::<Vec<_>>().join(", "),
                    edit.by,
                    when(edit.at_ms)
                ))
                .tone(Tone::Warning),
            )
            .child(remove_form("admin-reset", "Reset to the YAML", section, id)),
        Some(Origin::Admin(edit)) => column()
            .child(
                text(format!(
                    "Added here by {} on {}.",
                    edit.by,
                    when(edit.at_ms)
                ))
                .muted(),
            )
            .child(remove_form(
                "admin-reset",
                &format!("Delete this {}", section.noun()),
                section,
                id,
            )),
        None => column(),
    };
    editor(section, Some(id), Some(&item)).child(about)
}

fn editor(section: Section, id: Option<&str>, item: Option<&Value>) -> El {
    let values = item
        .map(|item| form_values(section, item))
        .unwrap_or_default();
    let value = |name: &str| {
        values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut form = form("admin-save", "Save")
        .field(Field::new(FieldKind::Hidden, "section", "").value(section.key()));
    form = match id {
        Some(id) => form.field(Field::new(FieldKind::Hidden, "id", "").value(id.to_owned())),
        None => form
            .field(Field::new(FieldKind::Hidden, "new", "").value("true"))
            .field(
                Field::text("id", "Id")
                    .required()
                    .help("Lower-case letters, digits, `-`, `_` and `.`; it cannot change later."),
            ),
    };
    for spec in fields(section) {
        form = form.field(field(spec, value(spec.name)));
    }
    for (name, key) in FILTER_FIELDS {
        let label = format!("Only for {key}");
        form = form.field(
            Field::text(name, label)
                .value(value(name))
                .help("Comma-separated; empty for any."),
        );
    }
    let title = match id {
        Some(id) => format!("{} `{id}`", capitalised(section.noun())),
        None => format!("Add a {}", section.noun()),
    };
    card(title).child(form).into()
}

fn field(spec: &FieldSpec, value: String) -> Field {
    let kind = match spec.input {
        Input::Line => FieldKind::Text,
        Input::Lines => FieldKind::Textarea,
        Input::Number => FieldKind::Number,
        Input::Date => FieldKind::Date,
        Input::Tick => FieldKind::Checkbox,
        Input::Choice(choices) => FieldKind::Select(
            choices
                .iter()
                .map(|(v, l)| Choice {
                    value: (*v).to_owned(),
                    label: (*l).to_owned(),
                })
                .collect(),
        ),
    };
    let mut field = Field::new(kind, spec.name, spec.label).value(value);
    if matches!(spec.input, Input::Choice(_)) || spec.name == "name" {
        field = field.required();
    }
    if !spec.help.is_empty() {
        field = field.help(spec.help);
    }
    field
}
