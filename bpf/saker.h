/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * saker wire ABI: the records the BPF probes write into the ring buffers.
 *
 * The same bytes are stored verbatim in capture blocks (see format-spec.md,
 * "Event records"), so this header is the single source of truth for the
 * record layout. The Rust decoder lives in src/event/wire.rs and is checked
 * against the skeleton's BTF types by a unit test.
 *
 * All fields are little-endian (x86_64 native).
 */
#ifndef SAKER_H
#define SAKER_H

/* Event codes (struct saker_hdr.code). */
#define SAKER_CODE_COMPAT_BASE 512  /* 32-bit compat syscall nr + 512 */
#define SAKER_CODE_SPECIAL 1024     /* first non-syscall code */
#define SAKER_CODE_FORK 1024        /* sched_process_fork */
#define SAKER_CODE_EXEC 1025        /* sched_process_exec */
#define SAKER_CODE_EXIT 1026        /* sched_process_exit */
#define SAKER_CODE_DROP 1027        /* gap marker: events lost on a CPU */

/* Header flags (struct saker_hdr.flags). */
#define SAKER_F_UNFINISHED 0x01 /* syscall had not returned when recording stopped */
#define SAKER_F_ENTER_TS 0x02   /* a u64 entry timestamp follows the args */
#define SAKER_F_COMPAT 0x04     /* 32-bit compat syscall */
#define SAKER_F_TRUNCATED 0x08  /* a param was cut to fit the record */

/* Param kinds (struct saker_param.kind). */
#define SAKER_P_STR 1      /* NUL-free string (path, name) */
#define SAKER_P_BUF 2      /* I/O data, cut at the snaplen */
#define SAKER_P_SOCKADDR 3 /* raw struct sockaddr bytes */
#define SAKER_P_ARGV 4     /* NUL-separated strings */
#define SAKER_P_STRUCT 5   /* raw bytes of a fixed-size struct */
#define SAKER_P_PATHCOMP 6 /* path components, leaf first, NUL-separated */

/* Per-argument capture kinds (struct saker_sc_spec.kind), set from user space. */
#define SAKER_A_NONE 0
#define SAKER_A_STR 1          /* user string; aux != 0: only when arg 0 == aux (prctl) */
#define SAKER_A_BUF_IN 2       /* input buffer, length in arg aux */
#define SAKER_A_BUF_OUT 3      /* output buffer, length = return value */
#define SAKER_A_SOCKADDR_IN 4  /* sockaddr, length in arg aux */
#define SAKER_A_SOCKADDR_OUT 5 /* sockaddr, length via int * in arg aux */
#define SAKER_A_IOVEC_IN 6     /* iovec array, count in arg aux */
#define SAKER_A_IOVEC_OUT 7    /* iovec array, count in arg aux, data length = ret */
#define SAKER_A_MSGHDR_IN 8    /* struct user_msghdr: name + iov data */
#define SAKER_A_MSGHDR_OUT 9   /* same, data length = ret */
#define SAKER_A_ARGV 10        /* NULL-terminated array of strings */
#define SAKER_A_STRUCT_IN 11   /* fixed struct, aux = size in bytes */
#define SAKER_A_STRUCT_OUT 12  /* fixed struct read only on success */
#define SAKER_A_SOCK_LOCAL 13  /* fd arg of connect/bind/listen: the socket's local address at exit */
#define SAKER_A_PIPE_FDS 14    /* int[2] of pipe/pipe2 + the pipe's inode (16-byte struct) */
#define SAKER_A_SOCK_LOCAL_RET 15 /* fd arg of accept/accept4: the new socket's (ret) local, then peer address */

#define SAKER_MAX_SYSCALLS 512
#define SAKER_MAX_PIDS 16
#define SAKER_MAX_COMMS 8

/* Every record starts with this 32-byte header. */
struct saker_hdr {
	__u16 len;   /* whole record length in bytes */
	__u16 code;  /* SAKER_CODE_* or syscall nr */
	__u16 cpu;
	__u8 flags;  /* SAKER_F_* */
	__u8 nargs;  /* u64 args that follow the header */
	__u64 ts;    /* CLOCK_BOOTTIME ns (exit time for syscalls) */
	__u32 tid;
	__u32 pid;   /* thread group id */
	__s64 ret;
};

/* After the args (and the optional entry timestamp), params follow. */
struct saker_param {
	__u16 len;  /* bytes of data after this 4-byte header */
	__u8 idx;   /* argument index it belongs to */
	__u8 kind;  /* SAKER_P_* */
};

/* How to capture one syscall's arguments. */
struct saker_sc_spec {
	__u8 nargs;
	__u8 kind[6];
	__u8 aux[6];
	__u8 pad[3];
};

/* Per-CPU drop accounting, mirrored to user space. */
struct saker_drops {
	__u64 total;    /* events lost since start */
	__u64 pending;  /* lost events not yet reported by a gap marker */
	__u64 first_ts; /* time of the first pending loss */
	__u64 markers;  /* lost events reported through gap markers */
};

#endif /* SAKER_H */
