//! The adapter (`deskbridge serve`), being built: so far only its durable store.

pub mod store;
