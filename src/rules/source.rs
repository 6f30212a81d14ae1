//! [`OutputSource`] for the field catalogue's [`EventCtx`]: output values are displayed
//! as `saker read` displays them (escaped text, buffers per the capture's options).

use super::output::OutputSource;
use crate::event::display::{escape_bytes, push_buffer};
use crate::filter::fields::EventCtx;
use crate::filter::{FieldInfo, FieldSource, FieldType, Value, ValueBuf};
use std::fmt::Write as _;

impl OutputSource for EventCtx<'_> {
    fn display(&mut self, f: &FieldInfo, out: &mut String) -> bool {
        let mut buf = ValueBuf::default();
        if !self.value(f, &mut buf) || buf.is_empty() {
            return false;
        }
        let opts = self.env.arg_opts;
        for (i, v) in buf.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            match v {
                Value::Str(s) if f.ty == FieldType::Bytes => push_buffer(s, &opts, out),
                Value::Str(s) => escape_bytes(s, out),
                Value::U64(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::I64(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                Value::Ip(ip) => {
                    let _ = write!(out, "{ip}");
                }
            }
        }
        true
    }
}
