//! The eBPF recorder: everything that runs on the live machine while a
//! capture is being made (start snapshot, machine info, probes, writer).

pub mod procfs;
