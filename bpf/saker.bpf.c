// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * saker's kernel side: one raw tracepoint on syscall exit captures every
 * syscall (arguments are still in pt_regs at exit), three scheduler
 * tracepoints capture process lifecycle, and an optional sys_enter program
 * records entry timestamps for latency.
 *
 * Records (bpf/saker.h) go to per-CPU ring buffers without wakeups; user
 * space drains them in batches. A failed reservation is counted per CPU and
 * reported in-stream by a gap marker as soon as the ring has room again.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "saker.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_CPUS 1024
#define SCRATCH_SIZE (192 * 1024) /* any 17-bit offset plus a 32 KiB write fits */
#define OFF_MASK 0xffff          /* every write starts below 64 KiB */
#define REC_MAX 0xffff           /* u16 record length */
#define STR_MAX 4096             /* paths and strings */
#define BUF_MAX 0x7fff           /* one buffer param */
#define IOV_MAX_SEGS 8
#define ARGV_MAX_ARGS 32
#define ARGV_MAX_BYTES 4096
#define SOCKADDR_MAX 128
#define PATH_MAX_DEPTH 32
#define TS_COMPAT 0x0002
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_INET 2
#define AF_INET6 10
#define IOV_ARGS(cnt, max) (((__u64)(cnt) & 0xffffffff) | ((__u64)(max) << 32))
#define SPEC_SKIP_ON_SUCCESS 0x01 /* saker_sc_spec.pad[0]: args invalid after success (execve) */

/* ---- configuration, set by user space before load (rodata) ---- */
const volatile __u32 self_tgid = 0;
const volatile __u32 snaplen = 80;
const volatile bool want_latency = false;
const volatile bool only_tracked = false;
const volatile __u32 n_pids = 0;
const volatile __u32 filter_pids[SAKER_MAX_PIDS] = {};
const volatile __u32 n_comms = 0;
const volatile char filter_comms[SAKER_MAX_COMMS][16] = {};
const volatile struct saker_sc_spec specs[SAKER_MAX_SYSCALLS] = {};
const volatile struct saker_sc_spec compat_specs[SAKER_MAX_SYSCALLS] = {};

/* ---- maps ---- */
struct saker_ringbuf {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct saker_ringbuf);
} rings SEC(".maps");

struct saker_scratch {
	__u8 buf[SCRATCH_SIZE];
};

/* One scratch record per CPU (max_entries is set to the CPU count by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct saker_scratch);
} scratch_map SEC(".maps");

/* Per-CPU drop counters, read by user space through the mmapped .bss. */
struct saker_drops drop_ctr[MAX_CPUS] = {};

/* Thread groups being followed (--only-cmd): the launched command and its descendants. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

struct saker_enter {
	__u64 ts;
	__s64 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct saker_enter);
} enter_store SEC(".maps");

/* ---- helpers ---- */

static __always_inline bool comm_matches(void)
{
	char comm[16];
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < SAKER_MAX_COMMS; i++) {
		if (i >= n_comms)
			break;
		bool eq = true;
		for (int j = 0; j < 16; j++) {
			if (comm[j] != filter_comms[i][j]) {
				eq = false;
				break;
			}
			if (comm[j] == 0)
				break;
		}
		if (eq)
			return true;
	}
	return false;
}

/* Whether events of the current thread group are recorded. */
static __always_inline bool wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (only_tracked && !bpf_map_lookup_elem(&tracked, &tgid))
		return false;
	if (n_pids) {
		bool hit = false;
		for (int i = 0; i < SAKER_MAX_PIDS; i++) {
			if (i < n_pids && filter_pids[i] == tgid)
				hit = true;
		}
		if (!hit)
			return false;
	}
	if (n_comms && !comm_matches())
		return false;
	return true;
}

static __always_inline void *ring_for(__u32 cpu)
{
	return bpf_map_lookup_elem(&rings, &cpu);
}

static __always_inline void note_drop(__u32 cpu, __u64 ts)
{
	struct saker_drops *d = &drop_ctr[cpu & (MAX_CPUS - 1)];
	__sync_fetch_and_add(&d->total, 1);
	if (d->pending == 0)
		d->first_ts = ts;
	d->pending++;
}

/* Emits a gap marker for pending drops on this CPU, if any. */
static __always_inline void flush_drops(void *ring, __u32 cpu, __u64 ts)
{
	struct saker_drops *d = &drop_ctr[cpu & (MAX_CPUS - 1)];
	if (d->pending == 0)
		return;
	struct {
		struct saker_hdr h;
		__u64 args[2];
	} *m = bpf_ringbuf_reserve(ring, sizeof(*m), 0);
	if (!m)
		return;
	__u64 n = d->pending;
	m->h.len = sizeof(*m);
	m->h.code = SAKER_CODE_DROP;
	m->h.cpu = cpu;
	m->h.flags = 0;
	m->h.nargs = 2;
	m->h.ts = ts;
	m->h.tid = 0;
	m->h.pid = 0;
	m->h.ret = n;
	m->args[0] = n;
	m->args[1] = d->first_ts;
	d->pending = 0;
	d->markers += n;
	bpf_ringbuf_submit(m, BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_hdr(struct saker_hdr *h, __u16 code, __u32 cpu, __u64 ts,
				     __u64 pid_tgid, __s64 ret)
{
	h->code = code;
	h->cpu = cpu;
	h->flags = 0;
	h->nargs = 0;
	h->ts = ts;
	h->tid = (__u32)pid_tgid;
	h->pid = pid_tgid >> 32;
	h->ret = ret;
}

/* A pointer into the scratch buffer that the verifier can bound whatever it knows of `pos`. */
static __always_inline void *at(struct saker_scratch *s, __u32 pos)
{
	return &s->buf[pos & 0x1ffff];
}

static __always_inline struct saker_param *param_at(struct saker_scratch *s, __u32 off)
{
	return (struct saker_param *)&s->buf[off & OFF_MASK];
}

/* Room left for param data at `off` (records are at most 64 KiB). */
static __always_inline __u32 room(__u32 off)
{
	__u32 end = (off & OFF_MASK) + sizeof(struct saker_param);
	return end >= REC_MAX ? 0 : REC_MAX - end;
}

/* `ik` packs the param's arg index (low byte) and kind (next byte): BPF calls take 5 args. */
#define IK(idx, kind) ((__u32)(idx) | ((__u32)(kind) << 8))

/* Marks the record in `s` as holding a param cut by a capture limit (not the snaplen). */
static __always_inline void mark_truncated(struct saker_scratch *s)
{
	((struct saker_hdr *)s->buf)->flags |= SAKER_F_TRUNCATED;
}

__noinline __u32 put_str(struct saker_scratch *s, __u32 off, __u32 ik, __u64 uptr, bool user)
{
	if (!s)
		return off;
	__u8 idx = ik & 0xff, kind = ik >> 8;
	__u32 r = room(off);
	if (!uptr)
		return off;
	if (r < 2) {
		mark_truncated(s);
		return off;
	}
	if (r > STR_MAX)
		r = STR_MAX;
	__u32 doff = (off + sizeof(struct saker_param)) & OFF_MASK;
	long n = user ? bpf_probe_read_user_str(at(s, doff), r & (STR_MAX - 1 + STR_MAX), (void *)uptr)
		      : bpf_probe_read_kernel_str(at(s, doff), r & (STR_MAX - 1 + STR_MAX), (void *)uptr);
	if (n <= 0)
		return off;
	if (n >= r) /* filled the room: the string was (or may have been) longer */
		mark_truncated(s);
	struct saker_param *p = param_at(s, off);
	p->len = n - 1; /* without the NUL */
	p->idx = idx;
	p->kind = kind;
	return off + sizeof(*p) + n - 1;
}

__noinline __u32 put_buf(struct saker_scratch *s, __u32 off, __u32 ik, __u64 uptr, __u64 len)
{
	if (!s)
		return off;
	__u8 idx = ik & 0xff, kind = ik >> 8;
	__u32 r = room(off);
	if (!uptr || len == 0)
		return off;
	if (len > r || len > BUF_MAX)
		mark_truncated(s);
	if (len > r)
		len = r;
	if (len > BUF_MAX)
		len = BUF_MAX;
	if (len == 0)
		return off;
	__u32 doff = (off + sizeof(struct saker_param)) & OFF_MASK;
	if (bpf_probe_read_user(at(s, doff), len & BUF_MAX, (void *)uptr))
		return off;
	struct saker_param *p = param_at(s, off);
	p->len = len;
	p->idx = idx;
	p->kind = kind;
	return off + sizeof(*p) + (len & BUF_MAX);
}

/* Gathers up to `max` bytes of an iovec array into one Buf param. */
/* `cnt_max` packs the iovec count (low 32 bits) and the byte limit (high 32 bits). */
__noinline __u32 put_iov(struct saker_scratch *s, __u32 off, __u8 idx, __u64 iovp, __u64 cnt_max)
{
	if (!s)
		return off;
	__u64 cnt = cnt_max & 0xffffffff, max = cnt_max >> 32;
	__u32 r = room(off);
	if (!iovp || max == 0)
		return off;
	if (max > r || max > BUF_MAX)
		mark_truncated(s);
	if (max > r)
		max = r;
	if (max > BUF_MAX)
		max = BUF_MAX;
	__u32 base = (off + sizeof(struct saker_param)) & OFF_MASK;
	__u32 got = 0;
	for (int i = 0; i < IOV_MAX_SEGS; i++) {
		if (i >= cnt || got >= max)
			break;
		struct iovec iov;
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(iovp + i * sizeof(iov))))
			break;
		__u64 n = iov.iov_len;
		if (n > max - got)
			n = max - got;
		n &= BUF_MAX;
		if (n && bpf_probe_read_user(at(s, base + (got & BUF_MAX)), n,
					     iov.iov_base))
			break;
		got += n;
	}
	if (!got)
		return off;
	struct saker_param *p = param_at(s, off);
	p->len = got;
	p->idx = idx;
	p->kind = SAKER_P_BUF;
	return off + sizeof(*p) + (got & BUF_MAX);
}

/* NUL-separated argv strings, at most ARGV_MAX_BYTES. */
__noinline __u32 put_argv(struct saker_scratch *s, __u32 off, __u8 idx, __u64 argvp)
{
	if (!s)
		return off;
	__u32 r = room(off);
	if (!argvp)
		return off;
	if (r < 2) {
		mark_truncated(s);
		return off;
	}
	__u32 max = r < ARGV_MAX_BYTES ? r : ARGV_MAX_BYTES;
	__u32 base = (off + sizeof(struct saker_param)) & OFF_MASK;
	__u32 got = 0;
	int cut = 1; /* cleared when argv's NULL ends the loop */
	for (int i = 0; i < ARGV_MAX_ARGS; i++) {
		__u64 ap = 0;
		if (bpf_probe_read_user(&ap, sizeof(ap), (void *)(argvp + i * 8)) || !ap) {
			cut = 0;
			break;
		}
		if (got >= max)
			break;
		__u32 want = (max - got) & (ARGV_MAX_BYTES - 1);
		long n = bpf_probe_read_user_str(at(s, base + (got & 0x1fff)), want, (void *)ap);
		if (n <= 0) {
			cut = 0;
			break;
		}
		got += n;
		if (n >= want)
			break; /* this argument was cut */
		if (i == ARGV_MAX_ARGS - 1) {
			/* all 32 taken: cut only if a 33rd follows */
			__u64 next = 0;
			if (bpf_probe_read_user(&next, sizeof(next), (void *)(argvp + ARGV_MAX_ARGS * 8)) || !next)
				cut = 0;
		}
	}
	if (cut)
		mark_truncated(s);
	if (!got)
		return off;
	struct saker_param *p = param_at(s, off);
	p->len = got;
	p->idx = idx;
	p->kind = SAKER_P_ARGV;
	return off + sizeof(*p) + (got & 0x1fff);
}

__noinline __u32 put_msghdr(struct saker_scratch *s, __u32 off, __u8 idx, __u64 msgp, __u64 max)
{
	if (!s)
		return off;
	struct user_msghdr m;
	if (!msgp || bpf_probe_read_user(&m, sizeof(m), (void *)msgp))
		return off;
	if (m.msg_name && m.msg_namelen > 0) {
		__u32 nl = m.msg_namelen > SOCKADDR_MAX ? SOCKADDR_MAX : m.msg_namelen;
		off = put_buf(s, off, IK(idx, SAKER_P_SOCKADDR), (__u64)m.msg_name, nl) & OFF_MASK;
	}
	return put_iov(s, off, idx, (__u64)m.msg_iov, IOV_ARGS(m.msg_iovlen, max));
}

/* The struct file of the current task's fd `fd`, or NULL. */
static __always_inline struct file *fd_file(__u64 fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd & 0xffffffff]);
	return f;
}

/* One end of `sk` (inet, inet6) as a raw sockaddr param at `off`: the local
 * one, or the peer. Nothing while that end's port is 0. */
static __always_inline __u32 put_inet(struct saker_scratch *s, __u32 off, __u8 idx, struct sock *sk,
				      bool peer)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/* struct sockaddr_in{,6}: family (host order), port (network order), address */
	__u8 port[2];
	if (peer) {
		__u16 be = BPF_CORE_READ(sk, __sk_common.skc_dport); /* network order */
		__builtin_memcpy(port, &be, 2);
	} else {
		__u16 num = BPF_CORE_READ(sk, __sk_common.skc_num); /* host order */
		port[0] = num >> 8;
		port[1] = num & 0xff;
	}
	if (!port[0] && !port[1]) /* nothing bound (a refused connect gives its port back) */
		return off;
	__u32 doff = (off + sizeof(struct saker_param)) & OFF_MASK;
	__u8 *d = at(s, doff);
	__u32 len;
	if (family == AF_INET) {
		__builtin_memset(d, 0, 16);
		*(__u16 *)d = family;
		d[2] = port[0];
		d[3] = port[1];
		*(__u32 *)(d + 4) = peer ? BPF_CORE_READ(sk, __sk_common.skc_daddr)
					 : BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		len = 16;
	} else if (family == AF_INET6) {
		__builtin_memset(d, 0, 28);
		*(__u16 *)d = family;
		d[2] = port[0];
		d[3] = port[1];
		if (peer)
			bpf_core_read(d + 8, 16, &sk->__sk_common.skc_v6_daddr);
		else
			bpf_core_read(d + 8, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		len = 28;
	} else {
		return off;
	}
	struct saker_param *p = param_at(s, off);
	p->len = len;
	p->idx = idx;
	p->kind = SAKER_P_SOCKADDR;
	return off + sizeof(*p) + len;
}

/* The local address of socket `fd` as a raw sockaddr param; with `peer`,
 * then the peer's (accept: the kernel's view, whatever buffer was passed). */
__noinline __u32 put_sock_local(struct saker_scratch *s, __u32 off, __u8 idx, __u64 fd, bool peer)
{
	if (!s)
		return off;
	if (room(off) < 2 * (sizeof(struct saker_param) + 28)) {
		mark_truncated(s);
		return off;
	}
	struct file *f = fd_file(fd);
	if (!f)
		return off;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return off;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__u32 at_local = off;
	off = put_inet(s, off, idx, sk, false);
	if (peer && off != at_local)
		off = put_inet(s, off, idx, sk, true);
	return off;
}

/* pipe/pipe2's int[2] followed by the pipe's inode number (u64): 16 bytes. */
__noinline __u32 put_pipe_fds(struct saker_scratch *s, __u32 off, __u8 idx, __u64 uptr)
{
	if (!s)
		return off;
	if (room(off) < 16) {
		mark_truncated(s);
		return off;
	}
	__s32 fds[2];
	if (!uptr || bpf_probe_read_user(fds, sizeof(fds), (void *)uptr))
		return off;
	__u64 ino = 0;
	if (fds[0] >= 0) {
		struct file *f = fd_file(fds[0]);
		if (f)
			ino = BPF_CORE_READ(f, f_inode, i_ino);
	}
	__u32 doff = (off + sizeof(struct saker_param)) & OFF_MASK;
	__u8 *d = at(s, doff);
	*(__s32 *)d = fds[0];
	*(__s32 *)(d + 4) = fds[1];
	*(__u64 *)(d + 8) = ino;
	struct saker_param *p = param_at(s, off);
	p->len = 16;
	p->idx = idx;
	p->kind = SAKER_P_STRUCT;
	return off + sizeof(*p) + 16;
}

static __always_inline __u32 put_arg(struct saker_scratch *s, __u32 off, __u8 i, __u8 kind, __u8 aux,
				     __u64 *args, __s64 ret)
{
	__u64 a = args[i & 7];
	__u64 alen = args[aux & 7];
	__u64 out = ret > 0 ? (__u64)ret : 0;
	switch (kind) {
	case SAKER_A_STR:
		/* A conditional string (prctl's arg2): only for the option in aux. */
		if (aux && args[0] != aux)
			return off;
		return put_str(s, off, IK(i, SAKER_P_STR), a, true);
	case SAKER_A_BUF_IN:
		return put_buf(s, off, IK(i, SAKER_P_BUF), a, alen < snaplen ? alen : snaplen);
	case SAKER_A_BUF_OUT:
		return put_buf(s, off, IK(i, SAKER_P_BUF), a, out < snaplen ? out : snaplen);
	case SAKER_A_SOCKADDR_IN:
		/* Whatever the result: rules look at failed connects too. */
		return put_buf(s, off, IK(i, SAKER_P_SOCKADDR), a, alen < SOCKADDR_MAX ? alen : SOCKADDR_MAX);
	case SAKER_A_SOCKADDR_OUT: {
		__u32 l = 0;
		if (ret < 0 || !alen || bpf_probe_read_user(&l, sizeof(l), (void *)alen))
			return off;
		return put_buf(s, off, IK(i, SAKER_P_SOCKADDR), a, l < SOCKADDR_MAX ? l : SOCKADDR_MAX);
	}
	case SAKER_A_IOVEC_IN:
		return put_iov(s, off, i, a, IOV_ARGS(alen, snaplen));
	case SAKER_A_IOVEC_OUT:
		return put_iov(s, off, i, a, IOV_ARGS(alen, out < snaplen ? out : snaplen));
	case SAKER_A_MSGHDR_IN:
		return put_msghdr(s, off, i, a, snaplen);
	case SAKER_A_MSGHDR_OUT:
		if (ret < 0)
			return off;
		return put_msghdr(s, off, i, a, out < snaplen ? out : snaplen);
	case SAKER_A_ARGV:
		return put_argv(s, off, i, a);
	case SAKER_A_STRUCT_IN:
		return put_buf(s, off, IK(i, SAKER_P_STRUCT), a, aux);
	case SAKER_A_STRUCT_OUT:
		if (ret < 0)
			return off;
		return put_buf(s, off, IK(i, SAKER_P_STRUCT), a, aux);
	case SAKER_A_SOCK_LOCAL:
		return put_sock_local(s, off, i, a, false);
	case SAKER_A_SOCK_LOCAL_RET:
		if (ret < 0)
			return off;
		return put_sock_local(s, off, i, (__u64)ret, true);
	case SAKER_A_PIPE_FDS:
		if (ret < 0)
			return off;
		return put_pipe_fds(s, off, i, a);
	}
	return off;
}

static __always_inline void submit(void *ring, struct saker_scratch *s, __u32 len, __u32 cpu, __u64 ts)
{
	len &= OFF_MASK;
	if (len < sizeof(struct saker_hdr))
		return;
	((struct saker_hdr *)s->buf)->len = len;
	if (bpf_ringbuf_output(ring, s->buf, len, BPF_RB_NO_WAKEUP))
		note_drop(cpu, ts);
}

/* ---- syscalls ---- */

SEC("raw_tp/sys_enter")
int saker_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!wanted(pid_tgid >> 32))
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	struct saker_enter *e = bpf_task_storage_get(&enter_store, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (e) {
		e->ts = bpf_ktime_get_boot_ns();
		e->nr = ctx->args[1];
	}
	return 0;
}

/* The body shared by the raw and BTF sys_exit programs. */
static __always_inline int on_sys_exit(const struct pt_regs *regs, __s64 ret, __u64 pid_tgid)
{
	__u64 ts = bpf_ktime_get_boot_ns();
	__u32 cpu = bpf_get_smp_processor_id();
	void *ring = ring_for(cpu);
	if (!ring)
		return 0;
	flush_drops(ring, cpu, ts);

	__s64 nr = regs->orig_ax;
	if (nr < 0 || nr >= SAKER_MAX_SYSCALLS)
		return 0;

	struct task_struct *task = bpf_get_current_task_btf();
	bool compat = task->thread_info.status & TS_COMPAT;
	__u64 args[8] = {};
	const volatile struct saker_sc_spec *spec;
	if (compat) {
		args[0] = regs->bx; args[1] = regs->cx; args[2] = regs->dx;
		args[3] = regs->si; args[4] = regs->di; args[5] = regs->bp;
		/* compat registers are 32 bits wide */
		for (int i = 0; i < 6; i++)
			args[i] &= 0xffffffff;
		spec = &compat_specs[nr & (SAKER_MAX_SYSCALLS - 1)];
	} else {
		args[0] = regs->di; args[1] = regs->si; args[2] = regs->dx;
		args[3] = regs->r10; args[4] = regs->r8; args[5] = regs->r9;
		spec = &specs[nr & (SAKER_MAX_SYSCALLS - 1)];
	}
	__u8 nargs = spec->nargs > 6 ? 6 : spec->nargs;
	__u16 code = compat ? nr + SAKER_CODE_COMPAT_BASE : nr;
	__u8 flags = compat ? SAKER_F_COMPAT : 0;

	__u64 enter_ts = 0;
	if (want_latency) {
		struct saker_enter *e = bpf_task_storage_get(&enter_store, task, 0, 0);
		if (e && e->nr == nr && e->ts) {
			enter_ts = e->ts;
			e->ts = 0;
		}
	}

	bool has_ptr = false;
	if (!(ret == 0 && (spec->pad[0] & SPEC_SKIP_ON_SUCCESS))) {
		for (int i = 0; i < 6; i++)
			if (spec->kind[i])
				has_ptr = true;
	}

	if (!has_ptr && !enter_ts) {
		/* Fast path: fixed size, reserve/submit straight into the ring. */
		struct {
			struct saker_hdr h;
			__u64 a[6];
		} *r;
		__u32 size = sizeof(struct saker_hdr) + nargs * 8;
		r = bpf_ringbuf_reserve(ring, sizeof(*r), 0);
		if (!r) {
			note_drop(cpu, ts);
			return 0;
		}
		fill_hdr(&r->h, code, cpu, ts, pid_tgid, ret);
		r->h.flags = flags;
		r->h.nargs = nargs;
		r->h.len = size;
		for (int i = 0; i < 6; i++)
			r->a[i] = args[i];
		/* The record is padded to 80 bytes in the ring; `len` says how much is real. */
		bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
		return 0;
	}

	struct saker_scratch *s = bpf_map_lookup_elem(&scratch_map, &cpu);
	if (!s)
		return 0;
	struct saker_hdr *h = (struct saker_hdr *)s->buf;
	fill_hdr(h, code, cpu, ts, pid_tgid, ret);
	h->nargs = nargs;
	__u64 *av = (__u64 *)at(s, sizeof(struct saker_hdr));
	for (int i = 0; i < 6; i++)
		av[i] = args[i];
	__u32 off = sizeof(struct saker_hdr) + nargs * 8;
	if (enter_ts) {
		flags |= SAKER_F_ENTER_TS;
		*(__u64 *)at(s, off & 0x7f) = enter_ts;
		off += 8;
	}
	h->flags = flags;
	if (has_ptr) {
		for (__u8 i = 0; i < 6; i++) {
			if (i >= nargs)
				break;
			__u8 kind = spec->kind[i];
			if (kind)
				off = put_arg(s, off, i, kind, spec->aux[i], args, ret) & OFF_MASK;
		}
	}
	submit(ring, s, off, cpu, ts);
	return 0;
}

SEC("raw_tp/sys_exit")
int saker_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!wanted(pid_tgid >> 32))
		return 0;
	struct pt_regs regs;
	if (bpf_probe_read_kernel(&regs, sizeof(regs), (void *)ctx->args[0]))
		return 0;
	return on_sys_exit(&regs, ctx->args[1], pid_tgid);
}

/* Same, with typed arguments: the registers are read directly, no copy. */
SEC("tp_btf/sys_exit")
int BPF_PROG(saker_sys_exit_btf, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!wanted(pid_tgid >> 32))
		return 0;
	return on_sys_exit(regs, ret, pid_tgid);
}

/* ---- process lifecycle ---- */

static __always_inline __u32 task_vnr(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	return BPF_CORE_READ(p, numbers[level & 7].nr);
}

static __always_inline __u32 task_tgid_vnr(struct task_struct *t)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	return task_vnr(leader);
}

SEC("raw_tp/sched_process_fork")
int saker_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)ctx->args[0];
	struct task_struct *child = (void *)ctx->args[1];
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u32 ctid = BPF_CORE_READ(child, pid);

	if (only_tracked && ptgid != ctgid) {
		/* Follow: children of tracked processes, and the recorder's own command. */
		if (ptgid == self_tgid || bpf_map_lookup_elem(&tracked, &ptgid)) {
			__u8 one = 1;
			bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
		}
	}
	/* The recorder's own fork of the command is recorded (the child must be known
	 * to replay from its first event); its other forks and threads are not. */
	bool own_child = ptgid == self_tgid && ptgid != ctgid &&
			 (!only_tracked || bpf_map_lookup_elem(&tracked, &ctgid)) && !n_pids && !n_comms;
	if (!own_child && !wanted(ptgid))
		return 0;
	__u64 ts = bpf_ktime_get_boot_ns();
	__u32 cpu = bpf_get_smp_processor_id();
	void *ring = ring_for(cpu);
	if (!ring)
		return 0;
	flush_drops(ring, cpu, ts);

	/* Clone flags come from the parent's syscall registers. */
	__u64 flags = 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__s64 nr = BPF_CORE_READ(regs, orig_ax);
	__u64 di = BPF_CORE_READ(regs, di);
	if (nr == 56 /* clone */)
		flags = di;
	else if (nr == 435 /* clone3 */)
		bpf_probe_read_user(&flags, sizeof(flags), (void *)di);

	struct {
		struct saker_hdr h;
		__u64 a[5];
	} *r = bpf_ringbuf_reserve(ring, sizeof(*r), 0);
	if (!r) {
		note_drop(cpu, ts);
		return 0;
	}
	fill_hdr(&r->h, SAKER_CODE_FORK, cpu, ts, bpf_get_current_pid_tgid(), ctid);
	r->h.len = sizeof(*r);
	r->h.nargs = 5;
	r->a[0] = ctid;
	r->a[1] = ctgid;
	r->a[2] = flags;
	r->a[3] = task_vnr(child);
	r->a[4] = task_tgid_vnr(child);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

/* Writes a path as components, leaf first, walking dentries and mounts. */
__noinline __u32 put_path(struct saker_scratch *s, __u32 off, __u8 idx, __u64 dp, __u64 vmp)
{
	struct dentry *d = (void *)dp;
	struct vfsmount *vm = (void *)vmp;
	if (!s)
		return off;
	__u32 r = room(off);
	if (!d)
		return off;
	if (r < 512) {
		mark_truncated(s);
		return off;
	}
	struct mount *mnt = container_of(vm, struct mount, mnt);
	__u32 base = (off + sizeof(struct saker_param)) & OFF_MASK;
	__u32 got = 0;
	for (int i = 0; i < PATH_MAX_DEPTH; i++) {
		struct dentry *root = BPF_CORE_READ(vm, mnt_root);
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		if (d == root) {
			struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
			if (mp == mnt)
				break;
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mp;
			vm = &mp->mnt;
			continue;
		}
		if (d == parent || got > 3800)
			break;
		const unsigned char *name = BPF_CORE_READ(d, d_name.name);
		long n = bpf_probe_read_kernel_str(at(s, base + (got & 0xfff)), 256, name);
		if (n <= 0)
			break;
		got += n;
		d = parent;
	}
	/* Cut unless the walk ended at the root (checked here, not in the loop,
	 * so the loop carries no extra state for the verifier). */
	if (d != BPF_CORE_READ(d, d_parent) &&
	    (d != BPF_CORE_READ(vm, mnt_root) || BPF_CORE_READ(mnt, mnt_parent) != mnt))
		mark_truncated(s);
	/* Internal mounts (memfd, pipes) stop at their root: keep its name. */
	if (got == 0) {
		const unsigned char *name = BPF_CORE_READ(d, d_name.name);
		long n = bpf_probe_read_kernel_str(at(s, base), 256, name);
		if (n > 1)
			got = n;
	}
	struct saker_param *p = param_at(s, off);
	p->len = got;
	p->idx = idx;
	p->kind = SAKER_P_PATHCOMP;
	return off + sizeof(*p) + (got & 0x1fff);
}

/* cgroup v2 path as components, leaf first. */
__noinline __u32 put_cgroup(struct saker_scratch *s, __u32 off, __u8 idx, __u64 tp)
{
	struct task_struct *t = (void *)tp;
	if (!s)
		return off;
	__u32 r = room(off);
	if (r < 512) {
		mark_truncated(s);
		return off;
	}
	struct kernfs_node *kn = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
	__u32 base = (off + sizeof(struct saker_param)) & OFF_MASK;
	__u32 got = 0;
	for (int i = 0; i < 16; i++) {
		if (!kn)
			break;
		struct kernfs_node *parent = BPF_CORE_READ(kn, __parent);
		if (!parent)
			break; /* the root's name is not part of the path */
		const char *name = BPF_CORE_READ(kn, name);
		long n = bpf_probe_read_kernel_str(at(s, base + (got & 0xfff)), 256, name);
		if (n <= 0)
			break;
		got += n;
		kn = parent;
	}
	if (kn && BPF_CORE_READ(kn, __parent)) /* deeper than 16 levels, or unreadable */
		mark_truncated(s);
	struct saker_param *p = param_at(s, off);
	p->len = got;
	p->idx = idx;
	p->kind = SAKER_P_PATHCOMP;
	return off + sizeof(*p) + (got & 0x1fff);
}

static __always_inline __u32 tty_nr(struct task_struct *t)
{
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (!tty)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	int major = BPF_CORE_READ(tty, driver, major);
	int minor = BPF_CORE_READ(tty, driver, minor_start) + index;
	return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

SEC("raw_tp/sched_process_exec")
int saker_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!wanted(pid_tgid >> 32))
		return 0;
	struct task_struct *t = (void *)ctx->args[0];
	__u32 old_pid = ctx->args[1];
	struct linux_binprm *bprm = (void *)ctx->args[2];
	__u64 ts = bpf_ktime_get_boot_ns();
	__u32 cpu = bpf_get_smp_processor_id();
	void *ring = ring_for(cpu);
	if (!ring)
		return 0;
	flush_drops(ring, cpu, ts);
	struct saker_scratch *s = bpf_map_lookup_elem(&scratch_map, &cpu);
	if (!s)
		return 0;

	struct saker_hdr *h = (struct saker_hdr *)s->buf;
	fill_hdr(h, SAKER_CODE_EXEC, cpu, ts, pid_tgid, 0);
	h->nargs = 14;
	__u64 *a = (__u64 *)at(s, sizeof(*h));
	const struct cred *cred = BPF_CORE_READ(t, cred);
	__u32 euid = BPF_CORE_READ(cred, euid.val);
	__u32 egid = BPF_CORE_READ(cred, egid.val);
	a[0] = old_pid;
	a[1] = BPF_CORE_READ(cred, uid.val);
	a[2] = BPF_CORE_READ(cred, gid.val);
	a[3] = euid;
	a[4] = egid;
	a[5] = BPF_CORE_READ(t, loginuid.val);
	a[6] = tty_nr(t);
	a[7] = BPF_CORE_READ(t, signal, pids[PIDTYPE_SID], numbers[0].nr);
	a[8] = BPF_CORE_READ(t, signal, pids[PIDTYPE_PGID], numbers[0].nr);
	a[9] = task_tgid_vnr(t);
	a[10] = BPF_CORE_READ(cred, cap_effective.val);
	struct file *file = BPF_CORE_READ(bprm, file);
	struct inode *ino = BPF_CORE_READ(file, f_inode);
	__u64 exe_flags = 0;
	if (BPF_CORE_READ(ino, i_nlink) == 0)
		exe_flags |= 1;
	umode_t mode = BPF_CORE_READ(ino, i_mode);
	__u32 iuid = BPF_CORE_READ(ino, i_uid.val);
	__u32 igid = BPF_CORE_READ(ino, i_gid.val);
	if (euid == 0 || (iuid == euid && (mode & 0200)) || (igid == egid && (mode & 020)) ||
	    (mode & 02))
		exe_flags |= 4;
	a[11] = exe_flags;
	a[12] = BPF_CORE_READ(t, real_parent, tgid);
	a[13] = BPF_CORE_READ(t, start_boottime);

	__u32 off = sizeof(*h) + 14 * 8;
	off = put_str(s, off, IK(0, SAKER_P_STR), (__u64)BPF_CORE_READ(bprm, filename), false) & OFF_MASK;
	/* argv of the new image, straight from its memory */
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u64 as = BPF_CORE_READ(mm, arg_start), ae = BPF_CORE_READ(mm, arg_end);
	if (ae > as) {
		__u64 n = ae - as;
		if (n > ARGV_MAX_BYTES) {
			n = ARGV_MAX_BYTES;
			mark_truncated(s);
		}
		off = put_buf(s, off, IK(1, SAKER_P_ARGV), as, n) & OFF_MASK;
	}
	off = put_path(s, off, 2, (__u64)BPF_CORE_READ(file, f_path.dentry),
		       (__u64)BPF_CORE_READ(file, f_path.mnt)) & OFF_MASK;
	off = put_path(s, off, 3, (__u64)BPF_CORE_READ(t, fs, pwd.dentry),
		       (__u64)BPF_CORE_READ(t, fs, pwd.mnt)) & OFF_MASK;
	off = put_cgroup(s, off, 4, (__u64)t) & OFF_MASK;
	off = put_str(s, off, IK(5, SAKER_P_STR), (__u64)&t->comm, false) & OFF_MASK;
	submit(ring, s, off, cpu, ts);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int saker_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (!wanted(tgid))
		return 0;
	struct task_struct *t = (void *)ctx->args[0];
	__u64 ts = bpf_ktime_get_boot_ns();
	__u32 cpu = bpf_get_smp_processor_id();
	void *ring = ring_for(cpu);
	if (!ring)
		return 0;
	flush_drops(ring, cpu, ts);
	int live = BPF_CORE_READ(t, signal, live.counter);
	struct {
		struct saker_hdr h;
		__u64 a[2];
	} *r = bpf_ringbuf_reserve(ring, sizeof(*r), 0);
	if (!r) {
		note_drop(cpu, ts);
		return 0;
	}
	__s64 code = BPF_CORE_READ(t, exit_code);
	fill_hdr(&r->h, SAKER_CODE_EXIT, cpu, ts, pid_tgid, code);
	r->h.len = sizeof(*r);
	r->h.nargs = 2;
	r->a[0] = code;
	r->a[1] = live == 0;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	if (only_tracked && live == 0)
		bpf_map_delete_elem(&tracked, &tgid);
	return 0;
}
