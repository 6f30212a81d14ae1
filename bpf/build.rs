//! Build script: generates the libbpf-rs skeleton from the committed BPF
//! object `bpf/saker.bpf.o`, and the default syscall table as Rust
//! constants ([`syscall_table`]).
//!
//! A fresh machine has no clang, so the compiled object is committed next to
//! a hash of the sources it was built from (`bpf/saker.bpf.o.hash`). The
//! build fails if the sources changed without rebuilding the object. To
//! rebuild it (needs clang): `SAKER_BPF_REBUILD=1 cargo build`.

use std::env;
use std::fs;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

#[path = "syscall_table.rs"]
mod syscall_table;

const SOURCES: &[&str] = &["bpf/saker.bpf.c", "bpf/saker.h", "bpf/x86_64/vmlinux.h"];
const OBJ: &str = "bpf/saker.bpf.o";
const HASH: &str = "bpf/saker.bpf.o.hash";

fn sources_hash() -> String {
    let mut h = blake3::Hasher::new();
    for s in SOURCES {
        let bytes = fs::read(s).unwrap_or_else(|e| panic!("reading {s}: {e}"));
        h.update(s.as_bytes());
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    h.finalize().to_hex().to_string()
}

fn main() {
    for s in SOURCES.iter().chain([&OBJ, &HASH]) {
        println!("cargo:rerun-if-changed={s}");
    }
    println!("cargo:rerun-if-changed=bpf/build.rs");
    println!("cargo:rerun-if-changed=bpf/syscall_table.rs");
    println!("cargo:rerun-if-env-changed=SAKER_BPF_REBUILD");
    // A position-dependent `saker`: the loader then has no relative
    // relocations to apply (about 110k, over 2 MiB of pages), which took
    // a few ms of every run's start.
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    syscall_table::generate(&out_dir);
    if env::var_os("CARGO_FEATURE_BPF").is_none() {
        return;
    }
    let want = sources_hash();
    if env::var("SAKER_BPF_REBUILD").is_ok_and(|v| v == "1") {
        SkeletonBuilder::new()
            .source("bpf/saker.bpf.c")
            .obj(OBJ)
            .clang_args([
                "-Ibpf",
                "-Ibpf/x86_64",
                "-O2",
                "-g",
                "-Wall",
                "-Wno-unused-function",
            ])
            .build()
            .expect("compiling bpf/saker.bpf.c (needs clang)");
        fs::write(HASH, format!("{want}\n")).expect("writing the BPF object hash");
    }
    let have = fs::read_to_string(HASH).unwrap_or_default();
    if have.trim() != want {
        panic!(
            "bpf/saker.bpf.o is stale: its sources changed (hash {want}, object built from {}). \
             Rebuild it with clang: SAKER_BPF_REBUILD=1 cargo build",
            have.trim()
        );
    }
    let out = out_dir.join("saker.skel.rs");
    SkeletonBuilder::new()
        .obj(OBJ)
        .generate(&out)
        .expect("generating the BPF skeleton");
}
