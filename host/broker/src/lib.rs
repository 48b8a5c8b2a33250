//! The host side of every WIT import.
//!
//! A plugin reaches nothing directly. Each import it calls lands in one
//! module here (one per WIT interface: [`storage`], `catalog`, `identity`,
//! `settings`, `log`, `analytics`, and outbound `http`), and every one of
//! them asks the same function, [`Session::decide`], two questions before
//! doing anything:
//!
//! 1. was this plugin granted the capability (this host, this kind, this
//!    much)? — answered from its [`Grant`](greenroom_contract::Grant);
//! 2. may the acting user do it? Today every user may have a plugin act
//!    for them within its grant; when roles and policies arrive, this is
//!    where the user's rights join the decision (and catalog reads will be
//!    filtered to what the user may see).
//!
//! A "no" is a typed `denied` error for the plugin and a line in the audit
//! log. Imports the contract defines but this host does not back yet answer
//! `unavailable`, never made-up data. Catalog reads also carry the user's
//! restriction ([`Session::catalog_restriction`]) into the store's SQL.
//!
//! This crate must never run plugin code or hold engine state: it is called
//! by the runtime with a [`Session`] per plugin call.

mod analytics;
mod catalog;
mod http;
mod identity;
mod log;
mod rbac_admin;
mod session;
mod settings;
mod storage;

pub use catalog::{MAX_QUERY_LIMIT, MAX_WRITE_BATCH};
pub use http::{CREDENTIAL_HEADER, Credential, CredentialError, Egress, HttpLimits};
pub use log::{LogLine, LogTail};
pub use session::{Access, COALESCED_ACTION, MAX_DENIALS_RECORDED_PER_CALL, PluginEnv, Session};

// Interfaces that only define types still need a (method-less) host side.
impl greenroom_contract::wit::latest::greenroom::plugin::types::Host for Session {}
impl greenroom_contract::wit::latest::greenroom::plugin::view::Host for Session {}
