//! Compiles the workspace's guest crates to WebAssembly components.
//!
//! One `cargo build --target wasm32-wasip2 --profile guest` for all of
//! them, into `target/guests` (a target dir of its own: the outer cargo
//! holds the lock on the main one while build scripts run). The inner
//! build is incremental, so an unchanged guest costs one no-op cargo run.
//! Paths are remapped so that the components are byte-for-byte the same
//! wherever the repository is checked out; their digests are listed in
//! `marketplace-index.toml`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "guest";

/// Where guest crates live, and whether they are embedded in the binary.
const GUEST_DIRS: &[(&str, Kind)] = &[
    ("examples", Kind::Bundled),
    ("plugins", Kind::Bundled),
    ("tests/plugins", Kind::TestPlugin),
];

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bundled,
    TestPlugin,
}

struct Guest {
    /// Package name from its Cargo.toml.
    package: String,
    /// Folder relative to the workspace root.
    source: String,
    kind: Kind,
}

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .expect("workspace root exists");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    for watched in [
        "sdk",
        "wit",
        "examples",
        "plugins",
        "tests/plugins",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let guests = discover(&root);
    check_target_installed();
    let guest_target_dir = guest_target_dir(&out_dir);
    build(&root, &guest_target_dir, &guests);

    let mut generated = String::new();
    let mut bundled = String::new();
    let mut test_plugins = Vec::new();
    for guest in &guests {
        let file = format!("{}.wasm", guest.package.replace('-', "_"));
        let built = guest_target_dir.join(TARGET).join(PROFILE).join(&file);
        let copied = out_dir.join(&file);
        fs::copy(&built, &copied)
            .unwrap_or_else(|e| panic!("copying {} to {}: {e}", built.display(), copied.display()));
        match guest.kind {
            Kind::Bundled => {
                writeln!(
                    bundled,
                    "    Bundled {{ crate_name: {:?}, source: {:?}, bytes: include_bytes!({:?}) }},",
                    guest.package,
                    guest.source,
                    copied.display().to_string()
                )
                .expect("writing to a String cannot fail");
            }
            Kind::TestPlugin => {
                let name = guest
                    .package
                    .strip_prefix("test-plugin-")
                    .unwrap_or_else(|| {
                        panic!(
                            "test plugin crate `{}` must be named `test-plugin-<name>`",
                            guest.package
                        )
                    });
                let ident = name.replace('-', "_");
                writeln!(
                    generated,
                    "/// The test plugin built from `{}`.\npub const {}_COMPONENT: &str = {:?};",
                    guest.source,
                    ident.to_uppercase(),
                    copied.display().to_string()
                )
                .expect("writing to a String cannot fail");
                test_plugins.push(ident);
            }
        }
    }
    writeln!(
        generated,
        "/// Every plugin embedded in the binary.\npub const BUNDLED: &[Bundled] = &[\n{bundled}];"
    )
    .expect("writing to a String cannot fail");
    let calls: String = test_plugins
        .iter()
        .map(|name| format!("        $mac!({name});\n"))
        .collect();
    writeln!(
        generated,
        "/// Calls `$mac!(name)` for every test plugin, so tests can assert each is used.\n\
         #[macro_export]\nmacro_rules! foreach_test_plugin {{\n    ($mac:ident) => {{\n{calls}    }};\n}}"
    )
    .expect("writing to a String cannot fail");
    fs::write(out_dir.join("gen.rs"), generated).expect("OUT_DIR is writable");
}

fn discover(root: &Path) -> Vec<Guest> {
    let mut guests = Vec::new();
    for (dir, kind) in GUEST_DIRS {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut crates: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.join("Cargo.toml").is_file())
            .collect();
        crates.sort();
        for path in crates {
            let manifest =
                fs::read_to_string(path.join("Cargo.toml")).expect("guest Cargo.toml is readable");
            let package = package_name(&manifest).unwrap_or_else(|| {
                panic!("{}/Cargo.toml has no `name = \"…\"` line", path.display())
            });
            let source = path
                .strip_prefix(root)
                .expect("guest is inside the workspace")
                .display()
                .to_string();
            guests.push(Guest {
                package,
                source,
                kind: *kind,
            });
        }
    }
    guests
}

/// The `name` of the `[package]` table, read without a TOML parser so that
/// the build script compiles in a second.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some(value) = line
            .strip_prefix("name")
            .map(str::trim_start)
            .and_then(|l| l.strip_prefix('='))
        {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

fn check_target_installed() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output();
    let installed = output
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|dir| dir.is_dir());
    if !installed {
        panic!(
            "\n\nGreenroom's plugins are built for the `{TARGET}` target, which is not installed.\n\
             Install it with:\n\n    rustup target add {TARGET}\n\n"
        );
    }
}

/// `<target>/guests`, next to `debug/` and `release/`, so every profile and
/// tool (test, clippy, run) shares one guest build.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    out_dir
        .ancestors()
        .nth(4)
        .map(|target| target.join("guests"))
        .unwrap_or_else(|| out_dir.join("guests"))
}

fn build(root: &Path, target_dir: &Path, guests: &[Guest]) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cargo_home = env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env::var("HOME").unwrap_or_default()).join(".cargo"));
    // Remap the checkout and the registry so panic messages and the like do
    // not embed machine-specific paths: the same source gives the same bytes.
    let rustflags = [
        format!("--remap-path-prefix={}=/greenroom", root.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
    ]
    .join("\x1f");
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--target",
            TARGET,
            "--profile",
            PROFILE,
            "--target-dir",
        ])
        .arg(target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags);
    for guest in guests {
        command.args(["-p", &guest.package]);
    }
    for var in [
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    let output = command
        .output()
        .expect("cargo can be run from a build script");
    if !output.status.success() {
        panic!(
            "building the guest plugins failed:\n{}\n(run `cargo build --target {TARGET} --profile {PROFILE} -p <crate>` to see it directly)",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
