//! Performs the workflow effects (`app::workflows`): previews, the job (with an onboarding's
//! temporary password, which goes straight into the answer and nowhere else) and the routing
//! explanation of a user.

use crate::console::app::Msg;
use crate::console::app::workflows::{WorkflowEffect, WorkflowMsg};
use crate::console::client::ApiClient;

use super::effects::failure;

pub async fn perform(client: &ApiClient, effect: WorkflowEffect) -> Msg {
    Msg::Workflow(match effect {
        WorkflowEffect::Preview { key, request } => {
            let result = client.preview_workflow(&request).await;
            WorkflowMsg::Previewed {
                key,
                result: result.map(Box::new).map_err(|e| failure(&e)),
            }
        }
        WorkflowEffect::Submit {
            what,
            login,
            request,
        } => {
            let result = client.create_job(&request).await;
            WorkflowMsg::Submitted {
                what,
                login,
                result: result
                    .map(|s| (Box::new(s.job), s.temporary_password))
                    .map_err(|e| failure(&e)),
            }
        }
        WorkflowEffect::Explain(login) => {
            let result = client.routing_explain(&login).await;
            WorkflowMsg::Explained {
                login,
                result: result.map(Box::new).map_err(|e| failure(&e)),
            }
        }
    })
}
