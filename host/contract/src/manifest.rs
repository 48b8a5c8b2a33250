//! The plugin manifest: what a plugin declares about itself.
//!
//! Authors write it as `greenroom.toml` beside their `Cargo.toml`; the SDK's
//! `export!` macro embeds it in the component's `greenroom:manifest` custom
//! section, so it travels inside the artifact and is covered by its digest.
//! The host reads it without running the plugin.
//!
//! ```toml
//! id = "hello"
//! name = "Hello"
//! version = "0.1.0"
//! tier = "open"
//! description = "Greets you and counts how often it was seen."
//!
//! [capabilities]
//! storage = { quota = "64 KiB" }
//! catalog = { read = true }
//!
//! [[slots]]
//! kind = "home-widget"
//! name = "greeting"
//! title = "Hello"
//! ```
//!
//! Parsing is strict: an unknown field is an error (a typo must not silently
//! drop a capability), and every error names the field it is about.

use crate::origin::HttpOrigin;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// The shortest interval a scheduled task may ask for. Shorter schedules
/// would let one plugin keep a worker busy; an operator can still run a
/// task on demand.
const MIN_TASK_INTERVAL: Duration = Duration::from_secs(60);

/// The largest storage quota a manifest may request. The store keeps every
/// plugin's data in one SQLite file; a plugin needing more should keep its
/// bulk data elsewhere and reach it over granted HTTP.
const MAX_STORAGE_QUOTA: u64 = 1 << 30;

/// A manifest that failed to parse or validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest field `{field}`: {message}")]
pub struct ManifestError {
    /// The dotted path of the field at fault, e.g. `slots[1].kind`.
    pub field: String,
    /// What is wrong with it and, where possible, what would be right.
    pub message: String,
}

impl ManifestError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ManifestError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A plugin's id: lower-case ASCII letters, digits and single dashes,
/// starting with a letter, at most 64 characters. It appears in URLs
/// (`/plugins/<id>`), permission names and storage namespaces, so it can
/// only be built valid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PluginId(String);

impl PluginId {
    /// Checks and wraps an id.
    pub fn parse(id: &str) -> Result<PluginId, String> {
        let valid_chars = id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let starts_with_letter = id.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        if id.is_empty()
            || id.len() > 64
            || !valid_chars
            || !starts_with_letter
            || id.ends_with('-')
            || id.contains("--")
        {
            return Err(format!(
                "`{id}` is not a valid plugin id; use 1 to 64 lower-case letters, digits and single \
                 dashes, starting with a letter (e.g. `tech-radar`)"
            ));
        }
        Ok(PluginId(id.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a plugin is free or sold under licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Free to run.
    Open,
    /// Runs only with a licence from its publisher.
    Premium,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Open => "open",
            Tier::Premium => "premium",
        })
    }
}

/// Something a plugin asks to be allowed to do. The operator grants all or
/// part of what the manifest requests; the broker checks every import call
/// against the grant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Read catalog entities the acting user may see.
    CatalogRead,
    /// Add and remove entities of these kinds in the plugin's own location.
    CatalogWrite {
        /// Entity kinds, as written (`Component`, `API`, …).
        kinds: BTreeSet<String>,
    },
    /// Keep up to `quota` bytes of keys and values in private storage.
    Storage {
        /// The most bytes of keys and values the plugin may keep.
        quota: u64,
    },
    /// Send HTTP requests to exactly these origins: `name` or `name:port`
    /// for HTTPS, `http://name[:port]` for plain HTTP.
    Http {
        /// Origins in [`HttpOrigin`]'s canonical short form.
        hosts: BTreeSet<String>,
        /// The plugin talks to services whose address the operator chooses
        /// (a self-hosted SonarQube, GitHub Enterprise, PagerDuty's EU
        /// service region), so an operator may grant origins besides
        /// `hosts`. Each is still one exact origin the operator names; the
        /// plugin cannot add any. Always `false` in a grant, which lists
        /// every origin it allows in `hosts`.
        operator_origins: bool,
    },
    /// Read the portal's aggregated usage analytics.
    AnalyticsRead,
    /// Administer roles and policies.
    RbacAdmin,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        match self {
            Capability::CatalogRead => f.write_str("catalog:read"),
            Capability::CatalogWrite { kinds } => write!(f, "catalog:write ({})", join(kinds)),
            Capability::Storage { quota } => {
                write!(
                    f,
                    "storage ({})",
                    bytesize::ByteSize::b(*quota).display().iec()
                )
            }
            Capability::Http {
                hosts,
                operator_origins: false,
            } => write!(f, "http ({})", join(hosts)),
            Capability::Http {
                hosts,
                operator_origins: true,
            } if hosts.is_empty() => f.write_str("http (origins an operator adds)"),
            Capability::Http {
                hosts,
                operator_origins: true,
            } => write!(f, "http ({}, and origins an operator adds)", join(hosts)),
            Capability::AnalyticsRead => f.write_str("analytics:read"),
            Capability::RbacAdmin => f.write_str("rbac:admin"),
        }
    }
}

impl Capability {
    /// What granting it lets the plugin do, in plain language, for the
    /// operator deciding at consent (beside the capability's id).
    pub fn meaning(&self) -> String {
        let join = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        match self {
            Capability::CatalogRead => "Read catalog entities: when someone uses it, only those that person may see.".into(),
            Capability::CatalogWrite { kinds } => format!(
                "Add, change and remove entities of these kinds in a catalog location of its own: {}.",
                join(kinds)
            ),
            Capability::Storage { quota } => format!(
                "Keep up to {} of its own data on this server; no other plugin can read it.",
                bytesize::ByteSize::b(*quota).display().iec()
            ),
            Capability::Http {
                hosts,
                operator_origins,
            } => {
                let mut meaning = match hosts.is_empty() {
                    true => "Send web requests only to the origins you add".to_owned(),
                    false => format!("Send web requests to {} and nowhere else", join(hosts)),
                };
                if *operator_origins && !hosts.is_empty() {
                    meaning.push_str(", besides origins you add");
                }
                meaning.push_str(
                    ". Credentials you bind to an origin are attached by the host; the plugin never sees them.",
                );
                meaning
            }
            Capability::AnalyticsRead => {
                "Read the portal's usage statistics: pages, plugins and searches, counted, with no one named.".into()
            }
            Capability::RbacAdmin => {
                "Read and change roles and policies, only while someone who may administer them uses it.".into()
            }
        }
    }
}

/// Where in the portal a plugin draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlotKind {
    /// A full page at `/plugins/<id>`.
    Page,
    /// A tab on an entity page.
    EntityTab,
    /// A card on an entity's overview.
    EntityCard,
    /// A widget on the home page.
    HomeWidget,
}

impl fmt::Display for SlotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlotKind::Page => "page",
            SlotKind::EntityTab => "entity-tab",
            SlotKind::EntityCard => "entity-card",
            SlotKind::HomeWidget => "home-widget",
        })
    }
}

/// A UI slot the plugin fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotDecl {
    /// What kind of place.
    pub kind: SlotKind,
    /// The slot's name, unique per kind within the plugin.
    pub name: String,
    /// The title the portal shows (card header, tab label, navigation entry).
    pub title: String,
    /// For entity slots: the entity kinds it applies to (lower-cased);
    /// empty means every kind.
    pub entity_kinds: Vec<String>,
    /// A permission the user must hold for the portal to show the slot at
    /// all (`requires = "rbac.admin"`): the host's or one the plugin
    /// declares (the host checks it exists when it loads the plugin).
    /// Users without it do not see the slot, and the plugin is not called
    /// for them.
    pub requires: Option<String>,
}

/// A permission the plugin defines, checked with `identity.authorize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionDecl {
    /// `<plugin-id>.<name>`, e.g. `soundcheck.manual-check`.
    pub name: String,
    /// What holding it allows, for the roles page.
    pub description: String,
}

/// Scheduled work the plugin does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDecl {
    /// Passed to `run-task`.
    pub name: String,
    /// How often it runs.
    pub every: Duration,
    /// What it does, for operators.
    pub description: String,
}

/// A validated plugin manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Unique id.
    pub id: PluginId,
    /// Human name.
    pub name: String,
    /// The plugin's own version.
    pub version: semver::Version,
    /// Open or premium.
    pub tier: Tier,
    /// One paragraph for the marketplace.
    pub description: String,
    /// What it asks to be allowed, in a stable order.
    pub capabilities: Vec<Capability>,
    /// Where it draws.
    pub slots: Vec<SlotDecl>,
    /// The permissions it defines.
    pub permissions: Vec<PermissionDecl>,
    /// Its scheduled tasks.
    pub tasks: Vec<TaskDecl>,
    /// JSON Schema (an object schema) for its settings, when it has any.
    pub settings_schema: Option<serde_json::Value>,
}

// ===== the file format, as written =====

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawManifest {
    id: String,
    name: String,
    version: String,
    tier: Tier,
    #[serde(default)]
    description: String,
    #[serde(default)]
    capabilities: RawCapabilities,
    #[serde(default)]
    slots: Vec<RawSlot>,
    #[serde(default)]
    permissions: Vec<RawPermission>,
    #[serde(default)]
    tasks: Vec<RawTask>,
    settings: Option<toml::Table>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCapabilities {
    catalog: Option<RawCatalog>,
    storage: Option<RawStorage>,
    http: Option<RawHttp>,
    analytics: Option<RawAnalytics>,
    rbac: Option<RawRbac>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[serde(default)]
    read: bool,
    #[serde(default)]
    write: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    quota: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawHttp {
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    operator_origins: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnalytics {
    read: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRbac {
    admin: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSlot {
    kind: SlotKind,
    name: String,
    title: String,
    #[serde(default)]
    entity_kinds: Vec<String>,
    #[serde(default)]
    requires: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPermission {
    name: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    name: String,
    every: String,
    #[serde(default)]
    description: String,
}

impl Manifest {
    /// Parses and validates a manifest written as TOML.
    pub fn from_toml(text: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = serde_path_to_error::deserialize(
            toml::Deserializer::parse(text)
                .map_err(|e| ManifestError::new("(file)", e.to_string()))?,
        )
        .map_err(|e| {
            let field = e.path().to_string();
            let message = e.into_inner().message().to_owned();
            ManifestError::new(
                if field == "." {
                    "(file)".to_owned()
                } else {
                    field
                },
                message,
            )
        })?;
        raw.validate()
    }

    /// The slots of one kind.
    pub fn slots_of(&self, kind: SlotKind) -> impl Iterator<Item = &SlotDecl> {
        self.slots.iter().filter(move |s| s.kind == kind)
    }

    /// The slot with this kind and name.
    pub fn slot(&self, kind: SlotKind, name: &str) -> Option<&SlotDecl> {
        self.slots_of(kind).find(|s| s.name == name)
    }

    /// The plugin's full page, when it has one.
    pub fn page(&self) -> Option<&SlotDecl> {
        self.slots_of(SlotKind::Page).next()
    }

    /// Checks operator-supplied settings against the manifest's schema and
    /// fills in top-level defaults. Returns every problem found, each naming
    /// the setting.
    pub fn resolve_settings(
        &self,
        given: &serde_json::Value,
    ) -> Result<serde_json::Value, Vec<String>> {
        let mut settings = given.clone();
        let Some(schema) = &self.settings_schema else {
            return match given.as_object() {
                Some(map) if !map.is_empty() => Err(vec![format!(
                    "plugin `{}` declares no settings, but settings were given: {}",
                    self.id,
                    map.keys().cloned().collect::<Vec<_>>().join(", ")
                )]),
                _ => Ok(serde_json::Value::Object(Default::default())),
            };
        };
        if let (Some(values), Some(properties)) = (
            settings.as_object_mut(),
            schema.get("properties").and_then(|p| p.as_object()),
        ) {
            for (name, property) in properties {
                if let Some(default) = property.get("default") {
                    values
                        .entry(name.clone())
                        .or_insert_with(|| default.clone());
                }
            }
        }
        let validator =
            jsonschema::validator_for(schema).map_err(|e| vec![format!("settings schema: {e}")])?;
        let problems: Vec<String> = validator
            .iter_errors(&settings)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!(
                        "setting `{}`: {e}",
                        at.trim_start_matches('/').replace('/', ".")
                    )
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }
}

impl RawManifest {
    fn validate(self) -> Result<Manifest, ManifestError> {
        let id = PluginId::parse(&self.id).map_err(|m| ManifestError::new("id", m))?;
        let name = non_empty("name", self.name)?;
        let version = semver::Version::parse(&self.version).map_err(|e| {
            ManifestError::new(
                "version",
                format!(
                    "`{}` is not a semantic version ({e}); write e.g. `1.2.0`",
                    self.version
                ),
            )
        })?;
        let capabilities = self.capabilities.validate()?;
        let slots = validate_slots(self.slots)?;
        let permissions = validate_permissions(&id, self.permissions)?;
        let tasks = validate_tasks(self.tasks)?;
        let settings_schema = self.settings.map(validate_settings_schema).transpose()?;
        Ok(Manifest {
            id,
            name,
            version,
            tier: self.tier,
            description: self.description.trim().to_owned(),
            capabilities,
            slots,
            permissions,
            tasks,
            settings_schema,
        })
    }
}

fn non_empty(field: &str, value: String) -> Result<String, ManifestError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ManifestError::new(field, "must not be empty"));
    }
    Ok(trimmed.to_owned())
}

/// Slot and task names: lower-case letters, digits and dashes.
fn check_name(field: &str, name: &str) -> Result<(), ManifestError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ManifestError::new(
            field,
            format!("`{name}` must be 1 to 64 lower-case letters, digits and dashes"),
        ))
    }
}

impl RawCapabilities {
    fn validate(self) -> Result<Vec<Capability>, ManifestError> {
        let mut capabilities = Vec::new();
        if let Some(catalog) = self.catalog {
            if catalog.read {
                capabilities.push(Capability::CatalogRead);
            }
            if !catalog.write.is_empty() {
                let mut kinds = BTreeSet::new();
                for (i, kind) in catalog.write.into_iter().enumerate() {
                    let field = format!("capabilities.catalog.write[{i}]");
                    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        return Err(ManifestError::new(
                            field,
                            format!("`{kind}` is not an entity kind (e.g. `Component`)"),
                        ));
                    }
                    kinds.insert(kind);
                }
                capabilities.push(Capability::CatalogWrite { kinds });
            }
        }
        if let Some(storage) = self.storage {
            let field = "capabilities.storage.quota";
            let quota: bytesize::ByteSize = storage.quota.parse().map_err(|e| {
                ManifestError::new(
                    field,
                    format!(
                        "`{}` is not a size ({e}); write e.g. `256 KiB`",
                        storage.quota
                    ),
                )
            })?;
            if quota.as_u64() == 0 || quota.as_u64() > MAX_STORAGE_QUOTA {
                return Err(ManifestError::new(
                    field,
                    "must be more than 0 and at most 1 GiB",
                ));
            }
            capabilities.push(Capability::Storage {
                quota: quota.as_u64(),
            });
        }
        if let Some(http) = self.http {
            let mut hosts = BTreeSet::new();
            for (i, host) in http.hosts.into_iter().enumerate() {
                hosts.insert(validate_host(
                    &format!("capabilities.http.hosts[{i}]"),
                    &host,
                )?);
            }
            if hosts.is_empty() && !http.operator_origins {
                return Err(ManifestError::new(
                    "capabilities.http.hosts",
                    "list at least one host, set `operator-origins = true` for origins the \
                     operator chooses, or leave out `http`",
                ));
            }
            capabilities.push(Capability::Http {
                hosts,
                operator_origins: http.operator_origins,
            });
        }
        if self.analytics.is_some_and(|a| a.read) {
            capabilities.push(Capability::AnalyticsRead);
        }
        if self.rbac.is_some_and(|r| r.admin) {
            capabilities.push(Capability::RbacAdmin);
        }
        capabilities.sort();
        Ok(capabilities)
    }
}

/// An HTTP grant names exact origins: no paths or wildcards, so the
/// operator sees exactly where a plugin can reach. Kept in the canonical
/// short form [`HttpOrigin`] prints (`api.github.com`,
/// `sonar.example.com:9000`, `http://10.0.0.5:8080`).
fn validate_host(field: &str, host: &str) -> Result<String, ManifestError> {
    HttpOrigin::parse(host)
        .map(|origin| origin.to_string())
        .map_err(|error| ManifestError::new(field, error.to_string()))
}

fn validate_slots(raw: Vec<RawSlot>) -> Result<Vec<SlotDecl>, ManifestError> {
    let mut slots: Vec<SlotDecl> = Vec::with_capacity(raw.len());
    for (i, slot) in raw.into_iter().enumerate() {
        check_name(&format!("slots[{i}].name"), &slot.name)?;
        let title = non_empty(&format!("slots[{i}].title"), slot.title)?;
        if slots
            .iter()
            .any(|s| s.kind == slot.kind && s.name == slot.name)
        {
            return Err(ManifestError::new(
                format!("slots[{i}].name"),
                format!(
                    "there is already a {} slot named `{}`",
                    slot.kind, slot.name
                ),
            ));
        }
        if slot.kind == SlotKind::Page && slots.iter().any(|s| s.kind == SlotKind::Page) {
            return Err(ManifestError::new(
                format!("slots[{i}].kind"),
                "a plugin has at most one page",
            ));
        }
        let entity_slot = matches!(slot.kind, SlotKind::EntityTab | SlotKind::EntityCard);
        if !entity_slot && !slot.entity_kinds.is_empty() {
            return Err(ManifestError::new(
                format!("slots[{i}].entity-kinds"),
                "only entity-tab and entity-card slots apply to entity kinds",
            ));
        }
        if let Some(requires) = &slot.requires {
            let shaped = requires.contains('.')
                && requires.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !shaped {
                return Err(ManifestError::new(
                    format!("slots[{i}].requires"),
                    format!(
                        "`{requires}` is not a permission name; name one of the host's (e.g. \
                         `rbac.admin`) or one the plugin declares in [[permissions]]"
                    ),
                ));
            }
        }
        slots.push(SlotDecl {
            kind: slot.kind,
            name: slot.name,
            title,
            entity_kinds: slot
                .entity_kinds
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .collect(),
            requires: slot.requires,
        });
    }
    Ok(slots)
}

fn validate_permissions(
    id: &PluginId,
    raw: Vec<RawPermission>,
) -> Result<Vec<PermissionDecl>, ManifestError> {
    let prefix = format!("{id}.");
    let mut permissions: Vec<PermissionDecl> = Vec::with_capacity(raw.len());
    for (i, permission) in raw.into_iter().enumerate() {
        let field = format!("permissions[{i}].name");
        let rest = permission.name.strip_prefix(&prefix).unwrap_or_default();
        let ok = !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !ok {
            return Err(ManifestError::new(
                field,
                format!(
                    "`{}` must start with the plugin id and a dot, then lower-case words (e.g. `{prefix}admin`)",
                    permission.name
                ),
            ));
        }
        if permissions.iter().any(|p| p.name == permission.name) {
            return Err(ManifestError::new(
                field,
                format!("`{}` is declared twice", permission.name),
            ));
        }
        let description = non_empty(
            &format!("permissions[{i}].description"),
            permission.description,
        )?;
        permissions.push(PermissionDecl {
            name: permission.name,
            description,
        });
    }
    Ok(permissions)
}

fn validate_tasks(raw: Vec<RawTask>) -> Result<Vec<TaskDecl>, ManifestError> {
    let mut tasks: Vec<TaskDecl> = Vec::with_capacity(raw.len());
    for (i, task) in raw.into_iter().enumerate() {
        check_name(&format!("tasks[{i}].name"), &task.name)?;
        if tasks.iter().any(|t| t.name == task.name) {
            return Err(ManifestError::new(
                format!("tasks[{i}].name"),
                format!("`{}` is declared twice", task.name),
            ));
        }
        let field = format!("tasks[{i}].every");
        let every = humantime::parse_duration(&task.every).map_err(|e| {
            ManifestError::new(
                &field,
                format!(
                    "`{}` is not a duration ({e}); write e.g. `1h` or `15m`",
                    task.every
                ),
            )
        })?;
        if every < MIN_TASK_INTERVAL {
            return Err(ManifestError::new(field, "must be at least 1m"));
        }
        tasks.push(TaskDecl {
            name: task.name,
            every,
            description: task.description.trim().to_owned(),
        });
    }
    Ok(tasks)
}

fn validate_settings_schema(table: toml::Table) -> Result<serde_json::Value, ManifestError> {
    let schema =
        serde_json::to_value(table).map_err(|e| ManifestError::new("settings", e.to_string()))?;
    if schema.get("type").and_then(|t| t.as_str()) != Some("object") {
        return Err(ManifestError::new(
            "settings.type",
            "the settings schema must describe an object (`type = \"object\"`)",
        ));
    }
    jsonschema::meta::validate(&schema)
        .map_err(|e| ManifestError::new("settings", format!("not a valid JSON Schema: {e}")))?;
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capability_says_what_it_lets_the_plugin_do_naming_its_scope() {
        let kinds = BTreeSet::from(["Component".to_owned(), "API".to_owned()]);
        let hosts = BTreeSet::from(["api.github.com".to_owned()]);
        let cases = [
            (Capability::CatalogRead, "only those that person may see"),
            (
                Capability::CatalogWrite { kinds },
                "of these kinds in a catalog location of its own: API, Component.",
            ),
            (
                Capability::Storage { quota: 64 << 10 },
                "Keep up to 64.0 KiB of its own data",
            ),
            (
                Capability::Http {
                    hosts: hosts.clone(),
                    operator_origins: false,
                },
                "Send web requests to api.github.com and nowhere else.",
            ),
            (
                Capability::Http {
                    hosts,
                    operator_origins: true,
                },
                "to api.github.com and nowhere else, besides origins you add.",
            ),
            (
                Capability::Http {
                    hosts: BTreeSet::new(),
                    operator_origins: true,
                },
                "Send web requests only to the origins you add.",
            ),
            (Capability::AnalyticsRead, "with no one named"),
            (
                Capability::RbacAdmin,
                "only while someone who may administer them uses it",
            ),
        ];
        for (capability, expected) in cases {
            let meaning = capability.meaning();
            assert!(meaning.contains(expected), "{capability}: {meaning}");
        }
    }

    const MINIMAL: &str = r#"
        id = "hello"
        name = "Hello"
        version = "0.1.0"
        tier = "open"
    "#;

    fn with(extra: &str) -> Result<Manifest, ManifestError> {
        Manifest::from_toml(&format!("{MINIMAL}\n{extra}"))
    }

    #[test]
    fn parses_a_minimal_manifest() {
        let manifest = with("").expect("minimal manifest is valid");
        assert_eq!(manifest.id.as_str(), "hello");
        assert_eq!(manifest.tier, Tier::Open);
        assert!(manifest.capabilities.is_empty());
    }

    #[test]
    fn parses_every_section() {
        let manifest = with(
            r#"
            description = "  Says hello.  "
            [capabilities]
            catalog = { read = true, write = ["Component"] }
            storage = { quota = "64 KiB" }
            http = { hosts = ["API.GitHub.com", "sonar.example.com:9000"] }
            analytics = { read = true }
            rbac = { admin = true }

            [[slots]]
            kind = "entity-card"
            name = "about"
            title = "Hello"
            entity-kinds = ["Component"]

            [[permissions]]
            name = "hello.greet"
            description = "Send greetings"

            [[tasks]]
            name = "tick"
            every = "1h"

            [settings]
            type = "object"
            properties.greeting = { type = "string", default = "Hello" }
            "#,
        )
        .expect("full manifest is valid");
        assert_eq!(manifest.description, "Says hello.");
        assert!(
            manifest
                .capabilities
                .contains(&Capability::Storage { quota: 64 * 1024 })
        );
        assert!(
            manifest.capabilities.contains(&Capability::Http {
                hosts: [
                    "api.github.com".to_owned(),
                    "sonar.example.com:9000".to_owned()
                ]
                .into(),
                operator_origins: false,
            })
        );
        assert_eq!(manifest.slots[0].entity_kinds, vec!["component"]);
        assert_eq!(manifest.tasks[0].every, Duration::from_secs(3600));
        let settings = manifest
            .resolve_settings(&serde_json::json!({}))
            .expect("defaults are valid");
        assert_eq!(settings["greeting"], "Hello");
    }

    fn field_of(result: Result<Manifest, ManifestError>) -> String {
        result.expect_err("manifest should be refused").field
    }

    #[test]
    fn names_the_field_of_an_unknown_key() {
        let err = with("colour = \"green\"").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn names_a_nested_field_with_a_wrong_value() {
        let err = with("[[slots]]\nkind = \"sidebar\"\nname = \"x\"\ntitle = \"X\"").unwrap_err();
        assert_eq!(err.field, "slots[0].kind", "{err}");
        assert!(err.message.contains("sidebar"), "{err}");
    }

    #[test]
    fn refuses_missing_required_fields() {
        let err = Manifest::from_toml("id = \"hello\"").unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
    }

    #[test]
    fn refuses_bad_ids_versions_and_tiers() {
        assert_eq!(
            field_of(Manifest::from_toml(
                &MINIMAL.replace("\"hello\"", "\"Hello World\"")
            )),
            "id"
        );
        assert_eq!(
            field_of(Manifest::from_toml(&MINIMAL.replace("0.1.0", "one"))),
            "version"
        );
        assert_eq!(
            field_of(Manifest::from_toml(&MINIMAL.replace("open", "gold"))),
            "tier"
        );
    }

    #[test]
    fn refuses_wildcard_and_url_hosts() {
        for host in [
            "*.github.com",
            "https://api.github.com/",
            "api.github.com/v3",
            "ftp://api.github.com",
            "host:0",
            "",
        ] {
            let err = with(&format!(
                "[capabilities]\nhttp = {{ hosts = [\"{host}\"] }}"
            ))
            .unwrap_err();
            assert_eq!(err.field, "capabilities.http.hosts[0]", "{host}: {err}");
        }
    }

    #[test]
    fn a_slot_may_require_a_permission_by_name() {
        let with = |extra: &str| {
            Manifest::from_toml(&format!(
                "{MINIMAL}\n[[slots]]\nkind = \"page\"\nname = \"main\"\ntitle = \"Main\"\n{extra}"
            ))
        };
        let host = with("requires = \"rbac.admin\"").expect("a host permission");
        assert_eq!(host.slots[0].requires.as_deref(), Some("rbac.admin"));
        let err = with("requires = \"Admin!\"").unwrap_err();
        assert_eq!(err.field, "slots[0].requires", "{err}");
        let declared = with(
            "requires = \"hello.admin\"\n[[permissions]]\nname = \"hello.admin\"\ndescription = \"x\"",
        )
        .expect("a declared permission");
        assert_eq!(declared.slots[0].requires.as_deref(), Some("hello.admin"));
    }

    #[test]
    fn plain_http_hosts_are_requested_by_scheme_and_kept_canonical() {
        let manifest = with(
            "[capabilities]\nhttp = { hosts = [\"HTTP://127.0.0.1:8080\", \"https://api.github.com:443\"] }",
        )
        .expect("valid");
        assert_eq!(
            manifest.capabilities,
            [Capability::Http {
                hosts: [
                    "api.github.com".to_owned(),
                    "http://127.0.0.1:8080".to_owned()
                ]
                .into(),
                operator_origins: false,
            }]
        );
    }

    #[test]
    fn operator_origins_are_requested_beside_the_listed_hosts() {
        let manifest = with(
            "[capabilities]\nhttp = { hosts = [\"api.github.com\"], operator-origins = true }",
        )
        .expect("valid");
        let requested = Capability::Http {
            hosts: ["api.github.com".to_owned()].into(),
            operator_origins: true,
        };
        assert_eq!(manifest.capabilities, std::slice::from_ref(&requested));
        assert_eq!(
            requested.to_string(),
            "http (api.github.com, and origins an operator adds)"
        );
    }

    #[test]
    fn operator_origins_alone_need_no_listed_host() {
        let manifest = with("[capabilities]\nhttp = { operator-origins = true }").expect("valid");
        assert_eq!(
            manifest.capabilities[0].to_string(),
            "http (origins an operator adds)"
        );
        assert_eq!(
            field_of(with("[capabilities]\nhttp = { hosts = [] }")),
            "capabilities.http.hosts"
        );
        assert_eq!(
            field_of(with("[capabilities]\nhttp = { operator-origins = false }")),
            "capabilities.http.hosts"
        );
    }

    #[test]
    fn refuses_permissions_outside_the_plugins_namespace() {
        let err = with("[[permissions]]\nname = \"catalog.entity.read\"\ndescription = \"x\"")
            .unwrap_err();
        assert_eq!(err.field, "permissions[0].name");
    }

    #[test]
    fn refuses_two_pages_and_duplicate_slots() {
        let page = "[[slots]]\nkind = \"page\"\nname = \"main\"\ntitle = \"Main\"\n";
        assert_eq!(
            field_of(with(&format!("{page}{}", page.replace("main", "other")))),
            "slots[1].kind"
        );
        assert_eq!(field_of(with(&format!("{page}{page}"))), "slots[1].name");
    }

    #[test]
    fn refuses_too_frequent_tasks_and_bad_quotas() {
        assert_eq!(
            field_of(with("[[tasks]]\nname = \"t\"\nevery = \"10s\"")),
            "tasks[0].every"
        );
        assert_eq!(
            field_of(with("[capabilities]\nstorage = { quota = \"lots\" }")),
            "capabilities.storage.quota"
        );
        assert_eq!(
            field_of(with("[capabilities]\nstorage = { quota = \"2 GiB\" }")),
            "capabilities.storage.quota"
        );
    }

    #[test]
    fn refuses_a_settings_schema_that_is_not_an_object_schema() {
        assert_eq!(
            field_of(with("[settings]\ntype = \"string\"")),
            "settings.type"
        );
        assert_eq!(
            field_of(with("[settings]\ntype = \"object\"\nproperties = 3")),
            "settings"
        );
    }

    #[test]
    fn names_the_setting_that_breaks_the_schema() {
        let manifest =
            with("[settings]\ntype = \"object\"\nproperties.limit = { type = \"integer\" }")
                .expect("valid");
        let problems = manifest
            .resolve_settings(&serde_json::json!({ "limit": "ten" }))
            .unwrap_err();
        assert!(problems[0].starts_with("setting `limit`"), "{problems:?}");
    }

    #[test]
    fn refuses_settings_for_a_plugin_without_a_schema() {
        let manifest = with("").expect("valid");
        assert!(
            manifest
                .resolve_settings(&serde_json::json!({ "x": 1 }))
                .is_err()
        );
        assert!(manifest.resolve_settings(&serde_json::json!({})).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn plugin_ids_that_parse_are_url_and_sql_safe(id in "\\PC{0,70}") {
            if let Ok(parsed) = PluginId::parse(&id) {
                proptest::prop_assert!(parsed.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                proptest::prop_assert!(parsed.as_str().len() <= 64);
            }
        }

        #[test]
        fn manifest_parsing_never_panics(text in "\\PC{0,400}") {
            let _ = Manifest::from_toml(&text);
        }
    }
}
