//! The `[auth.proxy]` and `[auth.oidc]` sections, and the sign-in they
//! configure.

use crate::config::Config;
use anyhow::{Context as _, bail};
use greenroom_access::{
    CALLBACK_PATH, DEFAULT_SESSION_LIFETIME, OidcSettings, OidcSignIn, ProxySignIn, Resolver,
    SessionKey, SignIn, SignInSettings, TrustedProxies, UnknownUsers,
};
use greenroom_catalog::CatalogStore;
use greenroom_store::Database;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The shortest session allowed: shorter, and people are sent back to the
/// identity provider while still reading a page.
const MIN_SESSION_LIFETIME: Duration = Duration::from_secs(60);

/// `[auth.proxy]`: sign-in by a trusted proxy's header.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProxyAuthConfig {
    /// The header naming the person, e.g. `X-Forwarded-Email`.
    pub header: String,
    /// The addresses (CIDRs or single addresses) the proxy connects from.
    pub trusted_proxies: Vec<String>,
    /// How the header's value is matched to a catalog User.
    #[serde(default = "default_resolvers")]
    pub resolvers: Vec<String>,
    /// Where the portal's sign-out sends people: the proxy's sign-out,
    /// e.g. `/oauth2/sign_out`.
    pub sign_out_url: Option<String>,
}

/// `[auth.oidc]`: sign-in with OpenID Connect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OidcAuthConfig {
    /// The issuer URL.
    pub issuer: String,
    /// The client id the provider gave the portal.
    pub client_id: String,
    /// The client secret (prefer `client-secret-env`, or the variable
    /// `GREENROOM_AUTH__OIDC__CLIENT_SECRET`).
    pub client_secret: Option<String>,
    /// The environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Where the provider sends people back [default: `public-url` +
    /// `/auth/oidc/callback`].
    pub redirect_url: Option<String>,
    /// Scopes to ask for.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// How the claims are matched to a catalog User.
    #[serde(default = "default_resolvers")]
    pub resolvers: Vec<String>,
}

/// `[auth] unknown-users`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnknownUsersSetting {
    /// Refuse a sign-in that matches no catalog User.
    #[default]
    Refuse,
    /// Let them in as `user:external/<login>`.
    Allow,
}

fn default_resolvers() -> Vec<String> {
    vec![
        Resolver::EmailMatchingUserEntityProfileEmail
            .name()
            .to_owned(),
    ]
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

fn resolvers(names: &[String], section: &str) -> anyhow::Result<Vec<Resolver>> {
    if names.is_empty() {
        bail!(
            "{section}.resolvers is empty: name at least one, e.g. emailMatchingUserEntityProfileEmail"
        );
    }
    names
        .iter()
        .map(|name| {
            name.parse()
                .map_err(|e: String| anyhow::anyhow!("{section}.resolvers: {e}"))
        })
        .collect()
}

impl ProxyAuthConfig {
    fn sign_in(&self) -> anyhow::Result<ProxySignIn> {
        let header = axum::http::HeaderName::try_from(self.header.as_str()).with_context(|| {
            format!("auth.proxy.header: `{}` is not a header name", self.header)
        })?;
        if self.trusted_proxies.is_empty() {
            bail!(
                "auth.proxy.trusted-proxies is empty: list the addresses your proxy connects from \
                 (e.g. [\"127.0.0.1/32\"]); nobody else's {} header is believed",
                self.header
            );
        }
        let trusted = TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("auth.proxy.trusted-proxies: {e}"))?;
        Ok(ProxySignIn {
            header,
            trusted,
            resolvers: resolvers(&self.resolvers, "auth.proxy")?,
            sign_out_url: self.sign_out_url.clone(),
        })
    }
}

impl OidcAuthConfig {
    fn sign_in(&self, public_url: Option<&str>, secret: Secret) -> anyhow::Result<OidcSignIn> {
        let client_secret = match (&self.client_secret, &self.client_secret_env) {
            (Some(secret), None) => secret.clone(),
            // Commands other than `serve` check the settings without the
            // secret, so that they run in a shell that does not have it.
            (None, Some(_)) if secret == Secret::Unread => "unread".to_owned(),
            (None, Some(variable)) => std::env::var(variable).with_context(|| {
                format!("auth.oidc.client-secret-env names {variable}, which is not set")
            })?,
            (None, None) => bail!("auth.oidc needs client-secret or client-secret-env"),
            (Some(_), Some(_)) => {
                bail!("auth.oidc: give client-secret or client-secret-env, not both")
            }
        };
        let redirect_url = match (&self.redirect_url, public_url) {
            (Some(url), _) => url.clone(),
            (None, Some(public)) => format!("{}{CALLBACK_PATH}", public.trim_end_matches('/')),
            (None, None) => bail!(
                "auth.oidc needs redirect-url (e.g. https://portal.example.com{CALLBACK_PATH}), \
                 or public-url to derive it from"
            ),
        };
        Ok(OidcSignIn::new(OidcSettings {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret,
            redirect_url,
            scopes: self.scopes.clone(),
            resolvers: resolvers(&self.resolvers, "auth.oidc")?,
        })?)
    }
}

/// Whether [`settings`] reads the client secret's environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// Read it (to serve).
    Read,
    /// Check everything else (loading the configuration for any command).
    Unread,
}

/// The sign-in methods and session settings the configuration describes,
/// checked (nothing is read from the network or the disk). `None` when no
/// method is configured.
pub fn settings(config: &Config, secret: Secret) -> anyhow::Result<Option<SignInSettings>> {
    let auth = &config.auth;
    let proxy = auth
        .proxy
        .as_ref()
        .map(ProxyAuthConfig::sign_in)
        .transpose()?;
    let oidc = auth
        .oidc
        .as_ref()
        .map(|oidc| oidc.sign_in(config.public_url.as_deref(), secret))
        .transpose()?;
    let session_lifetime = match &auth.session_lifetime {
        None => DEFAULT_SESSION_LIFETIME,
        Some(text) => humantime::parse_duration(text).with_context(|| {
            format!("auth.session-lifetime: `{text}` is not a duration; write e.g. `12h`")
        })?,
    };
    if session_lifetime < MIN_SESSION_LIFETIME {
        bail!("auth.session-lifetime must be at least 1m");
    }
    if proxy.is_none() && oidc.is_none() {
        return Ok(None);
    }
    Ok(Some(SignInSettings {
        proxy,
        oidc,
        unknown_users: match auth.unknown_users {
            UnknownUsersSetting::Refuse => UnknownUsers::Refuse,
            UnknownUsersSetting::Allow => UnknownUsers::Allow,
        },
        session_lifetime,
    }))
}

/// Whether cookies are marked `Secure`: the portal is reached over HTTPS
/// (`public-url`, or the OpenID Connect redirect URL, is `https:`).
pub fn secure_cookies(config: &Config) -> bool {
    let https = |url: &str| url.starts_with("https://");
    config.public_url.as_deref().is_some_and(https)
        || config
            .auth
            .oidc
            .as_ref()
            .and_then(|o| o.redirect_url.as_deref())
            .is_some_and(https)
}

/// The sign-in a server on `config` offers: sessions in `db`, signed with
/// the data directory's `session-key` (made at the first start), people
/// found in `catalog`.
pub fn sign_in(
    config: &Config,
    db: &Database,
    catalog: &CatalogStore,
) -> anyhow::Result<Option<Arc<SignIn>>> {
    let Some(settings) = settings(config, Secret::Read).context("invalid configuration")? else {
        return Ok(None);
    };
    let key = SessionKey::load_or_create(&config.data_dir.join("session-key"))?;
    Ok(Some(Arc::new(SignIn::new(
        db.clone(),
        catalog.clone(),
        key,
        settings,
    ))))
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use crate::config::{Config, Overrides, load};
    use std::path::Path;

    /// Loads `text` as the configuration file, with `OIDC_SECRET` set, and
    /// hands the result to `check` while the variable is still set.
    fn load_text<T>(text: &str, check: impl FnOnce(anyhow::Result<Config>) -> T) -> T {
        let mut check = Some(check);
        let mut outcome = None;
        figment::Jail::expect_with(|jail| {
            jail.create_file("greenroom.toml", text)?;
            jail.set_env("OIDC_SECRET", "from-the-environment");
            let loaded = load(Some(Path::new("greenroom.toml")), Overrides::default());
            let check = check.take().expect("the jail runs once");
            outcome = Some(check(loaded.map(|(config, _)| config)));
            Ok(())
        });
        outcome.expect("the jail ran")
    }

    #[test]
    fn reads_both_methods_and_derives_the_redirect_from_the_public_url() {
        load_text(
            r#"
            public-url = "https://portal.example.com/"
            [auth]
            unknown-users = "allow"
            session-lifetime = "8h"
            [auth.proxy]
            header = "X-Forwarded-Email"
            trusted-proxies = ["127.0.0.1/32", "10.0.0.0/8"]
            sign-out-url = "/oauth2/sign_out"
            [auth.oidc]
            issuer = "https://id.example.com"
            client-id = "greenroom"
            client-secret-env = "OIDC_SECRET"
            "#,
            |config| {
                let config = config.expect("valid");
                let settings = super::settings(&config, super::Secret::Read)
                    .expect("valid")
                    .expect("configured");
                assert!(settings.proxy.is_some() && settings.oidc.is_some());
                assert_eq!(
                    settings.session_lifetime,
                    std::time::Duration::from_secs(8 * 3600)
                );
                assert_eq!(
                    settings.unknown_users,
                    greenroom_access::UnknownUsers::Allow
                );
                assert!(super::secure_cookies(&config));
            },
        );
    }

    #[test]
    fn only_serving_needs_the_client_secrets_variable() {
        load_text(
            "[auth.oidc]\nissuer = \"https://id.example.com\"\nclient-id = \"g\"\n\
             client-secret-env = \"NOT_SET_ANYWHERE\"\n\
             redirect-url = \"https://p.example.com/auth/oidc/callback\"",
            |config| {
                let config = config.expect("other commands load it without the secret");
                let error =
                    super::settings(&config, super::Secret::Read).expect_err("serving needs it");
                assert!(error.to_string().contains("NOT_SET_ANYWHERE"), "{error}");
            },
        );
    }

    #[test]
    fn refuses_bad_sign_in_settings_naming_the_key() {
        let cases = [
            (
                "[auth.proxy]\nheader = \"X-Forwarded-Email\"\ntrusted-proxies = [\"10.0.0.0/33\"]",
                "auth.proxy.trusted-proxies",
            ),
            (
                "[auth.proxy]\nheader = \"X-Forwarded-Email\"\ntrusted-proxies = []",
                "trusted-proxies is empty",
            ),
            (
                "[auth.proxy]\nheader = \"X Forwarded\"\ntrusted-proxies = [\"127.0.0.1\"]",
                "auth.proxy.header",
            ),
            (
                "[auth.proxy]\nheader = \"X-User\"\ntrusted-proxies = [\"127.0.0.1\"]\nresolvers = [\"byMagic\"]",
                "auth.proxy.resolvers",
            ),
            (
                "[auth.oidc]\nissuer = \"https://id.example.com\"\nclient-id = \"g\"\nclient-secret = \"s\"",
                "redirect-url",
            ),
            (
                "[auth.oidc]\nissuer = \"https://id.example.com\"\nclient-id = \"g\"\nclient-secret = \"s\"\nredirect-url = \"https://p.example.com/callback\"",
                "/auth/oidc/callback",
            ),
            ("[auth]\nsession-lifetime = \"5s\"", "at least 1m"),
            ("[auth]\nunknown-users = \"maybe\"", "unknown-users"),
        ];
        for (text, expected) in cases {
            let error = load_text(text, |config| config.expect_err(text));
            assert!(format!("{error:#}").contains(expected), "{text}: {error:#}");
        }
    }
}
