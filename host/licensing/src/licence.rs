//! Premium licences.
//!
//! A premium plugin runs only with a licence signed by its publisher: who
//! holds it (the licensee), which plugins, how many seats and until which
//! day. A licence is a small TOML file a person can read:
//!
//! ```toml
//! licensee = "Acme Corp"
//! publisher = "greenroom-demo"
//! plugins = ["soundcheck"]
//! seats = 50
//! issued = 2026-05-01
//! expires = 2027-05-01
//! signature = "…"
//! ```
//!
//! The publisher signs, with the ed25519 key operators trust it under, the
//! canonical [`Licence::statement`]; any edit to the file breaks the
//! signature. [`Licences`] keeps the licences an operator added in the data
//! directory's database, counts seats (distinct users active in the last
//! [`SEAT_WINDOW_DAYS`] days, all plugins together, as seats are sold per
//! developer) and answers, for a plugin, its [`LicenceStatus`].
//!
//! Days are UTC calendar days. A licence runs up to the end of the day
//! before `expires`: on `expires` it has expired. When more users are
//! active than a licence has seats, the plugin keeps running for a grace
//! period ([`DEFAULT_GRACE_DAYS`]) from the day the overrun was first seen,
//! while admins are warned; the grace period is forgotten once the count is
//! back within the seats.
//!
//! Nothing here ever deletes a plugin's data: a plugin without a licence is
//! simply not called.

use greenroom_access::{AuditEvent, AuditLog, Decision};
use greenroom_contract::{Digest, PluginId, Tier};
use greenroom_marketplace::{InstalledError, InstalledPlugins, SecretKey, TrustedPublishers};
use greenroom_store::{Database, StoreError};
use rusqlite::{OptionalExtension as _, named_params};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

/// Seats count the distinct users active in this many days, today
/// included. A month, as seats are sold per active developer per month; a
/// shorter window would let a team rotate people through fewer seats.
pub const SEAT_WINDOW_DAYS: i64 = 30;

/// How long a premium plugin keeps running after its active users first
/// exceed the licence's seats, unless configured otherwise: long enough to
/// buy seats without anyone losing a tool they use.
pub const DEFAULT_GRACE_DAYS: u32 = 30;

/// Admins are warned this many days before a licence expires.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// The first line of the signed statement; a new format gets a new one.
const STATEMENT_HEADER: &str = "greenroom-licence-v1";

// ===== days =====

/// A calendar day, UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(time::Date);

impl Day {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Day, String> {
        const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
            time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(text.trim(), FORMAT)
            .map(Day)
            .map_err(|_| format!("`{text}` is not a date; write it as YYYY-MM-DD, e.g. 2027-01-31"))
    }

    /// The UTC day `at` falls on.
    pub fn of(at: SystemTime) -> Day {
        Day(time::OffsetDateTime::from(at).date())
    }

    /// Midnight UTC at the start of the day.
    pub fn start(self) -> SystemTime {
        self.0.midnight().assume_utc().into()
    }

    /// The day `days` later (earlier when negative), saturating at the
    /// calendar's ends.
    pub fn plus_days(self, days: i64) -> Day {
        let shifted = self.0.checked_add(time::Duration::days(days));
        Day(shifted.unwrap_or(if days < 0 {
            time::Date::MIN
        } else {
            time::Date::MAX
        }))
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        (later.0 - self.0).whole_days()
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = (self.0.year(), self.0.month() as u8, self.0.day());
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

// ===== the licence file =====

/// What a publisher grants: everything a licence says but its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceTerms {
    /// Who holds the licence, e.g. the customer's company.
    pub licensee: String,
    /// The publisher, as operators trust its key.
    pub publisher: String,
    /// The plugin ids it covers.
    pub plugins: Vec<String>,
    /// How many distinct users may be active in [`SEAT_WINDOW_DAYS`] days.
    pub seats: u32,
    /// When it was issued (shown; it does not start or end anything).
    pub issued: Day,
    /// The first day it no longer runs.
    pub expires: Day,
}

/// A parsed licence: valid terms and a signature, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    /// Who holds it.
    pub licensee: String,
    /// Who signed it.
    pub publisher: String,
    /// The plugins it covers, sorted, without duplicates.
    pub plugins: Vec<PluginId>,
    /// Seats.
    pub seats: u32,
    /// Issued on.
    pub issued: Day,
    /// The first day it no longer runs.
    pub expires: Day,
    /// The publisher's ed25519 signature (base64) of [`Licence::statement`].
    pub signature: String,
}

/// Why a licence is refused, or the licences could not be read or written.
/// Each message says what is wrong and, where there is one, what to do.
#[derive(Debug, thiserror::Error)]
pub enum LicenceError {
    /// The file is not a licence: malformed TOML, a missing or unknown
    /// field, or a value out of range. Names the file and the field.
    #[error("{file}: {message}")]
    Format {
        /// The licence file (or `licence <id>` for a stored one).
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Nobody trusts a key for the publisher.
    #[error(
        "the licence is signed by `{publisher}`, whom this host does not trust; add its key to [[marketplace.trusted-publishers]] if you do"
    )]
    UntrustedPublisher {
        /// The licence's publisher.
        publisher: String,
    },
    /// The signature is not the publisher's for these terms.
    #[error(
        "the licence's signature is not valid for publisher `{publisher}`'s key: the file was changed after it was signed, or signed with another key"
    )]
    BadSignature {
        /// The licence's publisher.
        publisher: String,
    },
    /// The licence names a plugin installed here from another publisher.
    #[error(
        "the licence is from `{licence_publisher}`, but plugin `{plugin}` installed here is published by `{plugin_publisher}`; only a plugin's publisher can license it"
    )]
    WrongPublisher {
        /// The plugin.
        plugin: String,
        /// Who signed the licence.
        licence_publisher: String,
        /// Who published the installed plugin.
        plugin_publisher: String,
    },
    /// No stored licence has this id.
    #[error("no licence `{0}` was added here; `greenroom licence list` shows their ids")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for LicenceError {
    fn from(error: rusqlite::Error) -> LicenceError {
        LicenceError::Store(StoreError::Sqlite(error))
    }
}

impl From<InstalledError> for LicenceError {
    fn from(error: InstalledError) -> LicenceError {
        match error {
            InstalledError::Store(e) => LicenceError::Store(e),
            InstalledError::Sql(e) => e.into(),
            InstalledError::NotInstalled(id) => LicenceError::NotFound(id),
        }
    }
}

/// The file as written; dates may be TOML dates or `"YYYY-MM-DD"` strings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicence {
    licensee: String,
    publisher: String,
    plugins: Vec<String>,
    seats: u32,
    issued: toml::Value,
    expires: toml::Value,
    signature: String,
}

impl Licence {
    /// Parses a licence file; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Licence, LicenceError> {
        let format = |message: String| LicenceError::Format {
            file: file.to_owned(),
            message,
        };
        let deserializer = toml::Deserializer::parse(text).map_err(|e| format(e.to_string()))?;
        let raw: RawLicence = serde_path_to_error::deserialize(deserializer)
            .map_err(|e| format(format!("{}: {}", e.path(), e.inner().message())))?;
        let day = |field: &str, value: &toml::Value| {
            let text = match value {
                toml::Value::Datetime(datetime) => datetime.to_string(),
                toml::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            Day::parse(&text).map_err(|e| format!("{field}: {e}"))
        };
        let terms = LicenceTerms {
            licensee: raw.licensee,
            publisher: raw.publisher,
            plugins: raw.plugins,
            seats: raw.seats,
            issued: day("issued", &raw.issued).map_err(format)?,
            expires: day("expires", &raw.expires).map_err(format)?,
        };
        Licence::new(terms, raw.signature.trim().to_owned()).map_err(format)
    }

    /// Reads a licence file.
    pub fn read(path: &std::path::Path) -> Result<Licence, LicenceError> {
        let text = std::fs::read_to_string(path).map_err(|e| LicenceError::Format {
            file: path.display().to_string(),
            message: format!("cannot read it: {e}"),
        })?;
        Licence::parse(&text, &path.display().to_string())
    }

    /// Checks the terms; the plugins are sorted and deduplicated, so the
    /// statement does not depend on how the file lists them.
    fn new(terms: LicenceTerms, signature: String) -> Result<Licence, String> {
        for (field, value) in [
            ("licensee", &terms.licensee),
            ("publisher", &terms.publisher),
        ] {
            // Control characters (a newline above all) could forge a line
            // of the signed statement.
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                return Err(format!(
                    "{field}: must be a non-empty name on one line, without control characters"
                ));
            }
        }
        let mut plugins = terms
            .plugins
            .iter()
            .map(|id| PluginId::parse(id).map_err(|e| format!("plugins: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        plugins.sort();
        plugins.dedup();
        if plugins.is_empty() {
            return Err("plugins: a licence covers at least one plugin".into());
        }
        if terms.seats == 0 {
            return Err("seats: a licence has at least one seat".into());
        }
        if terms.expires <= terms.issued {
            return Err(format!(
                "expires: {} is not after the issue date {}",
                terms.expires, terms.issued
            ));
        }
        Ok(Licence {
            licensee: terms.licensee.trim().to_owned(),
            publisher: terms.publisher.trim().to_owned(),
            plugins,
            seats: terms.seats,
            issued: terms.issued,
            expires: terms.expires,
            signature,
        })
    }

    /// What the publisher signs: one `name=value` line per term, plugins
    /// sorted and comma-separated, each line ending in a newline.
    pub fn statement(&self) -> Vec<u8> {
        let plugins: Vec<&str> = self.plugins.iter().map(PluginId::as_str).collect();
        format!(
            "{STATEMENT_HEADER}\nlicensee={}\npublisher={}\nplugins={}\nseats={}\nissued={}\nexpires={}\n",
            self.licensee,
            self.publisher,
            plugins.join(","),
            self.seats,
            self.issued,
            self.expires
        )
        .into_bytes()
    }

    /// A short id for the licence, from its signed terms: the first 16 hex
    /// digits of the statement's sha256.
    pub fn id(&self) -> String {
        Digest::of(&self.statement()).hex()[..16].to_owned()
    }

    /// Whether it covers the plugin with this id.
    pub fn covers(&self, plugin: &str) -> bool {
        self.plugins.iter().any(|p| p.as_str() == plugin)
    }

    /// Whether a trusted key of its publisher signed exactly these terms.
    pub fn verify(&self, trusted: &TrustedPublishers) -> Result<(), LicenceError> {
        let mut keys = trusted.keys_of(&self.publisher).peekable();
        if keys.peek().is_none() {
            return Err(LicenceError::UntrustedPublisher {
                publisher: self.publisher.clone(),
            });
        }
        let statement = self.statement();
        if !keys.any(|key| key.verifies(&statement, &self.signature)) {
            return Err(LicenceError::BadSignature {
                publisher: self.publisher.clone(),
            });
        }
        Ok(())
    }

    /// The licence file: readable TOML that [`Licence::parse`] reads back.
    pub fn to_text(&self) -> String {
        let quoted = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let plugins: Vec<String> = self.plugins.iter().map(|p| quoted(p.as_str())).collect();
        format!(
            "# A Greenroom licence, signed by its publisher. Add it to a portal with\n\
             # `greenroom license add FILE`; any edit breaks the signature.\n\
             licensee = {}\npublisher = {}\nplugins = [{}]\nseats = {}\nissued = {}\nexpires = {}\nsignature = {}\n",
            quoted(&self.licensee),
            quoted(&self.publisher),
            plugins.join(", "),
            self.seats,
            self.issued,
            self.expires,
            quoted(&self.signature)
        )
    }
}

/// Issues a licence: checks the terms and signs them with the publisher's
/// key. What `greenroom licence issue` does, for tests and demos.
pub fn issue_licence(terms: LicenceTerms, key: &SecretKey) -> Result<Licence, LicenceError> {
    let mut licence =
        Licence::new(terms, String::new()).map_err(|message| LicenceError::Format {
            file: "the licence terms".into(),
            message,
        })?;
    licence.signature = key.sign(&licence.statement());
    Ok(licence)
}

// ===== statuses =====

/// Whether a plugin may run, and why (not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "status",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum LicenceStatus {
    /// An open plugin: no licence needed.
    NotRequired,
    /// A premium plugin with no licence for it here.
    Missing,
    /// Licensed, within its seats.
    Valid {
        /// The licence's id.
        licence: String,
        /// Who holds it.
        licensee: String,
        /// Its seats.
        seats: u32,
        /// Users active in the last [`SEAT_WINDOW_DAYS`] days.
        active: u32,
        /// The first day it no longer runs.
        expires: Day,
    },
    /// More users are active than the licence has seats: it still runs
    /// until `grace_until`, and admins are warned.
    OverSeats {
        /// The licence's id.
        licence: String,
        /// Who holds it.
        licensee: String,
        /// Its seats.
        seats: u32,
        /// Users active in the last [`SEAT_WINDOW_DAYS`] days.
        active: u32,
        /// The first day it no longer runs.
        expires: Day,
        /// The first day the plugin stops, unless seats are added.
        grace_until: Day,
    },
    /// Over its seats for longer than the grace period: not run.
    GraceEnded {
        /// The licence's id.
        licence: String,
        /// Who holds it.
        licensee: String,
        /// Its seats.
        seats: u32,
        /// Users active in the last [`SEAT_WINDOW_DAYS`] days.
        active: u32,
        /// The first day it no longer runs.
        expires: Day,
        /// The day the grace period ended.
        grace_ended: Day,
    },
    /// The licence expired: not run.
    Expired {
        /// The licence's id.
        licence: String,
        /// Who holds it.
        licensee: String,
        /// The day it expired.
        on: Day,
    },
    /// A stored licence that does not hold (any more): its publisher is no
    /// longer trusted, or it is not from the plugin's publisher. Not run.
    Invalid {
        /// The licence's id.
        licence: String,
        /// Why.
        reason: String,
    },
}

impl LicenceStatus {
    /// One line on what the status means, for lists (CLI, admin page).
    pub fn describe(&self) -> String {
        match self {
            LicenceStatus::NotRequired => "not required".into(),
            LicenceStatus::Missing => "missing".into(),
            LicenceStatus::Valid { .. } => "valid".into(),
            LicenceStatus::OverSeats { grace_until, .. } => {
                format!(
                    "over its seats: runs until {grace_until}, then stops unless seats are added"
                )
            }
            LicenceStatus::GraceEnded { grace_ended, .. } => {
                format!("not running: over its seats, the grace period ended on {grace_ended}")
            }
            LicenceStatus::Expired { on, .. } => format!("not running: expired on {on}"),
            LicenceStatus::Invalid { reason, .. } => format!("not valid here: {reason}"),
        }
    }

    /// Whether the plugin may be called.
    pub fn runs(&self) -> bool {
        matches!(
            self,
            LicenceStatus::NotRequired
                | LicenceStatus::Valid { .. }
                | LicenceStatus::OverSeats { .. }
        )
    }

    /// For a plugin that does not run: a short title and what happened,
    /// in words for the people who use the portal.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        const ASK: &str = "ask your Greenroom admin";
        const KEPT: &str = "no data was lost";
        match self {
            LicenceStatus::NotRequired
            | LicenceStatus::Valid { .. }
            | LicenceStatus::OverSeats { .. } => None,
            LicenceStatus::Missing => Some((
                "No licence",
                format!(
                    "No licence: this premium plugin needs a licence from its publisher — {ASK} to add one; {KEPT}"
                ),
            )),
            LicenceStatus::Expired { on, .. } => Some((
                "Licence expired",
                format!("Licence expired on {on} — {ASK} to renew; {KEPT}"),
            )),
            LicenceStatus::GraceEnded {
                seats,
                active,
                grace_ended,
                ..
            } => Some((
                "Licence over its seats",
                format!(
                    "Licence over its seats: {active} people used the portal in the last {SEAT_WINDOW_DAYS} days, the licence has {seats}, and the grace period ended on {grace_ended} — {ASK} to add seats; {KEPT}"
                ),
            )),
            LicenceStatus::Invalid { reason, .. } => Some((
                "Licence not valid",
                format!("Licence not valid: {reason} — {ASK}; {KEPT}"),
            )),
        }
    }

    /// What admins should act on before users notice: seats overrun
    /// (with the day the plugin stops) or expiry within
    /// [`EXPIRY_WARNING_DAYS`] days. `plugin` names the plugin.
    pub fn warning(&self, plugin: &str, today: Day) -> Option<String> {
        match self {
            LicenceStatus::OverSeats {
                seats,
                active,
                grace_until,
                ..
            } => Some(format!(
                "{plugin}: {active} people used the portal in the last {SEAT_WINDOW_DAYS} days but its licence has {seats} seats; add seats before {grace_until}, when the grace period ends and {plugin} stops"
            )),
            LicenceStatus::Valid { expires, .. }
                if today.days_until(*expires) <= EXPIRY_WARNING_DAYS =>
            {
                let days = today.days_until(*expires);
                Some(format!(
                    "{plugin}: its licence expires on {expires} (in {days} day{}); renew it before then",
                    if days == 1 { "" } else { "s" }
                ))
            }
            _ => None,
        }
    }

    /// Preference among several licences for one plugin: the one that lets
    /// it run, then the one that lasts longest.
    fn rank(&self) -> (u8, Option<Day>) {
        match self {
            LicenceStatus::Valid { expires, .. } => (4, Some(*expires)),
            LicenceStatus::OverSeats { expires, .. } => (3, Some(*expires)),
            LicenceStatus::GraceEnded { expires, .. } => (2, Some(*expires)),
            LicenceStatus::Expired { on, .. } => (1, Some(*on)),
            LicenceStatus::Invalid { .. } | LicenceStatus::Missing | LicenceStatus::NotRequired => {
                (0, None)
            }
        }
    }
}

// ===== the stored licences =====

/// A licence added to this portal, and where it stands today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLicence {
    /// Its id ([`Licence::id`]).
    pub id: String,
    /// The licence.
    pub licence: Licence,
    /// When it was added, in milliseconds since the Unix epoch.
    pub added_ms: i64,
    /// Its standing today, for every plugin it covers (the status of one
    /// plugin may still differ: see [`Licences::status`]).
    pub status: LicenceStatus,
}

/// What [`Licences::add`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedLicence {
    /// The licence's id.
    pub id: String,
    /// The licence.
    pub licence: Licence,
    /// Licences it replaced: the same publisher and plugins, expiring no
    /// later.
    pub replaced: Vec<String>,
}

/// The licences added to a data directory, and the activity seats are
/// counted from.
#[derive(Debug, Clone)]
pub struct Licences {
    db: Database,
    trusted: TrustedPublishers,
    grace_days: u32,
}

/// Everything a status needs, read once.
struct Snapshot {
    licences: Vec<StoredLicence>,
    /// Plugin id → publisher, for plugins installed from an index.
    publishers: HashMap<String, String>,
}

impl Licences {
    /// The licences in `db`, verified against `trusted`, with the default
    /// grace period.
    pub fn new(db: Database, trusted: TrustedPublishers) -> Licences {
        Licences {
            db,
            trusted,
            grace_days: DEFAULT_GRACE_DAYS,
        }
    }

    /// With a grace period of `days` days instead of
    /// [`DEFAULT_GRACE_DAYS`] (`0`: a plugin stops the day its seats are
    /// exceeded).
    pub fn with_grace_days(mut self, days: u32) -> Licences {
        self.grace_days = days;
        self
    }

    /// Verifies a licence file and stores it. A licence from the same
    /// publisher for the same plugins that expires no later is replaced.
    /// Refused: a malformed file, an untrusted publisher, a bad signature,
    /// or a plugin installed here from another publisher. Both outcomes
    /// are audited under `actor` (e.g. `operator:cli` or an admin's
    /// entity reference).
    pub fn add(
        &self,
        text: &str,
        file: &str,
        actor: &str,
        now: SystemTime,
    ) -> Result<AddedLicence, LicenceError> {
        match self.verified(text, file) {
            Ok(licence) => {
                let added = self.store(licence, now)?;
                let replacing = if added.replaced.is_empty() {
                    String::new()
                } else {
                    format!(", replacing {}", added.replaced.join(", "))
                };
                self.audit(
                    actor,
                    "licence.add",
                    Some(&added.id),
                    Decision::Allow,
                    &format!(
                        "licence {} from {} for {}: {} seats until {}{replacing}",
                        added.id,
                        added.licence.publisher,
                        plugin_list(&added.licence),
                        added.licence.seats,
                        added.licence.expires
                    ),
                );
                Ok(added)
            }
            Err(error) => {
                self.audit(
                    actor,
                    "licence.add",
                    Some(file),
                    Decision::Deny,
                    &error.to_string(),
                );
                Err(error)
            }
        }
    }

    fn verified(&self, text: &str, file: &str) -> Result<Licence, LicenceError> {
        let licence = Licence::parse(text, file)?;
        licence.verify(&self.trusted)?;
        let installed = self.installed_publishers()?;
        for plugin in &licence.plugins {
            if let Some(publisher) = installed.get(plugin.as_str())
                && *publisher != licence.publisher
            {
                return Err(LicenceError::WrongPublisher {
                    plugin: plugin.to_string(),
                    licence_publisher: licence.publisher.clone(),
                    plugin_publisher: publisher.clone(),
                });
            }
        }
        Ok(licence)
    }

    fn store(&self, licence: Licence, now: SystemTime) -> Result<AddedLicence, LicenceError> {
        let id = licence.id();
        let mut conn = self.db.connection()?;
        let tx = conn.transaction()?;
        let mut replaced = Vec::new();
        for (old_id, text) in stored_texts(&tx)? {
            let Ok(old) = Licence::parse(&text, &old_id) else {
                continue;
            };
            if old_id != id
                && old.publisher == licence.publisher
                && old.plugins == licence.plugins
                && old.expires <= licence.expires
            {
                tx.execute(
                    "DELETE FROM licences WHERE id = :id",
                    named_params! { ":id": old_id },
                )?;
                replaced.push(old_id);
            }
        }
        // Adding the same licence again keeps it as it was (and the day
        // its seats were first exceeded).
        tx.execute(
            "INSERT INTO licences (id, text, added_ms) VALUES (:id, :text, :added)
             ON CONFLICT (id) DO NOTHING",
            named_params! {
                ":id": id,
                ":text": licence.to_text(),
                ":added": millis(now),
            },
        )?;
        tx.commit()?;
        Ok(AddedLicence {
            id,
            licence,
            replaced,
        })
    }

    /// Removes a stored licence; the plugins it covered stop at the next
    /// status check unless another licence covers them. Audited.
    pub fn remove(&self, id: &str, actor: &str) -> Result<Licence, LicenceError> {
        let conn = self.db.connection()?;
        let text: Option<String> = conn
            .query_row(
                "SELECT text FROM licences WHERE id = :id",
                named_params! { ":id": id },
                |r| r.get(0),
            )
            .optional()?;
        let text = text.ok_or_else(|| LicenceError::NotFound(id.to_owned()))?;
        conn.execute(
            "DELETE FROM licences WHERE id = :id",
            named_params! { ":id": id },
        )?;
        drop(conn);
        let licence = Licence::parse(&text, &format!("licence {id}"))?;
        self.audit(
            actor,
            "licence.remove",
            Some(id),
            Decision::Allow,
            &format!(
                "removed licence {id} from {} for {}",
                licence.publisher,
                plugin_list(&licence)
            ),
        );
        Ok(licence)
    }

    /// Every stored licence with its standing at `now`, newest first.
    /// Records the day a licence's seats were first exceeded (or forgets
    /// it once they no longer are), as [`Licences::status`] does.
    pub fn list(&self, now: SystemTime) -> Result<Vec<StoredLicence>, LicenceError> {
        Ok(self.snapshot(now)?.licences)
    }

    /// The status of one plugin at `now`: [`LicenceStatus::NotRequired`]
    /// for an open plugin; otherwise the best standing of the licences
    /// covering it (one that runs first, then the latest expiry), or
    /// [`LicenceStatus::Missing`]. A licence from another publisher than
    /// the one the plugin was installed from does not count.
    pub fn status(
        &self,
        plugin: &str,
        tier: Tier,
        now: SystemTime,
    ) -> Result<LicenceStatus, LicenceError> {
        if tier == Tier::Open {
            return Ok(LicenceStatus::NotRequired);
        }
        Ok(self.snapshot(now)?.status_of(plugin, tier))
    }

    /// [`Licences::status`] for several plugins, reading the licences once.
    pub fn statuses(
        &self,
        plugins: &[(&str, Tier)],
        now: SystemTime,
    ) -> Result<Vec<(String, LicenceStatus)>, LicenceError> {
        let snapshot = self.snapshot(now)?;
        Ok(plugins
            .iter()
            .map(|(id, tier)| ((*id).to_owned(), snapshot.status_of(id, *tier)))
            .collect())
    }

    /// Notes that `user_ref` used the portal on the day of `now`, and
    /// forgets activity older than the seat window. Call it at most once a
    /// day per user (the portal keeps that in memory); it is idempotent.
    pub fn record_activity(&self, user_ref: &str, now: SystemTime) -> Result<(), LicenceError> {
        let today = Day::of(now);
        let conn = self.db.connection()?;
        conn.prepare_cached(
            "INSERT INTO licence_activity (day, user_ref) VALUES (:day, :user)
             ON CONFLICT (day, user_ref) DO NOTHING",
        )?
        .execute(named_params! { ":day": today.to_string(), ":user": user_ref })?;
        conn.prepare_cached("DELETE FROM licence_activity WHERE day < :oldest")?
            .execute(named_params! { ":oldest": oldest_counted(today).to_string() })?;
        Ok(())
    }

    /// Distinct users active in the [`SEAT_WINDOW_DAYS`] days up to the day
    /// of `now`, that day included.
    pub fn active_users(&self, now: SystemTime) -> Result<u32, LicenceError> {
        let today = Day::of(now);
        let conn = self.db.connection()?;
        let count: i64 = conn
            .prepare_cached(
                "SELECT COUNT(DISTINCT user_ref) FROM licence_activity
                 WHERE day >= :oldest AND day <= :today",
            )?
            .query_row(
                named_params! {
                    ":oldest": oldest_counted(today).to_string(),
                    ":today": today.to_string(),
                },
                |r| r.get(0),
            )?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Numbers that change whenever a licence is added or removed or new
    /// activity is recorded, so a running server notices another
    /// process's `licence add` with one cheap query.
    pub fn fingerprint(&self) -> Result<(i64, i64, i64), LicenceError> {
        let conn = self.db.connection()?;
        Ok(conn.query_row(
            "SELECT (SELECT COUNT(*) FROM licences),
                    (SELECT COALESCE(MAX(added_ms), 0) FROM licences),
                    (SELECT COUNT(*) FROM licence_activity)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    fn snapshot(&self, now: SystemTime) -> Result<Snapshot, LicenceError> {
        let today = Day::of(now);
        let active = self.active_users(now)?;
        let conn = self.db.connection()?;
        let rows: Vec<(String, String, i64, Option<String>)> = conn
            .prepare_cached(
                "SELECT id, text, added_ms, over_seats_since FROM licences ORDER BY added_ms DESC, id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        drop(conn);
        let mut licences = Vec::with_capacity(rows.len());
        for (id, text, added_ms, over_since) in rows {
            let licence = match Licence::parse(&text, &format!("licence {id}")) {
                Ok(licence) => licence,
                Err(error) => {
                    tracing::error!(licence = %id, %error, "a stored licence cannot be read");
                    continue;
                }
            };
            let over_since = over_since.and_then(|d| Day::parse(&d).ok());
            let status = self.standing(&id, &licence, active, today, over_since)?;
            licences.push(StoredLicence {
                id,
                licence,
                added_ms,
                status,
            });
        }
        Ok(Snapshot {
            licences,
            publishers: self.installed_publishers()?,
        })
    }

    /// Where one licence stands today, recording when an overrun of its
    /// seats started (or that it ended).
    fn standing(
        &self,
        id: &str,
        licence: &Licence,
        active: u32,
        today: Day,
        over_since: Option<Day>,
    ) -> Result<LicenceStatus, LicenceError> {
        if let Err(error) = licence.verify(&self.trusted) {
            return Ok(LicenceStatus::Invalid {
                licence: id.to_owned(),
                reason: error.to_string(),
            });
        }
        if today >= licence.expires {
            return Ok(LicenceStatus::Expired {
                licence: id.to_owned(),
                licensee: licence.licensee.clone(),
                on: licence.expires,
            });
        }
        let (licence_id, licensee, seats, expires) = (
            id.to_owned(),
            licence.licensee.clone(),
            licence.seats,
            licence.expires,
        );
        if active <= licence.seats {
            if over_since.is_some() {
                self.set_over_seats_since(id, None)?;
            }
            return Ok(LicenceStatus::Valid {
                licence: licence_id,
                licensee,
                seats,
                active,
                expires,
            });
        }
        let since = match over_since {
            // A start recorded "in the future" (a clock set back) counts
            // from today.
            Some(since) if since <= today => since,
            _ => {
                self.set_over_seats_since(id, Some(today))?;
                today
            }
        };
        let grace_until = since.plus_days(i64::from(self.grace_days));
        Ok(if today < grace_until {
            LicenceStatus::OverSeats {
                licence: licence_id,
                licensee,
                seats,
                active,
                expires,
                grace_until,
            }
        } else {
            LicenceStatus::GraceEnded {
                licence: licence_id,
                licensee,
                seats,
                active,
                expires,
                grace_ended: grace_until,
            }
        })
    }

    /// Records the day an overrun started (keeping an earlier day another
    /// process may have recorded meanwhile), or forgets it.
    fn set_over_seats_since(&self, id: &str, day: Option<Day>) -> Result<(), LicenceError> {
        let conn = self.db.connection()?;
        match day {
            Some(day) => conn.execute(
                "UPDATE licences SET over_seats_since = :day
                 WHERE id = :id AND (over_seats_since IS NULL OR over_seats_since > :day)",
                named_params! { ":id": id, ":day": day.to_string() },
            )?,
            None => conn.execute(
                "UPDATE licences SET over_seats_since = NULL WHERE id = :id",
                named_params! { ":id": id },
            )?,
        };
        Ok(())
    }

    fn installed_publishers(&self) -> Result<HashMap<String, String>, LicenceError> {
        Ok(InstalledPlugins::new(self.db.clone())
            .list()?
            .into_iter()
            .map(|installed| (installed.id, installed.publisher))
            .collect())
    }

    fn audit(
        &self,
        actor: &str,
        action: &str,
        resource: Option<&str>,
        decision: Decision,
        reason: &str,
    ) {
        AuditLog::new(self.db.clone()).record_or_log(&AuditEvent {
            actor: Some(actor),
            plugin: None,
            action,
            resource,
            decision,
            reason,
        });
    }
}

impl Snapshot {
    fn status_of(&self, plugin: &str, tier: Tier) -> LicenceStatus {
        if tier == Tier::Open {
            return LicenceStatus::NotRequired;
        }
        let publisher = self.publishers.get(plugin);
        self.licences
            .iter()
            .filter(|stored| stored.licence.covers(plugin))
            .map(|stored| match publisher {
                Some(publisher) if *publisher != stored.licence.publisher => {
                    LicenceStatus::Invalid {
                        licence: stored.id.clone(),
                        reason: LicenceError::WrongPublisher {
                            plugin: plugin.to_owned(),
                            licence_publisher: stored.licence.publisher.clone(),
                            plugin_publisher: publisher.clone(),
                        }
                        .to_string(),
                    }
                }
                _ => stored.status.clone(),
            })
            .max_by_key(LicenceStatus::rank)
            .unwrap_or(LicenceStatus::Missing)
    }
}

/// The oldest day whose activity counts towards seats on `today`.
fn oldest_counted(today: Day) -> Day {
    today.plus_days(1 - SEAT_WINDOW_DAYS)
}

fn stored_texts(conn: &rusqlite::Connection) -> Result<Vec<(String, String)>, LicenceError> {
    let mut statement = conn.prepare("SELECT id, text FROM licences")?;
    let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn plugin_list(licence: &Licence) -> String {
    licence
        .plugins
        .iter()
        .map(PluginId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
