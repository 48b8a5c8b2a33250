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
    /// YAML and admin edits combined, or every problem with them.
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
        let config = config::resolve(&settings.config, &edits).map(|mut resolved| {
            settings.apply(&mut resolved.config);
            resolved
        });
        Ok(Loaded { settings, config })
    }

    /// The configuration, or an error naming the first problem.
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
    fn a_broken_configuration_is_reported_not_used() {
        let settings = Settings {
            config: "tracks: [{id: t, name: T, levels: [{name: A, checks: [nope]}]}]".into(),
            ..Settings::default()
        };
        let loaded = Loaded::from(&MemoryStore::default(), settings).unwrap();
        let error = loaded.config().unwrap_err();
        assert!(
            matches!(&error, greenroom_sdk::Error::Failed(m) if m.contains("unknown check `nope`")),
            "{error:?}"
        );
    }
}
