//! A plugin author's commands: `greenroom plugin new NAME` scaffolds a crate
//! that builds at once, and `greenroom plugin build` compiles it to a
//! component and checks it as the host will.

use anyhow::{Context as _, bail};
use greenroom_contract::{Artifact, PluginId};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target plugins are compiled for.
const TARGET: &str = "wasm32-wasip2";

/// The SDK of the repository this binary was built from, when it is still
/// there: what `plugin new` depends on unless told otherwise (the SDK is
/// not on crates.io yet).
const BUILT_WITH_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk");

/// `greenroom plugin new NAME`: a plugin crate in `./NAME` (or `path`).
pub fn new(name: &str, path: Option<&Path>, sdk: Option<&Path>) -> anyhow::Result<()> {
    let id = PluginId::parse(name)
        .map_err(|e| anyhow::anyhow!("`{name}` cannot be a plugin id: {e}"))?;
    let folder = path
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from(name));
    if folder.exists() {
        bail!(
            "{} exists already; choose another name or --path",
            folder.display()
        );
    }
    let sdk = match sdk {
        Some(sdk) => sdk.to_owned(),
        None => PathBuf::from(BUILT_WITH_SDK),
    };
    let sdk = std::fs::canonicalize(&sdk)
        .ok()
        .filter(|s| s.join("Cargo.toml").is_file())
        .with_context(|| {
            format!(
                "the greenroom-sdk crate is not at {}; pass --sdk with the path of its folder",
                sdk.display()
            )
        })?;
    let crate_name = id.as_str().replace('-', "_");
    std::fs::create_dir_all(folder.join("src"))
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let files = [
        ("Cargo.toml", cargo_toml(id.as_str(), &sdk)),
        ("greenroom.toml", manifest(id.as_str())),
        ("src/lib.rs", LIB_RS.replace("{id}", id.as_str())),
        (".gitignore", "/target\n".to_owned()),
    ];
    for (file, text) in files {
        std::fs::write(folder.join(file), text)
            .with_context(|| format!("cannot write {}", folder.join(file).display()))?;
    }
    println!("created the plugin `{id}` in {}", folder.display());
    println!(
        "  build it:   greenroom plugin build --path {}",
        folder.display()
    );
    println!(
        "  test it:    cargo test --manifest-path {}/Cargo.toml",
        folder.display()
    );
    println!(
        "  run it:     add [[plugins]] path = \"{}/target/{TARGET}/release/{crate_name}.wasm\" to a portal's config",
        folder.display()
    );
    Ok(())
}

fn cargo_toml(id: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{id}"
version = "0.1.0"
edition = "2024"
publish = false

# A plugin is a library compiled to a WebAssembly component (cdylib); the
# rlib lets `cargo test` run its unit tests natively.
[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
greenroom-sdk = {{ path = {sdk:?} }}

# Its own workspace, wherever it is created.
[workspace]

[profile.release]
opt-level = "s"
lto = true
strip = true
"#,
        sdk = sdk.display().to_string()
    )
}

fn manifest(id: &str) -> String {
    format!(
        r#"# What this plugin is and what it asks the host for. `export!` embeds this
# file in the component; operators see it before they grant anything.
id = "{id}"
name = "{id}"
version = "0.1.0"
tier = "open"
description = "A Greenroom plugin."

# No capabilities yet: add them under [capabilities] as the plugin needs
# them (see the plugin author guide).

[[slots]]
kind = "home-widget"
name = "main"
title = "{id}"
"#
    )
}

const LIB_RS: &str = r#"//! {id}: a Greenroom plugin.

use greenroom_sdk::prelude::*;

struct Plugin;

impl greenroom_sdk::Plugin for Plugin {
    fn render(slot: &Slot, cx: &Context) -> Result<View> {
        match slot.kind {
            SlotKind::HomeWidget => Ok(card("{id}")
                .child(text(greeting(&cx.user.display_name)))
                .into()),
            _ => Err(Error::unsupported("only the home widget is drawn")),
        }
    }
}

/// What the widget says: plain logic, tested natively below.
fn greeting(name: &str) -> String {
    format!("Hello, {name}!")
}

greenroom_sdk::export!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets_the_user_by_name() {
        assert_eq!(greeting("Ada"), "Hello, Ada!");
    }
}
"#;

/// `greenroom plugin build`: `cargo build --release --target wasm32-wasip2`
/// in the plugin's folder, then the component checked as the host reads it.
/// Returns the component's path.
pub fn build(path: &Path) -> anyhow::Result<PathBuf> {
    let manifest_path = path.join("Cargo.toml");
    if !manifest_path.is_file() {
        bail!("{} is not a plugin crate (no Cargo.toml)", path.display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&manifest_path)
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("cargo build failed (is the target installed? `rustup target add {TARGET}`)");
    }
    let name = package_name(&manifest_path)?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| path.join("target"));
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    let bytes = std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let wasm = std::fs::canonicalize(&wasm).unwrap_or(wasm);
    let artifact = Artifact::from_bytes(bytes)
        .with_context(|| format!("{} is not a loadable plugin", wasm.display()))?;
    let manifest = artifact.manifest();
    println!(
        "built {} {} ({})",
        manifest.id,
        manifest.version,
        artifact.built_against()
    );
    println!("  component: {}", wasm.display());
    println!("  sha256:    {}", artifact.digest().hex());
    for capability in &manifest.capabilities {
        println!("  requests:  {capability}");
    }
    Ok(wasm)
}

/// The newest modification time of a plugin's sources: `src/` (recursively),
/// `Cargo.toml` and `greenroom.toml`.
fn sources_changed_at(folder: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    let mut pending = vec![folder.join("src")];
    let mut consider = |path: &Path| {
        if let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) {
            newest = newest.max(Some(modified));
        }
    };
    consider(&folder.join("Cargo.toml"));
    consider(&folder.join("greenroom.toml"));
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                consider(&path);
            }
        }
    }
    newest
}

/// How often `plugin dev` looks at the sources.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// What `plugin dev` needs to swap the plugin in a running portal.
pub struct DevReload {
    /// The plugin's folder.
    pub folder: PathBuf,
    /// Its `[[plugins]]` entry (the built component, granted all).
    pub entry: crate::config::PluginConfig,
    /// Limits for it.
    pub limits: greenroom_runtime::Limits,
}

impl DevReload {
    /// Watches the sources on a thread of its own; on every change,
    /// rebuilds and has `host` swap the new build in. A build or load that
    /// fails is printed and the running version keeps serving.
    pub fn spawn(self, host: greenroom_lifecycle::PluginHost) -> std::thread::JoinHandle<()> {
        std::thread::spawn(move || {
            let mut seen = sources_changed_at(&self.folder);
            loop {
                std::thread::sleep(WATCH_EVERY);
                let now = sources_changed_at(&self.folder);
                if now == seen {
                    continue;
                }
                seen = now;
                let started = std::time::Instant::now();
                match self.reload(&host) {
                    Ok(id) => println!(
                        "reloaded {id} in {:.1} s; refresh the page",
                        started.elapsed().as_secs_f64()
                    ),
                    Err(error) => eprintln!("not reloaded, the running version stays: {error:#}"),
                }
            }
        })
    }

    fn reload(&self, host: &greenroom_lifecycle::PluginHost) -> anyhow::Result<String> {
        build(&self.folder)?;
        let (_, entry) = crate::plugins::entry(&self.entry, Path::new("."), self.limits);
        let loaded = host.load(&entry?)?;
        Ok(loaded.manifest().id.to_string())
    }
}

/// `package.name` of a Cargo.toml.
fn package_name(manifest_path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let value: toml::Value = toml::from_str(&text)
        .with_context(|| format!("{} is not valid TOML", manifest_path.display()))?;
    value
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no package.name", manifest_path.display()))
}
