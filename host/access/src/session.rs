//! Sessions: who signed in in which browser, and until when.
//!
//! A session is a row in the database and a cookie in the browser. The
//! cookie holds a random 256-bit id, its expiry and an HMAC-SHA256 over both
//! with the server's session key ([`SessionKey`]); the row holds only the
//! id's SHA-256. A cookie is accepted when its MAC verifies (so a forged or
//! edited cookie costs no database read), its expiry has not passed, and its
//! row still exists — which is what makes sign-out a revocation: the row
//! goes, and the cookie is worth nothing even to someone who copied it.
//!
//! The same sealing ([`SessionKey::seal`]) carries the short-lived state of
//! an OpenID Connect sign-in between the redirect out and the redirect back.
//! Each use names its purpose inside the MAC, so one kind of sealed value
//! is never accepted as another.

use crate::directory::SignedInUser;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use greenroom_store::{Database, StoreError, now_ms};
use hmac::{Hmac, Mac};
use rand::RngExt;
use rusqlite::{OptionalExtension, named_params};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "greenroom_session";

/// The purpose sealed into a session cookie.
const SESSION_PURPOSE: &str = "session";

/// Bytes of randomness in a session id: 256 bits, beyond guessing.
const SESSION_ID_BYTES: usize = 32;

/// Bytes in a session key: as long as HMAC-SHA256's output; a longer key
/// adds nothing.
const KEY_BYTES: usize = 32;

/// What went wrong with sessions.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The database failed.
    #[error("cannot read or write sessions: {0}")]
    Store(#[from] StoreError),
    /// The session key file could not be read or created.
    #[error("session key {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl From<rusqlite::Error> for SessionError {
    fn from(error: rusqlite::Error) -> SessionError {
        SessionError::Store(StoreError::Sqlite(error))
    }
}

/// Why a sealed value was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unsealed {
    /// It is not of the form this key writes.
    #[error("malformed")]
    Malformed,
    /// Its MAC does not match: forged, edited, sealed for another purpose
    /// or with another key.
    #[error("bad signature")]
    Forged,
    /// Its expiry has passed.
    #[error("expired")]
    Expired,
}

/// The server's secret for signing cookies. Losing it signs everybody out;
/// whoever reads it can forge the OpenID Connect state cookie (though not a
/// session: those also need their row).
#[derive(Clone)]
pub struct SessionKey([u8; KEY_BYTES]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(…)")
    }
}

impl SessionKey {
    /// A new random key.
    pub fn generate() -> SessionKey {
        SessionKey(rand::rng().random())
    }

    /// The key in `path` (hex), created readable by its owner only when
    /// there is none yet. Deleting the file signs everybody out at the next
    /// start.
    pub fn load_or_create(path: &Path) -> Result<SessionKey, SessionError> {
        let fail = |reason: String| SessionError::Key {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut key = [0u8; KEY_BYTES];
                hex::decode_to_slice(text.trim(), &mut key).map_err(|_| {
                    fail(format!(
                        "is not {} hex digits; delete it to have a new key made (everybody is signed out)",
                        KEY_BYTES * 2
                    ))
                })?;
                Ok(SessionKey(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SessionKey::generate();
                write_private(path, &hex::encode(key.0)).map_err(|e| fail(e.to_string()))?;
                Ok(key)
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }

    fn mac(&self, purpose: &str, payload: &str, expires_s: i64) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC-SHA256 takes a key of any length");
        // NUL cannot occur in the purpose or the base64 payload, so the
        // fields cannot run into each other.
        for field in [purpose, "\0", payload, "\0", &expires_s.to_string()] {
            mac.update(field.as_bytes());
        }
        mac
    }

    /// `payload` sealed for `purpose` until `expires_s` (Unix seconds):
    /// `<payload, base64url>.<expires_s>.<mac, base64url>`, safe in a cookie.
    /// Signed, not encrypted: the holder can read it.
    pub fn seal(&self, purpose: &str, payload: &[u8], expires_s: i64) -> String {
        let payload = URL_SAFE_NO_PAD.encode(payload);
        let mac = self
            .mac(purpose, &payload, expires_s)
            .finalize()
            .into_bytes();
        format!("{payload}.{expires_s}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// The payload of a value [`SessionKey::seal`] made for `purpose`, if
    /// its MAC verifies (in constant time) and it has not expired at
    /// `now_s`.
    pub fn open(&self, purpose: &str, sealed: &str, now_s: i64) -> Result<Vec<u8>, Unsealed> {
        let mut parts = sealed.split('.');
        let (Some(payload), Some(expires), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Unsealed::Malformed);
        };
        let expires_s: i64 = expires.parse().map_err(|_| Unsealed::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| Unsealed::Malformed)?;
        self.mac(purpose, payload, expires_s)
            .verify_slice(&mac)
            .map_err(|_| Unsealed::Forged)?;
        if expires_s <= now_s {
            return Err(Unsealed::Expired);
        }
        URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Unsealed::Malformed)
    }
}

/// Creates `path` with `text`, readable and writable by its owner only,
/// never replacing a file that exists.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// A cookie value to hand the browser, and how long it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSession {
    /// The cookie's value.
    pub value: String,
    /// Its lifetime, for the cookie's `Max-Age`.
    pub max_age: Duration,
}

/// The sessions in the data directory's database.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Database,
    key: SessionKey,
    lifetime: Duration,
}

impl Sessions {
    /// Sessions stored in `db`, signed with `key`, each lasting `lifetime`
    /// from sign-in (not extended by use: a stolen cookie dies on time).
    pub fn new(db: Database, key: SessionKey, lifetime: Duration) -> Sessions {
        Sessions { db, key, lifetime }
    }

    /// The key cookies are signed with.
    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    /// Starts a session for `user`, and forgets sessions that expired.
    pub fn start(&self, user: &SignedInUser) -> Result<IssuedSession, SessionError> {
        self.start_at(user, now_ms())
    }

    fn start_at(&self, user: &SignedInUser, now: i64) -> Result<IssuedSession, SessionError> {
        let id: [u8; SESSION_ID_BYTES] = rand::rng().random();
        let lifetime_ms = i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX);
        let expires_ms = now.saturating_add(lifetime_ms);
        let conn = self.db.connection()?;
        conn.prepare_cached("DELETE FROM sessions WHERE expires_ms <= :now")?
            .execute(named_params! { ":now": now })?;
        conn.prepare_cached(
            "INSERT INTO sessions (id_hash, user_ref, login, method, display_name, email, in_catalog, created_ms, expires_ms)
             VALUES (:id, :user, :login, :method, :name, :email, :in_catalog, :now, :expires)",
        )?
        .execute(named_params! {
            ":id": id_hash(&id),
            ":user": user.entity_ref,
            ":login": user.login,
            ":method": user.method,
            ":name": user.display_name,
            ":email": user.email,
            ":in_catalog": user.in_catalog,
            ":now": now,
            ":expires": expires_ms,
        })?;
        Ok(IssuedSession {
            value: self.key.seal(SESSION_PURPOSE, &id, expires_ms / 1000),
            max_age: self.lifetime,
        })
    }

    /// The signed-in user a session cookie stands for: none when the
    /// cookie is forged, edited, expired or signed out.
    pub fn find(&self, cookie: &str) -> Result<Option<SignedInUser>, SessionError> {
        self.find_at(cookie, now_ms())
    }

    fn find_at(&self, cookie: &str, now: i64) -> Result<Option<SignedInUser>, SessionError> {
        let id = match self.key.open(SESSION_PURPOSE, cookie, now / 1000) {
            Ok(id) => id,
            Err(reason) => {
                // Expected after a key change or expiry; an attacker's
                // forgery is noise too, so this stays at debug.
                tracing::debug!(%reason, "session cookie refused");
                return Ok(None);
            }
        };
        let conn = self.db.connection()?;
        let user = conn
            .prepare_cached(
                "SELECT user_ref, login, method, display_name, email, in_catalog FROM sessions
                 WHERE id_hash = :id AND expires_ms > :now",
            )?
            .query_row(named_params! { ":id": id_hash(&id), ":now": now }, |row| {
                Ok(SignedInUser {
                    entity_ref: row.get(0)?,
                    login: row.get(1)?,
                    method: row.get(2)?,
                    display_name: row.get(3)?,
                    email: row.get(4)?,
                    in_catalog: row.get(5)?,
                })
            })
            .optional()?;
        Ok(user)
    }

    /// Ends the session a cookie stands for (sign-out). Whether there was
    /// one.
    pub fn end(&self, cookie: &str) -> Result<bool, SessionError> {
        // An expired cookie's row may linger; it is deleted all the same.
        let Ok(id) = self.key.open(SESSION_PURPOSE, cookie, i64::MIN) else {
            return Ok(false);
        };
        let deleted = self
            .db
            .connection()?
            .prepare_cached("DELETE FROM sessions WHERE id_hash = :id")?
            .execute(named_params! { ":id": id_hash(&id) })?;
        Ok(deleted > 0)
    }

    /// Ends every session of `user_ref` (a person who left, a stolen
    /// laptop). How many there were.
    pub fn end_all(&self, user_ref: &str) -> Result<usize, SessionError> {
        Ok(self
            .db
            .connection()?
            .prepare_cached("DELETE FROM sessions WHERE user_ref = :user")?
            .execute(named_params! { ":user": user_ref })?)
    }
}

fn id_hash(id: &[u8]) -> String {
    hex::encode(Sha256::digest(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(dir: &tempfile::TempDir, lifetime: Duration) -> Sessions {
        let db = Database::open(&dir.path().join("greenroom.db")).expect("opens");
        Sessions::new(db, SessionKey::generate(), lifetime)
    }

    fn ann() -> SignedInUser {
        SignedInUser {
            entity_ref: "user:default/ann".into(),
            login: "ann@example.com".into(),
            method: "oidc".into(),
            display_name: "Ann".into(),
            email: Some("ann@example.com".into()),
            in_catalog: true,
        }
    }

    /// `value` with one character of its `part`th dot-separated part
    /// changed.
    fn tamper(value: &str, part: usize) -> String {
        let mut parts: Vec<String> = value.split('.').map(str::to_owned).collect();
        let first = parts[part].remove(0);
        parts[part].insert(0, if first == 'A' { 'B' } else { 'A' });
        parts.join(".")
    }

    #[test]
    fn a_sealed_value_opens_only_unchanged_for_its_purpose_before_it_expires() {
        let key = SessionKey::generate();
        let sealed = key.seal("session", b"payload", 1_000);
        assert_eq!(
            key.open("session", &sealed, 999).as_deref(),
            Ok(&b"payload"[..])
        );
        assert_eq!(key.open("session", &sealed, 1_000), Err(Unsealed::Expired));
        assert_eq!(key.open("oidc", &sealed, 999), Err(Unsealed::Forged));
        assert_eq!(
            SessionKey::generate().open("session", &sealed, 999),
            Err(Unsealed::Forged),
            "another key"
        );
        for part in 0..3 {
            assert!(key.open("session", &tamper(&sealed, part), 999).is_err());
        }
        let later = sealed.replace(".1000.", ".9999.");
        assert_eq!(
            key.open("session", &later, 999),
            Err(Unsealed::Forged),
            "a moved expiry"
        );
        assert_eq!(key.open("session", "no dots", 0), Err(Unsealed::Malformed));
        assert_eq!(key.open("session", "a.b.c.d", 0), Err(Unsealed::Malformed));
    }

    #[test]
    fn a_session_cookie_finds_its_user_until_signed_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sessions = sessions(&dir, Duration::from_secs(3600));
        let issued = sessions.start(&ann()).expect("starts");
        assert_eq!(issued.max_age, Duration::from_secs(3600));
        assert_eq!(sessions.find(&issued.value).expect("reads"), Some(ann()));
        assert!(sessions.end(&issued.value).expect("ends"));
        assert_eq!(
            sessions.find(&issued.value).expect("reads"),
            None,
            "revoked"
        );
        assert!(!sessions.end(&issued.value).expect("ends"), "only once");
    }

    #[test]
    fn a_tampered_or_forged_session_cookie_finds_nobody() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sessions = sessions(&dir, Duration::from_secs(3600));
        let issued = sessions.start(&ann()).expect("starts");
        for part in 0..3 {
            let tampered = tamper(&issued.value, part);
            assert_eq!(sessions.find(&tampered).expect("reads"), None, "{tampered}");
        }
        // A well-signed cookie for an id that was never issued.
        let forged = sessions
            .key()
            .seal(SESSION_PURPOSE, &[7; 32], now_ms() / 1000 + 60);
        assert_eq!(sessions.find(&forged).expect("reads"), None);
        // The same cookie under another server's key.
        let db = Database::open(&dir.path().join("greenroom.db")).expect("opens");
        let other = Sessions::new(db, SessionKey::generate(), Duration::from_secs(3600));
        assert_eq!(other.find(&issued.value).expect("reads"), None);
    }

    #[test]
    fn a_session_expires_after_its_lifetime_even_if_the_row_remains() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sessions = sessions(&dir, Duration::from_secs(60));
        let start = now_ms();
        let issued = sessions.start_at(&ann(), start).expect("starts");
        assert!(
            sessions
                .find_at(&issued.value, start + 59_000)
                .expect("reads")
                .is_some()
        );
        assert_eq!(
            sessions
                .find_at(&issued.value, start + 60_000)
                .expect("reads"),
            None
        );
        // The next sign-in clears expired rows.
        sessions.start_at(&ann(), start + 61_000).expect("starts");
        let rows: i64 = sessions
            .db
            .connection()
            .expect("connection")
            .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
            .expect("counts");
        assert_eq!(rows, 1);
    }

    #[test]
    fn the_database_holds_only_a_hash_of_the_session_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sessions = sessions(&dir, Duration::from_secs(3600));
        let issued = sessions.start(&ann()).expect("starts");
        let id = URL_SAFE_NO_PAD
            .decode(issued.value.split('.').next().expect("a payload"))
            .expect("base64");
        let stored: Vec<String> = sessions
            .db
            .connection()
            .expect("connection")
            .prepare("SELECT id_hash FROM sessions")
            .expect("prepares")
            .query_map([], |r| r.get(0))
            .expect("reads")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(stored, [hex::encode(Sha256::digest(&id))]);
        assert!(!stored[0].contains(&hex::encode(&id)));
    }

    #[test]
    fn signing_out_everywhere_ends_every_session_of_the_user() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sessions = sessions(&dir, Duration::from_secs(3600));
        let one = sessions.start(&ann()).expect("starts");
        let two = sessions.start(&ann()).expect("starts");
        assert_eq!(sessions.end_all("user:default/ann").expect("ends"), 2);
        assert_eq!(sessions.find(&one.value).expect("reads"), None);
        assert_eq!(sessions.find(&two.value).expect("reads"), None);
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("session-key");
        let key = SessionKey::load_or_create(&path).expect("created");
        let again = SessionKey::load_or_create(&path).expect("read");
        assert_eq!(key.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").expect("written");
        let error = SessionKey::load_or_create(&path).expect_err("refused");
        assert!(error.to_string().contains("delete it"), "{error}");
    }
}
