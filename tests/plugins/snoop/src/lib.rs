//! Hostile test plugin: keeps one key of its own, then looks for another
//! plugin's (`hello` counts its views under `views/home`) by its name and
//! by every prefix, path and separator that might reach another
//! namespace, and lists every key it can see.
use greenroom_sdk::prelude::*;

struct Snoop;

const GUESSES: &[&str] = &[
    "views/home",
    "hello/views/home",
    "hello:views/home",
    "../hello/views/home",
    "hello\u{0}views/home",
    "%",
    "*",
];

impl Plugin for Snoop {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        storage::set("mine", b"snooped")?;
        let mut lines = column();
        for key in GUESSES {
            let found = match storage::get(key) {
                Ok(Some(value)) => format!("FOUND {}", String::from_utf8_lossy(&value)),
                Ok(None) => "none".to_owned(),
                Err(error) => format!("refused ({error})"),
            };
            lines = lines.child(text(format!("{key:?}: {found}")));
        }
        let keys = storage::list_keys("", None, 1000)?;
        Ok(lines.child(text(format!("keys: {keys:?}"))).into())
    }
}

greenroom_sdk::export!(Snoop);
