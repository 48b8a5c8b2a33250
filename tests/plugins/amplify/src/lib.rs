//! Hostile test plugin: output amplification and floods. Each home widget
//! is small to send and would be huge to draw or record:
//! - `table`: an empty 2 000 × 2 000 table (110 MiB of HTML, drawn);
//! - `chart`: a 2 000-point chart with a 32 KiB unit (125 MiB, drawn);
//! - `message`: fails with an 8 MiB error message;
//! - `denials`: loops on a refused storage call (it has no storage grant),
//!   with 50 distinct keys and then eight 8 MiB keys, and draws how many
//!   were refused.
//!
//! Its task `hold` never ends, to hold an instance slot until its deadline.
use greenroom_sdk::prelude::*;

struct Amplify;

/// Refused storage reads in the `denials` widget.
const REFUSED_CALLS: usize = 5_000;

impl Plugin for Amplify {
    fn render(slot: &Slot, _cx: &Context) -> Result<View> {
        match slot.name.as_str() {
            "table" => {
                let empty = (0..2_000).fold(table((0..2_000).map(|_| "")), |t, _| {
                    t.row(std::iter::empty::<&str>())
                });
                Ok(column().child(empty).into())
            }
            "chart" => Ok(column()
                .child(
                    bar_chart((0..2_000).map(|_| ""))
                        .unit("u".repeat(32 << 10))
                        .series("s", (0..2_000).map(f64::from)),
                )
                .into()),
            "message" => Err(Error::failed(format!("amplified: {}", "m".repeat(8 << 20)))),
            "denials" => {
                let mut refused = 0;
                for i in 0..REFUSED_CALLS {
                    let key = format!("key-{}", i % 50);
                    refused += usize::from(storage::get(&key).is_err());
                }
                let huge = "k".repeat(8 << 20);
                for _ in 0..8 {
                    refused += usize::from(storage::set(&huge, b"v").is_err());
                }
                Ok(column().child(text(format!("refused: {refused}"))).into())
            }
            other => Err(Error::unsupported(format!("no slot {other}"))),
        }
    }

    fn run_task(_name: &str) -> Result<()> {
        let mut turns: u64 = 0;
        loop {
            turns = std::hint::black_box(turns.wrapping_add(1));
        }
    }
}

greenroom_sdk::export!(Amplify);
