//! Hostile test plugin: puts markup and `javascript:` URLs in every string
//! it can, to prove the portal escapes them all.
use greenroom_sdk::prelude::*;

const SCRIPT: &str = "<script>document.title='pwned'</script>";
const IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";

struct Xss;

impl Plugin for Xss {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        Ok(card(SCRIPT)
            .subtitle(IMG)
            .child(text(format!("{SCRIPT} & \"quotes\" 'single'")))
            .child(markdown(format!(
                "**bold** {SCRIPT} [click](javascript:alert(1)) {IMG}"
            )))
            .child(link(SCRIPT, "javascript:alert(document.cookie)"))
            .child(link("data url", "data:text/html,<script>alert(1)</script>"))
            .child(stat(SCRIPT, IMG).unit(SCRIPT))
            .child(badge(SCRIPT, Tone::Danger))
            .child(table([SCRIPT]).row([link_cell(IMG, "javascript:alert(1)")]))
            .child(code(SCRIPT, IMG))
            .child(bar_chart([SCRIPT]).title(IMG).series(SCRIPT, [1.0]))
            .into())
    }
}

greenroom_sdk::export!(Xss);
