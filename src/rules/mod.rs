//! The Falco-compatible rule engine.
pub mod error;
pub mod items;
pub mod reader;
pub use error::{ItemKind, Loc, RulesError, Warning, WarningKind};
pub use items::Priority;
pub mod collector;
pub mod output;
pub mod compiler;
pub mod exceptions;
pub mod engine;
pub mod index;
