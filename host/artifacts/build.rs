//! Compiles the workspace's guest crates to WebAssembly components.
//!
//! One `cargo build --target wasm32-wasip2 --profile guest` for all of
//! them, into `target/guests` (a target dir of its own: the outer cargo
//! holds the lock on the main one while build scripts run). The inner
//! build is incremental, so an unchanged guest costs one no-op cargo run.
//! Paths are remapped so that the components are byte-for-byte the same
//! wherever the repository is checked out; their digests are listed in
//! `marketplace-index.toml`.
//!
//! Plugins written in Python (`PYTHON_GUESTS`) are built with
//! componentize-py, which `scripts/setup` installs into
//! `target/tools/componentize-py`; see `python/componentize.sh` for how the
//! build is made reproducible. The manifest and WIT version sections the
//! Rust SDK's `export!` writes are appended here, the same bytes the host
//! reads from any plugin.

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

/// Plugins written in Python: their folder (with `greenroom.toml` and the
/// `.py` sources) and the module that defines `WitWorld`. They are bundled.
const PYTHON_GUESTS: &[(&str, &str)] = &[("examples/hello-python", "app")];

/// The exact componentize-py `scripts/setup` installs; a different version
/// gives different bytes, so the index digests pin it too.
const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The released WIT folder Python plugins are built against, and its version.
const PYTHON_WIT: (&str, &str) = ("wit/since_v0.1.0", "0.1.0");

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
        // Shared data guest plugins compile (plugins/rbac).
        "host/model",
        "wit",
        "examples",
        "plugins",
        "tests/plugins",
        "host/artifacts/python",
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
                    "    Bundled {{ crate_name: {:?}, source: {:?}, bytes: include_bytes!({:?}), demo: {} }},",
                    guest.package,
                    guest.source,
                    copied.display().to_string(),
                    demo_files(&root.join(&guest.source))
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
    for (folder, module) in PYTHON_GUESTS {
        let component = python::build(&root, &guest_target_dir, folder, module);
        let name = folder.rsplit('/').next().expect("a folder has a name");
        let copied = out_dir.join(format!("{}.wasm", name.replace('-', "_")));
        fs::write(&copied, component).expect("OUT_DIR is writable");
        writeln!(
            bundled,
            "    Bundled {{ crate_name: {name:?}, source: {folder:?}, bytes: include_bytes!({:?}), demo: {} }},",
            copied.display().to_string(),
            demo_files(&root.join(folder))
        )
        .expect("writing to a String cannot fail");
    }
    writeln!(
        generated,
        "/// Every plugin embedded in the binary: a `static`, so their bytes are\n/// in the binary once, however many crates name it (a `const` is copied\n/// into each).\npub static BUNDLED: &[Bundled] = &[\n{bundled}];"
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

/// The files of a bundled plugin's `demo/` folder as a Rust slice of
/// `(path relative to demo/, include_bytes!(…))`, sorted so the binary is
/// the same on every machine; `&[]` when it has none.
fn demo_files(plugin: &Path) -> String {
    let demo = plugin.join("demo");
    let mut found = Vec::new();
    collect_files(&demo, &mut found);
    let mut files: Vec<(String, PathBuf)> = found
        .into_iter()
        .map(|file| {
            let relative = file
                .strip_prefix(&demo)
                .expect("found under demo/")
                .to_str()
                .unwrap_or_else(|| panic!("{}: demo file names must be UTF-8", file.display()))
                .replace(std::path::MAIN_SEPARATOR, "/");
            (relative, file)
        })
        .collect();
    // By the relative path as a string: what `Bundled::demo_file` searches.
    files.sort();
    let mut out = String::from("&[");
    for (relative, file) in files {
        write!(
            out,
            "({relative:?}, include_bytes!({:?})), ",
            file.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    out.push(']');
    out
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, files);
        } else if path.is_file() {
            files.push(path);
        }
    }
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

/// Building Python plugins with componentize-py.
mod python {
    use super::{COMPONENTIZE_PY_VERSION, PYTHON_WIT};
    use std::env;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// The component for the Python plugin in `folder`, with Greenroom's
    /// custom sections. Reuses the last build when no input changed: a
    /// build takes about ten seconds.
    pub fn build(root: &Path, guests_dir: &Path, folder: &str, module: &str) -> Vec<u8> {
        let source = root.join(folder);
        let manifest = fs::read(source.join("greenroom.toml"))
            .unwrap_or_else(|e| panic!("{folder}/greenroom.toml: {e}"));
        let tool = tool(guests_dir);
        let work = guests_dir.join("python");
        fs::create_dir_all(&work).expect("the target dir is writable");

        let script = root.join("host/artifacts/python/componentize.sh");
        let shim_source = root.join("host/artifacts/python/deterministic.c");
        let mut key = Fnv::default();
        key.add(COMPONENTIZE_PY_VERSION.as_bytes());
        for input in [&script, &shim_source] {
            key.add(&fs::read(input).expect("build inputs are readable"));
        }
        key.add_tree(&source, &source);
        key.add_tree(&root.join(PYTHON_WIT.0), &root.join(PYTHON_WIT.0));
        let name = folder.rsplit('/').next().expect("a folder has a name");
        let built = work.join(format!("{name}-{:016x}.wasm", key.0));
        if !built.is_file() {
            let shim = compile_shim(&shim_source, &work);
            componentize(
                &script,
                &work,
                &tool,
                &shim,
                &root.join(PYTHON_WIT.0),
                &source,
                module,
                &built,
                folder,
            );
        }
        let mut component = fs::read(&built).expect("the built component is readable");
        append_custom_section(
            &mut component,
            "greenroom:wit-version",
            PYTHON_WIT.1.as_bytes(),
        );
        append_custom_section(&mut component, "greenroom:manifest", &manifest);
        component
    }

    /// `<target>/tools/componentize-py/bin/componentize-py`, where
    /// `scripts/setup` installs it.
    fn tool(guests_dir: &Path) -> PathBuf {
        let tools = guests_dir
            .parent()
            .expect("the guests dir is inside the target dir")
            .join("tools/componentize-py");
        let tool = tools.join("bin/componentize-py");
        let version = Command::new(&tool).arg("--version").output();
        let found = version
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        match found {
            Some(v) if v.ends_with(COMPONENTIZE_PY_VERSION) => tool,
            found => panic!(
                "\n\nGreenroom's Python example plugin is built with componentize-py {COMPONENTIZE_PY_VERSION}, \
                 expected at {} (found: {}).\nInstall it with:\n\n    scripts/setup\n\n",
                tool.display(),
                found.as_deref().unwrap_or("nothing")
            ),
        }
    }

    fn compile_shim(source: &Path, work: &Path) -> PathBuf {
        let shim = work.join("libgreenroom_deterministic.so");
        let cc = env::var("HOST_CC")
            .or_else(|_| env::var("CC"))
            .unwrap_or_else(|_| "cc".into());
        let status = Command::new(&cc)
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&shim)
            .arg(source)
            .args(["-ldl", "-lpthread"])
            .status()
            .unwrap_or_else(|e| {
                panic!(
                    "running the C compiler `{cc}` (for {}): {e}",
                    source.display()
                )
            });
        assert!(status.success(), "compiling {} failed", source.display());
        shim
    }

    #[allow(clippy::too_many_arguments)]
    fn componentize(
        script: &Path,
        work: &Path,
        tool: &Path,
        shim: &Path,
        wit: &Path,
        source: &Path,
        module: &str,
        out: &Path,
        folder: &str,
    ) {
        let stage = work.join("stage");
        fs::create_dir_all(&stage).expect("the target dir is writable");
        let partial = out.with_extension("partial");
        let output = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh"])
            .arg(script)
            .args([&stage, tool, shim, wit, source])
            .arg(module)
            .arg(&partial)
            .output()
            .unwrap_or_else(|e| panic!("running `unshare` (util-linux) to build {folder}: {e}"));
        if !output.status.success() {
            panic!(
                "building the Python plugin {folder} failed:\n{}{}\n(componentize-py runs in a private mount \
                 namespace, `unshare --user --map-root-user --mount`, which needs unprivileged user \
                 namespaces or root)",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        fs::rename(&partial, out).expect("the target dir is writable");
    }

    /// Appends a custom section (id 0: name, then bytes) to a component.
    /// Custom sections may appear anywhere; the host reads them wherever
    /// they are.
    fn append_custom_section(component: &mut Vec<u8>, name: &str, data: &[u8]) {
        let mut body = Vec::new();
        leb128(&mut body, name.len());
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        component.push(0);
        leb128(component, body.len());
        component.extend_from_slice(&body);
    }

    fn leb128(out: &mut Vec<u8>, mut value: usize) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// FNV-1a over the build's inputs: a cache key, not a security digest
    /// (the build script has no dependencies, to compile in a second).
    struct Fnv(u64);

    impl Default for Fnv {
        fn default() -> Fnv {
            Fnv(0xcbf2_9ce4_8422_2325)
        }
    }

    impl Fnv {
        fn add(&mut self, bytes: &[u8]) {
            for byte in bytes.iter().chain(&[0xff]) {
                self.0 ^= u64::from(*byte);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
        }

        /// Every file under `dir`, in path order, with its path.
        fn add_tree(&mut self, dir: &Path, base: &Path) {
            let mut entries: Vec<PathBuf> = fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    self.add_tree(&path, base);
                } else if let Ok(bytes) = fs::read(&path) {
                    let relative = path.strip_prefix(base).unwrap_or(&path);
                    self.add(relative.to_string_lossy().as_bytes());
                    self.add(&bytes);
                }
            }
        }
    }
}
