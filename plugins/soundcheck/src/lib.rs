//! Soundcheck.

pub mod api;
pub mod campaigns;
pub mod collectors;
pub mod config;
pub mod day;
pub mod entity;
pub mod evaluate;
pub mod facts;
pub mod filter;
pub mod history;
pub mod keys;
pub mod permissions;
pub mod rules;
pub mod settings;
pub mod source;
pub mod store;
pub mod tasks;

use greenroom_sdk::prelude::*;

struct Soundcheck;

impl Plugin for Soundcheck {
    fn render(_slot: &Slot, _cx: &Context) -> Result<View> {
        Ok(card("Soundcheck").into())
    }
}

greenroom_sdk::export!(Soundcheck);
