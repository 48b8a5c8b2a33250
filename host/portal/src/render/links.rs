//! Which hrefs a plugin may link to.

use maud::{Markup, html};

/// The href to use for a plugin-supplied link target, or `None` when it
/// must not become a link.
///
/// Allowed: a portal path (`/catalog/…`, but not `//host/…`, which a
/// browser reads as another site) and absolute `http:`, `https:` and
/// `mailto:` URLs, re-serialised by the URL parser so that what the
/// browser sees is what was checked (`java\tscript:` and friends never get
/// through). Anything else — `javascript:`, `data:`, `vbscript:`, relative
/// paths — is refused.
pub(crate) fn safe_href(href: &str) -> Option<String> {
    if href.chars().any(|c| c.is_control()) {
        return None;
    }
    if let Some(rest) = href.strip_prefix('/') {
        let protocol_relative = rest.starts_with('/') || rest.starts_with('\\');
        return (!protocol_relative).then(|| href.to_owned());
    }
    let url = url::Url::parse(href).ok()?;
    matches!(url.scheme(), "http" | "https" | "mailto").then(|| url.to_string())
}

/// Whether a safe href leaves the portal.
fn is_external(href: &str) -> bool {
    !href.starts_with('/')
}

/// A link, or just its label when the target is not allowed.
pub(crate) fn anchor(label: &str, href: &str) -> Markup {
    match safe_href(href) {
        Some(href) if is_external(&href) => html! {
            a.link.link-external href=(href) target="_blank" rel="noopener noreferrer" { (label) }
        },
        Some(href) => html! { a.link href=(href) { (label) } },
        None => {
            html! { span.link-refused title="link removed: not a portal path or an http(s) URL" { (label) } }
        }
    }
}

/// A link to a web page (`http:` or `https:` only, as [`safe_href`]
/// re-serialises it), or just its label. For links in catalog entities,
/// which point out of the portal: a portal path or a `mailto:` there is
/// not what `metadata.links` means.
pub(crate) fn web_anchor(label: &str, href: &str) -> Markup {
    match safe_href(href) {
        Some(safe) if safe.starts_with("http://") || safe.starts_with("https://") => {
            anchor(label, &safe)
        }
        _ => {
            html! { span.link-refused title="link removed: not an http(s) URL" { (label) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_portal_paths_and_web_urls() {
        assert_eq!(
            safe_href("/catalog/default/component/pay"),
            Some("/catalog/default/component/pay".into())
        );
        assert_eq!(
            safe_href("https://example.com/a?b=c"),
            Some("https://example.com/a?b=c".into())
        );
        assert_eq!(
            safe_href("mailto:team@example.com"),
            Some("mailto:team@example.com".into())
        );
    }

    #[test]
    fn refuses_script_and_other_schemes() {
        for href in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "//evil.example.com/",
            "/\\evil.example.com/",
            "relative/path",
            "",
        ] {
            assert_eq!(safe_href(href), None, "{href:?} must not become a link");
        }
    }

    #[test]
    fn web_links_are_only_http_and_https() {
        let web = web_anchor("Docs", "https://example.com/runbook").into_string();
        assert!(
            web.contains("href=\"https://example.com/runbook\""),
            "{web}"
        );
        for href in [
            "javascript:alert(1)",
            "mailto:a@example.com",
            "/plugins",
            "data:,x",
        ] {
            let refused = web_anchor("x", href).into_string();
            assert!(!refused.contains("href"), "{href}: {refused}");
        }
    }

    #[test]
    fn external_links_open_in_a_new_tab_without_an_opener() {
        let html = anchor("Docs", "https://example.com").into_string();
        assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
        let refused = anchor("x", "javascript:alert(1)").into_string();
        assert!(!refused.contains("href"), "{refused}");
    }
}
