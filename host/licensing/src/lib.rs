//! Premium licences.
//!
//! This crate owns licences ([`Licence`]: licensee, plugins, seats and
//! expiry, signed by the plugin's publisher, parsed, issued and verified
//! against the publishers an operator trusts), the book of licences an
//! operator added ([`Licences`], in the data directory's database), seats
//! counted from user activity, grace periods, and the answer for one
//! premium plugin: may it run, and what should admins be told
//! ([`LicenceStatus`]).
//!
//! It builds on the marketplace's publisher keys and trust
//! (`greenroom-marketplace`), never the other way round. It must never
//! load, run or remove a plugin, nor delete a plugin's data: a plugin
//! without a licence is simply not called.

mod licence;

pub use licence::{
    AddedLicence, DEFAULT_GRACE_DAYS, Day, EXPIRY_WARNING_DAYS, Licence, LicenceError,
    LicenceStatus, LicenceTerms, Licences, SEAT_WINDOW_DAYS, StoredLicence, issue_licence,
};
