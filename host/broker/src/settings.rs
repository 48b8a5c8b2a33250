//! `greenroom:plugin/settings`: the operator's settings for the plugin,
//! validated against the manifest's schema when the plugin was loaded.

use crate::session::Session;
use greenroom_contract::wit::latest::greenroom::plugin::settings::Host;
use greenroom_contract::wit::latest::greenroom::plugin::types::HostError;

impl Host for Session {
    async fn get(&mut self, name: String) -> Result<Option<String>, HostError> {
        Ok(self
            .env()
            .settings()
            .get(&name)
            .map(|value| value.to_string()))
    }

    async fn get_all(&mut self) -> Result<String, HostError> {
        Ok(self.env().settings().to_string())
    }
}
