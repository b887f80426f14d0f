//! Performs the runbook effects (`app::runbooks`): the list of runbooks and a run, which is an
//! ordinary job whose refusal (422, 403) comes back to the form rather than as a flash.

use crate::console::app::Msg;
use crate::console::app::runbooks::{RunbookEffect, RunbookMsg};
use crate::console::client::ApiClient;

use super::effects::failure;

pub async fn perform(client: &ApiClient, effect: RunbookEffect) -> Msg {
    Msg::Runbook(match effect {
        RunbookEffect::Load { generation } => RunbookMsg::Loaded {
            generation,
            result: client.runbooks().await.map_err(|e| failure(&e)),
        },
        RunbookEffect::Run { what, request } => {
            let result = client.create_job(&request).await;
            RunbookMsg::Ran {
                what,
                result: result.map(|s| Box::new(s.job)).map_err(|e| failure(&e)),
            }
        }
    })
}
