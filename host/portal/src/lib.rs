//! The web portal.
//!
//! This crate owns everything served over HTTP: the pages people use (home
//! with plugin widgets, the catalog and entity pages, the plugin list, a
//! page per plugin), the JSON API under `/api` (Backstage's catalog API
//! under `/api/catalog`), plugin API routes under `/api/plugins/<id>/`, form
//! submissions to plugin actions, the health check, and the design system
//! (CSS compiled into the binary: the portal works offline and loads
//! nothing from other sites).
//!
//! A request reads top to bottom: [`app`] routes it; the [`identity`]
//! extractor decides who is acting; a handler asks the plugins it needs
//! (through `greenroom-runtime`, whose broker decides every import); the
//! [`render`] module draws the views they return; [`layout`] wraps the
//! page. One [`error::AppError`] maps every failure to a status and an HTML
//! page or a JSON body.
//!
//! It must never run plugin code itself, decide what a plugin may reach, or
//! put a plugin's string into a page without escaping it.

mod actions;
mod admin;
mod api;
mod assets;
mod auth;
mod catalog_api;
mod catalog_pages;
mod chrome;
mod csrf;
mod error;
mod extract;
mod identity;
mod licensing;
mod pages;
mod paths;
mod refusal;
mod render;
mod service;
mod state;

pub use admin::Admin;
pub use admin::api::InstallBody;
pub use service::{ApiToken, CALLER_HEADER};
pub use state::{AppParts, AppState, PortalConfig, bootstrap_admins};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The largest request body accepted (form posts and plugin API calls).
/// Plugins receive bodies in their linear memory; more than this belongs
/// in storage or behind a granted HTTP API, not in one request.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The portal ships no script at all, so the policy forbids every script
/// source: even markup that slipped past escaping could not run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The portal as a router, ready to serve or to test with `oneshot`.
pub fn app(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/plugins", get(pages::plugin_list))
        .route("/plugins/{id}", get(pages::plugin_page))
        .route("/plugins/{id}/{*path}", get(pages::plugin_page))
        .route("/plugins/{id}/actions/{action}", post(actions::submit))
        .merge(catalog_pages::routes())
        .nest("/admin", admin::page_routes())
        .merge(auth::routes())
        .route_layer(axum::middleware::from_fn(csrf::ensure_cookie));
    let api = Router::new()
        .nest("/catalog", catalog_api::routes())
        .nest("/admin", admin::api_routes())
        .route("/audit", get(admin::audit_api))
        .route("/plugins", get(api::plugins))
        .route("/plugins/{id}", axum::routing::any(api::plugin_route))
        .route(
            "/plugins/{id}/{*path}",
            axum::routing::any(api::plugin_route),
        )
        .fallback(api::not_found);
    Router::new()
        .merge(pages)
        .nest("/api", api)
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/assets/{file}", get(assets::serve))
        .route(greenroom_access::CALLBACK_PATH, get(auth::oidc_callback))
        .fallback(pages::not_found)
        // Seats are counted from the people who use the portal.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            licensing::count_seats,
        ))
        // Who is acting, resolved once for every route (see `identity`).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            identity::layer,
        ))
        .with_state(state)
        // Outermost first: trace every request, log each 5xx with its
        // method and path, turn a handler panic into a 500 rather than a
        // dropped connection, cap bodies, and put the security headers on
        // every response (handlers may set stricter ones, which are kept).
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(axum::middleware::from_fn(error::log_server_errors))
                .layer(CatchPanicLayer::new())
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CONTENT_SECURITY_POLICY),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    HeaderName::from_static("referrer-policy"),
                    HeaderValue::from_static("same-origin"),
                )),
        )
}

#[cfg(test)]
mod tests;

/// The portal's layers: foundations (errors, drawing, CSRF, paths, the
/// shared state, who is acting) never import a feature (the handlers of
/// pages, APIs, actions, sign-in, administration), so features can be
/// added, split or removed without touching what every page stands on.
#[cfg(test)]
mod layers {
    /// Modules every handler may use; they import only each other.
    const FOUNDATIONS: &[&str] = &[
        "assets", "csrf", "error", "extract", "identity", "paths", "refusal", "render", "service",
        "state",
    ];

    /// The `crate::<module>` paths a file's non-test code names.
    fn imports(text: &str) -> Vec<String> {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut found = Vec::new();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
        found
    }

    fn sources(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).expect("readable").flatten() {
                sources(&entry.path(), out);
            }
        } else if path.is_file()
            && path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path.to_owned());
        }
    }

    #[test]
    fn foundations_import_no_feature() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut problems = Vec::new();
        for module in FOUNDATIONS {
            let mut files = Vec::new();
            sources(&src.join(module), &mut files);
            sources(&src.join(format!("{module}.rs")), &mut files);
            assert!(!files.is_empty(), "no source for foundation `{module}`");
            for file in files {
                let text = std::fs::read_to_string(&file).expect("readable");
                for name in imports(&text) {
                    if !FOUNDATIONS.contains(&name.as_str()) {
                        problems.push(format!("{} imports crate::{name}", file.display()));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn the_check_sees_an_import_of_a_feature() {
        assert_eq!(
            imports(
                "use crate::admin::is_admin;\nfn f() { crate::paths::x(); }\n#[cfg(test)]\nuse crate::tests;"
            ),
            ["admin", "paths"]
        );
    }
}
