//! CommonMark from plugins, drawn safely.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// Renders CommonMark to HTML, or `None` when the HTML would be longer
/// than `budget` bytes (reference links repeat their URL at every use, so
/// a short source can draw a huge page; drawing stops at the budget).
/// Raw HTML in the source is shown as text, links are kept only where
/// [`super::links::safe_href`] allows them, and images are replaced by
/// their alt text: the portal loads nothing from other sites.
pub(crate) fn to_html_within(source: &str, budget: usize) -> Option<String> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut refused_links = Vec::new();
    let events = Parser::new_ext(source, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => match super::links::safe_href(&dest_url) {
            Some(safe) => {
                refused_links.push(false);
                Some(Event::Start(Tag::Link {
                    link_type,
                    dest_url: CowStr::from(safe),
                    title,
                    id,
                }))
            }
            None => {
                refused_links.push(true);
                None
            }
        },
        Event::End(TagEnd::Link) => match refused_links.pop() {
            Some(true) => None,
            _ => Some(Event::End(TagEnd::Link)),
        },
        // The alt text between these is kept as text.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut out = Bounded {
        html: String::new(),
        budget,
    };
    html::write_html_fmt(&mut out, events).ok()?;
    Some(out.html)
}

/// Renders CommonMark to HTML, without a budget.
#[cfg(test)]
pub(crate) fn to_html(source: &str) -> String {
    to_html_within(source, usize::MAX).expect("no budget")
}

/// HTML being written, refusing to grow past a budget.
struct Bounded {
    html: String,
    budget: usize,
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.html.len().saturating_add(s.len()) > self.budget {
            return Err(std::fmt::Error);
        }
        self.html.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_its_budget_when_reference_links_repeat_a_long_url() {
        let source = format!(
            "[x]: https://example.com/{}\n\n{}",
            "a".repeat(1_000),
            "[x] ".repeat(1_000)
        );
        // pulldown-cmark bounds the expansion of references by the size
        // of the source; the budget bounds what is drawn whatever the source.
        let drawn = to_html_within(&source, usize::MAX).map_or(0, |html| html.len());
        assert!(
            drawn > 20 * source.len(),
            "{drawn} bytes drawn from {}",
            source.len()
        );
        assert!(
            to_html_within(&source, 32 << 10).is_none(),
            "stopped at the budget"
        );
        assert!(to_html_within("[x]\n\n[x]: https://example.com", 64 << 10).is_some());
    }

    #[test]
    fn renders_commonmark() {
        assert_eq!(
            to_html("**bold** and `code`"),
            "<p><strong>bold</strong> and <code>code</code></p>\n"
        );
    }

    #[test]
    fn shows_raw_html_as_text() {
        let html = to_html("hi <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>");
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn drops_unsafe_links_but_keeps_their_text() {
        let html = to_html("[click](javascript:alert(1)) and [docs](https://example.com)");
        assert!(!html.contains("javascript"), "{html}");
        assert!(html.contains("click"), "{html}");
        assert!(
            html.contains("<a href=\"https://example.com/\">docs</a>"),
            "{html}"
        );
    }

    #[test]
    fn replaces_images_with_their_alt_text() {
        let html = to_html("![a tracking pixel](https://tracker.example.com/p.gif)");
        assert!(
            !html.contains("<img") && html.contains("a tracking pixel"),
            "{html}"
        );
    }
}
