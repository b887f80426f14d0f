//! `deskbridge lab`: start the simulators and say where they are.

use crate::lab::{FaultPlan, Lab, LabInfo, LabOptions, Scale, SiteCredentials};
use clap::Args;
use std::io::Write;

#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    /// Print one JSON line describing every server once all are ready (for scripts and tests).
    #[arg(long)]
    pub json: bool,
    /// Seed for the generated data; the same seed gives the same helpdesk.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How much data to generate.
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    pub scale: Scale,
    /// Keep tickets, logons, logoffs and disconnects arriving.
    #[arg(long)]
    pub live: bool,
    /// How many times faster than wall time the simulated clock runs.
    #[arg(long, default_value_t = 1.0)]
    pub clock_speed: f64,
    /// Share of requests (0 to 1) answered with a server error.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Answer this many requests with 429 before serving normally.
    #[arg(long, default_value_t = 0)]
    pub throttle: u32,
    /// Cap every page at this many items, whatever the client asks for.
    #[arg(long)]
    pub short_page: Option<usize>,
    /// Start with this connector down: SITE/INDEX, INDEX counting the site's endpoints from 0.
    /// Repeat for several.
    #[arg(long, value_name = "SITE/INDEX")]
    pub stop_connector: Vec<String>,
    /// Start with every ServiceNow instance down (503 on every call) until the control API
    /// brings it back.
    #[arg(long)]
    pub servicenow_outage: bool,
}

impl LabArgs {
    fn options(&self) -> anyhow::Result<LabOptions> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            anyhow::bail!(
                "--error-rate must be between 0 and 1, got {}",
                self.error_rate
            );
        }
        if !(self.clock_speed.is_finite() && self.clock_speed > 0.0) {
            anyhow::bail!(
                "--clock-speed must be a positive number, got {}",
                self.clock_speed
            );
        }
        Ok(LabOptions {
            seed: self.seed,
            scale: self.scale,
            live: self.live,
            clock_speed: self.clock_speed,
            faults: FaultPlan {
                error_rate: self.error_rate,
                latency_ms: self.latency_ms,
                throttle_next: self.throttle,
                short_page: self.short_page,
                retry_after_secs: 1,
                ..FaultPlan::default()
            },
        })
    }
}

pub async fn run(args: LabArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    let stops = args
        .stop_connector
        .iter()
        .map(|spec| parse_connector(spec))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let lab = Lab::start(options).await?;
    if let Err(err) = apply_start_faults(lab.info(), &stops, args.servicenow_outage).await {
        lab.shutdown().await;
        return Err(err);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(lab.info())?)?;
    } else {
        write!(out, "{}", describe(lab.info()))?;
    }
    out.flush()?;
    drop(out);
    wait_for_stop().await;
    lab.shutdown().await;
    Ok(())
}

/// `London/1` -> ("London", 1).
fn parse_connector(spec: &str) -> anyhow::Result<(String, usize)> {
    let (site, index) = spec.rsplit_once('/').ok_or_else(|| {
        anyhow::anyhow!("--stop-connector takes SITE/INDEX (e.g. London/0), got {spec:?}")
    })?;
    let index = index.parse().map_err(|_| {
        anyhow::anyhow!("--stop-connector {spec:?}: {index:?} is not a connector index")
    })?;
    Ok((site.to_string(), index))
}

/// Applies start-up faults through the control API, the same path an operator uses live, so
/// the flags cannot drift from what the control API does.
async fn apply_start_faults(
    info: &LabInfo,
    stops: &[(String, usize)],
    servicenow_outage: bool,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut calls = Vec::new();
    for (site, index) in stops {
        calls.push((
            format!("{}/sites/{site}/connectors/{index}/stop", info.control),
            None,
            format!("--stop-connector {site}/{index}"),
        ));
    }
    if servicenow_outage {
        for instance in &info.servicenow {
            calls.push((
                format!("{}/servicenow/{}/faults", info.control, instance.name),
                Some(serde_json::json!({ "outage": true })),
                "--servicenow-outage".to_string(),
            ));
        }
    }
    for (url, body, flag) in calls {
        let request = http.post(&url);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.send().await?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            let reason = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(text);
            anyhow::bail!("{flag}: {reason} ({status})");
        }
    }
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub(crate) async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The readable form of the lab's description.
pub fn describe(info: &LabInfo) -> String {
    let mut text =
        String::from("deskbridge lab is running (Ctrl-C stops it)\n\nServiceNow instances\n");
    for sn in &info.servicenow {
        text.push_str(&format!(
            "  {:<12} {}\n  {:<12} user {} / {}   oauth client {} / {}\n",
            sn.name, sn.url, "", sn.username, sn.password, sn.client_id, sn.client_secret
        ));
    }
    text.push_str("\nCVAD sites (API under /cvad/manage)\n");
    for site in &info.sites {
        text.push_str(&format!(
            "  {:<12} {:<7} customer {}  site {}\n",
            site.name, site.kind, site.customer_id, site.site_id
        ));
        for zone in &site.zones {
            let urls: Vec<&str> = zone
                .endpoints
                .iter()
                .filter_map(|i| site.endpoints.get(*i).map(String::as_str))
                .collect();
            text.push_str(&format!(
                "  {:<12} zone {:<14} {}\n",
                "",
                zone.name,
                urls.join("  ")
            ));
        }
        let login = match &site.credentials {
            SiteCredentials::Basic { username, password } => {
                format!("user {username} / {password}")
            }
            SiteCredentials::Client {
                client_id,
                client_secret,
            } => {
                format!("client {client_id} / {client_secret}")
            }
        };
        text.push_str(&format!(
            "  {:<12} token {}   {}\n",
            "", site.token_url, login
        ));
    }
    text.push_str(&format!("\nControl API   {}\n", info.control));
    text
}
