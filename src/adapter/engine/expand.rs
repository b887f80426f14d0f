//! `user.logoff` targets: a user at a site becomes one task per session the site's `$search`
//! finds for that user, when the job is created (so the job shows, and counts, sessions).

use crate::adapter::store::NewTask;
use crate::cvad::search::property;
use crate::cvad::{CvadClient, CvadError, Search, SearchOp};

/// The sessions of `user` (`DOMAIN\user` or UPN) at the site, as tasks. An `@` in the name
/// searches the UPN, anything else the `DOMAIN\user` name.
pub async fn user_sessions(
    client: &CvadClient,
    site: &str,
    user: &str,
) -> Result<Vec<NewTask>, CvadError> {
    let field = if user.contains('@') {
        property::USER_PRINCIPAL_NAME
    } else {
        property::USER_NAME
    };
    let found = client
        .search_sessions(&Search::new().filter(field, SearchOp::Equals, user).build())
        .await?;
    Ok(found
        .items
        .into_iter()
        // The site matches case-insensitively; keep only exact users in case it matched more.
        .filter(|s| s.user_name.eq_ignore_ascii_case(user) || s.user_upn.eq_ignore_ascii_case(user))
        .map(|s| NewTask {
            site: site.to_owned(),
            display_name: format!("{} on {}", s.user_name, s.machine.name),
            target_id: s.id,
        })
        .collect())
}
