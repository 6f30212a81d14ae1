//! The sysdig/Falco filter language: text → [`Ast`] → compiled [`Filter`] → evaluation.
//!
//! Phases are separate and pure: [`parse`] (grammar of libsinsp `filter/parser.h`), optional
//! rule-layer rewriting on the AST ([`expand()`] for macros, [`substitute_lists`] for lists),
//! [`compile()`] (fields resolved once through a caller-supplied [`FieldRegistry`], literals
//! converted to the field type, regexes built), and [`Filter::matches`] against a
//! per-event [`FieldSource`]. [`event_types`] tells which `evt.type` values a filter can
//! match, as Falco's `filter_evttype_resolver` does. Nothing here knows where field values
//! come from, and nothing here does I/O.
//!
//! ```
//! use saker::filter::{self, FieldArg, FieldInfo, FieldRegistry, FieldSource, FieldType,
//!                     FilterError, Scratch, Span, ValueBuf};
//!
//! struct Reg;
//! impl FieldRegistry for Reg {
//!     fn resolve(&self, name: &str, arg: Option<&FieldArg>, span: Span)
//!         -> Result<FieldInfo, FilterError> {
//!         match name {
//!             "proc.name" => Ok(FieldInfo::new(0, FieldType::Str)),
//!             "fd.num" => Ok(FieldInfo::new(1, FieldType::I64)),
//!             _ => Err(filter::unknown_field(name, span)),
//!         }
//!     }
//! }
//! struct Ev { name: &'static str, fd: Option<i64> }
//! impl FieldSource for Ev {
//!     fn value(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
//!         match (f.id, self.fd) {
//!             (0, _) => { out.push_str(self.name); true }
//!             (1, Some(fd)) => { out.push_i64(fd); true }
//!             _ => false,
//!         }
//!     }
//! }
//! let f = filter::compile_str("proc.name in (cat, less) and fd.num >= 0", &Reg).unwrap();
//! let mut scratch = Scratch::default();
//! assert!(f.matches(&mut Ev { name: "cat", fd: Some(3) }, &mut scratch));
//! assert!(!f.matches(&mut Ev { name: "cat", fd: None }, &mut scratch));
//! ```

pub mod ast;
pub mod compile;
pub mod error;
pub mod eval;
pub mod evttypes;
pub mod expand;
pub mod fields;
mod glob;
mod lexer;
mod parse_check;
pub mod parser;
pub mod print;
pub mod value;

pub use ast::{Ast, FieldArg, FieldRef, Literal, Op, Operand, Rhs, Span, Transformer};
pub use compile::{compile, compile_str, unknown_field, FieldInfo, FieldRegistry, Filter};
pub use error::{ErrorKind, FilterError};
pub use eval::{FieldSource, Scratch};
pub use evttypes::event_types;
pub use expand::{expand, substitute_lists};
pub use parser::{parse, parse_lenient, parse_list_item, parse_with, ParseOptions};
pub use value::{FieldType, Value, ValueBuf};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_props;
