//! Small conversions the pages need: times for people, URL-safe text and
//! entity references as the policy document writes them.

use time::OffsetDateTime;
use time::format_description::StaticFormatDescription;
use time::macros::format_description;

/// `text` percent-encoded for a URL path segment or query value: all but
/// the unreserved characters, so a role named `a/b c` stays one segment.
pub use greenroom_sdk::http::encode_component as encode;

/// How the pages write an instant: to the minute, in UTC.
const MINUTE_UTC: StaticFormatDescription =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

/// `ms` since the Unix epoch as `2025-11-25 21:39 UTC`.
pub fn when(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|instant| instant.format(MINUTE_UTC).ok())
        // Past the year 9999, which no clock the host keeps reads.
        .unwrap_or_else(|| format!("{ms} ms after 1970-01-01 00:00 UTC"))
}

/// `?a=1&b=2` from pairs, leaving out empty values; empty without any.
pub fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let parts: Vec<String> = pairs
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// `text` as a full, lower-cased entity reference of one of `kinds`:
/// `kind:namespace/name`, the namespace `default` when left out. The
/// message says what is wrong, for a form.
pub fn entity_ref(text: &str, kinds: &[&str]) -> Result<String, String> {
    let text = text.trim().to_lowercase();
    let example = "e.g. user:default/jane or group:default/payments";
    let Some((kind, rest)) = text.split_once(':') else {
        return Err(format!("`{text}` is not an entity reference ({example})."));
    };
    let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid(kind) || !valid(namespace) || !valid(name) {
        return Err(format!("`{text}` is not an entity reference ({example})."));
    }
    if !kinds.is_empty() && !kinds.contains(&kind) {
        return Err(format!(
            "`{text}` is a {kind}; only {} can be given here.",
            kinds.join(" or ")
        ));
    }
    Ok(format!("{kind}:{namespace}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_times_in_utc_to_the_minute() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 23:59:59.999, a leap day.
        assert_eq!(when(1_709_251_199_999), "2024-02-29 23:59 UTC");
        assert_eq!(when(1_764_106_740_000), "2025-11-25 21:39 UTC");
        assert_eq!(
            when(u64::MAX),
            "18446744073709551615 ms after 1970-01-01 00:00 UTC"
        );
    }

    #[test]
    fn encodes_everything_but_unreserved_characters() {
        assert_eq!(encode("a/b c:ü"), "a%2Fb%20c%3A%C3%BC");
        assert_eq!(encode("platform-admins_2.x~"), "platform-admins_2.x~");
    }

    #[test]
    fn builds_a_query_without_empty_values() {
        assert_eq!(
            query([
                ("user", "user:default/jane"),
                ("entity", ""),
                ("draft", "on")
            ]),
            "?user=user%3Adefault%2Fjane&draft=on"
        );
        assert_eq!(query([("entity", "")]), "");
    }

    #[test]
    fn completes_and_checks_entity_references() {
        assert_eq!(
            entity_ref(" Group:Payments ", &["user", "group"]),
            Ok("group:default/payments".into())
        );
        assert_eq!(
            entity_ref("user:ops/jane.doe", &["user"]),
            Ok("user:ops/jane.doe".into())
        );
        assert!(entity_ref("jane", &["user"]).is_err());
        assert!(entity_ref("user:default/", &["user"]).is_err());
        assert!(entity_ref("user:a b", &["user"]).is_err());
        assert_eq!(
            entity_ref("component:default/pay", &["user", "group"]),
            Err(
                "`component:default/pay` is a component; only user or group can be given here."
                    .into()
            )
        );
        assert_eq!(
            entity_ref("component:pay", &[]),
            Ok("component:default/pay".into())
        );
    }
}
