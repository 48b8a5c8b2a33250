//! Reading the YAML configuration, with errors that name their line.
//!
//! Shape errors (an unknown field, a bad date, a rule whose value does not
//! suit its operator) come from `serde_norway` with the line and the path
//! of the node at fault. Problems found afterwards, such as a level naming
//! an unknown check, are located by [`locate`], which walks the YAML again
//! down to the node's path and reads the line where it starts.

use super::Config;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A problem with the configuration, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where: a YAML line, an admin edit, or nowhere in particular.
    pub at: Location,
    /// What is wrong, naming the item (e.g. ``track `security`, level `Gold`: …``).
    pub message: String,
}

/// Where a configuration problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A line (1-based) and column of the YAML setting.
    Line(usize, usize),
    /// An edit made in the admin pages.
    AdminEdit,
    /// The combined configuration as a whole.
    Whole,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Location::Line(line, column) => {
                write!(f, "config line {line} column {column}: {}", self.message)
            }
            Location::AdminEdit => write!(f, "admin edit: {}", self.message),
            Location::Whole => f.write_str(&self.message),
        }
    }
}

/// Parses the YAML configuration. An empty text is an empty configuration.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    serde_norway::from_str(text).map_err(|error| {
        let at = error
            .location()
            .map(|l| Location::Line(l.line(), l.column()))
            .unwrap_or(Location::Whole);
        let mut message = error.to_string();
        // The location is in `at`; don't say it twice.
        if let Some(cut) = message.rfind(" at line ") {
            message.truncate(cut);
        }
        ConfigError { at, message }
    })
}

/// One step down a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// The line and column (1-based) where the node at `path` starts, if the
/// YAML has it.
pub fn locate(text: &str, path: &[Step]) -> Option<(usize, usize)> {
    let error = Seek(path)
        .deserialize(serde_norway::Deserializer::from_str(text))
        .err()?;
    if !error.to_string().contains(FOUND) {
        return None;
    }
    error.location().map(|l| (l.line(), l.column()))
}

/// The message [`Seek`] fails with where the path ends, so that the
/// deserializer stamps it with the node's position.
const FOUND: &str = "soundcheck: node found";

struct Seek<'p>(&'p [Step]);

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.0.first() {
            None => deserializer.deserialize_any(Found),
            Some(Step::Key(_)) => deserializer.deserialize_map(self),
            Some(Step::Index(_)) => deserializer.deserialize_seq(self),
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Step::Key(wanted), rest)) = self.0.split_first() else {
            return Ok(());
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *wanted {
                return map.next_value_seed(Seek(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Step::Index(wanted), rest)) = self.0.split_first() else {
            return Ok(());
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek(rest)).map(|_| ())
    }
}

/// Fails on whatever node it is given.
struct Found;

impl<'de> Visitor<'de> for Found {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
tracks:
  - id: security
    name: Security
    levels:
      - name: Bronze
        checks: [a, b]
      - name: Silver
        checks:
          - c
          - d
checks:
  - {id: a, name: A, external: true}
";

    fn key(k: &str) -> Step {
        Step::Key(k.to_owned())
    }

    #[test]
    fn locates_nodes_by_path() {
        let level = [key("tracks"), Step::Index(0), key("levels"), Step::Index(1)];
        assert_eq!(locate(YAML, &level).map(|l| l.0), Some(7));
        let check = [&level[..], &[key("checks"), Step::Index(1)]].concat();
        assert_eq!(locate(YAML, &check), Some((10, 13)));
        let flow = [
            key("tracks"),
            Step::Index(0),
            key("levels"),
            Step::Index(0),
            key("checks"),
            Step::Index(1),
        ];
        assert_eq!(locate(YAML, &flow).map(|l| l.0), Some(6));
        assert_eq!(
            locate(YAML, &[key("checks"), Step::Index(0)]).map(|l| l.0),
            Some(12)
        );
    }

    #[test]
    fn a_path_the_yaml_lacks_has_no_location() {
        assert_eq!(locate(YAML, &[key("campaigns"), Step::Index(0)]), None);
        assert_eq!(locate(YAML, &[key("tracks"), Step::Index(3)]), None);
    }

    #[test]
    fn shape_errors_name_their_line_and_path() {
        let error = parse("tracks:\n  - id: security\n    name: Security\n    levels:\n      - name: Bronze\n        chekcs: [a]\n").unwrap_err();
        assert_eq!(error.at, Location::Line(6, 9));
        assert!(
            error
                .message
                .starts_with("tracks[0].levels[0]: unknown field `chekcs`"),
            "{}",
            error.message
        );
        let error = parse("checks:\n  - id: cov\n    name: Coverage\n    rule: {fact: s.c, op: greater-than, value: high}\n").unwrap_err();
        assert!(matches!(error.at, Location::Line(2 | 4, _)), "{error}");
        assert!(error.to_string().contains("needs a number"), "{error}");
    }

    #[test]
    fn an_empty_text_is_an_empty_configuration() {
        assert_eq!(parse("  \n").unwrap(), Config::default());
    }
}
