//! Publisher keys and signatures (ed25519).
//!
//! A publisher signs, for each version it publishes, the statement "plugin
//! `id` version `v` is the artifact with this sha256". The artifact's bytes
//! carry its manifest (capabilities included), so the signature covers
//! everything the operator consents to.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use rand::RngExt as _;
use std::fmt;
use std::path::Path;

const PUBLIC_PREFIX: &str = "ed25519:";
const SECRET_PREFIX: &str = "ed25519-secret:";

/// A key file, or a key in a config or an index, that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not `ed25519:<base64 of 32 bytes>` (or the secret form).
    #[error("`{0}` is not an ed25519 key; expected `{1}` followed by 32 bytes in base64")]
    Malformed(String, &'static str),
    /// The key file could not be read or written.
    #[error("{0}")]
    Io(String),
}

/// A publisher's public key, written `ed25519:<base64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses `ed25519:<base64>`.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let malformed = || KeyError::Malformed(text.to_owned(), PUBLIC_PREFIX);
        let bytes = text
            .trim()
            .strip_prefix(PUBLIC_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(malformed)?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| malformed())
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Some(bytes) = STANDARD
            .decode(signature.trim())
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        self.0
            .verify(message, &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A publisher's signing key. Never printed; stored in a file readable by
/// its owner only.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new random key.
    pub fn generate() -> SecretKey {
        SecretKey(SigningKey::from_bytes(&rand::rng().random::<[u8; 32]>()))
    }

    /// Parses `ed25519-secret:<base64>`.
    pub fn parse(text: &str) -> Result<SecretKey, KeyError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or_default();
        let bytes = line
            .strip_prefix(SECRET_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| KeyError::Malformed("(the key file)".into(), SECRET_PREFIX))?;
        Ok(SecretKey(SigningKey::from_bytes(&bytes)))
    }

    /// Reads a key file written by [`SecretKey::write`].
    pub fn read(path: &Path) -> Result<SecretKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            KeyError::Io(format!("cannot read the key file {}: {e}", path.display()))
        })?;
        SecretKey::parse(&text)
    }

    /// Writes the key to a new file (never over an existing one), readable
    /// by its owner only.
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| {
            KeyError::Io(format!(
                "cannot create the key file {}: {e}",
                path.display()
            ))
        })?;
        writeln!(
            file,
            "# A Greenroom publisher signing key. Keep it secret: whoever has it can\n\
             # publish plugins in your name. Its public key: {}\n{SECRET_PREFIX}{}",
            self.public(),
            STANDARD.encode(self.0.to_bytes())
        )
        .map_err(|e| KeyError::Io(format!("cannot write {}: {e}", path.display())))
    }

    /// The public half, to give to operators.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The signature (base64) of `message`. Deterministic: signing the same
    /// message twice gives the same text.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.0.sign(message).to_bytes())
    }
}

/// What a publisher signs for one version of a plugin.
pub fn signed_statement(id: &str, version: &str, sha256: &str) -> Vec<u8> {
    format!("greenroom-plugin-v1\nid={id}\nversion={version}\nsha256={sha256}\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_key_and_statement() {
        let key = SecretKey::generate();
        let statement = signed_statement("hello", "0.1.0", "ab");
        let signature = key.sign(&statement);
        assert!(key.public().verifies(&statement, &signature));
        assert!(
            !key.public()
                .verifies(&signed_statement("hello", "0.1.1", "ab"), &signature)
        );
        assert!(
            !SecretKey::generate()
                .public()
                .verifies(&statement, &signature)
        );
        assert!(!key.public().verifies(&statement, "not base64!"));
    }

    #[test]
    fn keys_round_trip_through_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("publisher.key");
        let key = SecretKey::generate();
        key.write(&path).unwrap();
        let read = SecretKey::read(&path).unwrap();
        assert_eq!(read.public(), key.public());
        assert_eq!(
            PublicKey::parse(&key.public().to_string()).unwrap(),
            key.public()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only its owner may read it");
        }
        assert!(
            key.write(&path).is_err(),
            "an existing key file is never overwritten"
        );
    }

    #[test]
    fn malformed_keys_say_what_is_expected() {
        let error = PublicKey::parse("rsa:abc").unwrap_err();
        assert!(error.to_string().contains("expected `ed25519:`"), "{error}");
        assert!(PublicKey::parse("ed25519:AAAA").is_err());
    }
}
