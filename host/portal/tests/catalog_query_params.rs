//! Properties of the catalog API's query parsing (issue 13), through the
//! portal as a client meets it: `GET /api/catalog/entities`,
//! `/entities/by-query` and `/entity-facets` with any query string, and
//! `POST /entities/by-query` with any predicate. Whatever a client sends,
//! the answer is a page (200) or Backstage's `InputError` (400) whose
//! message names the parameter at fault — never a 500, which is what a
//! panic in a handler becomes.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use greenroom_catalog::{Catalog, CatalogConfig, CatalogStore, Cursor, EntityQuery, LocationType};
use greenroom_portal::{AppState, PortalConfig};
use greenroom_store::Database;
use http_body_util::BodyExt as _;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const CATALOG: &str = include_str!("../src/catalog_api/fixtures/catalog.yaml");

/// A portal open to guests over a temporary database holding the catalog
/// API tests' small organisation, and a runtime to ask it on.
struct Portal {
    _dir: tempfile::TempDir,
    router: Router,
    runtime: tokio::runtime::Runtime,
}

impl Portal {
    fn new() -> Portal {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Database::open(&dir.path().join("greenroom.db")).expect("database opens");
        let catalog = Catalog::new(CatalogStore::new(db), CatalogConfig::default());
        let file = dir.path().join("catalog-info.yaml");
        std::fs::write(&file, CATALOG).expect("fixture written");
        let (_, report) = catalog
            .add_location(
                LocationType::File,
                file.to_str().expect("utf-8"),
                "test",
                false,
            )
            .expect("the fixture registers");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let config = PortalConfig {
            guest_access: true,
            ..PortalConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let router = runtime.block_on(async {
            greenroom_portal::app(AppState::new(
                greenroom_lifecycle::PluginHost::new(Vec::new(), Vec::new()),
                config,
                catalog,
            ))
        });
        Portal {
            _dir: dir,
            router,
            runtime,
        }
    }

    /// The status and JSON body of `request`.
    fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        self.runtime.block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("the router always answers");
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("a body")
                .to_bytes();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }
}

/// The parameters the catalog API reads, each with what a message about
/// it says (a cursor's limits are those of the query inside it).
const PARAMETERS: &[(&str, &[&str])] = &[
    ("filter", &["filter"]),
    (
        "fullTextFilterTerm",
        &["full-text term", "fullTextFilterTerm"],
    ),
    (
        "fullTextFilterFields",
        &["full-text fields", "fullTextFilterFields"],
    ),
    ("orderField", &["orderField"]),
    ("order", &["order parameter", "Invalid order"]),
    ("limit", &["limit"]),
    ("offset", &["offset"]),
    ("after", &["after"]),
    ("cursor", &["cursor", "Invalid query", "Invalid full-text"]),
    ("fields", &["field"]),
    ("totalItems", &["totalItems"]),
    ("facet", &["facet"]),
];

/// Values a client might send for `name`: good ones, near misses, and
/// anything at all.
fn value(name: &'static str) -> BoxedStrategy<String> {
    let first_page = Cursor::first(EntityQuery::default()).encode();
    let typical: Vec<String> = match name {
        "filter" => vec![
            "kind=component".into(),
            "kind=component,spec.type=service".into(),
            "KIND=api,kind=group".into(),
            "metadata.tags".into(),
            "=java".into(),
            ",,".into(),
            vec!["kind=x"; 600].join(","),
        ],
        "fullTextFilterTerm" => vec!["check".into(), "a".into(), " ".into(), "x".repeat(1_001)],
        "fullTextFilterFields" => vec![
            "metadata.name".into(),
            "metadata.name,spec.type".into(),
            vec!["spec.x"; 101].join(","),
        ],
        "orderField" => vec![
            "metadata.name".into(),
            "metadata.name,desc".into(),
            "metadata.name,sideways".into(),
            ",asc".into(),
        ],
        "order" => vec!["asc:metadata.name".into(), "desc:".into(), "up:kind".into()],
        "limit" | "offset" => vec![
            "0".into(),
            "2".into(),
            "-1".into(),
            "1.5".into(),
            "99999999999999999999".into(),
        ],
        // `{"limit":1,"offset":1}`, as the `Link` header writes it.
        "after" => vec!["eyJsaW1pdCI6MSwib2Zmc2V0IjoxfQ==".into(), "!!".into()],
        "cursor" => vec![first_page, "bm90IGEgY3Vyc29y".into()],
        "fields" => vec!["kind,metadata.name".into(), "relations[0]".into()],
        "totalItems" => vec!["include".into(), "exclude".into(), "maybe".into()],
        "facet" => vec!["kind".into(), "spec.type".into()],
        _ => vec![],
    };
    prop_oneof![
        3 => proptest::sample::select(typical),
        1 => Just(String::new()),
        2 => ".{0,16}",
    ]
    .boxed()
}

/// Query parameters, several of them repeated or unknown.
fn parameters() -> impl Strategy<Value = Vec<(String, String)>> {
    let known =
        proptest::sample::select(PARAMETERS.iter().map(|(name, _)| *name).collect::<Vec<_>>())
            .prop_flat_map(|name| (Just(name.to_owned()), value(name)));
    let unknown = ("[a-zA-Z]{1,8}", ".{0,8}");
    vec(prop_oneof![8 => known, 1 => unknown], 0..6)
}

/// `parameters` written as a query string, as a browser or
/// `@backstage/catalog-client` encodes them.
fn query_string(parameters: &[(String, String)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in parameters {
        query.append_pair(name, value);
    }
    query.finish()
}

/// Whether `body` is an `InputError` whose message names one of the
/// parameters sent or one the route requires.
fn names_a_parameter(body: &Value, sent: &[(String, String)], required: &[&str]) -> bool {
    let message = body["error"]["message"].as_str().unwrap_or_default();
    let named = |name: &str| sent.iter().any(|(n, _)| n == name) || required.contains(&name);
    body["error"]["name"] == "InputError"
        && PARAMETERS
            .iter()
            .any(|(name, says)| named(name) && says.iter().any(|s| message.contains(s)))
}

/// Predicates as `POST /entities/by-query` takes them, with every
/// operator (supported or not) and values of every JSON type.
fn predicate() -> impl Strategy<Value = Value> {
    let key = proptest::sample::select(vec!["kind", "spec.type", "metadata.tags", "$where", ""]);
    let primitive = prop_oneof![
        "[a-z]{0,6}".prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    let matcher = prop_oneof![
        primitive.clone(),
        vec(primitive.clone(), 0..3).prop_map(|values| json!({ "$in": values })),
        primitive
            .clone()
            .prop_map(|value| json!({ "$exists": value })),
        primitive
            .clone()
            .prop_map(|value| json!({ "$hasPrefix": value })),
        primitive.clone().prop_map(|value| json!({ "$in": value })),
        Just(json!({})),
        Just(json!({ "$in": [], "$exists": true })),
    ];
    let field = vec((key, matcher), 0..3).prop_map(|fields| {
        Value::Object(fields.into_iter().map(|(k, m)| (k.to_owned(), m)).collect())
    });
    let leaf = prop_oneof![8 => field, 1 => primitive];
    leaf.prop_recursive(6, 40, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|all| json!({ "$all": all })),
            vec(inner.clone(), 0..4).prop_map(|any| json!({ "$any": any })),
            inner.clone().prop_map(|not| json!({ "$not": not })),
            inner
                .clone()
                .prop_map(|not| json!({ "$not": not, "kind": "x" })),
            inner.prop_map(|one| json!({ "$all": one })),
        ]
    })
}

/// Runs `property` on `cases` values of `strategy` against one portal
/// (registering the catalog takes longer than the requests).
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(&Portal, S::Value) -> Result<(), TestCaseError>,
) {
    let portal = Portal::new();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    if let Err(failure) = runner.run(&strategy, |value| property(&portal, value)) {
        panic!("{failure}");
    }
}

// Any query string on the three routes that read one: a page, or a 400
// naming a parameter the client sent (or left out, when the route needs
// it).
#[test]
fn any_query_string_answers_a_page_or_a_400_naming_the_parameter() {
    let routes = proptest::sample::select(vec![
        ("entities", &[][..]),
        ("entities/by-query", &[]),
        ("entity-facets", &["facet"]),
    ]);
    check(
        192,
        (parameters(), routes),
        |portal, (sent, (route, required))| {
            let uri = format!("/api/catalog/{route}?{}", query_string(&sent));
            let (status, body) =
                portal.send(Request::get(&uri).body(Body::empty()).expect("a request"));
            match status {
                StatusCode::OK => {}
                StatusCode::BAD_REQUEST => prop_assert!(
                    names_a_parameter(&body, &sent, required),
                    "{uri}: {body} names none of the parameters sent or required"
                ),
                other => return Err(TestCaseError::fail(format!("{uri}: {other} {body}"))),
            }
            Ok(())
        },
    );
}

// Any predicate in the body of `POST /entities/by-query`: a page, or a
// 400 saying what is wrong with the query.
#[test]
fn any_predicate_answers_a_page_or_a_400_about_the_query() {
    check(128, predicate(), |portal, query| {
        let request = Request::post("/api/catalog/entities/by-query")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "query": query }).to_string()))
            .expect("a request");
        let (status, body) = portal.send(request);
        match status {
            StatusCode::OK => {}
            StatusCode::BAD_REQUEST => {
                let message = body["error"]["message"].as_str().unwrap_or_default();
                prop_assert!(message.starts_with("Invalid query"), "{query}: {body}");
            }
            other => return Err(TestCaseError::fail(format!("{query}: {other} {body}"))),
        }
        Ok(())
    });
}

#[test]
fn the_fixture_answers_pages_to_guests() {
    let (status, body) = Portal::new().send(
        Request::get("/api/catalog/entities?filter=kind=component")
            .body(Body::empty())
            .expect("a request"),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(4), "{body}");
}
