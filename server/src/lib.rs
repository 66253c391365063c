//! The reference HTTP server of workflow-templates, as a library (the binary is `main.rs`):
//! the same core catalog over SQLite or PostgreSQL, behind an HTTP + JSON API.

pub mod auth;
mod bulk;
pub mod creates;
pub mod db;
mod derived;
pub mod discover;
pub mod extract;
pub mod feed;
pub mod http;
pub mod idempotency;
pub mod logging;
pub mod migrations;
pub mod registry;
pub mod reply;
pub mod rows;
pub mod serve;
pub mod store;
