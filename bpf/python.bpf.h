/* SPDX-License-Identifier: GPL-2.0 */
/* python.bpf.h - the Python stack of the current thread of a CPython target.
 *
 * The thread's PyThreadState is the one of the interpreter's thread list whose
 * thread_id (pthread_self(): the thread pointer, fs base on x86-64) is this task's fs
 * base: found once by a walk of the list, then cached per thread and checked on each
 * use. This works whether or not the thread holds the GIL (a C extension's malloc
 * after Py_BEGIN_ALLOW_THREADS), where _PyRuntime's "current thread" would not.
 * Its frames are followed through `previous` (f_back in 3.10), one read of each frame,
 * keeping (code object, instruction) pairs: C-owned shim frames (3.12+) and 3.13's
 * frames of None are skipped. Userspace turns them into names and lines (pycode.c).
 *
 * Shaped for the verifier, like the growth tier's scan: py_stack_of() is a global
 * function (checked once), its loops are bpf_loop callbacks whose state lives in a
 * per-CPU map value, not in what the verifier follows.
 */
#ifndef AL_PYTHON_BPF_H
#define AL_PYTHON_BPF_H

#define PY_THREADS_MAX 256 /* threads of an interpreter looked at for the current one */
#define PY_FRAME_BYTES 104 /* read per frame: 3.10's f_lasti ends at 100 */
#define PY_OWNED_BY_C  3   /* FRAME_OWNED_BY_CSTACK, 3.12+ */

struct py_walk {
	struct al_py_stack st;
	__u64 cur;    /* next thread or frame to read */
	__u64 fsbase; /* the thread looked for */
	__u64 found;  /* its PyThreadState */
	__u64 none;   /* &_Py_NoneStruct */
	__u16 code, prev, instr, owner, thread_id, next;
	__u8 lasti; /* 3.10: instr is an int (f_lasti) */
	__u8 buf[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_walk);
} py_walk SEC(".maps");

static __always_inline struct py_walk *walk_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&py_walk, &zero);
}

/* One thread state of the list: is it this thread's? */
static long py_thread_step(__u64 i, void *unused)
{
	struct py_walk *w = walk_state();
	__u64 id = 0, next = 0;

	if (!w || !w->cur)
		return 1;
	if (bpf_probe_read_user(&id, sizeof(id), (void *)(w->cur + w->thread_id)) ||
	    bpf_probe_read_user(&next, sizeof(next), (void *)(w->cur + w->next)))
		return 1;
	if (id == w->fsbase) {
		w->found = w->cur;
		return 1;
	}
	w->cur = next;
	return 0;
}

/* One frame: keep its (code, instruction) unless C owns it, go to the previous one. */
static long py_frame_step(__u64 i, void *unused)
{
	struct py_walk *w = walk_state();
	__u64 code, instr;
	__u32 n;
	__u8 owner = 0;

	if (!w || !w->cur)
		return 1;
	if (bpf_probe_read_user(w->buf, PY_FRAME_BYTES, (void *)w->cur)) {
		w->st.truncated = 1;
		return 1;
	}
	/* Every pointer field is 8-aligned in every layout, and within the bytes read. */
	code = *(__u64 *)(w->buf + (w->code & 0x78));
	instr = *(__u64 *)(w->buf + (w->instr & 0x78));
	if (w->lasti)
		instr = (__u64)(__s64)(__s32)instr;
	if (w->owner != AL_PY_NONE)
		owner = w->buf[w->owner & 0x7f];
	w->cur = *(__u64 *)(w->buf + (w->prev & 0x78));
	if (owner == PY_OWNED_BY_C || !code || code == w->none)
		return 0;
	n = w->st.nframes;
	if (n >= AL_PY_MAX_FRAMES) {
		w->st.truncated = 1;
		return 1;
	}
	w->st.frames[n & (AL_PY_MAX_FRAMES - 1)].code = code;
	w->st.frames[n & (AL_PY_MAX_FRAMES - 1)].instr = instr;
	w->st.nframes = n + 1;
	return 0;
}

/* This thread's PyThreadState: the cached one if it is still this thread's, else
 * found in the thread list. 0 when none is (a thread CPython does not know). */
static __always_inline __u64 py_tstate(struct py_walk *w, const struct al_py_proc *p, __u32 tid)
{
	__u64 *cached = bpf_map_lookup_elem(&py_tstates, &tid), id = 0, interp = 0, head = 0;
	const struct al_py_layout *l = &p->layout;

	if (cached && *cached &&
	    !bpf_probe_read_user(&id, sizeof(id), (void *)(*cached + l->tstate_thread_id)) &&
	    id == w->fsbase)
		return *cached;
	if (bpf_probe_read_user(&interp, sizeof(interp), (void *)(p->runtime + l->interp_head)) ||
	    !interp ||
	    bpf_probe_read_user(&head, sizeof(head), (void *)(interp + l->interp_threads)))
		return 0;
	w->cur = head;
	w->found = 0;
	w->thread_id = l->tstate_thread_id;
	w->next = l->tstate_next;
	bpf_loop(PY_THREADS_MAX, py_thread_step, NULL, 0);
	if (w->found)
		bpf_map_update_elem(&py_tstates, &tid, &w->found, BPF_ANY);
	return w->found;
}

/* The Python stack of the current thread of process tgid, stored in py_stacks: its key
 * (a hash of the frames), 0 when tgid runs no CPython or the thread has no frames. */
__noinline __u64 py_stack_of(__u32 tgid)
{
	const struct al_py_proc *p = bpf_map_lookup_elem(&py_procs, &tgid);
	__u64 tstate, frame = 0, h = 0xcbf29ce484222325ULL;
	const struct al_py_layout *l;
	struct task_struct *task;
	struct py_walk *w;
	__u32 i, n;

	/* Every allocation of every target passes here: one lookup for a native one. */
	if (!p)
		return 0;
	w = walk_state();
	if (!w)
		return 0;
	l = &p->layout;
	task = bpf_get_current_task_btf();
	w->fsbase = BPF_CORE_READ(task, thread.fsbase);
	tstate = py_tstate(w, p, (__u32)bpf_get_current_pid_tgid());
	if (!tstate ||
	    bpf_probe_read_user(&frame, sizeof(frame), (void *)(tstate + l->tstate_frame)))
		return 0;
	if (l->cframe_frame != AL_PY_NONE &&
	    (!frame ||
	     bpf_probe_read_user(&frame, sizeof(frame), (void *)(frame + l->cframe_frame))))
		return 0;
	w->st.nframes = 0;
	w->st.truncated = 0;
	w->cur = frame;
	w->none = p->none;
	w->code = l->frame_code;
	w->prev = l->frame_prev;
	w->instr = l->frame_instr;
	w->owner = l->frame_owner;
	w->lasti = l->frame_owner == AL_PY_NONE; /* 3.10 */
	bpf_loop(AL_PY_MAX_FRAMES + 8, py_frame_step, NULL, 0);
	if (w->cur && w->st.nframes >= AL_PY_MAX_FRAMES)
		w->st.truncated = 1;
	n = w->st.nframes;
	if (!n)
		return 0;
	for (i = 0; i < AL_PY_MAX_FRAMES && i < n; i++) {
		h = (h ^ w->st.frames[i].code) * 0x100000001b3ULL;
		h = (h ^ w->st.frames[i].instr) * 0x100000001b3ULL;
	}
	h |= 1; /* never 0: 0 is "no Python stack" */
	bpf_map_update_elem(&py_stacks, &h, &w->st, BPF_NOEXIST);
	return h;
}

#endif /* AL_PYTHON_BPF_H */
