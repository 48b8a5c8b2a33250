//! `marketplace-index.toml` lists every first-party plugin as the build
//! produces it, signed by the demo publisher: a stale entry (an old digest,
//! a changed capability, a bad signature) fails here, with the command that
//! brings it up to date.

use greenroom_marketplace::{
    DEMO_PUBLISHER, DEMO_PUBLISHER_KEY, Index, PublicKey, TrustedPublishers, verify,
};

fn refresh_command(crate_name: &str) -> String {
    format!(
        "cargo run -- index add --index marketplace-index.toml --key keys/greenroom-demo.key \
         --publisher {DEMO_PUBLISHER} --bundled {crate_name}"
    )
}

#[test]
fn the_marketplace_index_matches_the_built_plugins() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../marketplace-index.toml");
    let index = Index::read(std::path::Path::new(path)).expect("the index parses");
    let mut trusted = TrustedPublishers::default();
    trusted.trust(
        DEMO_PUBLISHER,
        PublicKey::parse(DEMO_PUBLISHER_KEY).expect("the demo key parses"),
    );
    for bundled in greenroom_artifacts::BUNDLED {
        let stale = |why: String| -> ! {
            panic!(
                "marketplace-index.toml is stale for `{}`: {why}\nrun:\n  {}",
                bundled.crate_name,
                refresh_command(bundled.crate_name)
            )
        };
        let artifact = greenroom_contract::Artifact::from_bytes(bundled.bytes.to_vec())
            .expect("bundled plugins are valid");
        let manifest = artifact.manifest();
        let Some(entry) = index.plugin(manifest.id.as_str()) else {
            stale(format!("it has no entry for `{}`", manifest.id));
        };
        let Some(version) = entry.version(Some(&manifest.version.to_string())) else {
            stale(format!("it has no version {}", manifest.version));
        };
        if let Err(error) = verify(entry, version, bundled.bytes, &trusted) {
            stale(error.to_string());
        }
        assert_eq!(version.artifact, format!("bundled:{}", bundled.crate_name));
        assert_eq!(entry.source.as_deref(), Some(bundled.source));
        assert_eq!(entry.publisher, DEMO_PUBLISHER);
    }
}
