//! Hostile test plugin: allocates memory until something stops it.
use greenroom_sdk::prelude::*;

struct Hog;

impl Plugin for Hog {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![0xAB; 1 << 20]));
        }
    }
}

greenroom_sdk::export!(Hog);
