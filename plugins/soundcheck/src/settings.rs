//! The operator's settings (the manifest's `[settings]` schema), and the
//! configuration they, and the admin edits, add up to.

use crate::config::{self, Config, Resolved, yaml::ConfigError};
use crate::store::Store;
use greenroom_sdk::Result;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// HTTP requests one `collect` run spends at most, when the operator does
/// not say: under the host's default of 50 per call, leaving room for
/// retries of the same call.
pub const DEFAULT_HTTP_REQUESTS_PER_RUN: u32 = 45;

/// The plugin's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Settings {
    /// The YAML configuration.
    #[serde(default)]
    pub config: String,
    /// Who may push facts and results: `service:<name>` (an API token the
    /// operator bound to this plugin) or `plugin:<id>` (another plugin
    /// calling through the host), as the host sets `greenroom-caller`.
    #[serde(default)]
    pub push_callers: Vec<String>,
    /// Per collector id, settings merged into its `config` (e.g. `base-url`
    /// and `credential`): where a deployment's services are.
    #[serde(default)]
    pub collectors: BTreeMap<String, Map<String, Value>>,
    /// HTTP requests one `collect` run may spend.
    #[serde(default = "default_http_requests")]
    pub http_requests_per_run: u32,
}

fn default_http_requests() -> u32 {
    DEFAULT_HTTP_REQUESTS_PER_RUN
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            config: String::new(),
            push_callers: Vec::new(),
            collectors: BTreeMap::new(),
            http_requests_per_run: DEFAULT_HTTP_REQUESTS_PER_RUN,
        }
    }
}

impl Settings {
    /// Reads the settings from the host.
    pub fn read() -> Result<Settings> {
        let all = greenroom_sdk::settings::all()?;
        serde_json::from_value(all)
            .map_err(|e| greenroom_sdk::Error::failed(format!("Soundcheck's settings: {e}")))
    }

    /// Merges the operator's per-collector settings into the configuration.
    pub fn apply(&self, config: &mut Config) {
        for collector in &mut config.collectors {
            if let Some(extra) = self.collectors.get(collector.id.as_str()) {
                config::merge::overlay(&mut collector.config, extra);
            }
        }
    }
}

/// The settings and the configuration in force (or why there is none).
pub struct Loaded {
    /// The settings.
    pub settings: Settings,
    /// YAML and admin edits combined, with the items that have problems
    /// set aside and the problems listed; an error only when the YAML
    /// cannot be read at all.
    pub config: std::result::Result<Resolved, Vec<ConfigError>>,
}

impl Loaded {
    /// Reads settings and admin edits, and combines them.
    pub fn read(store: &dyn Store) -> Result<Loaded> {
        let settings = Settings::read()?;
        Loaded::from(store, settings)
    }

    /// Combines `settings` with the admin edits in `store`.
    pub fn from(store: &dyn Store, settings: Settings) -> Result<Loaded> {
        let edits = config::merge::load_edits(store)?;
        let config = config::resolve_usable(&settings.config, &edits).map(|mut resolved| {
            settings.apply(&mut resolved.config);
            resolved
        });
        Ok(Loaded { settings, config })
    }

    /// Every problem with the configuration: the items they are about are
    /// not in [`Loaded::config`].
    pub fn problems(&self) -> &[ConfigError] {
        match &self.config {
            Ok(resolved) => &resolved.problems,
            Err(errors) => errors,
        }
    }

    /// The configuration in force (the items without problems), or an
    /// error naming the first problem when the YAML cannot be read.
    pub fn config(&self) -> Result<&Config> {
        match &self.config {
            Ok(resolved) => Ok(&resolved.config),
            Err(errors) => Err(greenroom_sdk::Error::failed(format!(
                "Soundcheck's configuration has {} problem(s); the first: {}",
                errors.len(),
                errors.first().map(ToString::to_string).unwrap_or_default()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use serde_json::json;

    #[test]
    fn operator_settings_point_collectors_at_their_services() {
        let settings: Settings = serde_json::from_value(json!({
            "config": "collectors: [{id: gh, kind: github, config: {base-url: 'https://api.github.com', credential: github}}]",
            "collectors": {"gh": {"base-url": "http://127.0.0.1:27184"}}
        }))
        .unwrap();
        assert_eq!(
            settings.http_requests_per_run,
            DEFAULT_HTTP_REQUESTS_PER_RUN
        );
        let loaded = Loaded::from(&MemoryStore::default(), settings).unwrap();
        let github = loaded.config().unwrap().collector("gh").unwrap();
        assert_eq!(github.setting("base-url"), Some("http://127.0.0.1:27184"));
        assert_eq!(github.setting("credential"), Some("github"));
    }

    #[test]
    fn a_broken_track_is_reported_and_set_aside_while_the_others_are_used() {
        let settings = Settings {
            config: "\
collectors: [{id: catalog, kind: catalog}]
checks: [{id: a, name: A, rule: {fact: catalog.owner, op: exists}}]
tracks:
  - {id: t, name: T, levels: [{name: A, checks: [nope]}]}
  - {id: u, name: U, levels: [{name: A, checks: [a]}]}
"
            .into(),
            ..Settings::default()
        };
        let loaded = Loaded::from(&MemoryStore::default(), settings).unwrap();
        let config = loaded.config().unwrap();
        let tracks: Vec<&str> = config.tracks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            tracks,
            ["u"],
            "the sound track is in force, the broken one is not"
        );
        assert_eq!(loaded.problems().len(), 1, "{:?}", loaded.problems());
        assert!(
            loaded.problems()[0]
                .to_string()
                .contains("track `t`, level `A`: unknown check `nope`"),
            "{:?}",
            loaded.problems()
        );
    }

    #[test]
    fn yaml_that_cannot_be_read_is_reported_not_used() {
        let settings = Settings {
            config: "tracks: [{id: t".into(),
            ..Settings::default()
        };
        let loaded = Loaded::from(&MemoryStore::default(), settings).unwrap();
        assert!(loaded.config().is_err());
        assert_eq!(loaded.problems().len(), 1);
    }
}
