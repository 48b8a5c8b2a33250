//! Sign-in with OpenID Connect: the authorization code flow with PKCE,
//! `state` and `nonce`, through the `openidconnect` crate.
//!
//! The portal is a confidential client. [`OidcSignIn::begin`] discovers the
//! provider (`/.well-known/openid-configuration`, cached, re-read hourly so
//! rotated signing keys are picked up) and returns the URL to send the
//! browser to, with what the browser must bring back ([`PendingSignIn`],
//! sealed into a short-lived cookie by the caller). [`OidcSignIn::finish`]
//! checks `state`, exchanges the code with the PKCE verifier, and verifies
//! the ID token: signature against the provider's keys, issuer, audience,
//! expiry and nonce. Claims the ID token leaves out (providers may keep
//! e-mail for the user-info endpoint) are read from user info, whose
//! subject must be the ID token's.

use crate::directory::{Claims, Resolver};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use url::Url;

/// How long discovered provider metadata (endpoints and signing keys) is
/// used before being read again. Providers rotate keys with overlap of
/// days; an hour picks up a new key long before the old one goes, and a
/// token signed with a key not yet seen triggers a fresh read at once.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// Deadline of each request to the provider. Someone is waiting on a
/// redirect: past this, an error page says the provider did not answer.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The path of the callback route; the configured redirect URL must end
/// with it.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// The client as discovery builds it: authorization endpoint set, token and
/// user-info endpoints as the provider declares them.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How the portal is registered with the provider.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The issuer, e.g. `https://accounts.example.com`.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// Where the provider sends the browser back:
    /// `https://portal.example.com/auth/oidc/callback`.
    pub redirect_url: String,
    /// Scopes to ask for besides `openid`.
    pub scopes: Vec<String>,
    /// How the claims are matched to a catalog User.
    pub resolvers: Vec<Resolver>,
}

/// What went wrong signing in.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The settings are unusable.
    #[error("[auth.oidc] {0}")]
    Settings(String),
    /// The provider could not be discovered.
    #[error("cannot read the identity provider's configuration from {issuer}: {reason}")]
    Discovery {
        /// The issuer.
        issuer: String,
        /// Why.
        reason: String,
    },
    /// The browser came back without a sign-in in progress, or with
    /// another one's `state`: a stale tab, or a forged callback.
    #[error("this sign-in was not started here, or took longer than ten minutes; start again")]
    StateMismatch,
    /// The provider refused (the person cancelled, or is not allowed).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// Exchanging the code failed.
    #[error("the identity provider did not exchange the code: {0}")]
    Exchange(String),
    /// The ID token did not verify.
    #[error("the identity provider's ID token is not valid: {0}")]
    IdToken(String),
}

/// What the browser carries from [`OidcSignIn::begin`] to
/// [`OidcSignIn::finish`], sealed by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The `state` sent, to compare with the one that comes back.
    state: String,
    /// The `nonce` the ID token must carry.
    nonce: String,
    /// The PKCE verifier for the code exchange.
    verifier: String,
    /// The portal path to return to.
    pub return_to: String,
}

/// The OpenID Connect sign-in method.
pub struct OidcSignIn {
    settings: OidcSettings,
    issuer: IssuerUrl,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    discovered: tokio::sync::Mutex<Option<(Instant, Client)>>,
}

impl std::fmt::Debug for OidcSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSignIn")
            .field("issuer", &self.settings.issuer)
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

impl OidcSignIn {
    /// The method for `settings`, checked; the provider is first asked at
    /// the first sign-in, so a provider that is down does not stop the
    /// portal from starting.
    pub fn new(settings: OidcSettings) -> Result<OidcSignIn, OidcError> {
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| OidcError::Settings(format!("issuer `{}`: {e}", settings.issuer)))?;
        let redirect = Url::parse(&settings.redirect_url).map_err(|e| {
            OidcError::Settings(format!("redirect-url `{}`: {e}", settings.redirect_url))
        })?;
        if redirect.path() != CALLBACK_PATH || redirect.query().is_some() {
            return Err(OidcError::Settings(format!(
                "redirect-url `{}` must be the portal's address followed by {CALLBACK_PATH}",
                settings.redirect_url
            )));
        }
        if settings.client_id.is_empty() || settings.client_secret.is_empty() {
            return Err(OidcError::Settings(
                "client-id and client-secret (or client-secret-env) are required".into(),
            ));
        }
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send the
            // server to an address of its choosing (openidconnect's advice).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| OidcError::Settings(format!("cannot build an HTTP client: {e}")))?;
        Ok(OidcSignIn {
            redirect_url: RedirectUrl::from_url(redirect),
            issuer,
            settings,
            http,
            discovered: tokio::sync::Mutex::new(None),
        })
    }

    /// How claims are matched to a catalog User.
    pub fn resolvers(&self) -> &[Resolver] {
        &self.settings.resolvers
    }

    /// The issuer, to name on the sign-in page.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    async fn client(&self, fresh: bool) -> Result<Client, OidcError> {
        let mut discovered = self.discovered.lock().await;
        if let Some((at, client)) = discovered.as_ref()
            && !fresh
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(client.clone());
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| OidcError::Discovery {
                issuer: self.settings.issuer.clone(),
                reason: error_chain(&e),
            })?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect_url.clone());
        *discovered = Some((Instant::now(), client.clone()));
        Ok(client)
    }

    /// Starts a sign-in that returns to `return_to`: the provider URL to
    /// send the browser to, and what it must bring back.
    pub async fn begin(&self, return_to: &str) -> Result<(Url, PendingSignIn), OidcError> {
        let client = self.client(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok((
            url,
            PendingSignIn {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                return_to: return_to.to_owned(),
            },
        ))
    }

    /// Completes the sign-in `pending` started, with the `state` and `code`
    /// the provider sent back: what the provider vouches for.
    pub async fn finish(
        &self,
        pending: &PendingSignIn,
        state: &str,
        code: &str,
    ) -> Result<Claims, OidcError> {
        if !constant_time_eq(pending.state.as_bytes(), state.as_bytes()) {
            return Err(OidcError::StateMismatch);
        }
        let client = self.client(false).await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(error_chain(&e)))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| OidcError::IdToken("the token response has no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let claims: CoreIdTokenClaims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // Signed with a key the cached metadata does not have yet: the
            // provider rotated its keys. Read them again, once.
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let client = self.client(true).await?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| OidcError::IdToken(e.to_string()))?
                    .clone()
            }
            Err(e) => return Err(OidcError::IdToken(e.to_string())),
        };
        let mut found = claims_of(&claims);
        if found.email.is_none() || found.username.is_none() {
            // Only when the provider has the endpoint; a failure here leaves
            // the ID token's claims, which the resolvers then judge.
            if let Ok(request) = client.user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            ) {
                match request.request_async::<_, _, _>(&self.http).await {
                    Ok(info) => found = merge(found, &info),
                    Err(e) => tracing::warn!(error = %error_chain(&e), "cannot read user info"),
                }
            }
        }
        Ok(found)
    }
}

/// What an ID token vouches for. An e-mail address the provider says it
/// has not verified is not used: anyone could have typed it.
fn claims_of(claims: &CoreIdTokenClaims) -> Claims {
    Claims {
        method: "oidc",
        email: claims
            .email()
            .filter(|_| claims.email_verified() != Some(false))
            .map(|e| e.as_str().to_owned()),
        username: claims.preferred_username().map(|u| u.as_str().to_owned()),
        display_name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
    }
}

/// `found`, completed with user info.
fn merge(found: Claims, info: &CoreUserInfoClaims) -> Claims {
    Claims {
        email: found.email.or_else(|| {
            info.email()
                .filter(|_| info.email_verified() != Some(false))
                .map(|e| e.as_str().to_owned())
        }),
        username: found
            .username
            .or_else(|| info.preferred_username().map(|u| u.as_str().to_owned())),
        display_name: found.display_name.or_else(|| {
            info.name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned())
        }),
        ..found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An error and its causes on one line: `openidconnect` keeps the useful
/// part (connection refused, the provider's error) in the sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(redirect: &str) -> OidcSettings {
        OidcSettings {
            issuer: "https://id.example.com".into(),
            client_id: "greenroom".into(),
            client_secret: "s3cret".into(),
            redirect_url: redirect.into(),
            scopes: vec!["openid".into(), "email".into()],
            resolvers: vec![Resolver::EmailMatchingUserEntityProfileEmail],
        }
    }

    #[test]
    fn the_redirect_url_must_be_the_callback_route() {
        assert!(OidcSignIn::new(settings("https://portal.example.com/auth/oidc/callback")).is_ok());
        for wrong in [
            "https://portal.example.com/callback",
            "https://portal.example.com/auth/oidc/callback?x=1",
            "portal.example.com/auth/oidc/callback",
        ] {
            let error = OidcSignIn::new(settings(wrong)).expect_err("refused");
            assert!(error.to_string().contains("redirect-url"), "{error}");
        }
    }

    #[tokio::test]
    async fn a_provider_that_cannot_be_reached_is_named_in_the_error() {
        // A port nothing listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let sign_in = OidcSignIn::new(OidcSettings {
            issuer: format!("http://{address}"),
            ..settings("http://127.0.0.1:7007/auth/oidc/callback")
        })
        .expect("valid settings");
        let error = sign_in.begin("/").await.expect_err("no provider");
        assert!(
            matches!(error, OidcError::Discovery { .. })
                && error.to_string().contains(&address.to_string()),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_callback_with_another_state_is_refused_before_the_provider_is_asked() {
        let sign_in = OidcSignIn::new(settings("https://portal.example.com/auth/oidc/callback"))
            .expect("valid settings");
        let pending = PendingSignIn {
            state: "expected".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            return_to: "/".into(),
        };
        let error = sign_in
            .finish(&pending, "forged", "code")
            .await
            .expect_err("refused");
        assert!(matches!(error, OidcError::StateMismatch), "{error}");
    }
}
