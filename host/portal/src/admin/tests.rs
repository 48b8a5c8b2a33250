//! The admin pages as an admin uses them: an index file written here,
//! offering the real `hello` component signed by a key the portal trusts;
//! forms posted with the CSRF cookie the pages set.

use super::Admin;
use crate::tests::{Portal, Reply, csrf_cookie, get, portal, portal_with, post_form, send};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use greenroom_artifacts as artifacts;
use greenroom_contract::Artifact;
use greenroom_lifecycle::LoadStatus;
use greenroom_marketplace::{
    Builtins, IndexPlugin, Installed, Marketplace, SecretKey, TrustedPublishers, entry_for,
    signed_statement,
};
use greenroom_store::{Database, PluginStore};
use std::sync::Arc;
use std::time::Duration;

/// The operator's admin token of every test portal with administration.
pub(super) const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// Turns on `portal`'s administration over `marketplace`, with [`TOKEN`].
pub(super) fn administer(portal: Portal, marketplace: Marketplace) -> Portal {
    portal.rebuilt(|parts| {
        parts.admin = Some(Arc::new(Admin {
            marketplace: Arc::new(marketplace),
            token: Some(TOKEN.into()),
            loads: Arc::default(),
        }));
    })
}

/// A portal with administration, whose marketplace reads index files from
/// a folder holding `hello.wasm`.
struct Market {
    portal: Portal,
    dir: tempfile::TempDir,
    db: Database,
    key: SecretKey,
    /// What `index.toml` offers: hello 0.1.0, published and signed by
    /// `acme`.
    hello: IndexPlugin,
}

impl Market {
    /// `indexes`: file names in the folder the marketplace reads (only
    /// `index.toml` is written).
    fn new(guest_access: bool, indexes: &[&str]) -> Market {
        let dir = tempfile::tempdir().expect("temp dir");
        let bytes = artifacts::bundled("hello").expect("hello is bundled").bytes;
        std::fs::write(dir.path().join("hello.wasm"), bytes).expect("artifact written");
        let artifact = Artifact::from_bytes(bytes.to_vec()).expect("hello loads");
        let key = SecretKey::generate();
        let (mut hello, version) = entry_for(&artifact, "acme", "hello.wasm", &key);
        hello.versions.push(version);
        let mut trusted = TrustedPublishers::default();
        trusted.trust("acme", key.public());
        let db = Database::open(&dir.path().join("greenroom.db")).expect("database opens");
        let sources = indexes
            .iter()
            .map(|name| dir.path().join(name).display().to_string())
            .collect();
        let marketplace = Marketplace::new(
            db.clone(),
            dir.path().join("plugins"),
            trusted,
            sources,
            Builtins::default(),
        );
        let portal = portal_with(guest_access, &[]);
        let portal = administer(portal, marketplace);
        let market = Market {
            portal,
            dir,
            db,
            key,
            hello,
        };
        market.offer(&market.hello);
        market
    }

    /// Writes `index.toml` offering `plugin`.
    fn offer(&self, plugin: &IndexPlugin) {
        self.offer_all(&[plugin]);
    }

    /// Writes `index.toml` offering `plugins`. TOML basic strings take
    /// JSON's escapes, so JSON writes its strings and arrays.
    fn offer_all(&self, plugins: &[&IndexPlugin]) {
        let s = |text: &str| serde_json::to_string(text).expect("a string");
        let mut text = String::new();
        for plugin in plugins {
            text += &format!(
                "[[plugins]]\nid = {}\nname = {}\nsummary = {}\npublisher = {}\ntier = {}\n",
                s(&plugin.id),
                s(&plugin.name),
                s(&plugin.summary),
                s(&plugin.publisher),
                s(&plugin.tier)
            );
            if let Some(homepage) = &plugin.homepage {
                text += &format!("homepage = {}\n", s(homepage));
            }
            for v in &plugin.versions {
                text += &format!(
                    "\n[[plugins.versions]]\nversion = {}\nwit = {}\nartifact = {}\nsha256 = {}\nsignature = {}\ncapabilities = {}\n\n",
                    s(&v.version),
                    s(&v.wit),
                    s(&v.artifact),
                    s(&v.sha256),
                    s(&v.signature),
                    serde_json::to_string(&v.capabilities).expect("strings")
                );
            }
        }
        std::fs::write(self.index(), text).expect("index written");
    }

    /// Offers, beside hello, `pointed`: a plugin whose manifest says
    /// `operator-origins = true`, signed like hello.
    fn offer_pointed(&self) -> IndexPlugin {
        self.offer_manifest(
            "id = \"pointed\"\nname = \"Pointed\"\nversion = \"1.0.0\"\n\
            tier = \"open\"\n[capabilities]\n\
            http = { hosts = [\"api.github.com\"], operator-origins = true }\n",
        )
    }

    /// Offers, beside hello, a plugin with this manifest (the code of a
    /// WASI command, never loaded here, under it), signed like hello.
    fn offer_manifest(&self, manifest: &str) -> IndexPlugin {
        let mut bytes = std::fs::read(artifacts::NOT_A_PLUGIN_COMPONENT).expect("built");
        for (name, data) in [
            ("greenroom:wit-version", "0.1.0"),
            ("greenroom:manifest", manifest),
        ] {
            use wasm_encoder::ComponentSection as _;
            wasm_encoder::CustomSection {
                name: name.into(),
                data: data.as_bytes().into(),
            }
            .append_to_component(&mut bytes);
        }
        let artifact = Artifact::from_bytes(bytes.clone()).expect("the sections are valid");
        let file = format!("{}.wasm", artifact.manifest().id);
        std::fs::write(self.dir.path().join(&file), &bytes).expect("artifact written");
        let (mut plugin, version) = entry_for(&artifact, "acme", &file, &self.key);
        plugin.versions.push(version);
        self.offer_all(&[&self.hello, &plugin]);
        plugin
    }

    /// Sends `id`'s install form with `grants` ticked and `origins` typed
    /// into the field of origins an operator adds.
    async fn install_with_origins(
        &self,
        plugin: &IndexPlugin,
        grants: &[&str],
        origins: &str,
    ) -> Reply {
        let id = &plugin.id;
        let token = self.token(&format!("/admin/marketplace/{id}")).await;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("_csrf", &token)
            .append_pair("index", &self.index())
            .append_pair("version", &plugin.versions[0].version)
            .append_pair("sha256", &plugin.versions[0].sha256)
            .append_pair("origins", origins);
        for grant in grants {
            form.append_pair("grant", grant);
        }
        post_form(
            &self.portal,
            &format!("/admin/marketplace/{id}/install"),
            Some(&token),
            &form.finish(),
        )
        .await
    }

    fn index(&self) -> String {
        self.dir.path().join("index.toml").display().to_string()
    }

    fn admin(&self) -> Arc<Admin> {
        self.portal.state.admin().expect("administration is on")
    }

    fn sha256(&self) -> &str {
        &self.hello.versions[0].sha256
    }

    /// Stands in for the server's follower (`greenroom serve`): whenever
    /// the records change, reports each enabled plugin as loaded, or as
    /// failing with `error`. It stops once the portal is dropped.
    fn follow(&self, error: Option<&'static str>) {
        let admin = self.admin();
        let loads = Arc::downgrade(&admin.loads);
        let records = admin.marketplace.installed();
        std::thread::spawn(move || {
            while let Some(loads) = loads.upgrade() {
                for record in records.list().unwrap_or_default() {
                    if !record.enabled {
                        loads.clear(&record.id);
                        continue;
                    }
                    let status = LoadStatus {
                        version: record.version,
                        sha256: record.sha256,
                        grants: record.grants,
                        error: error.map(str::to_owned),
                    };
                    loads.set(&record.id, status);
                }
                loads.wait(Duration::from_millis(100));
            }
        });
    }

    fn installed(&self) -> Option<Installed> {
        self.admin()
            .marketplace
            .installed()
            .get("hello")
            .expect("records read")
    }

    /// The CSRF token a visit to `page` hands out.
    async fn token(&self, page: &str) -> String {
        let reply = get(&self.portal, page).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}: {}", reply.body);
        csrf_cookie(&reply)
    }

    /// Sends the install form of the detail page with `grants` ticked.
    async fn install(&self, grants: &[&str]) -> Reply {
        let token = self.token("/admin/marketplace/hello").await;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("_csrf", &token)
            .append_pair("index", &self.index())
            .append_pair("version", "0.1.0")
            .append_pair("sha256", self.sha256());
        for grant in grants {
            form.append_pair("grant", grant);
        }
        post_form(
            &self.portal,
            "/admin/marketplace/hello/install",
            Some(&token),
            &form.finish(),
        )
        .await
    }

    /// Posts a button's form on the installed plugins page.
    async fn press(&self, action: &str, fields: &str) -> Reply {
        let token = self.token("/admin/plugins").await;
        post_form(
            &self.portal,
            &format!("/admin/plugins/hello/{action}"),
            Some(&token),
            &format!("_csrf={token}{fields}"),
        )
        .await
    }
}

/// The notice the page a reply redirects to shows, once the browser
/// carried the reply's cookie there.
async fn notice(portal: &Portal, reply: &Reply) -> String {
    let cookie = reply.headers.get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.starts_with("greenroom_notice=")
            .then(|| v.split(';').next().unwrap_or_default().to_owned())
    });
    let cookie = cookie.expect("the reply carries a notice");
    let location = reply.headers["location"].to_str().expect("ascii");
    let request = Request::get(location)
        .header("cookie", cookie)
        .body(Body::empty())
        .expect("request");
    let page = send(portal, request).await;
    page.body
        .split("banner-notice\" role=\"status\">")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_else(|| panic!("{location} shows no notice: {}", page.body))
        .to_owned()
}

fn redirects_to_installed_plugins(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.headers["location"], "/admin/plugins");
}

#[tokio::test]
async fn the_marketplace_lists_each_indexed_plugin_with_its_newest_version() {
    let market = Market::new(true, &["index.toml"]);
    let page = get(&market.portal, "/admin/marketplace").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("href=\"/admin/marketplace/hello?index="),
        "{}",
        page.body
    );
    for shown in ["Hello</a>", "keeps a guestbook", "acme", "<td>0.1.0</td>"] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    assert!(!page.body.contains("installed 0.1.0"));
}

#[tokio::test]
async fn the_marketplace_search_narrows_the_list() {
    let market = Market::new(true, &["index.toml"]);
    let found = get(&market.portal, "/admin/marketplace?q=GUESTBOOK").await;
    assert!(found.body.contains("/admin/marketplace/hello?"));
    let none = get(&market.portal, "/admin/marketplace?q=kubernetes").await;
    assert!(!none.body.contains("/admin/marketplace/hello?"));
    assert!(none.body.contains("No plugin here matches the search."));
}

#[tokio::test]
async fn an_unreadable_index_is_shown_with_its_error_beside_the_others() {
    let market = Market::new(true, &["missing.toml", "index.toml"]);
    let page = get(&market.portal, "/admin/marketplace").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("This index could not be read"));
    assert!(
        page.body.contains("cannot read") && page.body.contains("missing.toml"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("/admin/marketplace/hello?"),
        "the readable index is still listed"
    );
}

#[tokio::test]
async fn without_an_index_the_marketplace_says_how_to_configure_one() {
    let market = Market::new(true, &[]);
    let page = get(&market.portal, "/admin/marketplace").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No marketplace index is configured"));
    assert!(page.body.contains("[marketplace]") && page.body.contains("indexes = ["));
}

#[tokio::test]
async fn the_detail_page_shows_the_verified_digest_and_an_unticked_box_per_grant() {
    let market = Market::new(true, &["index.toml"]);
    let page = get(&market.portal, "/admin/marketplace/hello").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains(&format!(
            "Verified: </strong>sha256 <code class=\"digest\">{}",
            market.sha256()
        )),
        "{body}"
    );
    assert!(body.contains("signed by <strong>acme</strong>"), "{body}");
    assert!(body.contains(&format!("name=\"sha256\" value=\"{}\"", market.sha256())));
    for grant in ["storage", "catalog:read"] {
        assert!(
            body.contains(&format!(
                "type=\"checkbox\" name=\"grant\" value=\"{grant}\">"
            )),
            "{grant} has its own box, unticked: {body}"
        );
    }
    assert!(
        !body.contains("checked"),
        "nothing is granted before consent"
    );
    assert!(body.contains("Install Hello 0.1.0"));
    assert!(
        body.contains("denied"),
        "says what a plugin granted less gets"
    );
}

#[tokio::test]
async fn a_tampered_artifact_shows_the_verification_error_instead_of_the_form() {
    let market = Market::new(true, &["index.toml"]);
    let path = market.dir.path().join("hello.wasm");
    let mut bytes = std::fs::read(&path).expect("artifact");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).expect("tampered");
    let page = get(&market.portal, "/admin/marketplace/hello").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("the artifact of hello 0.1.0 does not match the index"),
        "{}",
        page.body
    );
    assert!(page.body.contains("cannot be installed"));
    assert!(
        !page.body.contains("/admin/marketplace/hello/install"),
        "no form"
    );
    assert!(!page.body.contains("Verified"));
}

#[tokio::test]
async fn index_strings_are_escaped_and_only_web_homepages_become_links() {
    let market = Market::new(true, &["index.toml"]);
    let mut hostile = market.hello.clone();
    hostile.name = "<script>alert(1)</script>".into();
    hostile.summary = "<img src=x onerror=alert(1)>".into();
    hostile.homepage = Some("javascript:alert(1)".into());
    market.offer(&hostile);
    for page in ["/admin/marketplace", "/admin/marketplace/hello"] {
        let body = get(&market.portal, page).await.body;
        assert!(body.contains("&lt;script&gt;alert(1)"), "{page}: {body}");
        assert!(
            !body.contains("<script>") && !body.contains("<img"),
            "{page}: {body}"
        );
        assert!(!body.contains("href=\"javascript:"), "{page}: {body}");
    }
    hostile.homepage = Some("https://example.com/hello".into());
    market.offer(&hostile);
    let body = get(&market.portal, "/admin/marketplace/hello").await.body;
    assert!(
        body.contains("href=\"https://example.com/hello\""),
        "{body}"
    );
}

#[tokio::test]
async fn a_link_cannot_make_the_portal_read_an_index_it_was_not_given() {
    let market = Market::new(true, &["index.toml"]);
    let elsewhere = market.dir.path().join("elsewhere.toml");
    std::fs::write(&elsewhere, "secret = \"kept out of pages\"\n").expect("written");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("index", &elsewhere.display().to_string())
        .finish();
    let page = get(&market.portal, &format!("/admin/marketplace/hello?{query}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.body
            .contains("is not one of this portal's marketplace indexes"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("kept out of pages"));

    let token = market.token("/admin/marketplace/hello").await;
    let form = format!("_csrf={token}&{query}&grant=storage");
    let install = post_form(
        &market.portal,
        "/admin/marketplace/hello/install",
        Some(&token),
        &form,
    )
    .await;
    assert_eq!(install.status, StatusCode::BAD_REQUEST, "{}", install.body);
    assert_eq!(market.installed(), None);
}

#[tokio::test]
async fn an_install_without_the_csrf_token_or_with_a_wrong_one_is_refused() {
    let market = Market::new(true, &["index.toml"]);
    let uri = "/admin/marketplace/hello/install";
    let forged = post_form(&market.portal, uri, None, "grant=storage").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let token = market.token("/admin/marketplace/hello").await;
    let wrong = format!("_csrf={}&grant=storage", "0".repeat(64));
    let mismatched = post_form(&market.portal, uri, Some(&token), &wrong).await;
    assert_eq!(mismatched.status, StatusCode::FORBIDDEN);
    assert!(
        mismatched.body.contains("security token"),
        "{}",
        mismatched.body
    );
    assert_eq!(market.installed(), None, "nothing was installed");
}

#[tokio::test]
async fn an_install_records_exactly_the_grants_ticked_and_says_it_is_serving() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(None);
    let reply = market.install(&["storage"]).await;
    redirects_to_installed_plugins(&reply);
    assert_eq!(
        notice(&market.portal, &reply).await,
        "Installed hello 0.1.0 — serving"
    );
    let installed = market.installed().expect("hello is installed");
    assert_eq!(installed.grants, ["storage"]);
    assert_eq!(installed.sha256, market.sha256());
    let page = get(&market.portal, "/admin/plugins").await;
    assert!(page.body.contains("<code>storage</code>"), "{}", page.body);
    assert!(!page.body.contains("<code>catalog:read</code>"));
    assert!(page.body.contains(">serving<"));
}

#[tokio::test]
async fn an_install_the_server_cannot_load_says_why() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(Some("out of memory"));
    let reply = market.install(&["storage", "catalog:read"]).await;
    redirects_to_installed_plugins(&reply);
    assert_eq!(
        notice(&market.portal, &reply).await,
        "Installed hello 0.1.0, but it could not be loaded: out of memory"
    );
    let page = get(&market.portal, "/admin/plugins").await;
    assert!(page.body.contains("not loaded") && page.body.contains("out of memory"));
}

#[tokio::test]
async fn a_plugin_the_operator_points_elsewhere_says_so_on_its_consent_form() {
    let market = Market::new(true, &["index.toml"]);
    market.offer_pointed();
    let page = get(&market.portal, "/admin/marketplace/pointed").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains("<code>http (api.github.com, and origins an operator adds)</code>"),
        "{body}"
    );
    assert!(
        body.contains("type=\"checkbox\" name=\"grant\" value=\"http:api.github.com\">"),
        "{body}"
    );
    assert!(
        body.contains("It may be pointed at other origins."),
        "{body}"
    );
    assert!(body.contains("name=\"origins\""), "{body}");
    let hello = get(&market.portal, "/admin/marketplace/hello").await;
    assert!(
        !hello.body.contains("name=\"origins\""),
        "a plugin without operator-origins has no field for them"
    );
}

#[tokio::test]
async fn origins_an_operator_types_are_granted_beside_the_ticked_boxes() {
    let market = Market::new(true, &["index.toml"]);
    let pointed = market.offer_pointed();
    market.follow(None);
    let reply = market
        .install_with_origins(
            &pointed,
            &["http:api.github.com"],
            "sonar.internal:9000\r\n  http://10.0.0.5:8080\r\n",
        )
        .await;
    redirects_to_installed_plugins(&reply);
    let installed = market
        .admin()
        .marketplace
        .installed()
        .get("pointed")
        .expect("records read")
        .expect("pointed is installed");
    assert_eq!(
        installed.grants,
        [
            "http:api.github.com",
            "http:sonar.internal:9000",
            "http:http://10.0.0.5:8080"
        ]
    );
    // On upgrade or reinstall, the origins added before are offered again.
    let page = get(&market.portal, "/admin/marketplace/pointed").await;
    assert!(
        page.body
            .contains(">http://10.0.0.5:8080\nsonar.internal:9000\n</textarea>"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn an_origin_that_is_not_one_exact_origin_is_refused_and_nothing_installed() {
    let market = Market::new(true, &["index.toml"]);
    let pointed = market.offer_pointed();
    let reply = market
        .install_with_origins(&pointed, &[], "https://sonar.internal/api")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.body.contains("http:https://sonar.internal/api"),
        "{}",
        reply.body
    );
    assert!(
        market
            .admin()
            .marketplace
            .installed()
            .get("pointed")
            .expect("records read")
            .is_none()
    );
}

#[tokio::test]
async fn a_plugin_without_operator_origins_cannot_be_granted_an_unlisted_origin() {
    let market = Market::new(true, &["index.toml"]);
    let hello = market.hello.clone();
    let reply = market
        .install_with_origins(&hello, &["storage"], "evil.example.com")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("does not request it"), "{}", reply.body);
    assert_eq!(market.installed(), None, "nothing was installed");
}

#[tokio::test]
async fn an_install_is_refused_when_the_index_now_offers_other_bytes() {
    let market = Market::new(true, &["index.toml"]);
    let token = market.token("/admin/marketplace/hello").await;
    let form = format!(
        "_csrf={token}&version=0.1.0&sha256={}&grant=storage",
        "ab".repeat(32)
    );
    let reply = post_form(
        &market.portal,
        "/admin/marketplace/hello/install",
        Some(&token),
        &form,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.body.contains("not the"), "{}", reply.body);
    assert_eq!(market.installed(), None);
}

#[tokio::test]
async fn non_admins_cannot_see_the_marketplace() {
    let market = Market::new(false, &["index.toml"]);
    let nobody = get(&market.portal, "/admin/marketplace").await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    let request = |token: &str| {
        Request::get("/admin/marketplace")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request")
    };
    let wrong = send(&market.portal, request("not-the-token")).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(!wrong.body.contains("/admin/marketplace/hello"));
    assert!(
        wrong.body.contains("<html"),
        "an error page: {}",
        wrong.body
    );
    let operator = send(&market.portal, request(TOKEN)).await;
    assert_eq!(operator.status, StatusCode::OK);
    assert!(operator.body.contains("/admin/marketplace/hello"));
}

#[tokio::test]
async fn the_admin_entry_is_in_the_navigation_only_where_there_is_administration() {
    let market = Market::new(true, &["index.toml"]);
    assert!(
        get(&market.portal, "/")
            .await
            .body
            .contains("href=\"/admin\"")
    );
    assert!(!get(&portal(), "/").await.body.contains("href=\"/admin\""));
}

#[tokio::test]
async fn plugins_from_the_config_file_are_listed_without_buttons() {
    let market = Market::new(true, &["index.toml"]);
    let page = get(&market.portal, "/admin/plugins").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("No plugin is installed from a marketplace")
    );
    assert!(
        page.body.contains("href=\"/plugins/hello\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("managed in the config file"));
    assert!(!page.body.contains("action=\"/admin/plugins/hello/"));
}

#[tokio::test]
async fn disabling_and_enabling_change_the_record() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(None);
    market.install(&["storage"]).await;
    let reply = market.press("disable", "").await;
    redirects_to_installed_plugins(&reply);
    assert!(!market.installed().expect("installed").enabled);
    let page = get(&market.portal, "/admin/plugins").await;
    assert!(page.body.contains(">disabled<") && page.body.contains(">Enable<"));
    redirects_to_installed_plugins(&market.press("enable", "").await);
    assert!(market.installed().expect("installed").enabled);
}

#[tokio::test]
async fn removing_with_purge_deletes_the_plugins_stored_data() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(None);
    market.install(&["storage"]).await;
    let store = PluginStore::new(market.db.clone(), "hello", 1 << 20);
    store.set("guestbook", b"hi").expect("stored");
    let reply = market.press("remove", "&purge=true").await;
    redirects_to_installed_plugins(&reply);
    assert_eq!(
        notice(&market.portal, &reply).await,
        "Removed hello 0.1.0 and deleted its 1 stored key"
    );
    assert_eq!(market.installed(), None);
    assert_eq!(store.get("guestbook").expect("read"), None);
}

#[tokio::test]
async fn removing_without_purge_keeps_the_stored_data() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(None);
    market.install(&["storage"]).await;
    let store = PluginStore::new(market.db.clone(), "hello", 1 << 20);
    store.set("guestbook", b"hi").expect("stored");
    let reply = market.press("remove", "").await;
    assert_eq!(
        notice(&market.portal, &reply).await,
        "Removed hello 0.1.0; its stored data is kept"
    );
    assert_eq!(market.installed(), None);
    assert_eq!(store.get("guestbook").expect("read"), Some(b"hi".to_vec()));
}

#[tokio::test]
async fn a_newer_version_is_offered_as_an_upgrade_and_verified_when_chosen() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(None);
    market.install(&["storage"]).await;
    // 0.2.0, signed, but the artifact is still 0.1.0's.
    let mut offer = market.hello.clone();
    let mut newer = offer.versions[0].clone();
    newer.version = "0.2.0".into();
    newer.signature = market
        .key
        .sign(&signed_statement("hello", "0.2.0", &newer.sha256));
    offer.versions.push(newer);
    market.offer(&offer);

    let browse = get(&market.portal, "/admin/marketplace").await.body;
    assert!(browse.contains("installed 0.1.0") && browse.contains("update available"));
    let page = get(&market.portal, "/admin/plugins").await.body;
    let upgrade = page
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("version=0.2.0"))
        .expect("an upgrade link")
        .replace("&amp;", "&");
    assert!(page.contains("Upgrade to 0.2.0"));
    let detail = get(&market.portal, &upgrade).await.body;
    assert!(
        detail.contains(
            "the manifest of hello 0.2.0 differs from the index: version is `0.1.0` in the artifact but `0.2.0` in the index"
        ),
        "{detail}"
    );
    assert!(!detail.contains("/admin/marketplace/hello/install"));
}

#[tokio::test]
async fn every_link_on_the_admin_pages_leads_somewhere() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(None);
    market.install(&["storage"]).await;
    for page in [
        "/admin",
        "/admin/marketplace",
        "/admin/marketplace/hello",
        "/admin/plugins",
    ] {
        let body = get(&market.portal, page).await.body;
        let links: Vec<String> = body
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|href| href.starts_with('/'))
            .map(|href| href.replace("&amp;", "&"))
            .collect();
        assert!(links.iter().any(|l| l.starts_with("/admin/")), "{page}");
        for href in links {
            assert_eq!(
                get(&market.portal, &href).await.status,
                StatusCode::OK,
                "{href}, linked from {page}"
            );
        }
    }
}

/// An admin pastes a licence signed by a trusted publisher: it is listed
/// with its seats and expiry; a post without the CSRF token changes
/// nothing; removing it takes it off the list.
#[tokio::test]
async fn a_licence_pasted_on_the_licences_page_is_verified_listed_and_removable() {
    use greenroom_licensing::{Day, LicenceTerms, Licences, issue_licence};
    let market = Market::new(true, &["index.toml"]);
    let mut trusted = TrustedPublishers::default();
    trusted.trust("acme", market.key.public());
    market
        .portal
        .state
        .plugins()
        .set_licences(Licences::new(market.db.clone(), trusted));
    let today = Day::of(std::time::SystemTime::now());
    let licence = issue_licence(
        LicenceTerms {
            licensee: "Acme Retail".into(),
            publisher: "acme".into(),
            plugins: vec!["test-premium".into()],
            seats: 25,
            issued: today,
            expires: today.plus_days(90),
        },
        &market.key,
    )
    .expect("issues");
    let form = format!(
        "licence={}",
        percent_encoding::utf8_percent_encode(
            &licence.to_text(),
            percent_encoding::NON_ALPHANUMERIC
        )
    );

    let page = get(&market.portal, "/admin/licences").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("No licence has been added"),
        "{}",
        page.body
    );
    let forged = post_form(
        &market.portal,
        "/admin/licences",
        Some(&"0".repeat(64)),
        &form,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let cookie = csrf_cookie(&page);
    let added = post_form(
        &market.portal,
        "/admin/licences",
        Some(&cookie),
        &format!("_csrf={cookie}&{form}"),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let listed = get(&market.portal, "/admin/licences").await;
    assert!(listed.body.contains("Acme Retail"), "{}", listed.body);
    assert!(listed.body.contains(" of 25"), "{}", listed.body);
    assert!(listed.body.contains(&today.plus_days(90).to_string()));

    let tampered = licence.to_text().replace("seats = 25", "seats = 2500");
    let refused = post_form(
        &market.portal,
        "/admin/licences",
        Some(&cookie),
        &format!(
            "_csrf={cookie}&licence={}",
            percent_encoding::utf8_percent_encode(&tampered, percent_encoding::NON_ALPHANUMERIC)
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("signature"), "{}", refused.body);

    let removed = post_form(
        &market.portal,
        &format!("/admin/licences/{}/remove", licence.id()),
        Some(&cookie),
        &format!("_csrf={cookie}"),
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let after = get(&market.portal, "/admin/licences").await;
    assert!(
        after.body.contains("No licence has been added"),
        "{}",
        after.body
    );
}

#[tokio::test]
async fn disabling_an_installed_plugin_from_its_health_page_disables_its_record() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(None);
    market.install(&["storage"]).await;
    let page = get(&market.portal, "/admin/plugins/hello/health").await;
    assert!(
        page.body.contains("It was installed from a marketplace"),
        "{}",
        page.body
    );
    let token = csrf_cookie(&page);
    let reply = post_form(
        &market.portal,
        "/admin/plugins/hello/health/disable",
        Some(&token),
        &format!("_csrf={token}"),
    )
    .await;
    redirects_to_installed_plugins(&reply);
    assert!(!market.installed().expect("installed").enabled);
    assert!(
        market.portal.state.plugins().suspension("hello").is_none(),
        "the marketplace stops serving it; nothing is suspended"
    );
}

/// Each admin section needs its own permission: a user RBAC allows only
/// `audit.read` reads the audit log, and is refused (403, naming the rule,
/// audited) the marketplace and plugin health.
#[tokio::test]
async fn each_admin_section_needs_its_own_permission() {
    use greenroom_access::rbac::{PolicyDocument, Rbac};
    let market = Market::new(true, &["index.toml"]);
    let policy = "roles:\n  - name: auditors\n    members: [user:default/guest]\n    policies:\n      - permission: audit.read\n        effect: allow\n";
    let known = Rbac::fixed(PolicyDocument::default(), vec![]).known_permissions();
    let document = PolicyDocument::from_yaml(policy, "p", &known).expect("valid");
    let mut market = market;
    market.portal = market.portal.with_rbac(Rbac::fixed(document, vec![]));

    assert_eq!(
        get(&market.portal, "/api/audit").await.status,
        StatusCode::OK
    );
    let marketplace = get(&market.portal, "/api/admin/plugins").await;
    assert_eq!(marketplace.status, StatusCode::FORBIDDEN);
    assert!(
        marketplace
            .body
            .contains("no policy of the user's roles allows plugin.install"),
        "{}",
        marketplace.body
    );
    let health = get(&market.portal, "/admin/plugins/hello/health").await;
    assert_eq!(health.status, StatusCode::FORBIDDEN);
    let denials = greenroom_access::AuditLog::new(market.portal.database())
        .recent(None, 10)
        .expect("reads");
    assert!(
        denials
            .iter()
            .any(|d| d.action == "plugin.configure"
                && d.actor.as_deref() == Some("user:default/guest")),
        "{denials:?}"
    );
}

/// `POST /api/admin/plugins/hello/{verb}` with this content type (if any)
/// and `Sec-Fetch-Site` (if any), as the guest the demo lets administer.
async fn admin_api_post(
    market: &Market,
    verb: &str,
    content_type: Option<&str>,
    site: Option<&str>,
) -> Reply {
    let mut request = Request::post(format!("/api/admin/plugins/hello/{verb}"));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(site) = site {
        request = request.header("sec-fetch-site", site);
    }
    send(
        &market.portal,
        request.body(Body::from("{}")).expect("request"),
    )
    .await
}

#[tokio::test]
async fn a_cross_site_form_post_to_the_admin_api_changes_nothing() {
    let market = Market::new(true, &["index.toml"]);
    market.follow(None);
    market.install(&["storage"]).await;
    // What a form or a no-cors fetch on another site can send: refused as
    // not JSON, whoever the browser is signed in as.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let reply = admin_api_post(&market, "disable", content_type, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {}",
            reply.body
        );
        assert!(
            reply.body.contains("content-type: application/json"),
            "{}",
            reply.body
        );
        assert!(market.installed().expect("installed").enabled);
    }
    // A browser that says another site started it is refused even as JSON.
    for site in ["cross-site", "same-site"] {
        let reply = admin_api_post(&market, "disable", Some("application/json"), Some(site)).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{site}: {}",
            reply.body
        );
        assert!(market.installed().expect("installed").enabled);
    }
    // The CLI's and a script's JSON post still works.
    let reply = admin_api_post(
        &market,
        "disable",
        Some("application/json"),
        Some("same-origin"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(!market.installed().expect("installed").enabled);
}

#[tokio::test]
async fn consent_warns_that_a_plugins_tasks_read_the_whole_catalog() {
    let market = Market::new(true, &["index.toml"]);
    market.offer_manifest(
        "id = \"collector\"\nname = \"Collector\"\nversion = \"1.0.0\"\n\
        tier = \"open\"\n[capabilities]\ncatalog = { read = true }\n\
        [[tasks]]\nname = \"collect\"\nevery = \"1h\"\ndescription = \"Collects facts.\"\n",
    );
    let page = get(&market.portal, "/admin/marketplace/collector").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(
            "its scheduled tasks (collect) run for no user, so with catalog:read they read the whole catalog"
        ),
        "{}",
        page.body
    );
    // A plugin that reads the catalog only for the user looking is not
    // warned about.
    let hello = get(&market.portal, "/admin/marketplace/hello").await;
    assert!(!hello.body.contains("run for no user"), "{}", hello.body);
}

#[tokio::test]
async fn consent_says_in_plain_words_what_each_capability_lets_the_plugin_do() {
    let market = Market::new(true, &["index.toml"]);
    let hello = get(&market.portal, "/admin/marketplace/hello").await;
    assert_eq!(hello.status, StatusCode::OK, "{}", hello.body);
    for meaning in [
        "Read catalog entities: when someone uses it, only those that person may see.",
        "Keep up to 256.0 KiB of its own data on this server; no other plugin can read it.",
    ] {
        assert!(
            hello.body.contains(meaning),
            "`{meaning}` in {}",
            hello.body
        );
    }
}
