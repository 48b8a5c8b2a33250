//! The operator's configuration: a TOML file, overridden by `GREENROOM_*`
//! environment variables, overridden by command-line flags.

use anyhow::{Context as _, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use greenroom_runtime::Limits;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The address the portal listens on by default: loopback only, so a
/// first run never exposes a portal with guest access to the network.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7007";

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Where the portal listens.
    pub listen: SocketAddr,
    /// The data directory: database, compiled-component cache.
    pub data_dir: PathBuf,
    /// The address people reach the portal at
    /// (`https://portal.example.com`): cookies are marked `Secure` when it
    /// is `https:`, and the OpenID Connect redirect URL derives from it.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Who may sign in.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Default limits for every plugin call.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Engine settings.
    #[serde(default)]
    pub runtime: RuntimeSettings,
    /// The software catalog: where entities come from.
    #[serde(default)]
    pub catalog: CatalogSettings,
    /// Marketplace indexes: whom to trust.
    #[serde(default)]
    pub marketplace: MarketplaceSettings,
    /// How plugins' outbound requests leave the host.
    #[serde(default)]
    pub egress: crate::egress::EgressConfig,
    /// Credentials the host attaches to plugins' requests.
    #[serde(default)]
    pub secrets: Vec<crate::egress::SecretConfig>,
    /// Tokens services present to call plugins' JSON APIs.
    #[serde(default)]
    pub api_tokens: Vec<crate::egress::ApiTokenConfig>,
    /// The plugins to load, in order.
    #[serde(default)]
    pub plugins: Vec<PluginConfig>,
}

/// The catalog's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct CatalogSettings {
    /// Time between refreshes of every location (`"60s"`, `"5m"`).
    pub refresh_interval: String,
    /// What happens to an entity its source no longer has: `keep` (marked
    /// `backstage.io/orphan`) or `delete`.
    pub orphans: greenroom_catalog::OrphanStrategy,
    /// Locations registered at start (in addition to those registered
    /// through the API or `greenroom catalog import`).
    pub locations: Vec<CatalogLocation>,
    /// Which kinds locations may provide (Backstage's `catalog.rules`);
    /// unset, only Component, API and Location.
    pub rules: Option<Vec<crate::catalog::RuleConfig>>,
    /// Hosts whose URLs catalog files may read (Backstage's
    /// `backend.reading.allow`); none by default.
    pub reading_allow: Vec<crate::catalog::ReadingAllowConfig>,
    /// Timeout of one URL read (`"10s"`).
    pub reading_timeout: Option<String>,
    /// Time all URL reads of one location may take per refresh (`"60s"`).
    pub location_budget: Option<String>,
    /// Whether Users and Groups that plugins write count for sign-in and
    /// membership (off: they are shown, but confer no roles).
    pub plugin_people_confer_roles: bool,
}

impl Default for CatalogSettings {
    fn default() -> CatalogSettings {
        CatalogSettings {
            refresh_interval: "60s".into(),
            orphans: greenroom_catalog::OrphanStrategy::Keep,
            locations: Vec::new(),
            rules: None,
            reading_allow: Vec::new(),
            reading_timeout: None,
            location_budget: None,
            plugin_people_confer_roles: false,
        }
    }
}

impl CatalogSettings {
    /// The catalog's configuration: configured file targets resolved
    /// against `base`, names in `private_hosts` allowed to resolve to
    /// private addresses.
    pub fn catalog_config(
        &self,
        base: &Path,
        private_hosts: &[String],
    ) -> anyhow::Result<greenroom_catalog::CatalogConfig> {
        let refresh_interval =
            humantime::parse_duration(&self.refresh_interval).with_context(|| {
                format!(
                    "catalog.refresh-interval: `{}` is not a duration; write e.g. `60s` or `5m`",
                    self.refresh_interval
                )
            })?;
        if refresh_interval < Duration::from_secs(1) {
            bail!("catalog.refresh-interval must be at least 1s");
        }
        Ok(greenroom_catalog::CatalogConfig {
            refresh_interval,
            orphans: self.orphans,
            rules: crate::catalog::rules(self, base)?,
            urls: crate::catalog::url_reading(self, private_hosts)?,
        })
    }
}

/// Marketplace settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct MarketplaceSettings {
    /// Publishers whose signatures this host accepts.
    pub trusted_publishers: Vec<TrustedPublisher>,
    /// The indexes plugins are installed from, in order: files, `https:`
    /// URLs, or `builtin` (the first-party index compiled into the binary).
    pub indexes: Vec<String>,
    /// Days a premium plugin keeps running once its licence's seats are
    /// exceeded [default: 30].
    pub licence_grace_days: Option<u32>,
}

/// A publisher and its public key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrustedPublisher {
    /// The name index entries give as `publisher`.
    pub name: String,
    /// Its key, `ed25519:<base64>` (printed by `greenroom keys generate`).
    pub key: String,
}

impl MarketplaceSettings {
    /// The trusted publishers, keys parsed.
    pub fn trusted(&self) -> anyhow::Result<greenroom_marketplace::TrustedPublishers> {
        let mut trusted = greenroom_marketplace::TrustedPublishers::default();
        for (i, publisher) in self.trusted_publishers.iter().enumerate() {
            let key =
                greenroom_marketplace::PublicKey::parse(&publisher.key).with_context(|| {
                    format!("marketplace.trusted-publishers[{i}] (`{}`)", publisher.name)
                })?;
            trusted.trust(&publisher.name, key);
        }
        Ok(trusted)
    }
}

/// One catalog location in the config.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CatalogLocation {
    /// `file` (a path or glob, relative to the config file) or `url`.
    #[serde(rename = "type")]
    pub kind: greenroom_catalog::LocationType,
    /// The path, glob or URL.
    pub target: String,
    /// The kinds it may provide (on top of `[catalog] rules`); without
    /// them, a configured location may provide every kind.
    #[serde(default)]
    pub rules: Option<Vec<crate::catalog::LocationRuleConfig>>,
}

impl CatalogLocation {
    /// The target as registered: file paths resolved against `base`.
    pub fn resolved_target(&self, base: &Path) -> String {
        match self.kind {
            greenroom_catalog::LocationType::File => {
                base.join(&self.target).to_string_lossy().into_owned()
            }
            _ => self.target.clone(),
        }
    }
}

/// Sign-in settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthConfig {
    /// Let everyone in as the demo guest. Local use only.
    #[serde(default)]
    pub guest: bool,
    /// Users who may administer the portal (install plugins, manage
    /// licences), as catalog entity references: `user:default/jane.doe`.
    #[serde(default)]
    pub admins: Vec<String>,
    /// What happens to a sign-in that matches no catalog User.
    #[serde(default)]
    pub unknown_users: crate::auth::UnknownUsersSetting,
    /// How long a session lasts (`"12h"`).
    #[serde(default)]
    pub session_lifetime: Option<String>,
    /// Sign-in by a trusted proxy's header.
    #[serde(default)]
    pub proxy: Option<crate::auth::ProxyAuthConfig>,
    /// Sign-in with OpenID Connect.
    #[serde(default)]
    pub oidc: Option<crate::auth::OidcAuthConfig>,
}

/// Limits, as written in the config (`"64 MiB"`, `"2s"`); every field is
/// optional and falls back to the built-in default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsConfig {
    /// Linear memory per instance.
    pub memory: Option<String>,
    /// Deadline for `render`.
    pub render_deadline: Option<String>,
    /// Deadline for `action` and `handle`.
    pub request_deadline: Option<String>,
    /// Deadline for `run-task`.
    pub task_deadline: Option<String>,
    /// Outbound HTTP requests per call.
    pub http_requests: Option<u32>,
    /// Body bytes per outbound response (`"10 MiB"`).
    pub http_response_size: Option<String>,
    /// Time per outbound request, to the last byte (`"10s"`).
    pub http_timeout: Option<String>,
    /// Nodes per view, at most the contract's 5000.
    pub view_nodes: Option<usize>,
    /// Bytes of text per view (`"256 KiB"`), at most the contract's 2 MiB.
    pub view_size: Option<String>,
}

impl LimitsConfig {
    /// These limits, each one left unset taken from `fallback`.
    pub fn or(self, fallback: &LimitsConfig) -> LimitsConfig {
        let LimitsConfig {
            memory,
            render_deadline,
            request_deadline,
            task_deadline,
            http_requests,
            http_response_size,
            http_timeout,
            view_nodes,
            view_size,
        } = self;
        LimitsConfig {
            memory: memory.or_else(|| fallback.memory.clone()),
            render_deadline: render_deadline.or_else(|| fallback.render_deadline.clone()),
            request_deadline: request_deadline.or_else(|| fallback.request_deadline.clone()),
            task_deadline: task_deadline.or_else(|| fallback.task_deadline.clone()),
            http_requests: http_requests.or(fallback.http_requests),
            http_response_size: http_response_size.or_else(|| fallback.http_response_size.clone()),
            http_timeout: http_timeout.or_else(|| fallback.http_timeout.clone()),
            view_nodes: view_nodes.or(fallback.view_nodes),
            view_size: view_size.or_else(|| fallback.view_size.clone()),
        }
    }
}

/// Engine settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuntimeSettings {
    /// The most plugin instances alive at once.
    pub max_instances: u32,
    /// The most instances one plugin may hold at once; half of
    /// `max-instances` when unset.
    pub max_instances_per_plugin: Option<u32>,
    /// The most instances scheduled tasks may hold at once, across
    /// plugins; half of `max-instances` when unset.
    pub max_task_instances: Option<u32>,
    /// Where compiled components are cached; `<data-dir>/cache/components`
    /// when unset. Several hosts may share one (entries are keyed by the
    /// artifact's digest and the engine, and written atomically).
    pub cache_dir: Option<PathBuf>,
}

impl Default for RuntimeSettings {
    fn default() -> RuntimeSettings {
        RuntimeSettings {
            max_instances: greenroom_runtime::RuntimeConfig::default().max_instances,
            max_instances_per_plugin: None,
            max_task_instances: None,
            cache_dir: None,
        }
    }
}

/// One plugin to load.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PluginConfig {
    /// A plugin compiled into this binary, by crate name (e.g. `hello`).
    pub bundled: Option<String>,
    /// A component file, relative to the config file.
    pub path: Option<PathBuf>,
    /// What the operator grants it (see `docs/operator-guide.md`); nothing
    /// when left out.
    #[serde(default)]
    pub grant: Vec<String>,
    /// Its settings, checked against its manifest's schema.
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Limits for this plugin, over the defaults.
    #[serde(default)]
    pub limits: LimitsConfig,
}

pub use greenroom_lifecycle::PluginSource;

impl PluginConfig {
    /// Where to read it from; exactly one of `bundled` and `path`.
    pub fn source(&self, base: &Path) -> anyhow::Result<PluginSource> {
        match (&self.bundled, &self.path) {
            (Some(name), None) => Ok(PluginSource::Bundled(name.clone())),
            (None, Some(path)) => Ok(PluginSource::File(base.join(path))),
            _ => bail!(
                "each [[plugins]] entry needs exactly one of `bundled = \"<name>\"` or `path = \"<file.wasm>\"`"
            ),
        }
    }
}

impl LimitsConfig {
    /// These limits over `base`.
    pub fn apply(&self, base: Limits) -> anyhow::Result<Limits> {
        let duration =
            |field: &str, value: &Option<String>, default: Duration| -> anyhow::Result<Duration> {
                match value {
                    None => Ok(default),
                    Some(text) => humantime::parse_duration(text).with_context(|| {
                        format!(
                            "limits.{field}: `{text}` is not a duration; write e.g. `2s` or `500ms`"
                        )
                    }),
                }
            };
        let size = |field: &str, value: &Option<String>| -> anyhow::Result<Option<u64>> {
            let Some(text) = value else { return Ok(None) };
            let size: bytesize::ByteSize = text.parse().map_err(|e| {
                anyhow::anyhow!("limits.{field}: `{text}` is not a size ({e}); write e.g. `64 MiB`")
            })?;
            Ok(Some(size.as_u64()))
        };
        let memory = match size("memory", &self.memory)? {
            None => base.memory,
            Some(bytes) => usize::try_from(bytes).context("limits.memory is too large")?,
        };
        let http = greenroom_runtime::HttpLimits {
            requests: self.http_requests.unwrap_or(base.http.requests),
            response_bytes: size("http-response-size", &self.http_response_size)?
                .unwrap_or(base.http.response_bytes),
            timeout: duration("http-timeout", &self.http_timeout, base.http.timeout)?,
        };
        let view = greenroom_runtime::ViewLimits {
            nodes: at_most(
                "view-nodes",
                self.view_nodes.unwrap_or(base.view.nodes),
                greenroom_contract::view::MAX_VIEW_NODES,
            )?,
            text_bytes: at_most(
                "view-size",
                match size("view-size", &self.view_size)? {
                    Some(bytes) => usize::try_from(bytes).unwrap_or(usize::MAX),
                    None => base.view.text_bytes,
                },
                greenroom_contract::view::MAX_VIEW_TEXT_BYTES,
            )?,
        };
        Ok(Limits {
            memory,
            render_deadline: duration(
                "render-deadline",
                &self.render_deadline,
                base.render_deadline,
            )?,
            request_deadline: duration(
                "request-deadline",
                &self.request_deadline,
                base.request_deadline,
            )?,
            task_deadline: duration("task-deadline", &self.task_deadline, base.task_deadline)?,
            http,
            view,
        })
    }
}

/// `value`, unless it is over `most`: a view limit may lower the
/// contract's maximum (a widget needs less), never raise it (the portal
/// draws every plugin's view within it).
fn at_most(field: &str, value: usize, most: usize) -> anyhow::Result<usize> {
    if value > most {
        bail!("limits.{field}: {value} is over the contract's maximum, {most}; choose less");
    }
    Ok(value)
}

/// Values set on the command line, which win over the file and the
/// environment.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Defaults {
    listen: &'static str,
    data_dir: &'static str,
}

/// Loads the configuration: built-in defaults, then `file` (if any), then
/// `GREENROOM_*` variables (`GREENROOM_LISTEN`, `GREENROOM_DATA_DIR`,
/// `GREENROOM_AUTH__GUEST`, `GREENROOM_LIMITS__RENDER_DEADLINE`, …: `__`
/// nests, `_` stands for `-`), then `overrides`. Returns it with the folder
/// relative plugin paths are resolved against.
pub fn load(file: Option<&Path>, overrides: Overrides) -> anyhow::Result<(Config, PathBuf)> {
    let mut figment = Figment::from(Serialized::defaults(Defaults {
        listen: DEFAULT_LISTEN,
        data_dir: "greenroom-data",
    }));
    let base = match file {
        Some(path) => {
            if !path.is_file() {
                bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file_exact(path));
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        }
        None => PathBuf::from("."),
    };
    let env = Env::prefixed("GREENROOM_")
        .ignore(&["log", "config"])
        .map(|key| key.as_str().replace("__", ".").replace('_', "-").into());
    figment = figment.merge(env).merge(Serialized::defaults(overrides));
    let config: Config = figment.extract().map_err(|error| {
        let mut message = String::from("invalid configuration:");
        for e in error {
            message.push_str(&format!("\n  {e}"));
        }
        anyhow::anyhow!(message)
    })?;
    config.validate()?;
    Ok((config, base))
}

impl Config {
    /// Checks what serde cannot: limits parse, counts are positive. Runs
    /// before anything is created on disk.
    fn validate(&self) -> anyhow::Result<()> {
        if self.runtime.max_instances == 0 {
            bail!("invalid configuration: runtime.max-instances must be at least 1");
        }
        for (key, share) in [
            (
                "max-instances-per-plugin",
                self.runtime.max_instances_per_plugin,
            ),
            ("max-task-instances", self.runtime.max_task_instances),
        ] {
            if let Some(share) = share
                && !(1..=self.runtime.max_instances).contains(&share)
            {
                bail!(
                    "invalid configuration: runtime.{key} is {share}; it must be between 1 and \
                     runtime.max-instances ({})",
                    self.runtime.max_instances
                );
            }
        }
        self.catalog
            .catalog_config(Path::new(""), &self.egress.private_hosts)
            .context("invalid configuration")?;
        crate::auth::settings(self, crate::auth::Secret::Unread)
            .context("invalid configuration")?;
        crate::egress::check(self).context("invalid configuration")?;
        let defaults = self
            .limits
            .apply(Limits::default())
            .context("invalid configuration")?;
        for (i, plugin) in self.plugins.iter().enumerate() {
            plugin
                .limits
                .apply(defaults)
                .with_context(|| format!("invalid configuration: plugins[{i}]"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_file_and_lets_the_environment_override_it() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "greenroom.toml",
                r#"
                listen = "127.0.0.1:9000"
                [limits]
                memory = "16 MiB"
                [[plugins]]
                bundled = "hello"
                grant = ["storage"]
                settings = { greeting = "Hi" }
                "#,
            )?;
            jail.set_env("GREENROOM_DATA_DIR", "/var/lib/greenroom");
            jail.set_env("GREENROOM_LIMITS__RENDER_DEADLINE", "750ms");
            jail.set_env("GREENROOM_AUTH__GUEST", "true");
            let (config, _) = load(Some(Path::new("greenroom.toml")), Overrides::default())
                .expect("valid config");
            assert_eq!(config.listen, "127.0.0.1:9000".parse().expect("addr"));
            assert_eq!(config.data_dir, PathBuf::from("/var/lib/greenroom"));
            assert!(config.auth.guest);
            let limits = config
                .limits
                .apply(Limits::default())
                .expect("valid limits");
            assert_eq!(limits.memory, 16 << 20);
            assert_eq!(limits.render_deadline, Duration::from_millis(750));
            assert_eq!(
                config.plugins[0].source(Path::new(".")).expect("source"),
                PluginSource::Bundled("hello".into())
            );
            Ok(())
        });
    }

    #[test]
    fn one_runtime_setting_from_the_environment_keeps_the_others_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GREENROOM_RUNTIME__CACHE_DIR", "/var/cache/greenroom");
            let (config, _) = load(None, Overrides::default()).expect("valid config");
            assert_eq!(
                config.runtime.cache_dir,
                Some(PathBuf::from("/var/cache/greenroom"))
            );
            assert_eq!(
                config.runtime.max_instances,
                RuntimeSettings::default().max_instances
            );
            Ok(())
        });
    }

    #[test]
    fn flags_win_over_file_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("greenroom.toml", "listen = \"127.0.0.1:9000\"")?;
            jail.set_env("GREENROOM_LISTEN", "127.0.0.1:9001");
            let overrides = Overrides {
                listen: Some("127.0.0.1:9002".parse().expect("addr")),
                data_dir: None,
            };
            let (config, _) =
                load(Some(Path::new("greenroom.toml")), overrides).expect("valid config");
            assert_eq!(config.listen.port(), 9002);
            Ok(())
        });
    }

    #[test]
    fn names_the_unknown_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("greenroom.toml", "lisen = \"127.0.0.1:9000\"")?;
            let err = load(Some(Path::new("greenroom.toml")), Overrides::default()).unwrap_err();
            assert!(err.to_string().contains("lisen"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_plugin_entry_needs_exactly_one_source() {
        let both = PluginConfig {
            bundled: Some("hello".into()),
            path: Some("x.wasm".into()),
            ..PluginConfig::default()
        };
        assert!(both.source(Path::new(".")).is_err());
        assert!(PluginConfig::default().source(Path::new(".")).is_err());
    }

    #[test]
    fn ignores_the_config_file_variable_itself() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("greenroom.toml", "listen = \"127.0.0.1:9000\"")?;
            jail.set_env("GREENROOM_CONFIG", "greenroom.toml");
            let (config, _) = load(Some(Path::new("greenroom.toml")), Overrides::default())
                .expect("valid config");
            assert_eq!(config.listen.port(), 9000);
            Ok(())
        });
    }

    #[test]
    fn refuses_zero_instances_and_bad_plugin_limits_up_front() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("zero.toml", "[runtime]\nmax-instances = 0")?;
            let err = load(Some(Path::new("zero.toml")), Overrides::default()).unwrap_err();
            assert!(
                err.to_string().contains("max-instances must be at least 1"),
                "{err}"
            );
            jail.create_file(
                "limits.toml",
                "[[plugins]]\nbundled = \"hello\"\nlimits = { memory = \"lots\" }",
            )?;
            let err = load(Some(Path::new("limits.toml")), Overrides::default()).unwrap_err();
            assert!(
                format!("{err:#}").contains("plugins[0]")
                    && format!("{err:#}").contains("limits.memory"),
                "{err:#}"
            );
            Ok(())
        });
    }

    #[test]
    fn reads_instance_shares_and_refuses_shares_larger_than_the_pool() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "shares.toml",
                "[runtime]\nmax-instances = 8\nmax-instances-per-plugin = 2\nmax-task-instances = 3",
            )?;
            let (config, _) =
                load(Some(Path::new("shares.toml")), Overrides::default()).expect("valid config");
            assert_eq!(config.runtime.max_instances_per_plugin, Some(2));
            assert_eq!(config.runtime.max_task_instances, Some(3));
            jail.create_file(
                "too_many.toml",
                "[runtime]\nmax-instances = 8\nmax-task-instances = 9",
            )?;
            let err = load(Some(Path::new("too_many.toml")), Overrides::default()).unwrap_err();
            assert!(
                err.to_string()
                    .contains("runtime.max-task-instances is 9; it must be between 1 and runtime.max-instances (8)"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn reads_outbound_http_limits_private_hosts_and_secrets() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "greenroom.toml",
                r#"
                [limits]
                http-requests = 5
                http-response-size = "1 MiB"
                http-timeout = "3s"
                [egress]
                private-hosts = ["sonar.corp.example"]
                [[secrets]]
                name = "github"
                host = "api.github.com"
                value-env = "GREENROOM_TEST_GITHUB_TOKEN"
                plugins = ["ci"]
                [[plugins]]
                bundled = "hello"
                limits = { http-requests = 7 }
                "#,
            )?;
            let (config, _) = load(Some(Path::new("greenroom.toml")), Overrides::default())
                .expect("valid config, the secret's value not read yet");
            let defaults = config.limits.apply(Limits::default()).expect("valid");
            assert_eq!(
                (
                    defaults.http.requests,
                    defaults.http.response_bytes,
                    defaults.http.timeout
                ),
                (5, 1 << 20, Duration::from_secs(3))
            );
            let hello = config.plugins[0].limits.apply(defaults).expect("valid");
            assert_eq!(
                (hello.http.requests, hello.http.timeout),
                (7, Duration::from_secs(3))
            );
            assert_eq!(config.egress.private_hosts, ["sonar.corp.example"]);
            let views = LimitsConfig {
                view_nodes: Some(100),
                view_size: Some("64 KiB".into()),
                ..LimitsConfig::default()
            };
            let lowered = views.apply(defaults).expect("lower is fine");
            assert_eq!(
                (lowered.view.nodes, lowered.view.text_bytes),
                (100, 64 << 10)
            );
            let raised = LimitsConfig {
                view_nodes: Some(50_000),
                ..LimitsConfig::default()
            };
            let err = raised.apply(defaults).unwrap_err();
            assert!(err.to_string().contains("limits.view-nodes"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn refuses_a_secret_without_plugins_or_a_private_host_that_is_an_address() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "secret.toml",
                "[[secrets]]\nname = \"github\"\nhost = \"api.github.com\"\nvalue = \"Bearer x\"\nplugins = []",
            )?;
            let err = load(Some(Path::new("secret.toml")), Overrides::default()).unwrap_err();
            assert!(
                format!("{err:#}").contains("secrets[0]")
                    && format!("{err:#}").contains("names no plugins"),
                "{err:#}"
            );
            assert!(!format!("{err:#}").contains("Bearer x"), "{err:#}");
            jail.create_file("private.toml", "[egress]\nprivate-hosts = [\"10.0.0.5\"]")?;
            let err = load(Some(Path::new("private.toml")), Overrides::default()).unwrap_err();
            assert!(
                format!("{err:#}").contains("egress.private-hosts[0]"),
                "{err:#}"
            );
            Ok(())
        });
    }

    #[test]
    fn names_the_bad_limit() {
        let limits = LimitsConfig {
            render_deadline: Some("soon".into()),
            ..LimitsConfig::default()
        };
        let err = limits.apply(Limits::default()).unwrap_err();
        assert!(err.to_string().contains("limits.render-deadline"), "{err}");
    }
}
