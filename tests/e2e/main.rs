//! End-to-end tests: the real `greenroom` binary, started on a free port
//! with real plugins built from this repository, driven over real HTTP and,
//! for pages, in a real headless Chromium.
//!
//! One test binary (as wasmtime's `tests/all`), one module per area:

/// Starting and talking to a real server.
mod support;

/// The HTTP origin the `http-hostile` test plugin is granted.
#[path = "../fixtures/origin.rs"]
mod origin;

/// `greenroom serve --demo`: the two-command start a new user sees.
mod demo;

/// Hostile plugins fail alone; the page renders and the server keeps serving.
mod isolation;

/// Files that are not (valid) plugins are refused with the reason.
mod bad_input;

/// The command line: help, version, configuration errors.
mod cli;

/// Pages in headless Chromium.
mod browser;

/// The repository's marketplace index against the built plugins.
mod index;

/// The plugin written in Python, built with componentize-py.
mod python;

/// Catalog ingestion: the linter, import, the refresh loop, crash safety.
mod catalog_ingest;

/// Catalog rules: a catalog author's Groups and Users confer no roles.
mod catalog_trust;

/// The catalog's pages in headless Chromium, over the demo organisation.
mod catalog_pages;

/// Backstage's `@backstage/catalog-client`, run with Node, against the catalog API.
mod catalog_client;

/// A publisher's commands: keys, signatures, index entries.
mod publish;

/// Installing from an index into a running portal.
mod install;

/// Upgrading between two versions through a running server's admin API.
mod upgrade;

/// Premium licences: no licence, expiry, seats, refused licences.
mod licence;

/// Sign-in: a trusted proxy's header, and OpenID Connect against a real
/// provider (`oidc-provider`, run with Node); sessions and sign-out.
mod sign_in;

/// Roles and policies imported into a running portal.
mod rbac;

/// The RBAC plugin: roles edited without YAML, the decision tester.
mod rbac_plugin;

/// Soundcheck's HTTP collectors fed by the demo upstream, and denied by
/// their grant.
mod soundcheck_collectors;

/// Soundcheck against the real host: collectors fed by recorded upstreams
/// over granted HTTP and denied by their grant, manual checks for owners
/// only, results pushed with an API token and their history across a
/// restart, and its pages in headless Chromium.
mod soundcheck;
