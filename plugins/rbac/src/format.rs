//! Small conversions the pages need: times for people, URL-safe text and
//! entity references as the policy document writes them.

/// `ms` since the Unix epoch as `2025-11-25 21:39 UTC`.
pub fn when(ms: u64) -> String {
    let minutes = ms / 60_000;
    let (days, minute_of_day) = (minutes / (24 * 60), minutes % (24 * 60));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// The calendar date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for dates from 1970 on).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `text` percent-encoded for a URL path segment or query value: all but
/// the unreserved characters, so a role named `a/b c` stays one segment.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
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
