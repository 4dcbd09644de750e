//! edgeflow: the backend of a visual CRM automation builder, as a Cloudflare
//! Worker. It stores workflows in Supabase through PostgREST (forwarding the
//! caller's token, so Row Level Security authorizes), validates them and
//! executes them.
//!
//! Layout: modules form layers and each uses only the layers below it
//! (`tests/module_graph.rs` enforces it). Everything but `platform` is pure
//! and runs natively in tests.
//! - `platform` (wasm32 only): `#[event(fetch)]` and the `Platform` on `worker::Fetch`.
//! - `api`: the HTTP surface (router, CORS, OpenAPI, the catalog's HTTP view)
//!   and request handling per resource, over a small `Platform` trait.
//! - `actions`: the executors behind the engine's `ActionRunner` port.
//! - `rest`: PostgREST requests (built with the `postgrest` crate) and answers.
//! - `error`: the one API error type and its HTTP mapping.
//! - `engine`, `auth`: workflow validation and execution; JWT verification.
//! - `config`: typed configuration from the Worker's environment.
//! - `schema`, `http`: the action catalog and its input checks; the one
//!   outbound request/answer type and `TransportError`.
//! - `limits`: every cap and default.

pub mod actions;
pub mod api;
pub mod auth;
pub mod config;
pub mod engine;
pub mod error;
pub mod http;
pub mod limits;
pub mod rest;
pub mod schema;

#[cfg(target_arch = "wasm32")]
mod platform;
