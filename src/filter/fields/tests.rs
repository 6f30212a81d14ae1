//! Field tests: Falco ruleset coverage, and extraction per class on
//! synthetic records applied to a [`State`].

use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use crate::event::meta::{FdInfo, FdKind, GroupInfo, ProcInfo, Snapshot, UserInfo};
use crate::event::wire::{exec, fork, ParamKind, RecordBuilder, CODE_EXEC, CODE_FORK};
use crate::filter::{Ast, FieldRegistry, Operand, Rhs, Scratch, Span, Value};
use crate::output::Template;
use crate::state::Ops;

fn operand_fields(o: &Operand, out: &mut BTreeSet<String>) {
    match o {
        Operand::Field(f) => {
            let mut s = f.name.clone();
            if let Some(a) = &f.arg {
                s.push_str(&format!("[{}]", a.value));
            }
            out.insert(s);
        }
        Operand::Transform { arg, .. } => operand_fields(arg, out),
    }
}

fn ast_fields(a: &Ast, out: &mut BTreeSet<String>) {
    match a {
        Ast::And { children, .. } | Ast::Or { children, .. } => {
            children.iter().for_each(|c| ast_fields(c, out))
        }
        Ast::Not { child, .. } => ast_fields(child, out),
        Ast::Check { lhs, rhs, .. } => {
            operand_fields(lhs, out);
            if let Rhs::Field(o) = rhs {
                operand_fields(o, out);
            }
        }
        Ast::Identifier { .. } => {}
    }
}

fn yaml_seq(n: &crate::rules::yaml::Node) -> &[crate::rules::yaml::Node] {
    match &n.kind {
        crate::rules::yaml::Kind::Seq(v) => v,
        _ => &[],
    }
}

/// The scalar under `key` of a mapping node.
fn yaml_get<'a>(n: &'a crate::rules::yaml::Node, key: &str) -> Option<&'a str> {
    use crate::rules::yaml::Kind;
    let Kind::Map(m) = &n.kind else { return None };
    m.iter().find_map(|(k, v)| match (&k.kind, &v.kind) {
        (Kind::Scalar { value: kk, .. }, Kind::Scalar { value, .. }) if kk == key => {
            Some(value.as_str())
        }
        _ => None,
    })
}

/// The node under `key` of a mapping node.
fn yaml_node<'a>(
    n: &'a crate::rules::yaml::Node,
    key: &str,
) -> Option<&'a crate::rules::yaml::Node> {
    use crate::rules::yaml::Kind;
    let Kind::Map(m) = &n.kind else { return None };
    m.iter().find_map(|(k, v)| match &k.kind {
        Kind::Scalar { value, .. } if value == key => Some(v),
        _ => None,
    })
}

/// The field names of a rule's `exceptions:` (`fields:` is a list or one name).
fn exception_fields(item: &crate::rules::yaml::Node, out: &mut BTreeSet<String>) {
    use crate::rules::yaml::Kind;
    for ex in yaml_node(item, "exceptions").map(yaml_seq).unwrap_or(&[]) {
        match yaml_node(ex, "fields").map(|f| &f.kind) {
            Some(Kind::Scalar { value, .. }) => {
                out.insert(value.clone());
            }
            Some(Kind::Seq(v)) => out.extend(v.iter().filter_map(|f| match &f.kind {
                Kind::Scalar { value, .. } => Some(value.clone()),
                _ => None,
            })),
            _ => {}
        }
    }
}

#[test]
fn exception_fields_are_collected() {
    let text = "- rule: r\n  exceptions:\n    - name: a\n      fields: [proc.name, fd.name]\n    - name: b\n      fields: user.name\n";
    let docs = crate::rules::yaml::load(text).expect("yaml parses");
    let mut out = BTreeSet::new();
    for item in docs.iter().flat_map(yaml_seq) {
        exception_fields(item, &mut out);
    }
    assert_eq!(
        out.into_iter().collect::<Vec<_>>(),
        ["fd.name", "proc.name", "user.name"]
    );
}

/// Every field string used by the stable/incubating/sandbox Falco rulesets
/// (conditions of macros and rules, rule outputs and `exceptions: fields`).
fn falco_fields() -> BTreeSet<String> {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/falco"));
    let mut fields = BTreeSet::new();
    for file in [
        "falco_rules.yaml",
        "falco-incubating_rules.yaml",
        "falco-sandbox_rules.yaml",
    ] {
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{file}: the Falco rulesets must be present in CI"
            );
            continue;
        };
        let docs = crate::rules::yaml::load(&text).expect("ruleset parses");
        {
            for item in docs.iter().flat_map(yaml_seq) {
                exception_fields(item, &mut fields);
                if let Some(c) = yaml_get(item, "condition") {
                    let ast = crate::filter::parse(c)
                        .unwrap_or_else(|e| panic!("{file}: {}", e.render(c)));
                    ast_fields(&ast, &mut fields);
                }
                if let Some(o) = yaml_get(item, "output") {
                    // Resolve through a recording registry that accepts anything, to list
                    // the fields exactly as written.
                    struct Rec(std::cell::RefCell<BTreeSet<String>>);
                    impl FieldRegistry for Rec {
                        fn resolve(
                            &self,
                            name: &str,
                            arg: Option<&crate::filter::FieldArg>,
                            _span: Span,
                        ) -> Result<crate::filter::FieldInfo, crate::filter::FilterError>
                        {
                            let mut s = name.to_string();
                            if let Some(a) = arg {
                                s.push_str(&format!("[{}]", a.value));
                            }
                            self.0.borrow_mut().insert(s);
                            Ok(crate::filter::FieldInfo::new(
                                0,
                                crate::filter::FieldType::Str,
                            ))
                        }
                    }
                    let r = Rec(Default::default());
                    Template::parse(o, &r).unwrap_or_else(|e| panic!("{file}: {e}"));
                    fields.extend(r.0.into_inner());
                }
            }
        }
    }
    fields
}

#[test]
fn every_falco_ruleset_field_is_known() {
    let fields = falco_fields();
    if fields.is_empty() {
        eprintln!("SKIP: ../shared/falco not present");
        return;
    }
    assert!(
        fields.len() >= 108,
        "expected at least 108 field strings, got {}",
        fields.len()
    );
    let unknown: Vec<&String> = fields
        .iter()
        .filter(|f| {
            let (name, arg) = match f.split_once('[') {
                Some((n, a)) => (n, Some(a.trim_end_matches(']'))),
                None => (f.as_str(), None),
            };
            let arg = arg.map(|a| crate::filter::FieldArg {
                value: a.to_string(),
                quoted: false,
                span: Span::new(0, 0),
            });
            Fields.resolve(name, arg.as_ref(), Span::new(0, 0)).is_err()
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "fields unknown to the registry: {unknown:?}"
    );
}

#[test]
fn registry_args() {
    let r = |n: &str, a: Option<&str>| {
        let arg = a.map(|v| crate::filter::FieldArg {
            value: v.into(),
            quoted: false,
            span: Span::new(0, 0),
        });
        Fields.resolve(n, arg.as_ref(), Span::new(0, 0))
    };
    assert_eq!(r("proc.aname", Some("2")).unwrap().aux, 2);
    assert_eq!(r("proc.aname", None).unwrap().aux, ANY);
    assert!(r("proc.aname", Some("x")).is_err());
    assert!(r("proc.name", Some("1")).is_err());
    assert!(r("evt.arg", None).is_err());
    assert_eq!(r("evt.arg", Some("1")).unwrap().aux, 1);
    assert_eq!(
        r("evt.arg.flags", None).unwrap().arg.unwrap().value,
        "flags"
    );
    assert!(r("evt.arg.", None).is_err());
    assert!(r("proc.nosuch", None).is_err());
    // Every catalogue name resolves to itself.
    for (i, d) in CATALOG.iter().enumerate() {
        let a = match d.arg {
            ArgRule::IndexOrName => Some("0"),
            ArgRule::Text => Some("/x"),
            _ => None,
        };
        assert_eq!(r(d.name, a).unwrap().id as usize, i, "{}", d.name);
    }
}

/// A small world: bash (100) → sh (200) → cat (300), with fds and users.
fn world() -> (State, Syscalls) {
    let table = Syscalls::default_x86_64().clone();
    let p = |pid, ppid, comm: &str, exe: &str, args: &[&str]| ProcInfo {
        tid: pid,
        pid,
        ppid,
        vpid: pid,
        vtid: pid,
        comm: comm.into(),
        exe: exe.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        cwd: "/home/u".into(),
        uid: 1000,
        euid: 1000,
        gid: 1000,
        egid: 1000,
        loginuid: 1000,
        sid: 100,
        pgid: 300,
        start_time_ns: 1_000,
        cap_effective: 1 << 21,
        ..ProcInfo::default()
    };
    let mut cat = p(300, 200, "cat", "/usr/bin/cat", &["cat", "/etc/passwd"]);
    cat.fds = vec![FdInfo {
        fd: 1,
        kind: FdKind::Pipe,
        name: "pipe:[77]".into(),
        flags: 1,
        ino: 77,
        socket: None,
    }];
    let snap = Snapshot {
        ts: 0,
        procs: vec![
            p(100, 1, "bash", "/usr/bin/bash", &["-bash"]),
            p(200, 100, "sh", "/usr/bin/dash", &["sh", "-c", "x"]),
            cat,
        ],
        users: vec![UserInfo {
            uid: 1000,
            gid: 1000,
            name: "alice".into(),
            home: "/home/alice".into(),
            shell: "/bin/bash".into(),
        }],
        groups: vec![GroupInfo {
            gid: 1000,
            name: "staff".into(),
        }],
    };
    let st = State::new(Arc::new(Ops::compile(table.table())), &snap);
    (st, table)
}

fn code(t: &Syscalls, n: &str) -> u16 {
    t.codes(n)[0]
}

/// Applies `rec` and returns the text of each field in `fields` (None = no value).
fn eval(st: &mut State, t: &Syscalls, rec: &[u8], fields: &[&str]) -> Vec<Option<String>> {
    let (r, _) = crate::event::Record::parse(rec).unwrap();
    let eff = st.apply(&r);
    let meta = crate::capture::CaptureMeta::default();
    let env = FieldEnv::new(t, &meta, 0);
    let mut scratch = String::new();
    let mut cx = EventCtx::new(r, 41, st, t, &meta, &eff, &env, &mut scratch);
    fields
        .iter()
        .map(|f| {
            let tpl = Template::parse(&format!("%{f}"), &Fields).unwrap();
            let mut vals = ValueBuf::default();
            let mut out = String::new();
            tpl.render_text(&mut cx, &mut vals, &Default::default(), &mut out)
                .then_some(out)
        })
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn evt_fields_of_an_open() {
    let (mut st, t) = world();
    let rec = RecordBuilder::new(code(&t, "openat"), 1, 5_000, 300, 300, 3)
        .args(&[(-100i64) as u64, 0x1000, 0o1101, 0o755])
        .param(1, ParamKind::Str, b"out.sh")
        .build();
    let got = eval(
        &mut st,
        &t,
        &rec,
        &[
            "evt.num",
            "evt.type",
            "evt.dir",
            "evt.res",
            "evt.rawres",
            "evt.failed",
            "evt.is_open_read",
            "evt.is_open_write",
            "evt.is_open_exec",
            "evt.arg.flags",
            "evt.arg[0]",
            "evt.arg.name",
            "evt.cpu",
            "evt.category",
            "syscall.type",
            "evt.buffer",
        ],
    );
    assert_eq!(
        got,
        vec![
            s("42"),
            s("openat"),
            s("<"),
            s("SUCCESS"),
            s("3"),
            s("false"),
            s("false"),
            s("true"),
            s("true"),
            s("O_WRONLY|O_CREAT|O_TRUNC"),
            s("3(/home/u/out.sh)"),
            s("out.sh"),
            s("1"),
            s("file"),
            s("openat"),
            None,
        ]
    );
    let a = eval(
        &mut st,
        &t,
        &RecordBuilder::new(code(&t, "openat"), 0, 6_000, 300, 300, -2)
            .args(&[(-100i64) as u64, 0x1000, 0, 0])
            .param(1, ParamKind::Str, b"../x/./y")
            .build(),
        &[
            "evt.res",
            "evt.failed",
            "fd.num",
            "fd.name",
            "fd.nameraw",
            "fd.directory",
            "fd.filename",
            "fd.type",
        ],
    );
    assert_eq!(
        a,
        vec![
            s("ENOENT"),
            s("true"),
            s("-1"),
            s("/home/x/y"),
            s("../x/./y"),
            s("/home/x"),
            s("y"),
            None
        ]
    );
}

#[test]
fn proc_user_thread_fields() {
    let (mut st, t) = world();
    let rec = RecordBuilder::new(code(&t, "getpid"), 0, 2_000_000_001_000, 300, 300, 300).build();
    let got = eval(
        &mut st,
        &t,
        &rec,
        &[
            "proc.name",
            "proc.pname",
            "proc.aname[2]",
            "proc.aname",
            "proc.apid[1]",
            "proc.exe",
            "proc.exepath",
            "proc.args",
            "proc.cmdline",
            "proc.pcmdline",
            "proc.cwd",
            "proc.ppid",
            "proc.sname",
            "proc.loginshellid",
            "proc.duration",
            "proc.vpgid",
            "proc.is_vpgid_leader",
            "user.name",
            "user.uid",
            "user.homedir",
            "user.loginname",
            "user.loginuid",
            "group.name",
            "thread.tid",
            "thread.cap_effective",
            "container.id",
            "container.name",
            "proc.env",
            "proc.stdout.type",
            "proc.nthreads",
            "proc.aname[9]",
        ],
    );
    assert_eq!(
        got,
        vec![
            s("cat"),
            s("sh"),
            s("bash"),
            s("sh bash"),
            s("200"),
            s("cat"),
            s("/usr/bin/cat"),
            s("/etc/passwd"),
            s("cat /etc/passwd"),
            s("sh -c x"),
            s("/home/u/"),
            s("200"),
            s("bash"),
            s("100"),
            s("2000000000000"),
            s("300"),
            s("true"),
            s("alice"),
            s("1000"),
            s("/home/alice"),
            s("alice"),
            s("1000"),
            s("staff"),
            s("300"),
            s("CAP_SYS_ADMIN"),
            s("host"),
            s("host"),
            None,
            s("pipe"),
            s("1"),
            None,
        ]
    );
}

#[test]
fn exec_then_execve_exit_shows_the_new_image() {
    let (mut st, t) = world();
    // sh forks 400, which execs /usr/bin/id.
    let f = RecordBuilder::new(CODE_FORK, 0, 10, 200, 200, 0)
        .args(&[400, 400, 0x11, 400, 400])
        .build();
    eval(&mut st, &t, &f, &[]);
    let mut args = [0u64; exec::NARGS];
    args[exec::UID] = 0;
    args[exec::EUID] = 0;
    args[exec::PPID] = 200;
    args[exec::LOGINUID] = u64::from(u32::MAX);
    let e = RecordBuilder::new(CODE_EXEC, 0, 20, 400, 400, 0)
        .args(&args)
        .param(exec::P_FILENAME, ParamKind::Str, b"/usr/bin/id")
        .param(exec::P_ARGV, ParamKind::Argv, b"id\0-u\0")
        .param(exec::P_EXE, ParamKind::PathComp, b"id\0bin\0usr\0")
        .param(exec::P_COMM, ParamKind::Str, b"id")
        .build();
    let got = eval(&mut st, &t, &e, &["evt.type", "proc.name"]);
    assert_eq!(got, vec![s("procexec"), s("id")]);
    let x = RecordBuilder::new(code(&t, "execve"), 0, 21, 400, 400, 0)
        .args(&[0x10, 0x20, 0x30])
        .param(0, ParamKind::Str, b"/usr/bin/id")
        .build();
    let got = eval(
        &mut st,
        &t,
        &x,
        &[
            "evt.type",
            "evt.dir",
            "proc.name",
            "proc.cmdline",
            "proc.exepath",
            "proc.pname",
            "user.uid",
            "user.loginuid",
            "evt.arg.filename",
        ],
    );
    assert_eq!(
        got,
        vec![
            s("execve"),
            s("<"),
            s("id"),
            s("id -u"),
            s("/usr/bin/id"),
            s("sh"),
            s("0"),
            s("-1"),
            s("/usr/bin/id"),
        ]
    );
    // Falco's spawned_process macro matches it.
    let f = crate::filter::compile_str(
        "evt.type in (execve, execveat) and evt.dir=< and proc.name=id",
        &Fields,
    )
    .unwrap();
    let (r, _) = crate::event::Record::parse(&x).unwrap();
    let meta = crate::capture::CaptureMeta::default();
    let env = FieldEnv::new(&t, &meta, 0);
    let mut scratch = String::new();
    let eff = Effect::default();
    let mut cx = EventCtx::new(r, 0, &st, &t, &meta, &eff, &env, &mut scratch);
    assert!(f.matches(&mut cx, &mut Scratch::default()));
    let _ = fork::CHILD_PID;
}

#[test]
fn fd_fields_of_sockets_and_close() {
    let (mut st, t) = world();
    let sock = RecordBuilder::new(code(&t, "socket"), 0, 10, 300, 300, 5)
        .args(&[2, 1, 0])
        .build();
    assert_eq!(
        eval(
            &mut st,
            &t,
            &sock,
            &["fd.num", "fd.type", "fd.typechar", "fd.l4proto"]
        ),
        vec![s("5"), s("ipv4"), s("4"), s("tcp")]
    );
    let mut sa = vec![2u8, 0, 0x1f, 0x90, 10, 0, 0, 1];
    sa.extend_from_slice(&[0; 8]);
    let conn = RecordBuilder::new(code(&t, "connect"), 0, 20, 300, 300, 0)
        .args(&[5, 0x1000, 16])
        .param(1, ParamKind::Sockaddr, &sa)
        .build();
    let got = eval(
        &mut st,
        &t,
        &conn,
        &[
            "fd.sip",
            "fd.sport",
            "fd.rport",
            "fd.connected",
            "fd.is_server",
            "fd.sockfamily",
            "fd.name_changed",
            "evt.category",
        ],
    );
    assert_eq!(
        got,
        vec![
            s("10.0.0.1"),
            s("8080"),
            s("8080"),
            s("true"),
            s("false"),
            s("ip"),
            s("true"),
            s("net")
        ]
    );
    let w = RecordBuilder::new(code(&t, "write"), 0, 30, 300, 300, 3)
        .args(&[5, 0x2000, 3])
        .param(1, ParamKind::Buf, b"a\x1bb")
        .build();
    let got = eval(
        &mut st,
        &t,
        &w,
        &[
            "fd.name",
            "evt.buffer",
            "evt.buflen",
            "evt.is_io_write",
            "evt.io_dir",
        ],
    );
    // Only the remote end is known (no bind, no getsockname).
    assert_eq!(got[0], s("10.0.0.1:8080"));
    assert_eq!(got[1..], [s("a\\x1bb"), s("3"), s("true"), s("w")]);
    // evt.args is escaped exactly once (no doubled backslash, no raw ESC).
    let w2 = RecordBuilder::new(code(&t, "write"), 0, 31, 300, 300, 3)
        .args(&[1, 0x2000, 3])
        .param(1, ParamKind::Buf, b"a\x1bb\\")
        .build();
    let args = eval(&mut st, &t, &w2, &["evt.args"]).remove(0).unwrap();
    assert_eq!(args, "res=3 fd=1(pipe:[77]) data=a\\x1bb\\\\ count=3");
    let c = RecordBuilder::new(code(&t, "close"), 0, 40, 300, 300, 0)
        .args(&[5])
        .build();
    assert_eq!(
        eval(&mut st, &t, &c, &["fd.num", "fd.type"]),
        vec![s("5"), s("ipv4")]
    );
    // After the close, the fd is gone.
    let c2 = RecordBuilder::new(code(&t, "close"), 0, 50, 300, 300, -9)
        .args(&[5])
        .build();
    assert_eq!(
        eval(&mut st, &t, &c2, &["fd.num", "fd.type"]),
        vec![s("5"), None]
    );
}

#[test]
fn fs_path_fields() {
    let (mut st, t) = world();
    let r = RecordBuilder::new(code(&t, "renameat2"), 0, 10, 300, 300, 0)
        .args(&[(-100i64) as u64, 1, (-100i64) as u64, 2, 0])
        .param(1, ParamKind::Str, b"a.txt")
        .param(3, ParamKind::Str, b"/tmp/b.txt")
        .build();
    assert_eq!(
        eval(
            &mut st,
            &t,
            &r,
            &[
                "fs.path.source",
                "fs.path.target",
                "fs.path.sourceraw",
                "fs.path.name"
            ]
        ),
        vec![s("/home/u/a.txt"), s("/tmp/b.txt"), s("a.txt"), None]
    );
    let m = RecordBuilder::new(code(&t, "mkdir"), 0, 10, 300, 300, 0)
        .args(&[1, 0o755])
        .param(0, ParamKind::Str, b"d")
        .build();
    assert_eq!(
        eval(&mut st, &t, &m, &["fs.path.name", "evt.arg.path"]),
        vec![s("/home/u/d"), s("d")]
    );
}

#[test]
fn missing_thread_gives_no_value() {
    let (mut st, t) = world();
    let rec = RecordBuilder::new(code(&t, "getpid"), 0, 10, 999, 999, 999).build();
    // A lazily created thread has no comm and no exe.
    let got = eval(
        &mut st,
        &t,
        &rec,
        &["proc.name", "proc.exepath", "proc.pid", "user.uid"],
    );
    assert_eq!(got, vec![None, None, s("999"), s("0")]);
    let _: Option<Value<'_>> = None;
}
