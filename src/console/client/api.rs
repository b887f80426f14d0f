//! The endpoints the console uses, one typed method each: reads of sites, inventory, tickets,
//! jobs, the audit log and the caller; and the actions, every one of which the adapter runs
//! as a job or a queued ticket write.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::types::{
    AuditPage, AuditQuery, ListQuery, Page, SiteInfo, SiteRows, Sited, UserRow, Whoami,
};
use super::work::{
    JobInfo, JobPage, JobQuery, JobRequest, NoteVisibility, Submitted, TicketDetail, TicketPage,
    TicketQuery, TicketWrite,
};
use super::{ApiClient, ClientError};
use crate::model::{DeliveryGroup, Machine, Session};

impl ApiClient {
    pub(super) async fn get<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        segments: &[&str],
        query: &[(&'static str, String)],
    ) -> Result<T, ClientError> {
        let timeout = self.inner.options.timeout;
        let (_, found) = self
            .call(Method::GET, segments, query, None, timeout)
            .await?;
        Ok(found)
    }

    pub(super) async fn post<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<(u16, T), ClientError> {
        let timeout = self.inner.options.timeout;
        self.call(Method::POST, segments, &[], body, timeout).await
    }

    /// The calling client and its role.
    pub async fn whoami(&self) -> Result<Whoami, ClientError> {
        self.get(&["whoami"], &[]).await
    }

    /// Every configured site with its inventory state.
    pub async fn sites(&self) -> Result<Vec<SiteInfo>, ClientError> {
        let page: Page<SiteInfo> = self.get(&["sites"], &[]).await?;
        Ok(page.items)
    }

    /// A page of sessions across sites.
    pub async fn sessions(&self, query: &ListQuery) -> Result<Page<Sited<Session>>, ClientError> {
        self.get(&["sessions"], &query.pairs()).await
    }

    /// A page of machines across sites.
    pub async fn machines(&self, query: &ListQuery) -> Result<Page<Sited<Machine>>, ClientError> {
        self.get(&["machines"], &query.pairs()).await
    }

    /// A page of delivery groups with their counters.
    pub async fn delivery_groups(
        &self,
        query: &ListQuery,
    ) -> Result<Page<Sited<DeliveryGroup>>, ClientError> {
        self.get(&["delivery-groups"], &query.pairs()).await
    }

    /// A page of users seen in sessions and machine assignments.
    pub async fn users(&self, query: &ListQuery) -> Result<Page<UserRow>, ClientError> {
        self.get(&["users"], &query.pairs()).await
    }

    /// Every session of one site in one answer: how the console loads 100,000 rows.
    pub async fn site_sessions(&self, site: &str) -> Result<SiteRows<Session>, ClientError> {
        self.bulk(&["sites", site, "sessions"]).await
    }

    /// Every machine of one site in one answer.
    pub async fn site_machines(&self, site: &str) -> Result<SiteRows<Machine>, ClientError> {
        self.bulk(&["sites", site, "machines"]).await
    }

    async fn bulk<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        segments: &[&str],
    ) -> Result<T, ClientError> {
        let timeout = self.inner.options.bulk_timeout;
        let (_, found) = self.call(Method::GET, segments, &[], None, timeout).await?;
        Ok(found)
    }

    /// A page of the ticket queue across instances.
    pub async fn tickets(&self, query: &TicketQuery) -> Result<TicketPage, ClientError> {
        self.get(&["tickets"], &query.pairs()).await
    }

    /// A ticket read live, with its variables, journal and jobs.
    pub async fn ticket(&self, instance: &str, number: &str) -> Result<TicketDetail, ClientError> {
        self.get(&["tickets", instance, number], &[]).await
    }

    /// A page of jobs, newest first.
    pub async fn jobs(&self, query: &JobQuery) -> Result<JobPage, ClientError> {
        self.get(&["jobs"], &query.pairs()).await
    }

    /// One job with its tasks and their attempts.
    pub async fn job(&self, id: Uuid) -> Result<JobInfo, ClientError> {
        self.get(&["jobs", &id.to_string()], &[]).await
    }

    /// A page of the audit log, newest first.
    pub async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, ClientError> {
        self.get(&["audit"], &query.pairs()).await
    }

    /// Runs an action over targets as a job. Sending the same request with the same key
    /// again (after a timeout, say) answers with the first job and runs nothing twice.
    pub async fn create_job(&self, request: &JobRequest) -> Result<Submitted, ClientError> {
        let call = "POST /api/v1/jobs";
        let body = request.body().map_err(|e| ClientError::Decode {
            call: call.to_owned(),
            detail: format!("the request cannot be written as JSON: {e}"),
        })?;
        let (status, mut answer): (u16, Value) = self.post(&["jobs"], Some(&body)).await?;
        drop(body);
        // Taken out before the job is read, so no parse error can quote it.
        let temporary_password = answer
            .as_object_mut()
            .and_then(|o| o.remove("temporary_password"))
            .and_then(|v| v.as_str().map(crate::secret::Secret::new));
        let job = serde_json::from_value(answer).map_err(|e| ClientError::Decode {
            call: call.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(Submitted {
            job,
            created: status == 202,
            temporary_password,
        })
    }

    /// Cancels a job: queued targets are dropped, running ones finish or are cancelled.
    pub async fn cancel_job(&self, id: Uuid) -> Result<JobInfo, ClientError> {
        let id = id.to_string();
        Ok(self.post(&["jobs", &id, "cancel"], None).await?.1)
    }

    /// Runs a job's failed targets again.
    pub async fn retry_job(&self, id: Uuid) -> Result<JobInfo, ClientError> {
        let id = id.to_string();
        Ok(self.post(&["jobs", &id, "retry"], None).await?.1)
    }

    /// Takes a ticket: assigns it (to the adapter's ServiceNow user unless `assigned_to` is
    /// given) and sets it In Progress, with an optional work note.
    pub async fn take_ticket(
        &self,
        instance: &str,
        number: &str,
        assigned_to: Option<&str>,
        note: Option<&str>,
    ) -> Result<TicketWrite, ClientError> {
        let mut body = serde_json::Map::new();
        if let Some(who) = assigned_to {
            body.insert("assigned_to".into(), json!(who));
        }
        if let Some(note) = note {
            body.insert("note".into(), json!(note));
        }
        let body = Value::Object(body);
        let segments = ["tickets", instance, number, "take"];
        Ok(self.post(&segments, Some(&body)).await?.1)
    }

    /// Adds a work note, or a comment the requester sees.
    pub async fn note_ticket(
        &self,
        instance: &str,
        number: &str,
        text: &str,
        visibility: NoteVisibility,
    ) -> Result<TicketWrite, ClientError> {
        let body = json!({ "text": text, "visibility": visibility.as_str() });
        let segments = ["tickets", instance, number, "notes"];
        Ok(self.post(&segments, Some(&body)).await?.1)
    }

    /// Resolves an incident or closes a catalog task complete. `close_code` applies to
    /// incidents; the adapter's configured one is used when it is left out.
    pub async fn resolve_ticket(
        &self,
        instance: &str,
        number: &str,
        close_notes: &str,
        close_code: Option<&str>,
    ) -> Result<TicketWrite, ClientError> {
        let mut body = json!({ "close_notes": close_notes });
        if let Some(code) = close_code {
            body["close_code"] = json!(code);
        }
        let segments = ["tickets", instance, number, "resolve"];
        Ok(self.post(&segments, Some(&body)).await?.1)
    }

    /// Zero-touch: fulfils a catalog request (`sc_req_item` or `sc_task` and its sys_id)
    /// with the job its catalog item maps to. The adapter refuses with 422 and the reason
    /// when a person has to do it.
    pub async fn fulfil(
        &self,
        instance: &str,
        table: &str,
        sys_id: &str,
    ) -> Result<Submitted, ClientError> {
        let body = json!({ "table": table, "sys_id": sys_id });
        let segments = ["servicenow", instance, "requests"];
        let (status, job) = self.post(&segments, Some(&body)).await?;
        Ok(Submitted {
            job,
            created: status == 202,
            temporary_password: None,
        })
    }
}
