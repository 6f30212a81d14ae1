//! Recursive-descent parser for the sysdig/Falco filter language (libsinsp `filter/parser.h`).
//!
//! Owns text → [`Ast`]; knows nothing about which fields exist. Grammar (EBNF):
//!
//! ```text
//! Expr            ::= OrExpr
//! OrExpr          ::= AndExpr ('or' OrExprTail)*
//! OrExprTail      ::= Blank AndExpr | '(' Expr ')'
//! AndExpr         ::= NotExpr ('and' AndExprTail)*
//! AndExprTail     ::= Blank NotExpr | '(' Expr ')'
//! NotExpr         ::= ('not' Blank)* NotExprTail          -- each 'not' toggles
//! NotExprTail     ::= 'not(' Expr ')' | Check
//! Check           ::= '(' Expr ')'
//!                   | Field Condition
//!                   | Transformer Condition
//!                   | Identifier                           -- a macro reference
//! Transformer     ::= TransformerName '(' (Transformer | Field) ')'
//! TransformerName ::= 'tolower' | 'toupper' | 'b64' | 'basename' | 'len'
//! TransformerOrVal::= Transformer | 'val(' Field ')'
//! Condition       ::= 'exists'
//!                   | NumOperator  (NumValue | TransformerOrVal)
//!                   | StrOperator  (StrValue | TransformerOrVal)
//!                   | ListOperator (ListValue | TransformerOrVal)
//! NumOperator     ::= '<=' | '<' | '>=' | '>'
//! StrOperator     ::= '==' | '=' | '!=' | ('glob' | 'iglob' | 'contains' | 'icontains'
//!                   | 'bcontains' | 'startswith' | 'bstartswith' | 'endswith' | 'regex') Blank
//! ListOperator    ::= 'intersects' | 'in' | 'pmatch'       -- no blank needed: 'in(' works
//! ListValue       ::= '(' (StrValue (',' StrValue)*)? ')' | Identifier   -- Identifier = list name
//! Field           ::= FieldName ('[' (QuotedStr | FieldArgBareStr) ']')?
//! NumValue        ::= HexNumber | Number
//! StrValue        ::= QuotedStr | BareStr
//!
//! Identifier      ::= [a-zA-Z]+[a-zA-Z0-9_]*
//! FieldName       ::= Identifier ('.' Identifier)+
//! FieldArgBareStr ::= [^][\"'[:space:]]+
//! HexNumber       ::= 0[xX][0-9a-zA-Z]+
//! Number          ::= [+\-]?[0-9]+[\.]?[0-9]*([eE][+\-][0-9]+)?
//! QuotedStr       ::= "…" | '…'   escapes \b \f \n \r \t \\ \/ \" (in "…") \' (in '…') \xHH, "\ " = \
//! BareStr         ::= [^()\"'[:space:]=,]+
//! Blank           ::= [ \t\b\r\n\v\f]+
//! ```
//!
//! Differences from libsinsp, all supersets: word operators accept any blank after them
//! (libsinsp: only a space); the depth limit counts nesting levels (parentheses and
//! transformers) rather than parser frames; `\xHH` (libs master) is accepted for ASCII.

use super::ast::{Ast, Literal, Operand, Span};
use super::error::{escape_str, ErrorKind, FilterError};
use super::lexer::Lexer;

/// Parser settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Maximum nesting of parentheses and transformers (libsinsp default: 100).
    pub max_depth: u32,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { max_depth: 100 }
    }
}

/// Most errors the lenient parser collects before giving up.
const MAX_LENIENT_ERRORS: usize = 64;

pub(super) type PResult<T> = Result<T, FilterError>;

/// Parses a whole filter expression.
pub fn parse(src: &str) -> Result<Ast, FilterError> {
    parse_with(src, &ParseOptions::default())
}

/// Parses with explicit options.
pub fn parse_with(src: &str, opts: &ParseOptions) -> Result<Ast, FilterError> {
    let mut p = Parser::new(src, opts, false);
    p.parse_all()
}

/// Parses as much as possible, collecting every error (for an interactive filter bar).
///
/// Returns the AST when there were no errors, or the parts that did parse (if any)
/// together with the errors, in source order.
pub fn parse_lenient(src: &str) -> (Option<Ast>, Vec<FilterError>) {
    let mut p = Parser::new(src, &ParseOptions::default(), true);
    let ast = match p.parse_top() {
        Ok(ast) => ast,
        Err(e) => {
            p.errors.push(e);
            None
        }
    };
    p.errors.sort_by_key(|e| e.pos);
    p.errors.dedup();
    (ast, p.errors)
}

/// Parses a Falco list item the way Falco's textual list substitution would see it:
/// an item containing a space is wrapped in `"…"`, then the text is read as
/// comma-separated values (so `'"(systemd)"'` yields `(systemd)`, quoted).
pub fn parse_list_item(item: &str) -> Result<Vec<Literal>, FilterError> {
    let text = if item.contains(' ') {
        format!("\"{item}\"")
    } else {
        item.to_string()
    };
    let mut p = Parser::new(&text, &ParseOptions::default(), false);
    let mut out = Vec::new();
    loop {
        p.lx.blank();
        let v = p.str_value(true)?;
        out.push(v);
        p.lx.blank();
        if p.lx.at_end() {
            return Ok(out);
        }
        if !p.lx.lit(",") {
            return Err(p.err("expected ',' between list items"));
        }
    }
}

/// Parser state; the check-level productions live in `parse_check.rs`.
pub(super) struct Parser<'a> {
    pub(super) lx: Lexer<'a>,
    pub(super) depth: u32,
    max_depth: u32,
    lenient: bool,
    errors: Vec<FilterError>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, opts: &ParseOptions, lenient: bool) -> Self {
        Parser {
            lx: Lexer::new(src),
            depth: 0,
            max_depth: opts.max_depth,
            lenient,
            errors: Vec::new(),
        }
    }

    pub(super) fn err(&self, msg: impl Into<String>) -> FilterError {
        let p = self.lx.pos;
        FilterError::at(ErrorKind::Syntax, self.lx.src, Span::new(p, p + 1), msg)
    }

    pub(super) fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            let p = self.lx.pos;
            return Err(FilterError::at(
                ErrorKind::Depth,
                self.lx.src,
                Span::new(p, p + 1),
                format!("exceeded max depth limit of {}", self.max_depth),
            ));
        }
        Ok(())
    }

    fn parse_all(&mut self) -> PResult<Ast> {
        match self.parse_top()? {
            Some(ast) if self.errors.is_empty() => Ok(ast),
            _ => Err(self
                .errors
                .first()
                .cloned()
                .unwrap_or_else(|| self.err("empty filter"))),
        }
    }

    /// Parses the whole input; in lenient mode errors go to `self.errors`.
    fn parse_top(&mut self) -> PResult<Option<Ast>> {
        if self.lx.src.is_empty() {
            return Err(self.err("filter input string is empty"));
        }
        let mut ast = self.parse_or()?;
        while !self.lx.at_end() {
            let last = self.lx.last;
            let tok = &self.lx.src[last.start..last.end];
            let shown: String = escape_str(tok).chars().take(40).collect();
            let e = self.err(format!(
                "unexpected token after '{shown}', expecting 'or', 'and'"
            ));
            if !self.lenient || self.errors.len() >= MAX_LENIENT_ERRORS {
                return Err(e);
            }
            // Skip the stray text and keep looking for errors in what follows.
            self.errors.push(e);
            let step = self.lx.src[self.lx.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
            self.lx.pos += step;
            self.recover_skip();
            if self.lx.lit("and") || self.lx.lit("or") {
                if let Some(more) = self.parse_or()? {
                    ast = Some(match ast {
                        Some(a) => {
                            let span = a.span().to(more.span());
                            Ast::And {
                                children: vec![a, more],
                                span,
                            }
                        }
                        None => more,
                    });
                }
            }
        }
        Ok(ast)
    }

    /// In lenient mode, records `e` and skips to the next `and`/`or`/`)` at this level.
    fn recover(&mut self, e: FilterError) -> PResult<()> {
        if !self.lenient || e.kind == ErrorKind::Depth || self.errors.len() >= MAX_LENIENT_ERRORS {
            return Err(e);
        }
        self.errors.push(e);
        self.recover_skip();
        Ok(())
    }

    /// Moves the cursor to the next `and`/`or` keyword or unmatched `)` at this level.
    fn recover_skip(&mut self) {
        let b = self.lx.src.as_bytes();
        let mut depth = 0usize;
        let mut i = self.lx.pos;
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            if let Some(q) = quote {
                if c == q && b[i - 1] != b'\\' {
                    quote = None;
                }
            } else if c == b'"' || c == b'\'' {
                quote = Some(c);
            } else if c == b'(' {
                depth += 1;
            } else if c == b')' {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if depth == 0 && i > 0 && super::lexer::is_blank(b[i - 1]) {
                let rest = &b[i..];
                let kw = |w: &[u8]| {
                    rest.starts_with(w)
                        && rest
                            .get(w.len())
                            .is_some_and(|&n| n == b'(' || super::lexer::is_blank(n))
                };
                if kw(b"and") || kw(b"or") {
                    break;
                }
            }
            i += 1;
        }
        self.lx.pos = i.min(b.len());
    }

    fn parse_or(&mut self) -> PResult<Option<Ast>> {
        self.enter()?;
        let r = self.parse_or_inner();
        self.depth -= 1;
        r
    }

    fn parse_or_inner(&mut self) -> PResult<Option<Ast>> {
        let mut children = Vec::new();
        self.lx.blank();
        match self.parse_and() {
            Ok(a) => children.extend(a),
            Err(e) => self.recover(e)?,
        }
        self.lx.blank();
        while self.lx.lit("or") {
            let child = if self.lx.blank() {
                self.parse_and()
            } else if self.lx.lit("(") {
                self.embedded()
            } else {
                Err(self.err("expected blank or '(' after 'or'"))
            };
            match child {
                Ok(a) => children.extend(a),
                Err(e) => self.recover(e)?,
            }
            self.lx.blank();
        }
        Ok(join(children, |children, span| Ast::Or { children, span }))
    }

    fn parse_and(&mut self) -> PResult<Option<Ast>> {
        let mut children = Vec::new();
        self.lx.blank();
        match self.parse_not() {
            Ok(a) => children.extend(a),
            Err(e) => self.recover(e)?,
        }
        self.lx.blank();
        while self.lx.lit("and") {
            let child = if self.lx.blank() {
                self.parse_not()
            } else if self.lx.lit("(") {
                self.embedded()
            } else {
                Err(self.err("expected blank or '(' after 'and'"))
            };
            match child {
                Ok(a) => children.extend(a),
                Err(e) => self.recover(e)?,
            }
            self.lx.blank();
        }
        Ok(join(children, |children, span| Ast::And { children, span }))
    }

    fn parse_not(&mut self) -> PResult<Option<Ast>> {
        self.lx.blank();
        let start = self.lx.pos;
        let mut negate = false;
        while self.lx.not_blank() {
            negate = !negate;
        }
        let child = if self.lx.lit("not(") {
            negate = !negate;
            self.embedded()?
        } else {
            self.parse_check()?
        };
        let Some(child) = child else {
            return Ok(None);
        };
        Ok(Some(if negate {
            let span = Span::new(start, child.span().end);
            Ast::Not {
                child: Box::new(child),
                span,
            }
        } else {
            child
        }))
    }

    /// The rest of `( Expr )` after the `(`.
    pub(super) fn embedded(&mut self) -> PResult<Option<Ast>> {
        let open = self.lx.last.start;
        self.lx.blank();
        let mut child = self.parse_or()?;
        self.lx.blank();
        if !self.lx.lit(")") {
            // Lenient: skip what remains of the group and its ')', if there is one.
            self.recover(self.err("expected a ')' token"))?;
            self.lx.lit(")");
        }
        // Let the node cover its parentheses, so carets include them.
        let close = self.lx.pos;
        if let Some(Ast::And { span, .. } | Ast::Or { span, .. }) = &mut child {
            *span = Span::new(open, close);
        }
        Ok(child)
    }

    fn parse_check(&mut self) -> PResult<Option<Ast>> {
        self.lx.blank();
        let start = self.lx.pos;
        if self.lx.lit("(") {
            return self.embedded();
        }
        if let Some(name) = self.lx.field_name() {
            let field = self.field_rest(name, start)?;
            return self.condition(Operand::Field(field), start).map(Some);
        }
        if let Some(t) = self.transformer_name() {
            let lhs = self.transformer_rest(t, start)?;
            return self.condition(lhs, start).map(Some);
        }
        if let Some(name) = self.lx.identifier() {
            return Ok(Some(Ast::Identifier {
                name: name.to_string(),
                span: Span::new(start, self.lx.pos),
            }));
        }
        Err(self.err("expected a '(' token, a field check, or an identifier"))
    }
}

fn join(mut children: Vec<Ast>, make: fn(Vec<Ast>, Span) -> Ast) -> Option<Ast> {
    if children.len() <= 1 {
        return children.pop();
    }
    let span = children[0].span().to(children[children.len() - 1].span());
    Some(make(children, span))
}
