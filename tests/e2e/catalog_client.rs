use crate::support::Server;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `tests/e2e/node`, where `scripts/setup` installs the client.
fn node_project() -> PathBuf {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the greenroom package is host/cli in the repository");
    repository.join("tests/e2e/node")
}

/// A catalog file with one Component the demo does not have, for the
/// script to register and remove.
const PROBE: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: e2e-probe
  description: Registered and removed by the catalog client test.
spec:
  type: service
  lifecycle: experimental
  owner: team-checkout
";

#[test]
fn backstages_catalog_client_works_against_the_catalog_api() {
    let project = node_project();
    assert!(
        project
            .join("node_modules/@backstage/catalog-client")
            .is_dir(),
        "@backstage/catalog-client is not installed in {}: run scripts/setup \
         (or `npm ci --prefix tests/e2e/node`) first",
        project.display()
    );
    let server = Server::start(&["--demo"]);
    server.wait_for("/api/catalog/entities/by-name/component/default/checkout-service");
    let probe = server.data_dir.path().join("probe/catalog-info.yaml");
    std::fs::create_dir_all(probe.parent().expect("a folder")).expect("probe folder");
    std::fs::write(&probe, PROBE).expect("probe written");

    let output = Command::new("node")
        .arg(project.join("catalog-client.mjs"))
        .arg(format!("{}/api/catalog", server.base))
        .arg(&probe)
        .current_dir(&project)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 20 or newer is needed): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the catalog client script failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        output.status,
        server.log()
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
}
