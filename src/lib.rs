//! edgeflow: the backend of a visual CRM automation builder, as a Cloudflare
//! Worker. It stores workflows in Supabase through PostgREST (forwarding the
//! caller's token, so Row Level Security authorizes), validates them and
//! executes them.
//!
//! Layout: everything but `platform` is pure and runs natively in tests.
//! - `config`: typed configuration from the Worker's environment.
//! - `error`: the one API error type and its HTTP mapping.
//! - `auth`: Supabase JWT verification and the JWKS cache policy.
//! - `router`, `cors`, `openapi`: the HTTP surface.
//! - `http`: plain-data outbound requests and the `Outbound` sending trait.
//! - `rest`: PostgREST requests (built with the `postgrest` crate) and answers.
//! - `api`: request handling per resource, over a small `Platform` trait.
//! - `engine`, `catalog`: workflow validation, execution and the action catalog.
//! - `platform` (wasm32 only): `#[event(fetch)]` and the `Platform` on `worker::Fetch`.

pub mod actions;
pub mod api;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod cors;
pub mod engine;
pub mod error;
pub mod http;
pub mod openapi;
pub mod rest;
pub mod router;

#[cfg(target_arch = "wasm32")]
mod platform;
