use crate::support::{Server, binary, run_in, write_config};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(binary()).args(args).output().expect("runs")
}

/// `greenroom plugin list` with this configuration file.
fn plugin_list_with(config: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_config(dir.path(), config);
    run(&["plugin", "list", "--config", path.to_str().expect("utf-8")])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn prints_its_version_and_helpful_help() {
    assert_eq!(
        text(&run(&["--version"]).stdout).trim(),
        format!("greenroom {}", env!("CARGO_PKG_VERSION"))
    );
    let help = text(&run(&["--help"]).stdout);
    for expected in ["serve", "plugin", "Examples:", "greenroom serve --demo"] {
        assert!(
            help.contains(expected),
            "{expected:?} missing from:\n{help}"
        );
    }
    let serve_help = text(&run(&["serve", "--help"]).stdout);
    for flag in ["--config", "--data-dir", "--listen", "--demo"] {
        assert!(
            serve_help.contains(flag),
            "{flag} missing from:\n{serve_help}"
        );
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let output = run(&["serve", "--config", "/nonexistent/greenroom.toml"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("config file /nonexistent/greenroom.toml does not exist"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_misspelt_config_key_is_named() {
    let output = plugin_list_with("lisen = \"127.0.0.1:9000\"\n");
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("lisen"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_grant_beyond_the_request_is_refused_with_the_reason() {
    let output =
        plugin_list_with("[[plugins]]\nbundled = \"hello\"\ngrant = [\"http:evil.example.com\"]\n");
    assert!(!output.status.success());
    assert!(
        text(&output.stdout).contains("cannot grant `http:evil.example.com`"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn plugin_list_shows_what_the_demo_loads_and_grants() {
    let output = run(&["plugin", "list", "--demo"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("hello 0.1.0 (open, bundled:hello)"),
        "{stdout}"
    );
    assert!(stdout.contains("granted:     storage"), "{stdout}");
}

#[test]
fn a_taken_port_is_reported_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(&[
        "serve",
        "--demo",
        "--listen",
        &address,
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains(&format!("cannot listen on {address}")),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_second_server_on_a_data_directory_in_use_is_refused_naming_the_first() {
    let mut first = Server::start(&[]);
    let data = first.data_dir.path().display().to_string();
    let output = run(&["serve", "--listen", "127.0.0.1:0", "--data-dir", &data]);
    assert!(!output.status.success(), "the second server started");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the data directory {data} is in use by another Greenroom server (PID {})",
            first.pid()
        )),
        "{stderr}"
    );
    assert!(first.is_running());
    assert_eq!(first.get("/healthz").status, 200);
    // Commands an operator runs beside the server are not blocked.
    let exported = run_in(
        first.data_dir.path(),
        &["rbac", "export", "-", "--data-dir", &data],
    );
    assert!(exported.contains("version: 1"), "{exported}");
    // Stopped (even killed), the first server leaves no stale lock behind.
    let data_dir = first.stop();
    let mut again = Server::start_in(data_dir, &[]);
    assert!(again.is_running());
}
