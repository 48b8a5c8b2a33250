//! URLs named in catalog files (url locations, `$text`/`$json`/`$yaml`
//! placeholders) are read under the egress rules: an allow-list of hosts,
//! no private address unless the operator named it, each redirect decided
//! again, and a time budget per location that never holds the others.

use greenroom_catalog::{
    Catalog, CatalogConfig, CatalogStore, LocationType, ReadingAllow, UrlReading,
};
use greenroom_store::Database;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// A loopback HTTP server answering each request with what `answer`
/// returns for its path (status line, extra headers, body); it counts the
/// requests it got.
struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    fn start(answer: impl Fn(&str) -> (String, String) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let answer = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let answer = answer.clone();
                let counted = counted.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(&stream);
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).is_err() {
                        return;
                    }
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
                    let (head, body) = answer(path);
                    let _ = write!(
                        &stream,
                        "HTTP/1.1 {head}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        Server { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

const API: &str = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: NAME\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: TARGET\n";

fn api(name: &str, target: &str) -> String {
    API.replace("NAME", name).replace("TARGET", target)
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: Database,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(&dir.path().join("greenroom.db")).unwrap();
    let root = dir.path().join("catalog");
    std::fs::create_dir_all(&root).unwrap();
    Fixture {
        _dir: dir,
        root,
        db,
    }
}

fn catalog(f: &Fixture, urls: UrlReading) -> Catalog {
    let config = CatalogConfig {
        urls,
        ..CatalogConfig::default()
    };
    Catalog::new(CatalogStore::new(f.db.clone()), config)
}

fn allow(hosts: &[String]) -> UrlReading {
    UrlReading {
        allow: hosts
            .iter()
            .map(|h| ReadingAllow::new(h, None).unwrap())
            .collect(),
        ..UrlReading::default()
    }
}

/// Registers a file holding `text` and returns its problems.
fn register(catalog: &Catalog, f: &Fixture, file: &str, text: &str) -> Vec<String> {
    let path = f.root.join(file);
    std::fs::write(&path, text).unwrap();
    let (_, report) = catalog
        .add_location(LocationType::File, path.to_str().unwrap(), "api", false)
        .unwrap();
    report.problems.iter().map(|p| p.message.clone()).collect()
}

fn definition(catalog: &Catalog, name: &str) -> Option<serde_json::Value> {
    catalog
        .store()
        .entity_by_ref(&format!("api:default/{name}"))
        .unwrap()
        .map(|e| e["spec"]["definition"].clone())
}

#[test]
fn placeholders_read_nothing_by_default_not_even_the_metadata_service() {
    let f = fixture();
    let server = Server::start(|_| ("200 OK".into(), "secret".into()));
    let catalog = catalog(&f, UrlReading::default());
    let text = format!(
        "{}---\n{}",
        api("local", &format!("http://127.0.0.1:{}/", server.port)),
        api("metadata", "http://169.254.169.254/latest/meta-data/iam/")
    );
    let problems = register(&catalog, &f, "apis.yaml", &text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    for problem in &problems {
        assert!(
            problem.contains("its host is not in [catalog] reading-allow"),
            "{problem}"
        );
    }
    assert_eq!(server.hits(), 0, "nothing was requested");
    assert_eq!(definition(&catalog, "local"), None, "nothing stored");
    assert_eq!(definition(&catalog, "metadata"), None);
}

#[test]
fn a_url_location_reads_nothing_unless_its_host_is_allowed() {
    let f = fixture();
    let catalog = catalog(&f, UrlReading::default());
    let (_, report) = catalog
        .add_location(
            LocationType::Url,
            "http://169.254.169.254/latest/meta-data/catalog-info.yaml",
            "api",
            false,
        )
        .unwrap();
    assert_eq!(report.added, 1, "only its generated Location");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0]
            .message
            .contains("its host is not in [catalog] reading-allow"),
        "{:?}",
        report.problems
    );
}

#[test]
fn an_allowed_name_that_resolves_to_loopback_is_refused_unless_listed_as_private() {
    let f = fixture();
    let server = Server::start(|_| ("200 OK".into(), "internal page".into()));
    let host = format!("localhost:{}", server.port);
    let target = format!("http://{host}/admin");
    let refused = catalog(&f, allow(std::slice::from_ref(&host)));
    let problems = register(&refused, &f, "apis.yaml", &api("internal", &target));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("`localhost` resolved to")
            && problems[0].contains("a loopback address")
            && problems[0].contains("[egress] private-hosts"),
        "{problems:?}"
    );
    assert_eq!(server.hits(), 0);
    assert_eq!(definition(&refused, "internal"), None);

    let listed = catalog(
        &f,
        UrlReading {
            private_hosts: vec!["localhost".into()],
            ..allow(&[host])
        },
    );
    listed.refresh_all().unwrap();
    assert_eq!(
        definition(&listed, "internal"),
        Some("internal page".into())
    );
}

#[test]
fn an_allowed_address_is_read() {
    let f = fixture();
    let server = Server::start(|path| ("200 OK".into(), format!("openapi at {path}")));
    let host = format!("127.0.0.1:{}", server.port);
    let catalog = catalog(&f, allow(std::slice::from_ref(&host)));
    let problems = register(
        &catalog,
        &f,
        "apis.yaml",
        &api("pay", &format!("http://{host}/pay.yaml")),
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        definition(&catalog, "pay"),
        Some("openapi at /pay.yaml".into())
    );
}

#[test]
fn each_redirect_is_decided_again() {
    let f = fixture();
    let secret = Server::start(|_| ("200 OK".into(), "metadata".into()));
    let secret_port = secret.port;
    let open = Server::start(move |path| match path {
        "/to-unlisted" => (
            format!("302 Found\r\nlocation: http://127.0.0.1:{secret_port}/"),
            String::new(),
        ),
        "/to-private-name" => (
            format!("302 Found\r\nlocation: http://localhost:{secret_port}/"),
            String::new(),
        ),
        "/loop" => ("302 Found\r\nlocation: /loop".into(), String::new()),
        "/to-fine" => ("301 Moved\r\nlocation: /fine".into(), String::new()),
        _ => ("200 OK".into(), "fine".into()),
    });
    let open_host = format!("127.0.0.1:{}", open.port);
    // The secret server's name is allowed, but not its address.
    let catalog = catalog(
        &f,
        allow(&[open_host.clone(), format!("localhost:{secret_port}")]),
    );
    let text = ["to-unlisted", "to-private-name", "loop", "to-fine"]
        .iter()
        .map(|path| api(path, &format!("http://{open_host}/{path}")))
        .collect::<Vec<_>>()
        .join("---\n");
    let problems = register(&catalog, &f, "apis.yaml", &text);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].contains(&format!("redirected to http://127.0.0.1:{secret_port}/"))
            && problems[0].contains("not in [catalog] reading-allow"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("redirected to http://localhost")
            && problems[1].contains("a loopback address"),
        "{problems:?}"
    );
    assert!(
        problems[2].contains("more than 5 redirects"),
        "{problems:?}"
    );
    assert_eq!(secret.hits(), 0, "the redirects never reached it");
    assert_eq!(definition(&catalog, "to-fine"), Some("fine".into()));
    assert_eq!(definition(&catalog, "to-unlisted"), None);
}

/// A server whose answers wait until the test lets them go.
fn held_server() -> (Server, mpsc::Sender<()>) {
    let (release, released) = mpsc::channel::<()>();
    let released = std::sync::Mutex::new(released);
    let server = Server::start(move |_| {
        let _ = released
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(60));
        ("200 OK".into(), "slow".into())
    });
    (server, release)
}

#[test]
fn a_slow_location_does_not_hold_the_others() {
    let f = fixture();
    let (slow, release) = held_server();
    let host = format!("127.0.0.1:{}", slow.port);
    let catalog = catalog(&f, allow(std::slice::from_ref(&host)));
    let slow_file = f.root.join("slow.yaml");
    std::fs::write(&slow_file, api("slow", &format!("http://{host}/"))).unwrap();
    let fast_file = f.root.join("fast.yaml");
    std::fs::write(&fast_file, api("fast", "./fast.txt")).unwrap();
    std::fs::write(f.root.join("fast.txt"), "fast").unwrap();
    for file in [&slow_file, &fast_file] {
        catalog
            .store()
            .add_location(LocationType::File, file.to_str().unwrap(), "config")
            .unwrap();
    }
    let refreshing = {
        let catalog = catalog.clone();
        std::thread::spawn(move || catalog.refresh_all().unwrap())
    };
    // The fast location is in while the slow one still waits for its
    // answer (the server has not been released).
    while definition(&catalog, "fast").is_none() {
        assert!(!refreshing.is_finished(), "the refresh ended without it");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(definition(&catalog, "slow"), None, "still pending");
    release.send(()).unwrap();
    let summary = refreshing.join().unwrap();
    assert_eq!(summary.locations, 2);
    assert_eq!(definition(&catalog, "slow"), Some("slow".into()));
}

#[test]
fn a_location_out_of_time_is_cut_off_with_a_problem_and_the_rest_is_read() {
    let f = fixture();
    let (slow, _held) = held_server();
    let host = format!("127.0.0.1:{}", slow.port);
    let catalog = catalog(
        &f,
        UrlReading {
            location_budget: Duration::from_millis(300),
            ..allow(std::slice::from_ref(&host))
        },
    );
    let text = format!(
        "{}---\n{}---\n{}",
        api("first", &format!("http://{host}/1")),
        api("second", &format!("http://{host}/2")),
        api("local", "./local.txt")
    );
    std::fs::write(f.root.join("local.txt"), "local").unwrap();
    let problems = register(&catalog, &f, "apis.yaml", &text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("no answer within"), "{problems:?}");
    assert!(
        problems[1].contains("time budget") && problems[1].contains("location-budget"),
        "{problems:?}"
    );
    assert_eq!(
        definition(&catalog, "local"),
        Some("local".into()),
        "files are still read"
    );
    assert_eq!(slow.hits(), 1, "the second read was not even sent");
}

#[test]
fn reading_allow_entries_follow_backstages_shape() {
    for bad in [
        "http://example.com",
        "example.com/path",
        "ex*mple.com",
        "*.",
        "",
    ] {
        assert!(ReadingAllow::new(bad, None).is_err(), "{bad}");
    }
    assert!(ReadingAllow::new("example.com", Some(vec!["docs/".into()])).is_err());
    for good in [
        "example.com",
        "*.example.com",
        "example.com:8080",
        "10.0.0.5:80",
    ] {
        assert!(ReadingAllow::new(good, None).is_ok(), "{good}");
    }
}
