//! Pipeline tests (parse → compile → eval) with a mock field registry and event.

use super::*;
use std::net::IpAddr;

/// Mock registry: a handful of fields of every type.
pub(crate) struct Reg;

impl FieldRegistry for Reg {
    fn resolve(
        &self,
        name: &str,
        arg: Option<&FieldArg>,
        span: Span,
    ) -> Result<FieldInfo, FilterError> {
        let (id, ty) = match name {
            "evt.type" => (0, FieldType::Str),
            "fd.name" => (1, FieldType::Str),
            "proc.name" => (2, FieldType::Str),
            "fd.num" => (3, FieldType::I64),
            "evt.num" => (4, FieldType::U64),
            "proc.aname" => (5, FieldType::Str),
            "fd.types" => (6, FieldType::Str),
            "fd.ip" => (7, FieldType::Ip),
            "fd.net" => (7, FieldType::IpNet),
            "evt.is_open_read" => (8, FieldType::Bool),
            "evt.buffer" => (9, FieldType::Bytes),
            "fd.sport" => (10, FieldType::Port),
            "proc.pname" => (12, FieldType::Str),
            n if n.starts_with("evt.arg.") => {
                let mut f = FieldInfo::new(11, FieldType::Str);
                f.arg = Some(FieldArg {
                    value: n["evt.arg.".len()..].to_string(),
                    quoted: false,
                    span,
                });
                return Ok(f);
            }
            "evt.arg" => (11, FieldType::Str),
            _ => return Err(unknown_field(name, span)),
        };
        let mut f = FieldInfo::new(id, ty);
        f.list = id == 6;
        if let Some(a) = arg {
            if id != 5 && id != 11 {
                return Err(FilterError::new(
                    ErrorKind::UnknownField,
                    a.span,
                    "field takes no argument",
                ));
            }
            f.aux = if id == 5 {
                a.value
                    .parse()
                    .map_err(|_| FilterError::new(ErrorKind::Value, a.span, "bad index"))?
            } else {
                0
            };
            f.arg = Some(a.clone());
        } else if id == 5 {
            f.aux = u64::MAX; // any ancestor
        }
        Ok(f)
    }
}

/// Mock event.
#[derive(Default, Clone)]
pub(crate) struct Ev {
    pub ty: &'static str,
    pub fd: Option<&'static str>,
    pub name: Option<&'static str>,
    pub pname: Option<&'static str>,
    pub fdnum: Option<i64>,
    pub num: u64,
    pub anc: Vec<&'static str>,
    pub types: Option<Vec<&'static str>>,
    pub ip: Option<IpAddr>,
    pub read: Option<bool>,
    pub buf: Option<Vec<u8>>,
    pub sport: Option<u64>,
    pub args: Vec<(&'static str, &'static str)>,
}

impl FieldSource for Ev {
    fn value(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
        let s = |out: &mut ValueBuf, v: Option<&str>| v.map(|v| out.push_str(v)).is_some();
        match f.id {
            0 => s(out, Some(self.ty)),
            1 => s(out, self.fd),
            2 => s(out, self.name),
            3 => self.fdnum.map(|v| out.push_i64(v)).is_some(),
            4 => {
                out.push_u64(self.num);
                true
            }
            5 if f.aux == u64::MAX => {
                self.anc.iter().for_each(|a| out.push_str(a));
                !self.anc.is_empty()
            }
            5 => s(out, self.anc.get(f.aux as usize).copied()),
            6 => self
                .types
                .as_ref()
                .map(|t| t.iter().for_each(|v| out.push_str(v)))
                .is_some(),
            7 => self.ip.map(|v| out.push_ip(v)).is_some(),
            8 => self.read.map(|v| out.push_bool(v)).is_some(),
            9 => self.buf.as_ref().map(|v| out.push_bytes(v)).is_some(),
            10 => self.sport.map(|v| out.push_u64(v)).is_some(),
            11 => {
                let want = f.arg.as_ref().map_or("", |a| a.value.as_str());
                let hit = self
                    .args
                    .iter()
                    .enumerate()
                    .find(|(i, (n, _))| *n == want || i.to_string() == want);
                s(out, hit.map(|(_, (_, v))| *v))
            }
            12 => s(out, self.pname),
            _ => false,
        }
    }
}

pub(crate) fn open_ev() -> Ev {
    Ev {
        ty: "openat",
        fd: Some("/etc/shadow"),
        name: Some("Bash"),
        pname: Some("bash"),
        fdnum: Some(3),
        num: 42,
        anc: vec!["Bash", "sshd", "init"],
        types: Some(vec!["file", "ipv4"]),
        ip: Some("10.1.2.3".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
        read: Some(true),
        buf: Some(b"\x7fELF\x02\x01".to_vec()),
        sport: Some(443),
        args: vec![("flags", "O_RDONLY|O_CLOEXEC"), ("mode", "0")],
    }
}

fn m(filter: &str, ev: &Ev) -> bool {
    let f = compile_str(filter, &Reg).unwrap_or_else(|e| panic!("{}", e.render(filter)));
    f.matches(&mut ev.clone(), &mut Scratch::default())
}

fn cerr(filter: &str) -> FilterError {
    match compile_str(filter, &Reg) {
        Ok(_) => panic!("{filter:?} compiled"),
        Err(e) => e,
    }
}

#[test]
fn operators() {
    let e = open_ev();
    let yes = [
        "evt.type = openat",
        "evt.type == openat",
        "evt.type != open",
        "evt.type=openat",
        "fd.name contains shad",
        "proc.name icontains BASH",
        "proc.name icontains aS",
        "fd.name startswith /etc",
        "fd.name endswith dow",
        "fd.name glob /etc/*",
        "fd.name glob '/e?c/[rs]*'",
        "proc.name iglob b*H",
        "fd.name pmatch (/usr, /etc)",
        "fd.name pmatch (/etc/shadow)",
        "fd.name pmatch (/)",
        "evt.type in (open, openat)",
        "evt.type in(open,openat)",
        "evt.type intersects (openat)",
        "fd.name exists",
        "fd.name regex '/etc/s.*'",
        "evt.buffer bcontains 454c46",
        "evt.buffer bstartswith 7F45",
        "evt.buffer contains ELF",
        "proc.name > 1",
        "proc.name >= 1",
        "evt.arg.mode <= 0",
        "evt.arg.mode >= 0",
        "fd.num >= 0",
        "fd.num > 2",
        "fd.num < 4",
        "fd.num <= 3",
        "fd.num = 3",
        "fd.num != -1",
        "fd.num=0x3",
        "fd.num in (0, 1, 2, 3)",
        "evt.num > 5",
        "evt.num = 42",
        "fd.sport in (80, 443)",
        "evt.is_open_read = true",
        "evt.is_open_read != false",
        "evt.arg.flags contains O_RDONLY",
        "evt.arg[1] = 0",
        "evt.arg[flags] startswith O_",
    ];
    for f in yes {
        assert!(m(f, &e), "{f} should match");
    }
    let no = [
        "evt.type = open",
        "evt.type = OPENAT",
        "evt.type != openat",
        "fd.name contains xyz",
        "proc.name contains AS",
        "fd.name startswith /usr",
        "fd.name endswith /etc",
        "fd.name glob /etc",
        "proc.name glob b*",
        "fd.name pmatch (/et, /etc/sh)",
        "evt.type in (open, execve)",
        "fd.name regex shadow",
        "fd.name regex '.*shado'",
        "evt.buffer bcontains 4546",
        "fd.num > 3",
        "proc.name < 1",
        "fd.num in (0, 1, 2)",
        "fd.sport = 80",
        "evt.is_open_read = false",
        "evt.arg.nope exists",
    ];
    for f in no {
        assert!(!m(f, &e), "{f} should not match");
    }
}

#[test]
fn boolean_logic() {
    let e = open_ev();
    assert!(m("evt.type=openat and fd.name startswith /etc", &e));
    assert!(!m("evt.type=open and fd.name startswith /etc", &e));
    assert!(m("evt.type=open or fd.name startswith /etc", &e));
    assert!(m("not evt.type=open", &e));
    assert!(m("not not evt.type=openat", &e));
    assert!(m("not(evt.type=open)", &e));
    assert!(m(
        "evt.type=open or (evt.type=openat and not fd.num < 0)",
        &e
    ));
    assert!(m("evt.type=openat and(fd.num=3)or(fd.num=4)", &e));
    assert!(!m("((evt.type=openat) and (not (fd.num=3)))", &e));
}

#[test]
fn missing_values() {
    let e = Ev {
        ty: "close",
        ..Ev::default()
    };
    // No value: every comparison is false, even `!=`; `not` of it is true.
    assert!(!m("proc.name != sshd", &e));
    assert!(m("not proc.name = sshd", &e));
    assert!(!m("proc.name exists", &e));
    assert!(m("not proc.name exists", &e));
    assert!(!m("fd.num != 3", &e));
    assert!(!m("fd.num in (1, 2)", &e));
    assert!(!m("fd.ip != 10.0.0.0/8", &e));
    assert!(!m("proc.name = val(proc.pname)", &e));
    assert!(!m("tolower(proc.name) != x", &e));
    assert!(!m("proc.aname = sshd", &e));
    assert!(m("evt.num exists", &e));
}

#[test]
fn lists_and_quoting() {
    let mut e = open_ev();
    e.name = Some("my prog");
    assert!(m(r#"proc.name in (bash, "my prog", 'x')"#, &e));
    assert!(m(r#"proc.name = "my prog""#, &e));
    assert!(m(r#"proc.name = 'my prog'"#, &e));
    assert!(!m("proc.name in ()", &e));
    e.name = Some("a\"b'c\\");
    assert!(m(r#"proc.name = "a\"b'c\ ""#, &e));
    assert!(m(r#"proc.name = 'a"b\'c\ '"#, &e));
    let many: Vec<String> = (0..200).map(|i| format!("p{i}")).collect();
    e.name = Some("p150");
    assert!(m(&format!("proc.name in ({})", many.join(", ")), &e));
    e.name = Some("p200");
    assert!(!m(&format!("proc.name in ({})", many.join(", ")), &e));
}

#[test]
fn multi_valued_fields() {
    let e = open_ev();
    assert!(m("proc.aname = sshd", &e));
    assert!(m("proc.aname[1] = sshd", &e));
    assert!(m("proc.aname[2] = init", &e));
    assert!(!m("proc.aname[1] = init", &e));
    assert!(!m("proc.aname[7] exists", &e));
    assert!(m("proc.aname in (init, x)", &e));
    // List field: `in` = every value in the set, `intersects` = any.
    assert!(m("fd.types in (file, ipv4, ipv6)", &e));
    assert!(!m("fd.types in (file)", &e));
    assert!(m("fd.types intersects (file)", &e));
    assert!(!m("fd.types intersects (unix)", &e));
    assert!(m("len(fd.types) = 2", &e));
}

#[test]
fn transformers_and_val() {
    let e = open_ev();
    assert!(m("tolower(proc.name) = bash", &e));
    let f = compile_str("proc.name = val(proc.pname) and evt.num > 1", &Reg).unwrap();
    let ids: Vec<u32> = f.fields().iter().map(|f| f.id).collect();
    assert_eq!(ids, vec![4, 2, 12], "cheapest check first");
    assert!(m("toupper(proc.name) = BASH", &e));
    assert!(m("tolower(toupper(proc.name)) = bash", &e));
    assert!(m("basename(fd.name) = shadow", &e));
    assert!(m("len(fd.name) = 11", &e));
    assert!(m("len(basename(fd.name)) > 5", &e));
    assert!(m("tolower(proc.name) = val(proc.pname)", &e));
    assert!(!m("proc.name = val(proc.pname)", &e));
    assert!(m(
        "proc.name = toupper(proc.pname) or proc.name icontains val(proc.pname)",
        &e
    ));
    assert!(m("proc.name != val(proc.pname)", &e));
    assert!(m(
        "fd.name startswith val(evt.type) or fd.num < val(evt.num)",
        &e
    ));
    assert!(m(
        "proc.aname[1] = sshd and tolower(proc.aname[0]) in val(proc.pname)",
        &e
    ));
    let mut e2 = open_ev();
    e2.name = Some("L2V0Yy9wYXNzd2Q=");
    assert!(m("b64(proc.name) = /etc/passwd", &e2));
    e2.name = Some("not base64!");
    assert!(!m("b64(proc.name) exists", &e2));
    assert!(m("basename(proc.name) = 'not base64!'", &e2));
}

#[test]
fn networks() {
    let e = open_ev();
    assert!(m("fd.net = 10.0.0.0/8", &e));
    assert!(m("fd.ip = 10.1.2.3", &e));
    assert!(m("fd.ip in (192.168.0.0/16, 10.1.2.3)", &e));
    assert!(m(r#"fd.net != "127.0.0.0/8""#, &e));
    assert!(!m("fd.ip != 10.0.0.0/8", &e));
    assert!(!m("fd.net in (192.168.0.0/16, ::1)", &e));
    let mut e6 = open_ev();
    e6.ip = "fe80::1".parse().ok();
    assert!(m("fd.ip = 'fe80::/10'", &e6));
}

fn pos_of(filter: &str) -> (usize, ErrorKind) {
    let e = cerr(filter);
    assert!(e.line >= 1 && e.col >= 1, "{e:?}");
    let r = e.render(filter);
    assert!(r.contains('^'), "{r}");
    (e.pos, e.kind)
}

#[test]
fn error_positions() {
    assert_eq!(pos_of("evt.type = "), (11, ErrorKind::Syntax));
    assert_eq!(pos_of("(evt.type = x"), (13, ErrorKind::Syntax));
    assert_eq!(pos_of("evt.type = x)"), (12, ErrorKind::Syntax));
    assert_eq!(pos_of("evt.type foo x"), (9, ErrorKind::Syntax));
    assert_eq!(pos_of("evt.type containsx"), (9, ErrorKind::Syntax));
    assert_eq!(pos_of("proc.name regex '('"), (16, ErrorKind::Regex));
    assert_eq!(pos_of("fd.num = abc"), (9, ErrorKind::Value));
    assert_eq!(pos_of("fd.num in (1, 2x)"), (14, ErrorKind::Value));
    assert_eq!(pos_of("evt.num = -1"), (10, ErrorKind::Value));
    assert_eq!(pos_of("fd.sport = 70000"), (11, ErrorKind::Value));
    assert_eq!(pos_of("fd.num > abc"), (9, ErrorKind::Syntax));
    assert_eq!(pos_of("proc.name = \"abc"), (12, ErrorKind::Syntax));
    assert_eq!(pos_of("proc.name = \"a\\qc\""), (14, ErrorKind::Escape));
    assert_eq!(pos_of("fd.nope = 1"), (0, ErrorKind::UnknownField));
    assert_eq!(
        pos_of("evt.num = 1 and fd.nope = 1"),
        (16, ErrorKind::UnknownField)
    );
    assert_eq!(pos_of("proc.aname[x] = 1"), (11, ErrorKind::Value));
    assert_eq!(pos_of("evt.is_open_read = yes"), (19, ErrorKind::Value));
    assert_eq!(pos_of("fd.ip = 10.0.0.300"), (8, ErrorKind::Value));
    assert_eq!(pos_of("evt.buffer bcontains 4g"), (21, ErrorKind::Value));
    assert_eq!(pos_of("fd.num contains 1"), (16, ErrorKind::Type));
    assert_eq!(pos_of("tolower(fd.num) = 1"), (0, ErrorKind::Type));
    assert_eq!(pos_of("fd.num = val(proc.name)"), (13, ErrorKind::Type));
    assert_eq!(pos_of("evt.type = x orx"), (15, ErrorKind::Syntax));
    assert_eq!(pos_of("some_macro"), (0, ErrorKind::Macro));
    assert_eq!(pos_of(""), (0, ErrorKind::Syntax));
    assert_eq!(pos_of("   "), (3, ErrorKind::Syntax));
    let e = cerr("evt.type = x and\n  proc.name = ");
    assert_eq!((e.line, e.col), (2, 15));
}

#[test]
fn depth_limit_instead_of_overflow() {
    let deep = format!("{}evt.type=x{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(parse(&deep).unwrap_err().kind, ErrorKind::Depth);
    let ok = format!("{}evt.type=x{}", "(".repeat(99), ")".repeat(99));
    assert!(parse(&ok).is_ok());
    let tr = format!("{}fd.name{} = x", "tolower(".repeat(5000), ")".repeat(5000));
    assert_eq!(parse(&tr).unwrap_err().kind, ErrorKind::Depth);
    let nots = format!("{}evt.type=x", "not ".repeat(100_001));
    assert!(matches!(parse(&nots), Ok(Ast::Not { .. })));
    let opts = ParseOptions { max_depth: 10 };
    // The top level counts as one.
    assert!(parse_with(&format!("{}x{}", "(".repeat(9), ")".repeat(9)), &opts).is_ok());
    assert!(parse_with(&format!("{}x{}", "(".repeat(10), ")".repeat(10)), &opts).is_err());
    let (ast, errs) = parse_lenient(&deep);
    assert!(ast.is_none() && errs[0].kind == ErrorKind::Depth);
}

#[test]
fn lenient_reports_every_error() {
    let src = "evt.type = , and proc.name = x and fd.num > abc or (a = ) or b";
    let (ast, errs) = parse_lenient(src);
    let pos: Vec<usize> = errs.iter().map(|e| e.pos).collect();
    assert_eq!(pos, vec![11, 44, 54], "{errs:?}");
    let ast = ast.expect("partial tree");
    assert_eq!(ast.to_string(), "proc.name = x or a or b");
    let (ast, errs) = parse_lenient("evt.type = x) and y = 2");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(
        ast.map(|a| a.to_string()).as_deref(),
        Some("evt.type = x and y")
    );
    let (ast, errs) = parse_lenient("evt.type = x");
    assert!(ast.is_some() && errs.is_empty());
    let (_, errs) = parse_lenient("é)é and (");
    assert!(!errs.is_empty());
}

#[test]
fn macros_expand_on_ast() {
    let defs = |n: &str| -> Option<Ast> {
        let src = match n {
            "open_read" => "evt.type in (open, openat) and evt.is_open_read = true",
            "sensitive" => "fd.name startswith /etc",
            "both" => "open_read and sensitive",
            "loop_a" => "loop_b or evt.num = 1",
            "loop_b" => "not loop_a",
            _ => return None,
        };
        parse(src).ok()
    };
    let ast = expand(&parse("both and not proc.name = sshd").unwrap(), &defs).unwrap();
    let f = compile(&ast, &Reg).unwrap();
    assert!(f.matches(&mut open_ev(), &mut Scratch::default()));
    let e = expand(&parse("evt.num = 2 or loop_a").unwrap(), &defs).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Macro);
    assert!(
        e.message.contains("loop_a -> loop_b -> loop_a"),
        "{}",
        e.message
    );
    let e = expand(&parse("evt.num = 2 or nope").unwrap(), &defs).unwrap_err();
    assert_eq!(
        (e.pos, e.message.as_str()),
        (15, "Undefined macro 'nope' used in filter.")
    );
}

#[test]
fn lists_substitute_on_ast() {
    let lists = |n: &str| -> Option<Vec<Literal>> {
        let items: &[&str] = match n {
            "shells" => &["bash", "sh", "more_shells"],
            "more_shells" => &["zsh", "\"(systemd)\"", "my shell"],
            "loop1" => &["loop2"],
            "loop2" => &["loop1"],
            "empty" => &[],
            _ => return None,
        };
        Some(
            items
                .iter()
                .flat_map(|i| parse_list_item(i).unwrap())
                .collect(),
        )
    };
    let ast = substitute_lists(
        &parse("proc.name in (shells, 'shells', fish, empty)").unwrap(),
        &lists,
    )
    .unwrap();
    assert_eq!(
        ast.to_string(),
        r#"proc.name in (bash, sh, zsh, "(systemd)", "my shell", "shells", fish)"#
    );
    let ast = substitute_lists(
        &parse("proc.name pmatch more_shells and proc.name = shells").unwrap(),
        &lists,
    )
    .unwrap();
    assert_eq!(
        ast.to_string(),
        r#"proc.name pmatch (zsh, "(systemd)", "my shell") and proc.name = shells"#
    );
    let e = substitute_lists(&parse("proc.name in (loop1)").unwrap(), &lists).unwrap_err();
    assert_eq!((e.kind, e.pos), (ErrorKind::List, 14));
    assert_eq!(parse_list_item("a,b").unwrap().len(), 2);
    assert!(parse_list_item("(x").is_err());
}
