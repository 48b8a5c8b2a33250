//! The collectors that ask another service over HTTP: GitHub, SonarQube and
//! PagerDuty, each a [`CollectFn`](super::CollectFn).
//!
//! Each reads the entity's annotation naming its object upstream
//! (`github.com/project-slug`, `sonarqube.org/project-key`,
//! `pagerduty.com/service-id`), sends the requests that service's API
//! needs, and turns the answers into one fact, a JSON object (see each
//! module for its fields). An entity without the annotation is
//! [`CollectError::NotApplicable`]; anything that goes wrong is a
//! [`CollectError`] whose message says what happened and what to do.
//!
//! Requests go out through the host's brokered HTTP ([`Upstream`]; the
//! SDK's [`greenroom_sdk::http`] in the plugin, recorded responses in
//! tests): to origins the operator granted, naming a credential
//! (`greenroom-credential`) the host replaces with the operator's secret.
//! The plugin never sees a token.
//!
//! # Instance settings
//!
//! A collector instance's `config` (the YAML's, with the plugin setting
//! `collectors.<id>` merged over it):
//!
//! | Setting | Meaning |
//! |---|---|
//! | `base-url` | Where the API is: `https://api.github.com` (default) or `https://ghe.example.com/api/v3`; `https://sonarcloud.io` (default) or a SonarQube server; `https://api.pagerduty.com` (default) or `https://api.eu.pagerduty.com`. |
//! | `credential` | The name of the host credential (`[[secrets]]`) to send; none by default. |
//! | `instance` | SonarQube only: the instance name a `sonarqube.org/project-key` of the form `<instance>/<key>` must name. |
//!
//! A base URL other than the default is an origin the operator adds when
//! granting (`http:ghe.example.com`): the manifest asks for
//! `operator-origins`.

pub mod github;
pub mod pagerduty;
pub mod sonarqube;

use super::CollectError;
use crate::config::{CollectorConfig, CollectorKind};
// The collectors' modules put owners, repositories, branches and service
// ids into URL paths as one segment each.
use greenroom_sdk::http::{HttpError, Request, Response, encode_component as segment};
use serde_json::Value;

/// Sends requests: the host's brokered HTTP in the plugin, recorded
/// responses in tests.
pub trait Upstream {
    /// Sends `request` and returns the whole response.
    fn send(&self, request: Request) -> Result<Response, HttpError>;
}

/// The host's brokered HTTP.
pub struct HostHttp;

impl Upstream for HostHttp {
    fn send(&self, request: Request) -> Result<Response, HttpError> {
        request.send()
    }
}

/// One configured HTTP collector, its settings read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The collector's id, the first segment of its facts' paths.
    pub id: String,
    /// The API's base URL, without a trailing `/`.
    pub base_url: String,
    /// The host credential it names, if any.
    pub credential: Option<String>,
    /// SonarQube: the instance name annotations may prefix keys with.
    pub instance: Option<String>,
}

impl Instance {
    /// The instance `collector` describes; `default_base_url` when its
    /// config names none.
    pub fn of(
        collector: &CollectorConfig,
        default_base_url: &str,
    ) -> Result<Instance, CollectError> {
        let id = collector.id.to_string();
        let setting = |name: &str| {
            collector
                .setting(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let base_url = setting("base-url").unwrap_or_else(|| default_base_url.to_owned());
        let base_url = base_url.trim_end_matches('/').to_owned();
        // The check the SDK makes when sending, made here so that a typo
        // is reported against the setting.
        Request::get(&base_url).map_err(|_| {
            CollectError::Upstream(format!(
                "collector `{id}`: base-url `{base_url}` is not an absolute http:// or https:// URL"
            ))
        })?;
        Ok(Instance {
            id,
            base_url,
            credential: setting("credential"),
            instance: setting("instance"),
        })
    }

    /// The origin its requests go to, as a grant names it.
    pub fn origin(&self) -> String {
        Request::get(&self.base_url)
            .map(|r| r.origin())
            .unwrap_or_else(|_| self.base_url.clone())
    }

    /// A `GET` of `path` (which starts with `/`) under the base URL, with
    /// the credential named when there is one.
    fn get(&self, path: &str) -> Result<Request, CollectError> {
        let request = Request::get(&format!("{}{path}", self.base_url))
            .map_err(|e| CollectError::Upstream(format!("collector `{}`: {e}", self.id)))?;
        Ok(match &self.credential {
            Some(name) => request.credential(name),
            None => request,
        })
    }

    /// Sends `request`, turning the host's refusals into what the operator
    /// can do about them.
    fn send(&self, upstream: &dyn Upstream, request: Request) -> Result<Response, CollectError> {
        upstream.send(request).map_err(|error| self.refusal(error))
    }

    fn refusal(&self, error: HttpError) -> CollectError {
        let id = &self.id;
        match error {
            HttpError::Denied { origin } => CollectError::Denied(match &self.credential {
                Some(credential) => format!(
                    "this collector was not granted http:{origin}, or its credential \
                     `{credential}` may not be sent there; an operator can grant it on the \
                     plugin's page, and bind the credential to {origin} in [[secrets]]"
                ),
                None => format!(
                    "this collector was not granted http:{origin}; an operator can grant it on \
                     the plugin's page"
                ),
            }),
            HttpError::AddressProhibited { origin } => CollectError::Denied(format!(
                "the host would not connect to {origin}: the name resolves to a private or \
                 loopback address; an operator can grant the address itself, or list the name \
                 in [egress] private-hosts"
            )),
            HttpError::TooManyRequests => CollectError::RateLimited(format!(
                "collector `{id}` used up the HTTP requests one call may send; it goes on at \
                 the next run (an operator can raise the plugin's http-requests limit)"
            )),
            other => CollectError::Upstream(format!("collector `{id}`: {other}")),
        }
    }

    /// The annotation `name` of an entity, trimmed; an entity without it
    /// is not one the collector applies to.
    fn annotation<'a>(
        annotations: &'a [(String, String)],
        name: &str,
    ) -> Result<&'a str, CollectError> {
        annotations
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| CollectError::NotApplicable(format!("no `{name}` annotation")))
    }
}

/// The most requests one entity can cost a collector of `kind`.
pub fn requests_per_entity(kind: CollectorKind) -> u32 {
    match kind {
        CollectorKind::Github => github::REQUESTS_PER_ENTITY,
        CollectorKind::Sonarqube => sonarqube::REQUESTS_PER_ENTITY,
        CollectorKind::Pagerduty => pagerduty::REQUESTS_PER_ENTITY,
        CollectorKind::Catalog | CollectorKind::External => 0,
    }
}

/// The JSON of a response the API answered with `200`.
fn json(response: &Response, service: &str) -> Result<Value, CollectError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        CollectError::Upstream(format!(
            "{service} answered with something that is not JSON ({e}); is base-url the API's \
             address?"
        ))
    })
}

/// What an answer that is neither the object nor a "not found" of its own
/// means, for every service alike.
fn unexpected(service: &str, what: &str, response: &Response, instance: &Instance) -> CollectError {
    let status = response.status;
    let credential = match &instance.credential {
        Some(name) => format!("the credential `{name}`"),
        None => "a credential (none is configured: set the collector's `credential`)".to_owned(),
    };
    let exhausted = response.header("x-ratelimit-remaining") == Some("0");
    match status {
        401 => CollectError::Upstream(format!(
            "{service} answered 401 for {what}: it wants {credential}, or did not accept it"
        )),
        403 | 429 if exhausted => CollectError::RateLimited(format!(
            "{service} answered {status} for {what}: the rate limit is used up until {}; lower \
             the collector's frequency or rate-limit",
            response.header("x-ratelimit-reset").unwrap_or("its reset")
        )),
        429 => CollectError::RateLimited(format!(
            "{service} answered 429 for {what}: too many requests; lower the collector's \
             rate-limit"
        )),
        403 => CollectError::Upstream(format!(
            "{service} answered 403 for {what}: {credential} may not read it"
        )),
        500..=599 => CollectError::Upstream(format!(
            "{service} answered {status} for {what}: the service has a problem; it is asked \
             again at the next collection"
        )),
        _ => CollectError::Upstream(format!("{service} answered {status} for {what}")),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! The recorded responses of `demo/upstream/`, served as the demo upstream
    //! serves them: `<path>.json` is a 200, `<path>.404.json` a 404,
    //! anything else the service's generic 404. Every request is kept, so
    //! tests can say what was asked.

    use super::Upstream;
    use greenroom_sdk::http::{HttpError, Request, Response};
    use std::cell::RefCell;
    use std::path::PathBuf;

    /// Where the recorded answers of `base` live: the demo's base URLs.
    pub const GITHUB: &str = "http://127.0.0.1:4000/github";
    pub const SONARQUBE: &str = "http://127.0.0.1:4000/sonarqube";
    pub const PAGERDUTY: &str = "http://127.0.0.1:4000/pagerduty";

    /// Answers from the files; remembers each request's path and query and
    /// its credential.
    #[derive(Default)]
    pub struct Recorded {
        pub asked: RefCell<Vec<(String, Option<String>)>>,
        /// Answer every request with this error instead.
        pub refuse: Option<HttpError>,
    }

    impl Recorded {
        pub fn refusing(error: HttpError) -> Recorded {
            Recorded {
                refuse: Some(error),
                ..Recorded::default()
            }
        }

        /// The paths asked for, in order.
        pub fn paths(&self) -> Vec<String> {
            self.asked.borrow().iter().map(|(p, _)| p.clone()).collect()
        }
    }

    /// The text of a fixture file.
    pub fn read(path: &str) -> Vec<u8> {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("demo/upstream")
            .join(path);
        std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    }

    impl Upstream for Recorded {
        fn send(&self, request: Request) -> Result<Response, HttpError> {
            let full = request.path_and_query().to_owned();
            let credential = request
                .header_value("greenroom-credential")
                .map(|v| String::from_utf8_lossy(v).into_owned());
            self.asked.borrow_mut().push((full.clone(), credential));
            if let Some(error) = &self.refuse {
                return Err(error.clone());
            }
            let (path, query) = full.split_once('?').unwrap_or((&full, ""));
            let param = |name: &str| {
                query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                    .map(str::to_owned)
            };
            let (service, rest) = path
                .trim_start_matches('/')
                .split_once('/')
                .expect("a service prefix");
            let file = match rest {
                "api/qualitygates/project_status" => {
                    format!(
                        "{service}/{rest}/{}",
                        param("projectKey").expect("projectKey")
                    )
                }
                "api/measures/component" => {
                    format!(
                        "{service}/{rest}/{}",
                        param("component").expect("component")
                    )
                }
                _ => format!("{service}/{rest}"),
            };
            let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/upstream");
            let answer = |status: u16, body: Vec<u8>| Response {
                status,
                headers: vec![("content-type".into(), b"application/json".to_vec())],
                body,
            };
            if let Ok(body) = std::fs::read(base.join(format!("{file}.json"))) {
                return Ok(answer(200, body));
            }
            if let Ok(body) = std::fs::read(base.join(format!("{file}.404.json"))) {
                return Ok(answer(404, body));
            }
            let generic = match service {
                "github" => {
                    r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}"#
                }
                "sonarqube" => r#"{"errors":[{"msg":"Component key not found"}]}"#,
                _ => r#"{"error":{"message":"Not Found","code":2100}}"#,
            };
            Ok(answer(404, generic.as_bytes().to_vec()))
        }
    }

    /// An instance of `kind` pointed at the recorded answers.
    pub fn instance(
        kind: crate::config::CollectorKind,
        credential: Option<&str>,
    ) -> super::Instance {
        use crate::config::CollectorKind;
        let base_url = match kind {
            CollectorKind::Github => GITHUB,
            CollectorKind::Sonarqube => SONARQUBE,
            _ => PAGERDUTY,
        };
        super::Instance {
            id: kind.name().to_owned(),
            base_url: base_url.to_owned(),
            credential: credential.map(str::to_owned),
            instance: None,
        }
    }

    /// Annotations, as the catalog hands them over.
    pub fn annotations(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{Recorded, annotations, instance};
    use super::*;

    fn collector(kind: CollectorKind, config: Value) -> CollectorConfig {
        serde_json::from_value(serde_json::json!({
            "id": kind.name(),
            "kind": kind.name(),
            "config": config,
        }))
        .expect("a collector")
    }

    #[test]
    fn an_instance_takes_the_services_default_base_url_unless_configured() {
        let yaml = collector(
            CollectorKind::Github,
            serde_json::json!({ "credential": "github" }),
        );
        let github = Instance::of(&yaml, github::DEFAULT_BASE_URL).expect("valid");
        assert_eq!(github.base_url, "https://api.github.com");
        assert_eq!(github.origin(), "api.github.com");
        assert_eq!(github.credential.as_deref(), Some("github"));
        let enterprise = collector(
            CollectorKind::Github,
            serde_json::json!({ "base-url": "https://ghe.example.com/api/v3/" }),
        );
        let enterprise = Instance::of(&enterprise, github::DEFAULT_BASE_URL).expect("valid");
        assert_eq!(enterprise.base_url, "https://ghe.example.com/api/v3");
        assert_eq!(enterprise.origin(), "ghe.example.com");
        assert_eq!(enterprise.credential, None);
    }

    #[test]
    fn a_base_url_must_be_a_url() {
        let err = Instance::of(
            &collector(
                CollectorKind::Pagerduty,
                serde_json::json!({ "base-url": "api.pagerduty.com" }),
            ),
            pagerduty::DEFAULT_BASE_URL,
        )
        .unwrap_err();
        assert!(err.to_string().contains("not an absolute"), "{err}");
    }

    #[test]
    fn a_denied_request_says_which_grant_is_missing_and_stops_the_run() {
        let upstream = Recorded::refusing(HttpError::Denied {
            origin: "api.github.com".into(),
        });
        let err = github::collect_with(
            &instance(CollectorKind::Github, None),
            &annotations(&[("github.com/project-slug", "acme/order-service")]),
            &upstream,
        )
        .unwrap_err();
        assert_eq!(
            err,
            CollectError::Denied(
                "this collector was not granted http:api.github.com; an operator can grant it on the plugin's page".into()
            )
        );
        assert!(err.stops_run());
        let err = pagerduty::collect_with(
            &instance(CollectorKind::Pagerduty, Some("pagerduty")),
            &annotations(&[("pagerduty.com/service-id", "PPZP6XW")]),
            &Recorded::refusing(HttpError::Denied {
                origin: "api.pagerduty.com".into(),
            }),
        )
        .unwrap_err();
        assert!(err.to_string().contains("credential `pagerduty`"), "{err}");
    }

    #[test]
    fn other_refusals_say_what_an_operator_can_change() {
        let sonar = |error: HttpError| {
            sonarqube::collect_with(
                &instance(CollectorKind::Sonarqube, None),
                &annotations(&[("sonarqube.org/project-key", "acme_order-service")]),
                &Recorded::refusing(error),
            )
            .unwrap_err()
        };
        let err = sonar(HttpError::AddressProhibited {
            origin: "sonar.internal".into(),
        });
        assert!(err.to_string().contains("[egress] private-hosts"), "{err}");
        let err = sonar(HttpError::TooManyRequests);
        assert!(matches!(err, CollectError::RateLimited(_)), "{err}");
        let err = sonar(HttpError::Timeout);
        assert!(
            matches!(err, CollectError::Upstream(_)) && !err.stops_run(),
            "{err}"
        );
    }

    #[test]
    fn unexpected_answers_are_explained_by_status() {
        let github = instance(CollectorKind::Github, Some("github"));
        let response = |status: u16, headers: &[(&str, &str)]| Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            body: Vec::new(),
        };
        let answer = |r: &Response| unexpected("GitHub", "repos/acme/x", r, &github);
        assert!(
            answer(&response(401, &[]))
                .to_string()
                .contains("credential `github`")
        );
        let limited = answer(&response(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1764000000"),
            ],
        ));
        assert!(matches!(limited, CollectError::RateLimited(_)), "{limited}");
        assert!(
            limited.to_string().contains("until 1764000000"),
            "{limited}"
        );
        assert!(
            answer(&response(502, &[]))
                .to_string()
                .contains("asked again")
        );
        let anonymous = instance(CollectorKind::Github, None);
        assert!(
            unexpected("GitHub", "x", &response(401, &[]), &anonymous)
                .to_string()
                .contains("none is configured")
        );
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("release/2.x"), "release%2F2.x");
        assert_eq!(segment("acme_order-service"), "acme_order-service");
    }
}
