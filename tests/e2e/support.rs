//! A real `greenroom` process for a test, and HTTP helpers.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to start: it compiles every plugin on the
/// first start (a debug-built host on a loaded 2-core CI machine).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// The `greenroom` binary cargo built for these tests.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_greenroom")
}

/// How long the catalog may take to be read after start (the demo
/// organisation in a debug build on a loaded 2-core machine).
pub const CATALOG_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a change made beside a running server (a licence added, roles
/// published, a plugin installed) may take to show: the server looks every
/// few seconds.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// The double-submit CSRF token the tests' "browser" carries, in both the
/// `greenroom_csrf` cookie and a form's `_csrf` field.
pub const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The demo publisher's signing key, which issues premium plugins' licences.
pub const DEMO_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../keys/greenroom-demo.key");

/// The sign-in header the tests' trusted proxy sets (`[auth.proxy] header`).
const PROXY_HEADER: &str = "X-Forwarded-Email";

/// A running server, stopped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stderr_log: PathBuf,
    /// The data directory, kept for the server's lifetime.
    pub data_dir: tempfile::TempDir,
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// What submitting a form did: the status, and the page it shows (for a
/// redirect, the page it led to, with its notice).
pub struct Submitted {
    pub status: u16,
    pub page: String,
}

impl Server {
    /// Starts `greenroom serve <args>` on a free port with a fresh data
    /// directory, and waits until it says it is serving and its plugins
    /// are ready (`/readyz`).
    pub fn start(args: &[&str]) -> Server {
        Server::start_in(tempfile::tempdir().expect("temp dir"), args)
    }

    /// A portal with guest access, hello granted everything, and these
    /// component files loaded as plugins (granted nothing); `extra_config`
    /// is TOML placed before the plugin list (e.g. a `[limits]` table).
    pub fn with_test_plugins(extra_config: &str, components: &[&str]) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = format!(
            "[auth]\nguest = true\n\n{extra_config}\n\n[[plugins]]\nbundled = \"hello\"\ngrant = [\"all\"]\n"
        );
        for component in components {
            config.push_str(&format!("\n[[plugins]]\npath = {component:?}\n"));
        }
        let file = write_config(data_dir.path(), &config);
        let file = file.to_str().expect("utf-8 path").to_owned();
        Server::start_in(data_dir, &["--config", &file])
    }

    /// As [`Server::start`], with a given data directory. Every server the
    /// tests start shares one compile cache, so each component is compiled
    /// once per test run rather than once per server.
    pub fn start_in(data_dir: tempfile::TempDir, args: &[&str]) -> Server {
        let shared_cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/e2e-component-cache");
        Server::spawn(data_dir, args, Some(shared_cache))
    }

    /// As [`Server::start_in`], with the compile cache in the data
    /// directory, where an operator's server keeps it.
    pub fn start_in_with_own_cache(data_dir: tempfile::TempDir, args: &[&str]) -> Server {
        Server::spawn(data_dir, args, None)
    }

    /// As [`Server::start_in_with_own_cache`], returning as soon as the
    /// port is open, with plugins perhaps still being compiled.
    pub fn start_cold(data_dir: tempfile::TempDir, args: &[&str]) -> Server {
        Server::spawn_on(data_dir, args, None, "127.0.0.1:0")
    }

    /// Waits until `/readyz` says every configured plugin is compiled.
    pub fn wait_until_ready(&self) {
        wait_until_ready(&self.base, || self.log());
    }

    /// As [`Server::start_in`], listening on `listen` (`127.0.0.1:<port>`,
    /// see [`free_port`]) rather than on a port of its own choosing: for a
    /// test that must name the portal's address before it starts, as an
    /// identity provider's registered redirect URL does.
    pub fn start_listening(data_dir: tempfile::TempDir, args: &[&str], listen: &str) -> Server {
        let shared_cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/e2e-component-cache");
        let server = Server::spawn_on(data_dir, args, Some(shared_cache), listen);
        server.wait_until_ready();
        server
    }

    /// Starts the server and waits until its plugins are ready: the port
    /// opens before that, and tests assert what plugins draw.
    fn spawn(data_dir: tempfile::TempDir, args: &[&str], cache_dir: Option<&str>) -> Server {
        let server = Server::spawn_on(data_dir, args, cache_dir, "127.0.0.1:0");
        server.wait_until_ready();
        server
    }

    fn spawn_on(
        data_dir: tempfile::TempDir,
        args: &[&str],
        cache_dir: Option<&str>,
        listen: &str,
    ) -> Server {
        let stderr_log = data_dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_log).expect("stderr log");
        let mut child = Command::new(binary())
            .arg("serve")
            .args(args)
            .args(["--listen", listen, "--data-dir"])
            .arg(data_dir.path())
            .env("GREENROOM_LOG", "info")
            .envs(cache_dir.map(|dir| ("GREENROOM_RUNTIME__CACHE_DIR", dir)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the greenroom binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines, serving) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("Greenroom is serving on ") {
                    let _ = lines.send(address.trim().to_owned());
                }
            }
        });
        match serving.recv_timeout(START_TIMEOUT) {
            Ok(base) => Server {
                child,
                base,
                stderr_log,
                data_dir,
            },
            Err(reason) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&stderr_log).unwrap_or_default();
                let what = match reason {
                    mpsc::RecvTimeoutError::Timeout => {
                        format!("did not start within {START_TIMEOUT:?}")
                    }
                    mpsc::RecvTimeoutError::Disconnected => "exited before serving".to_owned(),
                };
                panic!("greenroom {what}; its log:\n{log}");
            }
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        let response = client()
            .get(format!("{}{path}", self.base))
            .send()
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}\nserver log:\n{}", self.log()));
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().expect("a text body"),
        }
    }

    /// `GET path` until it answers 200, and that answer. `serve` answers
    /// before its refresh loop has read the catalog, so pages about
    /// entities appear a moment after start (seconds for the demo
    /// organisation in a debug build on a loaded 2-core machine).
    pub fn wait_for(&self, path: &str) -> Reply {
        let started = std::time::Instant::now();
        loop {
            let reply = self.get(path);
            if reply.status == 200 {
                return reply;
            }
            assert!(
                started.elapsed() < CATALOG_TIMEOUT,
                "{path} still answers {} after {CATALOG_TIMEOUT:?}: {}\nserver log:\n{}",
                reply.status,
                reply.body,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `GET path` as `who`, signed in by the trusted proxy's header, or
    /// as whoever the portal lets in without one (the guest); redirects
    /// are not followed.
    pub fn get_as(&self, who: Option<&str>, path: &str) -> Reply {
        let response = as_who(browser().get(format!("{}{path}", self.base)), who)
            .send()
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}\nserver log:\n{}", self.log()));
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().expect("a text body"),
        }
    }

    /// `GET path` as `who` (see [`Server::get_as`]) until `check` holds for
    /// its status and body, and that answer; `what` names what is awaited.
    pub fn until(
        &self,
        who: Option<&str>,
        path: &str,
        what: &str,
        check: impl Fn(u16, &str) -> bool,
    ) -> Reply {
        let started = std::time::Instant::now();
        loop {
            let reply = self.get_as(who, path);
            if check(reply.status, &reply.body) {
                return reply;
            }
            assert!(
                started.elapsed() < CHANGE_TIMEOUT,
                "timed out waiting until {what}: {path} answered {}:\n{}\nserver log:\n{}",
                reply.status,
                reply.body,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits until the server has read the catalog once.
    pub fn wait_for_catalog(&self) {
        let started = std::time::Instant::now();
        while !self.log().contains("catalog refreshed") {
            assert!(
                started.elapsed() < CATALOG_TIMEOUT,
                "the catalog was not read within {CATALOG_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Posts the form `fields` to `path` as `who`, as a browser does: with
    /// the CSRF cookie and field, following a redirect with the cookies it
    /// sets (a notice travels in one to the next page).
    pub fn submit(&self, who: Option<&str>, path: &str, fields: &[(&str, &str)]) -> Submitted {
        let mut form = vec![("_csrf", CSRF)];
        form.extend_from_slice(fields);
        let response = as_who(browser().post(format!("{}{path}", self.base)), who)
            .header("cookie", format!("greenroom_csrf={CSRF}"))
            .form(&form)
            .send()
            .unwrap_or_else(|e| panic!("POST {path} failed: {e}\nserver log:\n{}", self.log()));
        let status = response.status().as_u16();
        if status != 303 {
            let page = response.text().expect("a page");
            return Submitted { status, page };
        }
        let location = response.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next().map(str::to_owned))
            .collect();
        let page = as_who(browser().get(format!("{}{location}", self.base)), who)
            .header("cookie", cookies.join("; "))
            .send()
            .expect("the server answers")
            .text()
            .expect("a page");
        Submitted { status, page }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// Stops the server and hands back its data directory, to start
    /// another server on the same data.
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"))
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// A client that follows no redirect by itself, as the tests' browser.
fn browser() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// `request` as `who`, signed in by the trusted proxy, or without a header.
fn as_who(
    request: reqwest::blocking::RequestBuilder,
    who: Option<&str>,
) -> reqwest::blocking::RequestBuilder {
    match who {
        Some(email) => request.header(PROXY_HEADER, email),
        None => request,
    }
}

/// The notice banner of a page (as HTML), if it shows one.
pub fn notice(page: &str) -> Option<&str> {
    page.split("banner-notice\" role=\"status\">")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
}

/// Waits until the portal at `base` says on `/readyz` that every plugin is
/// ready; `log` tells what the server said when it does not.
pub fn wait_until_ready(base: &str, log: impl Fn() -> String) {
    let started = std::time::Instant::now();
    let readyz = || client().get(format!("{base}/readyz")).send();
    while readyz().map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(
            started.elapsed() < START_TIMEOUT,
            "plugins were not ready within {START_TIMEOUT:?}: {:?}\nserver log:\n{}",
            readyz().and_then(|r| r.text()),
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Writes a config file into `dir` and returns its path.
pub fn write_config(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("greenroom.toml");
    std::fs::write(&path, toml).expect("config written");
    path
}

/// `greenroom args` in `dir`; its stdout, after checking it succeeded.
pub fn run_in(dir: &std::path::Path, args: &[&str]) -> String {
    run_in_with(dir, args, &[])
}

/// `greenroom args` in `dir`, which must fail: its (stdout, stderr).
pub fn fails_in(dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let output = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs");
    assert!(!output.status.success(), "greenroom {args:?} should fail");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `greenroom args` in `dir` with extra environment variables; its stdout,
/// after checking it succeeded.
pub fn run_in_with(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "greenroom {args:?} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Serves the files of `dir` over HTTP on a free port, for as long as the
/// test runs (a static file server, as an index is published on the web);
/// anything else is a 404.
pub fn serve_dir(dir: &Path) -> String {
    use std::io::{BufRead as _, BufReader, Write as _};
    let dir = dir.to_owned();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let file = path
                .trim_start_matches('/')
                .split('/')
                .all(|part| !part.is_empty() && part != "..")
                .then(|| std::fs::read(dir.join(path.trim_start_matches('/'))).ok())
                .flatten();
            let mut stream = &stream;
            let _ = match file {
                Some(body) => write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                )
                .and_then(|()| stream.write_all(&body)),
                None => write!(
                    stream,
                    "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                ),
            };
        }
    });
    base
}

/// `greenroom keys generate --out FILE` in `dir`: the public key it prints.
pub fn generate_key(dir: &Path, file: &str) -> String {
    run_in(dir, &["keys", "generate", "--out", file])
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .expect("the public key is printed")
        .to_owned()
}

/// Issues a 30-day, 50-seat licence for the premium plugin `plugin` with
/// the demo publisher's key and adds it to the data directory `dir` whose
/// configuration is `config`, as an operator does.
pub fn license(dir: &Path, config: &Path, plugin: &str) {
    let today = greenroom_licensing::Day::of(std::time::SystemTime::now());
    let licence = dir.join(format!("{plugin}.licence"));
    let licence = licence.to_str().expect("utf-8 path");
    run_in(
        dir,
        &[
            "license",
            "issue",
            "--key",
            DEMO_KEY,
            "--publisher",
            greenroom_marketplace::DEMO_PUBLISHER,
            "--licensee",
            "Acme Retail",
            "--plugin",
            plugin,
            "--seats",
            "50",
            "--issued",
            &today.to_string(),
            "--expires",
            &today.plus_days(30).to_string(),
            "--out",
            licence,
        ],
    );
    run_in(
        dir,
        &[
            "license",
            "add",
            licence,
            "--config",
            config.to_str().expect("utf-8 path"),
            "--data-dir",
            dir.to_str().expect("utf-8 path"),
        ],
    );
}
