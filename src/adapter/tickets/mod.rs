//! ServiceNow tickets in the adapter: queue sync, the ticket API's reads and writes, the
//! outbox that delivers ticket writes, the job ↔ ticket lifecycle and zero-touch fulfilment.
//!
//! - [`instance`]: one configured instance: client, resolved queues, the adapter's user.
//! - [`row`], [`book`], [`sync`]: queue tickets, the per-instance book, the delta poller.
//! - [`write`], [`deliver`]: ticket writes and the outbox worker that delivers them.
//! - [`lifecycle`]: job state → ticket writes.
//! - [`fulfil`]: catalog item + variables → the job that fulfils it (zero-touch recipes).

pub mod book;
pub mod deliver;
pub mod fulfil;
pub mod instance;
pub mod lifecycle;
pub mod row;
pub mod sync;
pub mod write;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::adapter::store::{NewOutboxItem, OutboxItem, Store, StoreError};
use crate::config::AdapterConfig;
use crate::model::TicketKind;
use book::Book;
use deliver::{Deliverer, DeliveryOptions};
use instance::InstanceCtx;
use lifecycle::Lifecycle;
use write::TicketWrite;

/// How the ticket service runs. Tests shorten the times.
#[derive(Clone)]
pub struct TicketOptions {
    /// Overrides every instance's `poll_interval` when set.
    pub poll_interval: Option<Duration>,
    pub delivery: DeliveryOptions,
    /// How often linked jobs are compared with what their tickets were told.
    pub lifecycle_every: Duration,
    /// Told of every ServiceNow call (the metrics).
    pub observer: Option<Arc<dyn crate::observe::CallObserver>>,
}

impl std::fmt::Debug for TicketOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketOptions")
            .field("poll_interval", &self.poll_interval)
            .field("delivery", &self.delivery)
            .field("lifecycle_every", &self.lifecycle_every)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Default for TicketOptions {
    fn default() -> Self {
        TicketOptions {
            poll_interval: None,
            delivery: DeliveryOptions::default(),
            lifecycle_every: Duration::from_millis(500),
            observer: None,
        }
    }
}

/// Told of every poll's changes (instance name, changes); the API layer hooks automatic
/// fulfilment here. Must return quickly (spawn the work).
pub type ChangeHook = Arc<dyn Fn(&str, book::Changes) + Send + Sync>;

/// One instance: its context and book.
#[derive(Clone)]
pub struct Instance {
    pub ctx: Arc<InstanceCtx>,
    pub book: Arc<Book>,
}

/// The ticket service. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Tickets {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    instances: BTreeMap<String, Instance>,
    /// Instances whose client could not be built (bad URL…): named in errors.
    broken: BTreeMap<String, String>,
    options: TicketOptions,
    deliver_wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tickets")
            .field(
                "instances",
                &self.inner.instances.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Why a ticket operation cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("no ServiceNow instance named {0:?} is configured")]
    UnknownInstance(String),
    #[error("ServiceNow instance {name:?} cannot be used: {reason}")]
    Broken { name: String, reason: String },
    #[error("{0:?} is not a ticket number (INC…, RITM…, SCTASK…)")]
    BadNumber(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Tickets {
    pub fn new(store: Arc<dyn Store>, config: &AdapterConfig, options: TicketOptions) -> Tickets {
        let mut instances = BTreeMap::new();
        let mut broken = BTreeMap::new();
        for sn in &config.servicenow {
            match InstanceCtx::new(sn.clone(), options.observer.clone()) {
                Ok(ctx) => {
                    instances.insert(
                        sn.name.clone(),
                        Instance {
                            ctx: Arc::new(ctx),
                            book: Arc::new(Book::default()),
                        },
                    );
                }
                Err(e) => {
                    tracing::error!(instance = %sn.name, error = %e, "ServiceNow instance cannot be used");
                    broken.insert(sn.name.clone(), e.to_string());
                }
            }
        }
        Tickets {
            inner: Arc::new(Inner {
                store,
                instances,
                broken,
                options,
                deliver_wake: Arc::new(Notify::new()),
                stop: watch::channel(false).0,
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Starts the pollers, the outbox delivery worker and the lifecycle worker. `owner` names
    /// this process in outbox and singleton leases (unique per start: the replica's id).
    ///
    /// With replicas sharing the store: every replica polls (its API serves its own book),
    /// but only the holder of an instance's `tickets:<instance>` lease publishes the
    /// changes as events and hands them to `on_changes` (automatic fulfilment), so a new
    /// catalog request is fulfilled once and its event appears once; the outbox delivers on
    /// the holder of `outbox` only ([`deliver`]). The lifecycle worker runs everywhere: it
    /// queues a job's writes in the same transaction that advances the job's phase, and only
    /// one replica's advance of a given phase succeeds.
    pub fn start(&self, owner: &str, on_changes: Option<ChangeHook>) {
        let inner = &self.inner;
        let mut tasks = Vec::new();
        for (name, instance) in &inner.instances {
            let hook = on_changes.clone();
            let name = name.clone();
            let interval = inner
                .options
                .poll_interval
                .unwrap_or(instance.ctx.config.poll_interval);
            let lease = crate::adapter::replicas::Singleton::new(
                Arc::clone(&inner.store),
                &format!("tickets:{name}"),
                owner,
                sync::publisher_ttl(interval),
            );
            tasks.push(tokio::spawn(sync::run(
                Arc::clone(&instance.ctx),
                Arc::clone(&instance.book),
                Arc::clone(&inner.store),
                (interval, lease),
                inner.stop.subscribe(),
                move |changes| {
                    if let Some(hook) = &hook {
                        hook(&name, changes);
                    }
                },
            )));
        }
        let deliverer = Arc::new(Deliverer {
            store: Arc::clone(&inner.store),
            instances: inner
                .instances
                .iter()
                .map(|(n, i)| (n.clone(), (Arc::clone(&i.ctx), Arc::clone(&i.book))))
                .collect(),
            owner: owner.to_owned(),
            options: inner.options.delivery.clone(),
        });
        tasks.push(tokio::spawn(
            deliverer.run(Arc::clone(&inner.deliver_wake), inner.stop.subscribe()),
        ));
        let lifecycle = Arc::new(Lifecycle {
            store: Arc::clone(&inner.store),
            instances: inner
                .instances
                .iter()
                .map(|(n, i)| (n.clone(), Arc::clone(&i.ctx)))
                .collect(),
            delivery: Arc::clone(&inner.deliver_wake),
        });
        tasks.push(tokio::spawn(
            lifecycle.run(inner.options.lifecycle_every, inner.stop.subscribe()),
        ));
        if let Ok(mut held) = inner.tasks.lock() {
            held.extend(tasks);
        }
    }

    /// Stops every background task and waits for them.
    pub async fn stop(&self) {
        let _ = self.inner.stop.send(true);
        let tasks = match self.inner.tasks.lock() {
            Ok(mut held) => std::mem::take(&mut *held),
            Err(_) => Vec::new(),
        };
        for task in tasks {
            let _ = task.await;
        }
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.inner.instances.values()
    }

    pub fn instance(&self, name: &str) -> Result<&Instance, TicketError> {
        if let Some(i) = self.inner.instances.get(name) {
            return Ok(i);
        }
        match self.inner.broken.get(name) {
            Some(reason) => Err(TicketError::Broken {
                name: name.to_owned(),
                reason: reason.clone(),
            }),
            None => Err(TicketError::UnknownInstance(name.to_owned())),
        }
    }

    /// Queues an operator's write to a ticket and wakes the delivery worker.
    pub async fn queue_write(
        &self,
        instance: &str,
        number: &str,
        write: &TicketWrite,
    ) -> Result<OutboxItem, TicketError> {
        self.instance(instance)?;
        let kind =
            TicketKind::from_number(number).ok_or_else(|| TicketError::BadNumber(number.into()))?;
        let item = self
            .inner
            .store
            .enqueue_outbox(NewOutboxItem {
                instance: instance.to_owned(),
                table: kind.table().to_owned(),
                ticket: number.to_owned(),
                job_id: None,
                payload: write.to_payload(),
            })
            .await?;
        self.inner.deliver_wake.notify_one();
        Ok(item)
    }

    /// Waits up to `patience` for a queued write to be delivered or refused.
    pub async fn wait_write(&self, id: i64, patience: Duration) -> Result<OutboxItem, TicketError> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let item = self
                .inner
                .store
                .get_outbox(id)
                .await?
                .ok_or(StoreError::NotFound {
                    what: "outbox item",
                    id: id.to_string(),
                })?;
            let settled = item.delivered_at.is_some() || item.abandoned_at.is_some();
            if settled || tokio::time::Instant::now() >= deadline {
                return Ok(item);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
