//! Reading the site: identity, sites, zones, delivery groups, catalogs, machines, sessions,
//! applications, and `$search`.
//!
//! Every listing has a collect-all method (`machines()`) and a pager (`machines_pager(limit)`)
//! for page-by-page use; bulk listings ask for the largest page the API serves.

use super::client::CvadClient;
use super::convert;
use super::error::CvadError;
use super::paging::{MAX_PAGE_SIZE, Pager, SearchResult};
use super::path::machine_path_name;
use super::transport::ApiRequest;
use super::wire::{
    DeliveryGroupResponse, MachineCatalogResponse, MachineResponse, MeResponse, SearchRequest,
    SessionResponse, SiteDetail,
};
use crate::model::{
    AppGroup, Application, Connector, DeliveryGroup, Machine, MachineCatalog, Ref, Session, Zone,
};
use reqwest::Method;

impl CvadClient {
    fn pager<W: serde::de::DeserializeOwned, M>(
        &self,
        segments: &[&str],
        limit: Option<u32>,
        convert: fn(W) -> M,
    ) -> Pager<W, M> {
        Pager::new(
            self.clone(),
            ApiRequest::new(Method::GET, segments),
            limit,
            convert,
        )
    }

    fn search_pager<W: serde::de::DeserializeOwned, M>(
        &self,
        segments: &[&str],
        search: &SearchRequest,
        limit: u32,
        convert: fn(W) -> M,
    ) -> Result<Pager<W, M>, CvadError> {
        let mut request = self.with_body(ApiRequest::new(Method::POST, segments), search)?;
        // A search only reads.
        request.replayable = true;
        Ok(Pager::new(self.clone(), request, Some(limit), convert))
    }

    /// `GET /me`: who the token belongs to and which customers and sites it reaches.
    pub async fn me(&self) -> Result<MeResponse, CvadError> {
        self.get_json(&["me"]).await
    }

    /// `GET /Sites`.
    pub async fn sites(&self) -> Result<Vec<Ref>, CvadError> {
        self.pager(&["Sites"], None, convert::reference)
            .collect_all()
            .await
    }

    /// `GET /Sites/{nameOrId}`.
    pub async fn site(&self, name_or_id: &str) -> Result<SiteDetail, CvadError> {
        self.get_json(&["Sites", name_or_id]).await
    }

    /// `GET /Zones`, each with the connectors the configuration assigns to it and their
    /// current health as this client sees it.
    pub async fn zones(&self) -> Result<Vec<Zone>, CvadError> {
        let mut zones = self
            .pager(&["Zones"], None, convert::zone)
            .collect_all()
            .await?;
        let health = self.endpoint_health();
        for zone in &mut zones {
            let configured = self
                .config()
                .zones
                .iter()
                .find(|z| z.zone.eq_ignore_ascii_case(&zone.name));
            if let Some(configured) = configured {
                zone.connectors = configured
                    .endpoints
                    .iter()
                    .filter_map(|&i| health.get(i))
                    .map(|(url, health)| Connector {
                        name: connector_name(url),
                        url: url.clone(),
                        health: *health,
                    })
                    .collect();
            }
        }
        Ok(zones)
    }

    /// `GET /DeliveryGroups`.
    pub async fn delivery_groups(&self) -> Result<Vec<DeliveryGroup>, CvadError> {
        self.delivery_groups_pager(MAX_PAGE_SIZE)
            .collect_all()
            .await
    }

    pub fn delivery_groups_pager(&self, limit: u32) -> Pager<DeliveryGroupResponse, DeliveryGroup> {
        self.pager(&["DeliveryGroups"], Some(limit), convert::delivery_group)
    }

    /// `GET /DeliveryGroups/{nameOrId}`.
    pub async fn delivery_group(&self, name_or_id: &str) -> Result<DeliveryGroup, CvadError> {
        let wire: DeliveryGroupResponse = self.get_json(&["DeliveryGroups", name_or_id]).await?;
        Ok(convert::delivery_group(wire))
    }

    /// `GET /DeliveryGroups/{nameOrId}/Machines`.
    pub async fn delivery_group_machines(
        &self,
        name_or_id: &str,
    ) -> Result<Vec<Machine>, CvadError> {
        self.pager(
            &["DeliveryGroups", name_or_id, "Machines"],
            Some(MAX_PAGE_SIZE),
            convert::machine,
        )
        .collect_all()
        .await
    }

    /// `GET /MachineCatalogs`.
    pub async fn machine_catalogs(&self) -> Result<Vec<MachineCatalog>, CvadError> {
        self.pager(
            &["MachineCatalogs"],
            Some(MAX_PAGE_SIZE),
            convert::machine_catalog,
        )
        .collect_all()
        .await
    }

    /// `GET /MachineCatalogs/{nameOrId}`.
    pub async fn machine_catalog(&self, name_or_id: &str) -> Result<MachineCatalog, CvadError> {
        let wire: MachineCatalogResponse = self.get_json(&["MachineCatalogs", name_or_id]).await?;
        Ok(convert::machine_catalog(wire))
    }

    /// `GET /MachineCatalogs/{nameOrId}/Machines`.
    pub async fn catalog_machines(&self, name_or_id: &str) -> Result<Vec<Machine>, CvadError> {
        self.pager(
            &["MachineCatalogs", name_or_id, "Machines"],
            Some(MAX_PAGE_SIZE),
            convert::machine,
        )
        .collect_all()
        .await
    }

    /// `GET /Machines`, every page.
    pub async fn machines(&self) -> Result<Vec<Machine>, CvadError> {
        self.machines_pager(MAX_PAGE_SIZE).collect_all().await
    }

    pub fn machines_pager(&self, limit: u32) -> Pager<MachineResponse, Machine> {
        self.pager(&["Machines"], Some(limit), convert::machine)
    }

    /// `GET /Machines/{nameOrId}`; `DOMAIN\NAME` is accepted and sent as `DOMAIN|NAME`.
    pub async fn machine(&self, name_or_id: &str) -> Result<Machine, CvadError> {
        let wire: MachineResponse = self
            .get_json(&["Machines", &machine_path_name(name_or_id)])
            .await?;
        Ok(convert::machine(wire))
    }

    /// `GET /Machines/{nameOrId}/Sessions`.
    pub async fn machine_sessions(&self, name_or_id: &str) -> Result<Vec<Session>, CvadError> {
        let name = machine_path_name(name_or_id);
        self.pager(
            &["Machines", &name, "Sessions"],
            Some(MAX_PAGE_SIZE),
            convert::session,
        )
        .collect_all()
        .await
    }

    /// `GET /Sessions`, every page.
    pub async fn sessions(&self) -> Result<Vec<Session>, CvadError> {
        self.sessions_pager(MAX_PAGE_SIZE).collect_all().await
    }

    pub fn sessions_pager(&self, limit: u32) -> Pager<SessionResponse, Session> {
        self.pager(&["Sessions"], Some(limit), convert::session)
    }

    /// `GET /Sessions/{id}`.
    pub async fn session(&self, id: &str) -> Result<Session, CvadError> {
        let wire: SessionResponse = self.get_json(&["Sessions", id]).await?;
        Ok(convert::session(wire))
    }

    /// `POST /Sessions/$search`, every page, with the total the site reports.
    pub async fn search_sessions(
        &self,
        search: &SearchRequest,
    ) -> Result<SearchResult<Session>, CvadError> {
        self.search_sessions_pager(search, MAX_PAGE_SIZE)?
            .collect_search()
            .await
    }

    pub fn search_sessions_pager(
        &self,
        search: &SearchRequest,
        limit: u32,
    ) -> Result<Pager<SessionResponse, Session>, CvadError> {
        self.search_pager(&["Sessions", "$search"], search, limit, convert::session)
    }

    /// `POST /Machines/$search`, every page, with the total the site reports.
    pub async fn search_machines(
        &self,
        search: &SearchRequest,
    ) -> Result<SearchResult<Machine>, CvadError> {
        self.search_machines_pager(search, MAX_PAGE_SIZE)?
            .collect_search()
            .await
    }

    pub fn search_machines_pager(
        &self,
        search: &SearchRequest,
        limit: u32,
    ) -> Result<Pager<MachineResponse, Machine>, CvadError> {
        self.search_pager(&["Machines", "$search"], search, limit, convert::machine)
    }

    /// `GET /Applications`.
    pub async fn applications(&self) -> Result<Vec<Application>, CvadError> {
        self.pager(&["Applications"], Some(MAX_PAGE_SIZE), convert::application)
            .collect_all()
            .await
    }

    /// `GET /ApplicationGroups`.
    pub async fn application_groups(&self) -> Result<Vec<AppGroup>, CvadError> {
        self.pager(
            &["ApplicationGroups"],
            Some(MAX_PAGE_SIZE),
            convert::application_group,
        )
        .collect_all()
        .await
    }
}

/// A connector's display name: the host (and port) of its URL.
fn connector_name(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| url.to_string())
}
