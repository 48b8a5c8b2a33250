//! What every page shows around its content, gathered for the request:
//! who is signed in, the plugin pages and Admin entry they are offered,
//! the CSRF token for the sign-out form, and the licence warnings admins
//! see. Handlers take it as an extractor ([`Chrome`]) and the page shell
//! ([`crate::render::shell`]) draws it as data.

use crate::csrf::CsrfToken;
use crate::render::shell::{self, Nav, NavPage, Shell};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use greenroom_access::Identity;
use maud::Markup;

/// The most plugin pages in the main navigation; past it, the rest are
/// reached through Plugins. More would wrap the header on a laptop.
const MAX_NAV_PAGES: usize = 6;

/// The page shell's inputs for one request.
pub(crate) struct Chrome {
    user: Option<Identity>,
    csrf: Option<String>,
    admin: bool,
    pages: Vec<NavPage>,
    warnings: Vec<String>,
}

impl Chrome {
    /// The shell's inputs for `user` (none: nobody signed in) with the
    /// request's CSRF token.
    pub(crate) fn new(state: &AppState, user: Option<&Identity>, csrf: Option<&str>) -> Chrome {
        // Licence warnings go to those who can act on them: admins.
        let administers = user.is_some_and(|user| crate::admin::is_admin(state, user));
        Chrome {
            user: user.cloned(),
            csrf: csrf.map(str::to_owned),
            admin: administers && state.admin().is_some(),
            pages: user.map_or_else(Vec::new, |user| plugin_pages(state, user)),
            warnings: match administers {
                true => state.plugins().licence_warnings(),
                false => Vec::new(),
            },
        }
    }

    /// Marks the page of plugin `id` as the one being shown.
    pub(crate) fn showing_plugin(mut self, id: &str) -> Chrome {
        for page in &mut self.pages {
            page.current = page.id == id;
        }
        self
    }

    /// Whether the plugin page being shown is one of the main
    /// navigation's (see [`Chrome::showing_plugin`]).
    pub(crate) fn shows_current_plugin(&self) -> bool {
        self.pages.iter().any(|page| page.current)
    }

    /// Whether the Admin entry is offered.
    pub(crate) fn admin(&self) -> bool {
        self.admin
    }

    /// A full page: `content` in the shell.
    pub(crate) fn page(
        &self,
        title: &str,
        nav: Nav,
        notice: Option<&str>,
        content: Markup,
    ) -> Markup {
        shell::page(
            &Shell {
                title,
                nav,
                user: self.user.as_ref(),
                notice,
                admin: self.admin,
                pages: &self.pages,
                csrf: self.csrf.as_deref(),
                warnings: &self.warnings,
            },
            content,
        )
    }
}

impl FromRequestParts<AppState> for Chrome {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Chrome, Self::Rejection> {
        let user = crate::identity::resolve(&parts.extensions);
        let csrf = parts.extensions.get::<CsrfToken>().map(|t| t.0.clone());
        Ok(Chrome::new(state, user.as_ref(), csrf.as_deref()))
    }
}

/// The plugins' own pages `user` may open (a page that requires a
/// permission is offered only to holders of it; a plugin an admin turned
/// off is not offered), in the order the plugins are served.
fn plugin_pages(state: &AppState, user: &Identity) -> Vec<NavPage> {
    state
        .plugins()
        .list()
        .iter()
        .filter(|plugin| {
            state
                .plugins()
                .suspension(plugin.manifest().id.as_str())
                .is_none()
        })
        .filter_map(|plugin| {
            let manifest = plugin.manifest();
            let slot = manifest.page().filter(|slot| state.may_see(user, slot))?;
            Some(NavPage {
                id: manifest.id.to_string(),
                title: slot.title.clone(),
                current: false,
            })
        })
        .take(MAX_NAV_PAGES)
        .collect()
}
