//! The demo's stand-in for GitHub, SonarQube and PagerDuty: `greenroom
//! serve --demo` answers Soundcheck's HTTP collectors from recorded
//! responses, so its pages are full without a network or tokens.
//!
//! It listens on a loopback port of its own (chosen by the system, so
//! several demos run side by side), apart from the portal: nothing of the
//! portal's sign-in, limits or pages applies to it, and it serves nothing
//! else. Each service lives under its own prefix, which is the base URL
//! the collector is given:
//!
//! | Prefix | Stands in for |
//! |---|---|
//! | `/github` | `https://api.github.com` |
//! | `/sonarqube` | a SonarQube server |
//! | `/pagerduty` | `https://api.pagerduty.com` |
//!
//! The responses are the files of `plugins/soundcheck/fixtures` (compiled
//! in), one per request, as its README describes: `<path>.json` is a `200`,
//! `<path>.404.json` a recorded `404`, and anything else the service's own
//! generic not-found. Soundcheck reaches it like any other upstream:
//! through the broker, granted `http:http://127.0.0.1:<port>` as an origin
//! the operator adds (its manifest says `operator-origins = true`).

use crate::config::PluginConfig;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use greenroom_contract::Capability;
use include_dir::{Dir, include_dir};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

/// The recorded responses.
static FIXTURES: Dir<'static> =
    include_dir!("$CARGO_MANIFEST_DIR/../../plugins/soundcheck/fixtures");

/// The plugin whose collectors call it.
const SOUNDCHECK: &str = "soundcheck";

/// The HTTP requests one call of the demo's Soundcheck may send: one
/// collection sweeps the whole demo organisation (about 450 requests,
/// each answered in well under a millisecond here), so its pages are full
/// a few minutes after the start instead of an hour. A real deployment
/// keeps the default (50) and sweeps over several runs.
const DEMO_HTTP_REQUESTS: u32 = 1000;

/// Whether the bundled Soundcheck can be pointed at the demo upstream: its
/// manifest lets an operator add origins, and its settings take the
/// collectors' base URLs and the run's request budget. A build whose
/// Soundcheck cannot would fail to load it with the demo's grant.
pub fn soundcheck_takes_it() -> bool {
    let Some(bundled) = greenroom_artifacts::bundled(SOUNDCHECK) else {
        return false;
    };
    let Ok(artifact) = greenroom_contract::Artifact::from_bytes(bundled.bytes.to_vec()) else {
        return false;
    };
    let manifest = artifact.manifest();
    let origins = manifest.capabilities.iter().any(|c| {
        matches!(
            c,
            Capability::Http {
                operator_origins: true,
                ..
            }
        )
    });
    let settings = manifest.settings_schema.as_ref().is_some_and(|schema| {
        let properties = &schema["properties"];
        properties["collectors"].is_object() && properties["http-requests-per-run"].is_object()
    });
    origins && settings
}

/// The demo upstream's listener, bound before the configuration is made
/// so the plugin's settings and grant can name its address.
pub struct DemoUpstream {
    listener: std::net::TcpListener,
    address: SocketAddr,
}

impl DemoUpstream {
    /// Binds a free loopback port.
    pub fn bind() -> anyhow::Result<DemoUpstream> {
        use anyhow::Context as _;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("cannot listen on a loopback port for the demo upstream")?;
        let address = listener.local_addr()?;
        Ok(DemoUpstream { listener, address })
    }

    /// Its origin, as grants write it: `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Points the demo's Soundcheck at it: grants its origin, sets the
    /// base URL of the collectors `github`, `sonarqube` and `pagerduty`
    /// (`collectors.<id>.base-url`), and lets one run sweep the demo
    /// organisation — each unless the configuration file said otherwise.
    /// Other plugins are left alone.
    pub fn wire(&self, plugins: &mut [PluginConfig]) {
        let origin = self.origin();
        for plugin in plugins
            .iter_mut()
            .filter(|p| p.bundled.as_deref() == Some(SOUNDCHECK))
        {
            plugin.grant.push(format!("http:{origin}"));
            plugin
                .limits
                .http_requests
                .get_or_insert(DEMO_HTTP_REQUESTS);
            // Below the call's limit, as Soundcheck's default is below 50.
            let per_run = plugin.limits.http_requests.unwrap_or(DEMO_HTTP_REQUESTS) * 9 / 10;
            plugin
                .settings
                .entry("http-requests-per-run")
                .or_insert_with(|| per_run.into());
            let collectors = plugin
                .settings
                .entry("collectors")
                .or_insert_with(|| serde_json::json!({}));
            let Some(collectors) = collectors.as_object_mut() else {
                continue;
            };
            for service in ["github", "sonarqube", "pagerduty"] {
                let collector = collectors
                    .entry(service)
                    .or_insert_with(|| serde_json::json!({}));
                if let Some(collector) = collector.as_object_mut() {
                    collector
                        .entry("base-url")
                        .or_insert_with(|| format!("{origin}/{service}").into());
                }
            }
        }
    }

    /// Serves on a thread of its own until the process ends: it is the
    /// world outside the portal, so it shares nothing with it, not even
    /// the async runtime.
    pub fn serve_in_background(self) -> anyhow::Result<()> {
        self.listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        tracing::info!(
            "demo upstream (recorded GitHub, SonarQube and PagerDuty responses) on http://{}",
            self.address
        );
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let served = match tokio::net::TcpListener::from_std(self.listener) {
                    Ok(listener) => axum::serve(listener, router()).await,
                    Err(error) => Err(error),
                };
                if let Err(error) = served {
                    tracing::error!(%error, "the demo upstream stopped");
                }
            })
        });
        Ok(())
    }
}

/// The three services' routes.
pub fn router() -> Router {
    Router::new()
        .route("/github/{*path}", get(github))
        .route(
            "/sonarqube/api/qualitygates/project_status",
            get(|query| sonarqube("api/qualitygates/project_status", "projectKey", query)),
        )
        .route(
            "/sonarqube/api/measures/component",
            get(|query| sonarqube("api/measures/component", "component", query)),
        )
        .route("/pagerduty/{*path}", get(pagerduty))
        .fallback(|| async { not_found(Service::Other) })
}

/// Whose generic not-found to answer.
#[derive(Clone, Copy)]
enum Service {
    GitHub,
    SonarQube,
    PagerDuty,
    Other,
}

async fn github(Path(path): Path<String>) -> Response {
    recorded(&format!("github/{path}"), Service::GitHub)
}

async fn sonarqube(
    endpoint: &str,
    key: &str,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match query.get(key) {
        Some(name) => recorded(&format!("sonarqube/{endpoint}/{name}"), Service::SonarQube),
        // SonarQube's answer to a missing parameter.
        None => json(
            StatusCode::BAD_REQUEST,
            format!(r#"{{"errors":[{{"msg":"The '{key}' parameter is missing"}}]}}"#),
        ),
    }
}

async fn pagerduty(Path(path): Path<String>) -> Response {
    recorded(&format!("pagerduty/{path}"), Service::PagerDuty)
}

/// The recorded answer to the request for `path`: its `200` file, its
/// `404` file, or the service's generic not-found. The files are compiled
/// in, so no path can name anything else.
fn recorded(path: &str, service: Service) -> Response {
    let path = path.trim_end_matches('/');
    let found = |suffix: &str| FIXTURES.get_file(format!("{path}{suffix}"));
    if let Some(file) = found(".json") {
        return json(StatusCode::OK, file.contents().to_vec());
    }
    if let Some(file) = found(".404.json") {
        return json(StatusCode::NOT_FOUND, file.contents().to_vec());
    }
    not_found(service)
}

/// What each service answers for something it does not have.
fn not_found(service: Service) -> Response {
    let body = match service {
        Service::GitHub => {
            r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}"#
        }
        Service::SonarQube => r#"{"errors":[{"msg":"Component key not found"}]}"#,
        Service::PagerDuty => r#"{"error":{"message":"Not Found","code":2100}}"#,
        Service::Other => {
            r#"{"error":"the demo upstream serves /github, /sonarqube and /pagerduty"}"#
        }
    };
    json(StatusCode::NOT_FOUND, body)
}

fn json(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get(uri: &str) -> (StatusCode, serde_json::Value) {
        let response = router()
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn answers_github_requests_with_the_recorded_responses() {
        let (status, repo) = get("/github/repos/acme/order-service").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(repo["full_name"], "acme/order-service");
        let (status, runs) = get(
            "/github/repos/acme/order-service/actions/runs?branch=main&status=completed&per_page=1",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(runs["workflow_runs"][0]["conclusion"], "success");
        let (status, owners) =
            get("/github/repos/acme/order-service/contents/.github/CODEOWNERS").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(owners["encoding"], "base64");
    }

    #[tokio::test]
    async fn answers_recorded_not_founds_and_the_services_own_for_the_rest() {
        let (status, body) =
            get("/github/repos/acme/order-notifications/branches/main/protection").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["message"], "Branch not protected");
        let (status, body) = get("/github/repos/acme/no-such-repo").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["message"], "Not Found");
        let (status, body) = get("/pagerduty/services/PS12Z65").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], 2100);
        let (status, _) = get("/github/../../Cargo.toml").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn sonarqube_requests_name_the_project_in_the_query() {
        let (status, gate) =
            get("/sonarqube/api/qualitygates/project_status?projectKey=acme_order-service").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(gate["projectStatus"]["status"], "OK");
        let (status, measures) = get(
            "/sonarqube/api/measures/component?component=acme_returns-service&metricKeys=coverage",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(measures["component"]["key"], "acme_returns-service");
        let (status, body) =
            get("/sonarqube/api/qualitygates/project_status?projectKey=acme_payments-sdk-js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body["errors"][0]["msg"],
            "Project 'acme_payments-sdk-js' not found"
        );
        let (status, _) = get("/sonarqube/api/qualitygates/project_status").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn the_bundled_soundcheck_can_be_pointed_at_it() {
        assert!(
            soundcheck_takes_it(),
            "plugins/soundcheck/greenroom.toml must ask for operator-origins and take the \
             `collectors` and `http-requests-per-run` settings, or --demo cannot wire it"
        );
    }

    #[test]
    fn points_only_soundcheck_at_itself_and_keeps_configured_base_urls() {
        let upstream = DemoUpstream::bind().expect("a loopback port");
        let origin = upstream.origin();
        let mut soundcheck = PluginConfig {
            bundled: Some(SOUNDCHECK.into()),
            grant: vec!["all".into()],
            ..PluginConfig::default()
        };
        soundcheck.settings.insert(
            "collectors".into(),
            serde_json::json!({ "github": { "base-url": "https://ghe.example.com/api/v3" } }),
        );
        let hello = PluginConfig {
            bundled: Some("hello".into()),
            grant: vec!["all".into()],
            ..PluginConfig::default()
        };
        let mut plugins = [soundcheck, hello];
        upstream.wire(&mut plugins);
        assert_eq!(
            plugins[0].grant,
            ["all".to_owned(), format!("http:{origin}")]
        );
        assert_eq!(plugins[0].limits.http_requests, Some(DEMO_HTTP_REQUESTS));
        assert_eq!(plugins[0].settings["http-requests-per-run"], 900);
        let collectors = &plugins[0].settings["collectors"];
        assert_eq!(
            collectors["github"]["base-url"],
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(
            collectors["sonarqube"]["base-url"],
            format!("{origin}/sonarqube").as_str()
        );
        assert_eq!(plugins[1].grant, ["all"]);
        assert!(plugins[1].settings.is_empty());
    }
}
