//! The page shell: header, navigation, banners, footer — drawn from what
//! it is given (who is signed in, the CSRF token for the sign-out form,
//! the licence warnings an admin sees), never from the request.

use crate::assets::stylesheet_path;
use crate::paths::{PROFILE_PATH, SIGN_OUT_PATH};
use greenroom_access::Identity;
use maud::{DOCTYPE, Markup, html};

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Catalog,
    Plugins,
    Admin,
    None,
}

/// What a page shows around its content.
pub struct Shell<'a> {
    /// The `<title>`, before " · Greenroom".
    pub title: &'a str,
    /// The current navigation entry.
    pub nav: Nav,
    /// Who is signed in.
    pub user: Option<&'a Identity>,
    /// A one-line notice from the last action, if any.
    pub notice: Option<&'a str>,
    /// Whether to offer the Admin entry.
    pub admin: bool,
    /// The plugins' own pages offered in the main navigation.
    pub pages: &'a [NavPage],
    /// The request's CSRF token, for the sign-out form.
    pub csrf: Option<&'a str>,
    /// Licence warnings to show in a banner (to admins: they can act).
    pub warnings: &'a [String],
}

/// A plugin's own page in the main navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavPage {
    /// The plugin's id: the page is `/plugins/<id>`.
    pub id: String,
    /// The page slot's title.
    pub title: String,
    /// Whether it is the page being shown.
    pub current: bool,
}

/// A full page.
pub fn page(shell: &Shell<'_>, content: Markup) -> Markup {
    let nav_link = |entry: Nav, href: &str, label: &str| {
        html! { a.nav-link.nav-current[shell.nav == entry] href=(href) aria-current=[(shell.nav == entry).then_some("page")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (shell.title) " · Greenroom" }
                link rel="stylesheet" href=(stylesheet_path());
            }
            body {
                a.skip-link href="#main" { "Skip to content" }
                header.topbar {
                    a.brand href="/" {
                        span.brand-mark aria-hidden="true" { "▲" }
                        span.brand-name { "Greenroom" }
                    }
                    nav.nav aria-label="Main" {
                        (nav_link(Nav::Home, "/", "Home"))
                        (nav_link(Nav::Catalog, "/catalog", "Catalog"))
                        @for page in shell.pages {
                            a.nav-link.nav-current[page.current] href={ "/plugins/" (page.id) } aria-current=[page.current.then_some("page")] { (page.title) }
                        }
                        (nav_link(Nav::Plugins, "/plugins", "Plugins"))
                        @if shell.admin { (nav_link(Nav::Admin, "/admin", "Admin")) }
                    }
                    @if let Some(user) = shell.user {
                        div.user {
                            a.user-link href=(PROFILE_PATH) title=(user.entity_ref) {
                                span.avatar aria-hidden="true" { (initials(&user.display_name)) }
                                span.user-name { (user.display_name) }
                            }
                            @if let (false, Some(token)) = (user.guest, shell.csrf) {
                                form.sign-out method="post" action=(SIGN_OUT_PATH) {
                                    input type="hidden" name="_csrf" value=(token);
                                    button.sign-out-button type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                @if shell.user.is_some_and(|u| u.guest) {
                    div.banner.banner-guest role="status" {
                        strong { "Guest access is on." }
                        " Anyone who can reach this portal is signed in as Guest. Use it for local demos only."
                    }
                }
                @if shell.user.is_some() {
                    @for warning in shell.warnings {
                        div.banner.banner-licence role="status" {
                            strong { "Licence: " } (warning)
                        }
                    }
                }
                @if let Some(notice) = shell.notice {
                    div.banner.banner-notice role="status" { (inline_code(notice)) }
                }
                main.main id="main" { (content) }
                footer.footer {
                    span { "Greenroom " (env!("CARGO_PKG_VERSION")) }
                    a href="/api/plugins" { "API" }
                    a href="/healthz" { "Health" }
                }
            }
        }
    }
}

/// A one-line message with its `backticked` spans as code, as Markdown
/// writes them (plugins' notices name ids and fields that way); with an
/// odd number of backticks, the text as it is. Everything is escaped.
fn inline_code(text: &str) -> Markup {
    if text.matches('`').count() % 2 == 1 {
        return html! { (text) };
    }
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// A page for an error, shown without a signed-in user.
pub fn error_page(status: u16, title: &str, message: &str) -> Markup {
    let shell = Shell {
        title,
        nav: Nav::None,
        user: None,
        notice: None,
        admin: false,
        pages: &[],
        csrf: None,
        warnings: &[],
    };
    page(&shell, error_content(status, title, message))
}

/// What an error page says, inside whichever header it is drawn in.
pub fn error_content(status: u16, title: &str, message: &str) -> Markup {
    html! {
        section.page-header {
            p.eyebrow { "Error " (status) }
            h1.page-title { (title) }
        }
        div.error-state role="alert" { p.error-detail { (message) } }
        p { a.link href="/" { "Back to the home page" } }
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::inline_code;

    #[test]
    fn backticks_in_a_notice_are_code_and_everything_is_escaped() {
        assert_eq!(
            inline_code("Saved check `has-<owner>`.").into_string(),
            "Saved check <code>has-&lt;owner&gt;</code>."
        );
        assert_eq!(
            inline_code("a ` b").into_string(),
            "a ` b",
            "unbalanced: as written"
        );
    }
}
