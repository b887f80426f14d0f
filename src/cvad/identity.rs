//! The Identity routes of the Orchestration API: find users (`GET /Identity/Users`), read one
//! (`GET /Identity/Users/{userOrGroup}`), update one (`PATCH /Identity/Users/{user}`), check a
//! password (`POST /Identity/Users/$validate`), and the lab's group-member route
//! (`PUT`/`DELETE /Identity/Users/{group}/members/{user}`; see `lab::cvad::api::identity`).

use super::client::CvadClient;
use super::error::CvadError;
use super::paging::{Page, Pager, clamp_limit};
use super::transport::ApiRequest;
use super::wire_identity::{
    IdentityUpdateUserRequest, IdentityUserResponse, IdentityValidateUserRequest,
};
use reqwest::Method;

/// How `GET /Identity/Users` matches names (the API takes at most one of these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityText {
    StartsWith(String),
    Contains(String),
    Matches(String),
}

/// Which users `GET /Identity/Users` returns; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityQuery {
    pub forest: Option<String>,
    pub domain: Option<String>,
    /// Specific users or groups (names, UPNs, SIDs): the `user` parameter, repeated.
    pub users: Vec<String>,
    pub text: Option<IdentityText>,
    /// DN of the OU to search under.
    pub parent_ou: Option<String>,
    pub recursive: Option<bool>,
}

impl IdentityQuery {
    fn request(&self) -> ApiRequest {
        let mut request = ApiRequest::new(Method::GET, &["Identity", "Users"]);
        let optional = [
            ("forest", self.forest.as_deref()),
            ("domain", self.domain.as_deref()),
            ("parentOU", self.parent_ou.as_deref()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                request = request.query(name, value);
            }
        }
        for user in &self.users {
            request = request.query("user", user.clone());
        }
        request = match &self.text {
            Some(IdentityText::StartsWith(t)) => request.query("startsWith", t.clone()),
            Some(IdentityText::Contains(t)) => request.query("contains", t.clone()),
            Some(IdentityText::Matches(t)) => request.query("matches", t.clone()),
            None => request,
        };
        if let Some(recursive) = self.recursive {
            request = request.query("recursive", recursive.to_string());
        }
        request
    }
}

impl CvadClient {
    /// `GET /Identity/Users`, page by page.
    pub fn identity_users_pager(
        &self,
        query: &IdentityQuery,
        limit: u32,
    ) -> Pager<IdentityUserResponse, IdentityUserResponse> {
        Pager::new(self.clone(), query.request(), Some(limit), |user| user)
    }

    /// One page of `GET /Identity/Users`, continuing after `token` (a previous page's
    /// `continuation_token`; `None` for the first page).
    pub async fn identity_users_page(
        &self,
        query: &IdentityQuery,
        limit: u32,
        token: Option<&str>,
    ) -> Result<Page<IdentityUserResponse>, CvadError> {
        let mut request = query.request();
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            request = request.query("continuationToken", token.to_string());
        }
        let mut pager = Pager::new(self.clone(), request, Some(clamp_limit(limit)), |u| u);
        Ok(pager.next_page().await?.unwrap_or(Page {
            items: Vec::new(),
            continuation_token: None,
            total_items: None,
        }))
    }

    /// `GET /Identity/Users`: at most `max` users, fetching no more pages than needed.
    pub async fn identity_users(
        &self,
        query: &IdentityQuery,
        max: usize,
    ) -> Result<Vec<IdentityUserResponse>, CvadError> {
        let mut pager = self.identity_users_pager(query, clamp_limit(max.max(1) as u32));
        let mut users = Vec::new();
        while users.len() < max {
            match pager.next_page().await? {
                Some(page) => users.extend(page.items),
                None => break,
            }
        }
        users.truncate(max);
        Ok(users)
    }

    /// `GET /Identity/Users/{userOrGroup}`.
    pub async fn identity_user(&self, user: &str) -> Result<IdentityUserResponse, CvadError> {
        self.get_json(&["Identity", "Users", user]).await
    }

    /// `PATCH /Identity/Users/{user}?forest=&domain=`: the user as it is after the change.
    pub async fn update_identity_user(
        &self,
        user: &str,
        forest: &str,
        domain: &str,
        update: &IdentityUpdateUserRequest,
    ) -> Result<IdentityUserResponse, CvadError> {
        let request = ApiRequest::new(Method::PATCH, &["Identity", "Users", user])
            .query("forest", forest)
            .query("domain", domain);
        let mut request = self.with_body(request, update)?;
        // A self-service change cannot be sent twice (the old password is no longer current);
        // an administrator's reset can.
        request.replayable = update.old_password.is_none();
        let what = request.describe();
        let response = self.call(request).await?;
        self.decode(&what, &response)
    }

    /// `PUT` (add) or `DELETE` (remove) `/Identity/Users/{group}/members/{user}`; either is
    /// success when the membership already is as asked.
    pub async fn set_identity_group_member(
        &self,
        group: &str,
        user: &str,
        member: bool,
    ) -> Result<(), CvadError> {
        let method = if member { Method::PUT } else { Method::DELETE };
        let request = ApiRequest::new(method, &["Identity", "Users", group, "members", user]);
        self.call(request).await.map(|_| ())
    }

    /// `POST /Identity/Users/$validate`: whether the credentials log on. A refusal is an
    /// error from the site; a wrong password counts towards the account's lockout.
    pub async fn validate_identity_user(
        &self,
        credentials: &IdentityValidateUserRequest,
    ) -> Result<IdentityUserResponse, CvadError> {
        let request = ApiRequest::new(Method::POST, &["Identity", "Users", "$validate"]);
        let request = self.with_body(request, credentials)?;
        let what = request.describe();
        let response = self.call(request).await?;
        self.decode(&what, &response)
    }
}
