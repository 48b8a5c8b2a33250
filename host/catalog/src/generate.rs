//! A generator of realistic catalogs, for benchmarks and load tests: an
//! organisation of domains, systems, groups in a hierarchy, users, and
//! components, APIs and resources owned by teams and related to each other,
//! in proportions seen in large Backstage installations.
//!
//! Deterministic: the same size always yields the same catalog, so
//! benchmark runs compare.

use std::fmt::Write as _;

/// Entities per generated file: real catalogs are many small files, and
/// ingestion reads them one by one.
const PER_FILE: usize = 500;

const WORDS: [&str; 48] = [
    "payment",
    "ledger",
    "checkout",
    "cart",
    "catalog",
    "search",
    "pricing",
    "inventory",
    "shipping",
    "billing",
    "invoice",
    "fraud",
    "identity",
    "profile",
    "session",
    "review",
    "rating",
    "media",
    "image",
    "video",
    "stream",
    "event",
    "audit",
    "report",
    "metric",
    "alert",
    "notify",
    "email",
    "sms",
    "push",
    "gateway",
    "router",
    "proxy",
    "cache",
    "queue",
    "worker",
    "scheduler",
    "export",
    "import",
    "sync",
    "ledger",
    "wallet",
    "promo",
    "coupon",
    "loyalty",
    "order",
    "refund",
    "tax",
];

const LIFECYCLES: [&str; 3] = ["production", "experimental", "deprecated"];
const COMPONENT_TYPES: [&str; 4] = ["service", "website", "library", "ml-model"];
const TAGS: [&str; 10] = [
    "java",
    "rust",
    "go",
    "python",
    "typescript",
    "kotlin",
    "grpc",
    "graphql",
    "kafka",
    "postgres",
];

/// A small deterministic pseudo-random sequence (SplitMix64): no
/// dependency, the same numbers on every machine.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// How many of each kind a catalog of `total` entities has.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Domains.
    pub domains: usize,
    /// Systems.
    pub systems: usize,
    /// Groups (one organisation, departments, teams).
    pub groups: usize,
    /// Users.
    pub users: usize,
    /// APIs.
    pub apis: usize,
    /// Resources.
    pub resources: usize,
    /// Components: the rest.
    pub components: usize,
}

impl Shape {
    /// Proportions of a large installation: most entities are components,
    /// about one API per four components, a team per ~60 entities.
    pub fn for_total(total: usize) -> Shape {
        let total = total.max(20);
        let domains = (total / 5000).max(2);
        let systems = (total / 200).max(3);
        let groups = (total / 60).max(4);
        let users = (total / 12).max(4);
        let apis = total / 7;
        let resources = total / 8;
        let components = total - domains - systems - groups - users - apis - resources;
        Shape {
            domains,
            systems,
            groups,
            users,
            apis,
            resources,
            components,
        }
    }
}

/// The catalog as YAML files: `(relative path, content)`. The first file,
/// `all.yaml`, is a Location pointing at the others.
pub fn organisation(total: usize) -> Vec<(String, String)> {
    let shape = Shape::for_total(total);
    let mut seq = Sequence(42);
    let mut documents: Vec<String> = Vec::with_capacity(total);
    let team = |i: usize| format!("team-{i:05}");
    // Groups: 0 is the organisation, 1..=departments are departments,
    // the rest are teams under them.
    let departments = (shape.groups / 20).max(1);
    for g in 0..shape.groups {
        let (kind, parent) = match g {
            0 => ("organization", None),
            g if g <= departments => ("department", Some(team(0))),
            g => ("team", Some(team(1 + g % departments))),
        };
        let mut doc = format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {}\n  title: {} {}\nspec:\n  type: {kind}\n  profile:\n    displayName: {} {}\n    email: {}@example.com\n  children: []\n",
            team(g),
            capital(WORDS[g % WORDS.len()]),
            kind,
            capital(WORDS[g % WORDS.len()]),
            kind,
            team(g)
        );
        if let Some(parent) = parent {
            let _ = writeln!(doc, "  parent: {parent}");
        }
        documents.push(doc);
    }
    for u in 0..shape.users {
        let first = WORDS[u % WORDS.len()];
        let last = WORDS[(u / WORDS.len()) % WORDS.len()];
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: user-{u:06}\nspec:\n  profile:\n    displayName: {} {} {u}\n    email: user-{u:06}@example.com\n  memberOf: [{}]\n",
            capital(first),
            capital(last),
            team(1 + departments + seq.below(shape.groups.saturating_sub(departments + 1).max(1)))
        ));
    }
    let owner = |seq: &mut Sequence| {
        team(1 + departments + seq.below(shape.groups.saturating_sub(departments + 1).max(1)))
    };
    for d in 0..shape.domains {
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata:\n  name: domain-{d:04}\n  description: Everything about {}\nspec:\n  owner: {}\n",
            WORDS[d % WORDS.len()],
            team(1 + d % departments)
        ));
    }
    for s in 0..shape.systems {
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: system-{s:05}\n  description: The {} system\nspec:\n  owner: {}\n  domain: domain-{:04}\n",
            WORDS[s % WORDS.len()],
            owner(&mut seq),
            s % shape.domains
        ));
    }
    for a in 0..shape.apis {
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-{a:06}\n  description: The {} API\nspec:\n  type: openapi\n  lifecycle: {}\n  owner: {}\n  system: system-{:05}\n  definition: |\n    openapi: 3.0.0\n    info:\n      title: {} API\n      version: 1.0.0\n    paths:\n      /{}:\n        get:\n          responses:\n            '200':\n              description: OK\n",
            WORDS[a % WORDS.len()],
            seq.pick(&LIFECYCLES),
            owner(&mut seq),
            seq.below(shape.systems),
            capital(WORDS[a % WORDS.len()]),
            WORDS[a % WORDS.len()]
        ));
    }
    for r in 0..shape.resources {
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: resource-{r:06}\nspec:\n  type: {}\n  owner: {}\n  system: system-{:05}\n",
            ["database", "s3-bucket", "kafka-topic", "redis"][r % 4],
            owner(&mut seq),
            seq.below(shape.systems)
        ));
    }
    for c in 0..shape.components {
        let word = WORDS[c % WORDS.len()];
        let other = WORDS[seq.below(WORDS.len())];
        let mut doc = format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {word}-{other}-{c:06}\n  title: {} {} {c}\n  description: Handles {word} {other} requests for the {} team\n  tags: [{}, {}]\n  annotations:\n    github.com/project-slug: example/{word}-{c}\n    backstage.io/techdocs-ref: dir:.\n  links:\n    - url: https://dashboards.example.com/{c}\n      title: Dashboard\nspec:\n  type: {}\n  lifecycle: {}\n  owner: {}\n  system: system-{:05}\n",
            capital(word),
            capital(other),
            other,
            seq.pick(&TAGS),
            seq.pick(&TAGS),
            seq.pick(&COMPONENT_TYPES),
            seq.pick(&LIFECYCLES),
            owner(&mut seq),
            seq.below(shape.systems)
        );
        if shape.apis > 0 {
            let _ = writeln!(doc, "  providesApis: [api-{:06}]", seq.below(shape.apis));
            let _ = writeln!(
                doc,
                "  consumesApis: [api-{:06}, api-{:06}]",
                seq.below(shape.apis),
                seq.below(shape.apis)
            );
        }
        if shape.resources > 0 {
            let _ = writeln!(
                doc,
                "  dependsOn: [resource:resource-{:06}]",
                seq.below(shape.resources)
            );
        }
        documents.push(doc);
    }
    let mut files = vec![(
        "all.yaml".to_owned(),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: generated-organisation\nspec:\n  targets: [./entities/*.yaml]\n".to_owned(),
    )];
    for (i, chunk) in documents.chunks(PER_FILE).enumerate() {
        files.push((format!("entities/{i:05}.yaml"), chunk.join("---\n")));
    }
    files
}

fn capital(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LocationType, read_location};

    #[test]
    fn a_generated_catalog_is_valid_and_the_size_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let files = organisation(1000);
        for (path, text) in &files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let reading = read_location(
            LocationType::File,
            dir.path().join("all.yaml").to_str().unwrap(),
        );
        assert!(reading.problems.is_empty(), "{:?}", &reading.problems[..1]);
        // The generated location, the all.yaml Location, and the 1000.
        assert_eq!(reading.entities.len(), 1002);
    }
}
