//! The `[egress]` and `[[secrets]]` sections: how plugins' outbound
//! requests leave the host, and the credentials the host attaches to them.
//!
//! ```toml
//! [egress]
//! private-hosts = ["sonar.corp.example"]
//!
//! [[secrets]]
//! name = "github"
//! host = "api.github.com"
//! header = "Authorization"
//! value-env = "GITHUB_TOKEN"
//! plugins = ["ci-status"]
//! ```
//!
//! Secret values are read only when plugins are loaded (`serve`), so that
//! other commands run in a shell without them; their shape is checked with
//! the rest of the configuration. A value is never printed: not in errors,
//! not in `Debug`.

use crate::config::Config;
use anyhow::{Context as _, bail};
use greenroom_broker::{Credential, Egress};
use greenroom_contract::HttpOrigin;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// `[egress]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct EgressConfig {
    /// Host names that may resolve to loopback, private or link-local
    /// addresses (services on the internal network). A plugin still needs
    /// the grant for each; without this list such names are refused.
    pub private_hosts: Vec<String>,
}

/// `[[secrets]]`: a credential bound to one origin, for the plugins named.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecretConfig {
    /// What plugins ask for it by: `greenroom-credential: <name>`.
    pub name: String,
    /// The one origin it is sent to, as in grants: `api.github.com`,
    /// `sonar.example.com:9000`, `http://10.0.0.5:8080`.
    pub host: String,
    /// The header it sets [default: `Authorization`].
    #[serde(default = "default_header")]
    pub header: String,
    /// The header's value, written here (prefer `value-env` or
    /// `value-file`).
    pub value: Option<String>,
    /// The environment variable holding the value.
    pub value_env: Option<String>,
    /// A file holding the value (relative to the config file); one
    /// trailing line break is dropped.
    pub value_file: Option<PathBuf>,
    /// The plugin ids that may use it. Required: a credential is for
    /// the plugins named, not for every plugin granted its host.
    pub plugins: Vec<String>,
}

fn default_header() -> String {
    "Authorization".to_owned()
}

impl fmt::Debug for SecretConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("header", &self.header)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("value_env", &self.value_env)
            .field("value_file", &self.value_file)
            .field("plugins", &self.plugins)
            .finish()
    }
}

impl SecretConfig {
    fn value(&self) -> SecretValue<'_> {
        SecretValue {
            what: format!("secret `{}`", self.name),
            value: self.value.as_ref(),
            value_env: self.value_env.as_ref(),
            value_file: self.value_file.as_ref(),
        }
    }

    /// The credential, its value read.
    fn credential(&self, base: &Path) -> anyhow::Result<Credential> {
        let value = self.value().read(base)?;
        Ok(Credential::new(
            &self.name,
            &self.host,
            &self.header,
            &value,
        )?)
    }

    /// Checks everything but the value, which is not read.
    fn check(&self) -> anyhow::Result<()> {
        self.value().source()?;
        // A placeholder value: the name, host and header are checked alike.
        Credential::new(&self.name, &self.host, &self.header, "unread")?;
        if self.plugins.is_empty() {
            bail!(
                "secret `{}` names no plugins: list the plugin ids that may use it in `plugins`",
                self.name
            );
        }
        Ok(())
    }
}

enum ValueSource<'a> {
    Inline(&'a String),
    Env(&'a String),
    File(&'a PathBuf),
}

/// A value given inline, by environment variable or by file: exactly one.
pub struct SecretValue<'a> {
    /// What it is, for errors: ``secret `github` ``.
    pub what: String,
    pub value: Option<&'a String>,
    pub value_env: Option<&'a String>,
    pub value_file: Option<&'a PathBuf>,
}

impl SecretValue<'_> {
    fn source(&self) -> anyhow::Result<ValueSource<'_>> {
        Ok(match (self.value, self.value_env, self.value_file) {
            (Some(value), None, None) => ValueSource::Inline(value),
            (None, Some(variable), None) => ValueSource::Env(variable),
            (None, None, Some(file)) => ValueSource::File(file),
            _ => bail!(
                "{} needs exactly one of `value`, `value-env` or `value-file`",
                self.what
            ),
        })
    }

    /// Checks that exactly one source is given, without reading it.
    pub fn check(&self) -> anyhow::Result<()> {
        self.source().map(|_| ())
    }

    /// Reads the value (a file relative to `base`; one trailing line break
    /// dropped).
    pub fn read(&self, base: &Path) -> anyhow::Result<String> {
        Ok(match self.source()? {
            ValueSource::Inline(value) => value.clone(),
            ValueSource::Env(variable) => std::env::var(variable).with_context(|| {
                format!(
                    "{}: value-env names {variable}, which is not set",
                    self.what
                )
            })?,
            ValueSource::File(file) => {
                let path = base.join(file);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("{}: cannot read {}", self.what, path.display()))?;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                text.strip_suffix('\r').unwrap_or(text).to_owned()
            }
        })
    }
}

/// `[[api-tokens]]`: a token a service presents to call the JSON APIs of
/// the plugins named (`Authorization: Bearer <token>`).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApiTokenConfig {
    /// The service's name; plugins see `greenroom-caller: service:<name>`.
    pub name: String,
    /// The token, written here (prefer `value-env` or `value-file`).
    pub value: Option<String>,
    /// The environment variable holding it.
    pub value_env: Option<String>,
    /// A file holding it (relative to the config file).
    pub value_file: Option<PathBuf>,
    /// The plugin ids whose APIs it may call.
    pub plugins: Vec<String>,
}

impl fmt::Debug for ApiTokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTokenConfig")
            .field("name", &self.name)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("value_env", &self.value_env)
            .field("value_file", &self.value_file)
            .field("plugins", &self.plugins)
            .finish()
    }
}

/// The shortest token accepted: guessing one must be hopeless.
const MIN_TOKEN_CHARS: usize = 24;

impl ApiTokenConfig {
    fn value(&self) -> SecretValue<'_> {
        SecretValue {
            what: format!("api token `{}`", self.name),
            value: self.value.as_ref(),
            value_env: self.value_env.as_ref(),
            value_file: self.value_file.as_ref(),
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        self.value().check()?;
        if self.plugins.is_empty() {
            bail!(
                "api token `{}` names no plugins: list the plugin ids whose APIs it may call",
                self.name
            );
        }
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            bail!(
                "api token name `{}`: use letters, digits, `-`, `_` and `.`",
                self.name
            );
        }
        Ok(())
    }

    /// The token, its value read and checked.
    pub fn token(&self, base: &Path) -> anyhow::Result<greenroom_portal::ApiToken> {
        let value = self.value().read(base)?;
        if value.trim().chars().count() < MIN_TOKEN_CHARS {
            bail!(
                "api token `{}` is shorter than {MIN_TOKEN_CHARS} characters; generate one with \
                 `openssl rand -hex 32`",
                self.name
            );
        }
        Ok(greenroom_portal::ApiToken::new(
            &self.name,
            self.plugins.clone(),
            value.trim(),
        ))
    }
}

/// Checks `[egress]`, `[[secrets]]` and `[[api-tokens]]` without reading
/// secret values.
pub fn check(config: &Config) -> anyhow::Result<()> {
    for (i, token) in config.api_tokens.iter().enumerate() {
        token.check().with_context(|| format!("api-tokens[{i}]"))?;
        if config.api_tokens[..i].iter().any(|t| t.name == token.name) {
            bail!(
                "api-tokens[{i}]: there are two tokens named `{}`",
                token.name
            );
        }
    }
    for (i, host) in config.egress.private_hosts.iter().enumerate() {
        let origin =
            HttpOrigin::parse(host).with_context(|| format!("egress.private-hosts[{i}]"))?;
        if origin.ip().is_some() || origin.to_string() != origin.host() {
            bail!(
                "egress.private-hosts[{i}]: `{host}` is not a host name; list names such as \
                 `sonar.corp.example` (an address is allowed by granting it)"
            );
        }
    }
    for (i, secret) in config.secrets.iter().enumerate() {
        secret.check().with_context(|| format!("secrets[{i}]"))?;
        if config.secrets[..i].iter().any(|s| s.name == secret.name) {
            bail!(
                "secrets[{i}]: there are two secrets named `{}`",
                secret.name
            );
        }
    }
    Ok(())
}

/// The configured credentials (values read) and private hosts, from
/// which each plugin's [`Egress`] is cut.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    private_hosts: Vec<String>,
    credentials: Vec<(Credential, Vec<String>)>,
    /// The catalog rules, so that plugins' identity and RBAC-tester reads
    /// count the same Users and Groups as sign-in.
    catalog_rules: greenroom_catalog::CatalogRules,
}

impl Outbound {
    /// Reads every secret's value.
    pub fn read(config: &Config, base: &Path) -> anyhow::Result<Outbound> {
        let credentials = config
            .secrets
            .iter()
            .map(|secret| Ok((secret.credential(base)?, secret.plugins.clone())))
            .collect::<anyhow::Result<_>>()
            .context("invalid configuration")?;
        Ok(Outbound {
            private_hosts: config.egress.private_hosts.clone(),
            credentials,
            catalog_rules: crate::catalog::rules(&config.catalog, base)?,
        })
    }

    /// What plugin `id` gets: the private hosts, and the credentials that
    /// name it.
    pub fn for_plugin(&self, id: &str) -> Egress {
        let credentials = self
            .credentials
            .iter()
            .filter(|(_, plugins)| plugins.iter().any(|p| p == id))
            .map(|(credential, _)| credential.clone())
            .collect();
        Egress::new(self.private_hosts.iter().cloned(), credentials)
    }

    /// The catalog rules plugins' catalog reads follow.
    pub fn catalog_rules(&self) -> &greenroom_catalog::CatalogRules {
        &self.catalog_rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(toml: &str) -> SecretConfig {
        toml::from_str(toml).expect("a [[secrets]] entry")
    }

    #[test]
    fn reads_the_value_from_the_environment_or_a_file_and_never_shows_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("token"), "Bearer from-a-file\n").expect("written");
        let from_file = secret(
            "name = \"github\"\nhost = \"api.github.com\"\nvalue-file = \"token\"\nplugins = [\"ci\"]",
        );
        let credential = from_file.credential(dir.path()).expect("readable");
        assert_eq!(credential.header().as_str(), "authorization");
        assert!(!format!("{credential:?}").contains("from-a-file"));
        let inline = secret(
            "name = \"github\"\nhost = \"api.github.com\"\nvalue = \"Bearer inline-secret\"\nplugins = [\"ci\"]",
        );
        assert!(!format!("{inline:?}").contains("inline-secret"));
        let missing = secret(
            "name = \"github\"\nhost = \"api.github.com\"\nvalue-env = \"GREENROOM_TEST_UNSET_TOKEN\"\nplugins = [\"ci\"]",
        );
        let err = missing.credential(dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("GREENROOM_TEST_UNSET_TOKEN"),
            "{err:#}"
        );
    }

    #[test]
    fn refuses_two_sources_no_plugins_and_bad_hosts_without_reading_values() {
        for (toml, expected) in [
            (
                "name = \"a\"\nhost = \"x.example\"\nvalue = \"v\"\nvalue-env = \"V\"\nplugins = [\"p\"]",
                "exactly one of",
            ),
            (
                "name = \"a\"\nhost = \"x.example\"\nvalue-env = \"V\"\nplugins = []",
                "names no plugins",
            ),
            (
                "name = \"a\"\nhost = \"https://x.example/api\"\nvalue-env = \"V\"\nplugins = [\"p\"]",
                "is not a host",
            ),
        ] {
            let err = secret(toml).check().unwrap_err();
            assert!(format!("{err:#}").contains(expected), "{toml}: {err:#}");
        }
    }

    #[test]
    fn a_plugin_gets_only_the_credentials_that_name_it() {
        let credential = |name: &str| {
            Credential::new(name, "api.github.com", "authorization", "token").expect("valid")
        };
        let outbound = Outbound {
            private_hosts: vec!["sonar.corp.example".into()],
            credentials: vec![
                (credential("github"), vec!["ci".into()]),
                (credential("other"), vec!["scorecards".into()]),
            ],
            catalog_rules: Default::default(),
        };
        let egress = format!("{:?}", outbound.for_plugin("ci"));
        assert!(
            egress.contains("github") && !egress.contains("other"),
            "{egress}"
        );
    }
}
