//! The Cosmos runtime. For now its pure core: the forward-chaining [`engine`] of
//! LANGUAGE.md section 5, and [`sim`], which drives it on a virtual clock with
//! answered calls (what `cosmosc test` runs on). The store, queue and executor of
//! DESIGN.md build on these.

pub mod api;
pub mod calls;
pub mod connect;
pub mod deployment;
pub mod engine;
pub mod executor;
pub mod explain;
pub mod names;
pub mod node;
pub mod replay;
pub mod sim;
pub mod store;
pub mod worker;
