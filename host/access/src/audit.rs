//! The audit log: a durable record of access decisions, and the filtered,
//! paged reading of it the audit page and `GET /api/audit` show.

use greenroom_store::{Database, StoreError, now_ms};
use rusqlite::{ToSql, named_params};
use serde::Serialize;
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The most bytes of an entry's resource (a storage key, a host, an entity
/// reference) that are stored. Real resources are well under this; a
/// plugin sent an 8 MiB key eight times and grew the database by 77 MiB.
/// Raising it makes every row (and every page of `GET /api/audit`) heavier.
pub const MAX_AUDIT_RESOURCE_BYTES: usize = 512;

/// The most bytes of an entry's reason that are stored. A reason is one
/// sentence written by the host, but it can quote what a plugin or a
/// request sent; past this it is cut with a marker.
pub const MAX_AUDIT_REASON_BYTES: usize = 1024;

/// The most bytes of an entry's actor, plugin and action. Each is a name
/// the host chose or checked; this only bounds a bug or a forged header.
const MAX_AUDIT_NAME_BYTES: usize = 256;

/// Entries for requests nobody signed (a refused proxy header, an invalid
/// API token, a refused sign-in) recorded in a burst before the rate below
/// applies. Unsigned requests cost an attacker nothing: unbounded, they
/// grew the log at ~3 900 rows a second. Raising it lets a burst write
/// more rows before the limit bites.
pub const UNSIGNED_AUDIT_BURST: u32 = 100;

/// Entries for unsigned requests recorded per second once the burst is
/// spent; the others are counted and recorded as one summary entry
/// (`audit.dropped`). At 10 a second a day of attack writes under a
/// million rows.
pub const UNSIGNED_AUDIT_PER_SECOND: u32 = 10;

/// Whether something was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// It was allowed.
    Allow,
    /// It was refused.
    Deny,
}

impl Decision {
    /// `allow` or `deny`, as stored and as filters name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }

    /// A decision from its name, `allow` or `deny`.
    pub fn parse(name: &str) -> Option<Decision> {
        match name {
            "allow" => Some(Decision::Allow),
            "deny" => Some(Decision::Deny),
            _ => None,
        }
    }
}

/// One decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent<'a> {
    /// The acting user's entity reference; none for scheduled tasks.
    pub actor: Option<&'a str>,
    /// The plugin that asked, if a plugin asked.
    pub plugin: Option<&'a str>,
    /// What was asked, e.g. `storage.set` or `http.request`.
    pub action: &'a str,
    /// What it was asked on, e.g. a key, an entity reference or a host.
    pub resource: Option<&'a str>,
    /// The decision.
    pub decision: Decision,
    /// Why, in words an operator understands.
    pub reason: &'a str,
}

/// A recorded decision, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its place in the log: later entries have larger ids. Pages are
    /// cut by it ([`AuditQuery::before`]).
    pub id: i64,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The acting user.
    pub actor: Option<String>,
    /// The plugin.
    pub plugin: Option<String>,
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: Option<String>,
    /// The decision.
    pub decision: Decision,
    /// Why.
    pub reason: String,
}

/// Writing to the audit log failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the audit log: {0}")]
pub struct AuditError(StoreError);

impl From<StoreError> for AuditError {
    fn from(error: StoreError) -> AuditError {
        AuditError(error)
    }
}

impl From<rusqlite::Error> for AuditError {
    fn from(error: rusqlite::Error) -> AuditError {
        AuditError(StoreError::Sqlite(error))
    }
}

/// The audit log, stored in the data directory's database.
///
/// Clones share one budget for unsigned requests
/// ([`AuditLog::record_unsigned`]); keep one log for the server's lifetime
/// where unsigned requests are recorded.
#[derive(Debug, Clone)]
pub struct AuditLog {
    db: Database,
    unsigned: Arc<Mutex<TokenBucket>>,
}

impl AuditLog {
    /// The audit log in `db`, with the default budget for unsigned
    /// requests ([`UNSIGNED_AUDIT_BURST`], [`UNSIGNED_AUDIT_PER_SECOND`]).
    pub fn new(db: Database) -> AuditLog {
        AuditLog::with_unsigned_budget(db, UNSIGNED_AUDIT_BURST, UNSIGNED_AUDIT_PER_SECOND)
    }

    /// The audit log in `db`, recording at most `burst` unsigned requests
    /// at once and `per_second` after that.
    pub fn with_unsigned_budget(db: Database, burst: u32, per_second: u32) -> AuditLog {
        AuditLog {
            db,
            unsigned: Arc::new(Mutex::new(TokenBucket::new(
                burst,
                per_second,
                Instant::now(),
            ))),
        }
    }

    /// Records a decision about a request nobody signed (no session, an
    /// untrusted proxy header, an invalid API token), within the log's
    /// budget for them: past it, entries are counted, not written, and
    /// the count is recorded as one `audit.dropped` entry before the next
    /// entry the budget lets through. Failures to write are logged.
    pub fn record_unsigned(&self, event: &AuditEvent<'_>) {
        let admitted = self
            .unsigned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(Instant::now());
        let Admit::Record { dropped_before } = admitted else {
            tracing::debug!(
                action = event.action,
                "unsigned request not audited: over the rate limit"
            );
            return;
        };
        if dropped_before > 0 {
            self.record_or_log(&AuditEvent {
                actor: None,
                plugin: None,
                action: DROPPED_ACTION,
                resource: None,
                decision: Decision::Deny,
                reason: &format!(
                    "{dropped_before} more decisions about unsigned requests were not recorded one by one: \
                     over the limit of {} a second (bursts of {})",
                    UNSIGNED_AUDIT_PER_SECOND, UNSIGNED_AUDIT_BURST
                ),
            });
        }
        self.record_or_log(event);
    }

    /// Records an administrative change (allowed) by `actor`, to `plugin`
    /// if it concerns one. A failure to write is logged, not returned: the
    /// change was made.
    pub fn change(&self, actor: &str, plugin: Option<&str>, action: &str, reason: &str) {
        self.record_or_log(&AuditEvent {
            actor: Some(actor),
            plugin,
            action,
            resource: None,
            decision: Decision::Allow,
            reason,
        });
    }

    /// Records `event`, logging (not returning) a failure to write it.
    pub fn record_or_log(&self, event: &AuditEvent<'_>) {
        if let Err(error) = self.record(event) {
            tracing::error!(%error, action = event.action, "could not record a decision in the audit log");
        }
    }

    /// Records a decision durably, and traces it. Each field is cut to its
    /// maximum ([`MAX_AUDIT_RESOURCE_BYTES`], [`MAX_AUDIT_REASON_BYTES`])
    /// at a character boundary, with a marker saying how long it was.
    pub fn record(&self, event: &AuditEvent<'_>) -> Result<(), AuditError> {
        let actor = event.actor.map(|f| truncate(f, MAX_AUDIT_NAME_BYTES));
        let plugin = event.plugin.map(|f| truncate(f, MAX_AUDIT_NAME_BYTES));
        let action = truncate(event.action, MAX_AUDIT_NAME_BYTES);
        let resource = event
            .resource
            .map(|r| truncate(r, MAX_AUDIT_RESOURCE_BYTES));
        let reason = truncate(event.reason, MAX_AUDIT_REASON_BYTES);
        tracing::info!(
            target: "greenroom::audit",
            actor = actor.as_deref(),
            plugin = plugin.as_deref(),
            action = &*action,
            resource = resource.as_deref(),
            decision = event.decision.as_str(),
            reason = &*reason,
        );
        let conn = self.db.connection()?;
        conn.prepare_cached(
            "INSERT INTO audit_log (at_ms, actor, plugin, action, resource, decision, reason)
             VALUES (:at, :actor, :plugin, :action, :resource, :decision, :reason)",
        )?
        .execute(named_params! {
            ":at": now_ms(),
            ":actor": actor,
            ":plugin": plugin,
            ":action": action,
            ":resource": resource,
            ":decision": event.decision.as_str(),
            ":reason": reason,
        })?;
        Ok(())
    }

    /// The newest entries, newest first, optionally for one plugin.
    pub fn recent(&self, plugin: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>, AuditError> {
        let query = AuditQuery {
            plugin: plugin.map(str::to_owned),
            limit,
            ..AuditQuery::default()
        };
        Ok(self.query(&query)?.entries)
    }

    /// One page of the entries `query` selects, newest first.
    pub fn query(&self, query: &AuditQuery) -> Result<AuditPage, AuditError> {
        let limit = query.limit.clamp(1, MAX_AUDIT_PAGE);
        // Only the conditions asked for are in the statement: `(:x IS NULL
        // OR col = :x)` would keep SQLite from using the column's index.
        // Every piece is a fixed string; values go in as parameters.
        let mut conditions = Vec::new();
        let mut params: Vec<(&str, &dyn ToSql)> = Vec::new();
        let decision = query.decision.map(Decision::as_str);
        let filters: [(&str, &str, Option<&dyn ToSql>); 5] = [
            (
                "plugin = :plugin",
                ":plugin",
                query.plugin.as_ref().map(as_sql),
            ),
            ("actor = :actor", ":actor", query.actor.as_ref().map(as_sql)),
            (
                "action = :action",
                ":action",
                query.action.as_ref().map(as_sql),
            ),
            (
                "decision = :decision",
                ":decision",
                decision.as_ref().map(as_sql),
            ),
            ("id < :before", ":before", query.before.as_ref().map(as_sql)),
        ];
        for (condition, name, value) in filters {
            if let Some(value) = value {
                conditions.push(condition);
                params.push((name, value));
            }
        }
        // One more than a page, to know whether there is a next one.
        let fetch = i64::from(limit) + 1;
        params.push((":limit", &fetch));
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let conn = self.db.connection()?;
        let mut statement = conn.prepare_cached(&format!(
            "SELECT id, at_ms, actor, plugin, action, resource, decision, reason FROM audit_log
             {filter} ORDER BY id DESC LIMIT :limit"
        ))?;
        let mut entries = statement
            .query_map(params.as_slice(), entry)?
            .collect::<Result<Vec<_>, _>>()?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next_before = more.then(|| entries.last().map(|e| e.id)).flatten();
        Ok(AuditPage {
            entries,
            next_before,
        })
    }
}

/// The most entries one page holds. A page is one query and one response
/// body; more than this is a bulk export, which belongs to a backup of the
/// database, not to a page.
pub const MAX_AUDIT_PAGE: u32 = 500;

/// Which entries to read: every filter that is set must match. Pages go
/// backwards in time by id (keyset paging): a page's
/// [`AuditPage::next_before`] is the next page's `before`, so entries
/// recorded meanwhile never shift a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries about this plugin.
    pub plugin: Option<String>,
    /// Only entries made by this actor (an entity reference, or
    /// `operator:cli` / `operator:token`).
    pub actor: Option<String>,
    /// Only this action, e.g. `http.request` or `plugin.disable`.
    pub action: Option<String>,
    /// Only allowed or only denied.
    pub decision: Option<Decision>,
    /// Only entries older than the one with this id.
    pub before: Option<i64>,
    /// At most this many entries (1 to [`MAX_AUDIT_PAGE`]).
    pub limit: u32,
}

impl Default for AuditQuery {
    fn default() -> AuditQuery {
        AuditQuery {
            plugin: None,
            actor: None,
            action: None,
            decision: None,
            before: None,
            limit: 50,
        }
    }
}

/// One page of entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// The `before` of the next (older) page; none on the last page.
    pub next_before: Option<i64>,
}

/// The action of the entry that counts unsigned requests left out.
pub const DROPPED_ACTION: &str = "audit.dropped";

/// `text` cut to at most `max` bytes at a character boundary, ending in a
/// marker that says it was cut and how long it was; unchanged when it
/// fits. For anything a plugin or a request can make long that reaches a
/// page, a log line or the audit log.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let marker = format!("… [cut: {} bytes in all]", text.len());
    let (marker, room) = match max.checked_sub(marker.len()) {
        Some(room) => (marker.as_str(), room),
        None => ("…", max.saturating_sub('…'.len_utf8())),
    };
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{marker}", &text[..end]))
}

/// Whether a token bucket lets an entry through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// Record it; `dropped_before` entries were left out since the last
    /// one recorded.
    Record { dropped_before: u64 },
    /// Leave it out (it is counted).
    Drop,
}

/// A token bucket: `burst` tokens, refilled at `per_second`.
#[derive(Debug)]
struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    at: Instant,
    dropped: u64,
}

impl TokenBucket {
    fn new(burst: u32, per_second: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            burst: f64::from(burst),
            per_second: f64::from(per_second),
            tokens: f64::from(burst),
            at: now,
            dropped: 0,
        }
    }

    fn take(&mut self, now: Instant) -> Admit {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.at = now;
        if self.tokens < 1.0 {
            self.dropped += 1;
            return Admit::Drop;
        }
        self.tokens -= 1.0;
        Admit::Record {
            dropped_before: std::mem::take(&mut self.dropped),
        }
    }
}

fn as_sql<T: ToSql>(value: &T) -> &dyn ToSql {
    value
}

fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let decision: String = row.get(6)?;
    Ok(AuditEntry {
        id: row.get(0)?,
        at_ms: row.get(1)?,
        actor: row.get(2)?,
        plugin: row.get(3)?,
        action: row.get(4)?,
        resource: row.get(5)?,
        // The table's CHECK allows only these two.
        decision: Decision::parse(&decision).unwrap_or(Decision::Deny),
        reason: row.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_denials_and_reads_them_back_newest_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = AuditLog::new(Database::open(&dir.path().join("db")).expect("opens"));
        for action in ["storage.get", "http.request"] {
            log.record(&AuditEvent {
                actor: Some("user:default/guest"),
                plugin: Some("hello"),
                action,
                resource: None,
                decision: Decision::Deny,
                reason: "not granted",
            })
            .expect("records");
        }
        let entries = log.recent(Some("hello"), 10).expect("reads");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].action, "http.request");
        assert_eq!(entries[0].decision, Decision::Deny);
        assert!(log.recent(Some("other"), 10).expect("reads").is_empty());
    }

    /// A log with entries 1..=6: plugins a and b alternating, actors
    /// x (odd) and y (even), every third denied as `http.request`.
    fn sample() -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = AuditLog::new(Database::open(&dir.path().join("db")).expect("opens"));
        for n in 1..=6 {
            let denied = n % 3 == 0;
            log.record(&AuditEvent {
                actor: Some(if n % 2 == 1 { "x" } else { "y" }),
                plugin: Some(if n % 2 == 1 { "a" } else { "b" }),
                action: if denied {
                    "http.request"
                } else {
                    "storage.get"
                },
                resource: None,
                decision: if denied {
                    Decision::Deny
                } else {
                    Decision::Allow
                },
                reason: &format!("entry {n}"),
            })
            .expect("records");
        }
        (dir, log)
    }

    fn reasons(page: &AuditPage) -> Vec<&str> {
        page.entries.iter().map(|e| e.reason.as_str()).collect()
    }

    #[test]
    fn every_filter_narrows_the_entries_and_they_combine() {
        let (_dir, log) = sample();
        let query = |edit: fn(&mut AuditQuery)| {
            let mut query = AuditQuery::default();
            edit(&mut query);
            log.query(&query).expect("reads")
        };
        assert_eq!(reasons(&query(|_| ())).len(), 6);
        assert_eq!(
            reasons(&query(|q| q.plugin = Some("a".into()))),
            ["entry 5", "entry 3", "entry 1"]
        );
        assert_eq!(
            reasons(&query(|q| q.actor = Some("y".into()))),
            ["entry 6", "entry 4", "entry 2"]
        );
        assert_eq!(
            reasons(&query(|q| q.decision = Some(Decision::Deny))),
            ["entry 6", "entry 3"]
        );
        assert_eq!(
            reasons(&query(|q| q.action = Some("http.request".into()))),
            ["entry 6", "entry 3"]
        );
        assert_eq!(
            reasons(&query(|q| {
                q.plugin = Some("b".into());
                q.decision = Some(Decision::Deny);
            })),
            ["entry 6"]
        );
        assert!(
            query(|q| q.actor = Some("nobody".into()))
                .entries
                .is_empty()
        );
    }

    #[test]
    fn pages_go_back_in_time_by_id_until_the_first_entry() {
        let (_dir, log) = sample();
        let mut query = AuditQuery {
            limit: 4,
            ..AuditQuery::default()
        };
        let first = log.query(&query).expect("reads");
        assert_eq!(
            reasons(&first),
            ["entry 6", "entry 5", "entry 4", "entry 3"]
        );
        assert_eq!(first.next_before, Some(first.entries[3].id));
        // A new entry does not shift the next page.
        log.record(&AuditEvent {
            actor: None,
            plugin: None,
            action: "storage.get",
            resource: None,
            decision: Decision::Allow,
            reason: "entry 7",
        })
        .expect("records");
        query.before = first.next_before;
        let second = log.query(&query).expect("reads");
        assert_eq!(reasons(&second), ["entry 2", "entry 1"]);
        assert_eq!(second.next_before, None, "the last page");
    }

    #[test]
    fn a_page_holds_at_least_one_and_at_most_the_maximum() {
        let (_dir, log) = sample();
        let page = |limit| {
            log.query(&AuditQuery {
                limit,
                ..AuditQuery::default()
            })
            .expect("reads")
        };
        assert_eq!(page(0).entries.len(), 1);
        assert_eq!(page(u32::MAX).entries.len(), 6);
    }

    #[test]
    fn long_fields_are_stored_cut_with_a_marker() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = AuditLog::new(Database::open(&dir.path().join("db")).expect("opens"));
        let key = "é".repeat(4 << 20);
        for _ in 0..8 {
            log.record(&AuditEvent {
                actor: None,
                plugin: Some("flood"),
                action: "storage.get",
                resource: Some(&key),
                decision: Decision::Deny,
                reason: &format!("capability storage was not granted for {key}"),
            })
            .expect("records");
        }
        let page = log.query(&AuditQuery::default()).expect("reads");
        assert_eq!(page.entries.len(), 8);
        let entry = &page.entries[0];
        let resource = entry.resource.as_deref().expect("a resource");
        assert!(
            resource.len() <= MAX_AUDIT_RESOURCE_BYTES,
            "{}",
            resource.len()
        );
        assert!(resource.starts_with("éé"), "{resource}");
        assert!(
            resource.ends_with("… [cut: 8388608 bytes in all]"),
            "{resource}"
        );
        assert!(entry.reason.len() <= MAX_AUDIT_REASON_BYTES);
        assert!(
            entry
                .reason
                .starts_with("capability storage was not granted")
        );
        let answer = serde_json::to_string(&page).expect("serialises");
        assert!(
            answer.len() < 16 << 10,
            "the API's answer stays small: {}",
            answer.len()
        );
    }

    #[test]
    fn truncation_keeps_short_text_and_cuts_at_a_character_boundary() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate("ééééé", 5);
        assert!(cut.len() <= 5 && cut.ends_with('…'), "{cut}");
        let long = "a".repeat(100);
        let cut = truncate(&long, 50);
        assert_eq!(cut.len(), 50);
        assert!(cut.ends_with("… [cut: 100 bytes in all]"), "{cut}");
    }

    #[test]
    fn a_token_bucket_admits_a_burst_then_its_rate_and_counts_what_it_dropped() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3, 2, start);
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Admit::Record { dropped_before: 0 });
        }
        for _ in 0..1000 {
            assert_eq!(bucket.take(start), Admit::Drop);
        }
        let later = start + std::time::Duration::from_millis(500);
        assert_eq!(
            bucket.take(later),
            Admit::Record {
                dropped_before: 1000
            }
        );
        assert_eq!(bucket.take(later), Admit::Drop);
        let much_later = start + std::time::Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(matches!(bucket.take(much_later), Admit::Record { .. }));
        }
        assert_eq!(
            bucket.take(much_later),
            Admit::Drop,
            "never more than a burst"
        );
    }

    #[test]
    fn a_flood_of_unsigned_requests_writes_at_most_a_burst_and_then_one_summary() {
        let dir = tempfile::tempdir().expect("temp dir");
        // No refill: what gets through is exactly the burst.
        let log = AuditLog::with_unsigned_budget(
            Database::open(&dir.path().join("db")).expect("opens"),
            5,
            0,
        );
        let refused = AuditEvent {
            actor: None,
            plugin: None,
            action: "auth.sign-in",
            resource: None,
            decision: Decision::Deny,
            reason: "proxy: an untrusted proxy header",
        };
        for _ in 0..5000 {
            log.clone().record_unsigned(&refused);
        }
        let rows = log.recent(None, MAX_AUDIT_PAGE).expect("reads");
        assert_eq!(rows.len(), 5, "the burst, then nothing");
        // Once the budget refills, the count of what was left out comes first.
        *log.unsigned.lock().expect("not poisoned") = TokenBucket {
            dropped: 4995,
            ..TokenBucket::new(5, 0, Instant::now())
        };
        log.record_unsigned(&refused);
        let rows = log.recent(None, 2).expect("reads");
        assert_eq!(rows[0].action, "auth.sign-in");
        assert_eq!(rows[1].action, DROPPED_ACTION);
        assert!(
            rows[1].reason.starts_with("4995 more decisions"),
            "{}",
            rows[1].reason
        );
    }

    #[test]
    fn filtered_pages_read_through_an_index() {
        let (_dir, log) = sample();
        let conn = log.db.connection().expect("connection");
        for (column, index) in [
            ("plugin", "audit_log_by_plugin"),
            ("actor", "audit_log_by_actor"),
            ("action", "audit_log_by_action"),
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!(
                    "EXPLAIN QUERY PLAN SELECT id FROM audit_log WHERE {column} = 'a' AND id < 10 ORDER BY id DESC LIMIT 5"
                ))
                .expect("plans")
                .query_map([], |row| row.get::<_, String>(3))
                .expect("plans")
                .collect::<Result<_, _>>()
                .expect("plans");
            let plan = plan.join("; ");
            assert!(plan.contains(index), "{column}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
        }
    }
}
