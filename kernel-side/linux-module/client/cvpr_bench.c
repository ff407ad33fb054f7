// SPDX-License-Identifier: GPL-2.0
/*
 * cvpr_bench: times pstore's kmsg dump (its frontend's pstore_dump(): the
 * log copied, deflated and handed to the backend's write) in the running
 * kernel, whichever backend is registered: the stock ramoops or
 * panic_recorder. A real oops cannot be timed by ftrace (oops_enter() turns
 * tracing off) and kmsg_dump() is not exported, so this module registers a
 * kmsg dumper of its own, finds pstore's dumper before it on the dump list
 * by the symbol of its callback, and calls it n times with
 * KMSG_DUMP_OOPS, each an ordinary record in the next zone.
 */
#define pr_fmt(fmt) "cvpr_bench: " fmt

#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kmsg_dump.h>
#include <linux/module.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/sort.h>

static int n = 20;
module_param(n, int, 0400);
MODULE_PARM_DESC(n, "dumps to time (1..1000)");

static void never(struct kmsg_dumper *d, enum kmsg_dump_reason r) { }

static struct kmsg_dumper probe = {
	.dump = never,
	.max_reason = KMSG_DUMP_PANIC,
};

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static int __init bench_init(void)
{
	char sym[KSYM_SYMBOL_LEN];
	struct kmsg_dumper *pstore = NULL;
	struct list_head *p;
	u64 *ns, sum = 0;
	int i;

	if (n < 1 || n > 1000)
		return -EINVAL;
	kmsg_dump_register(&probe);
	/* Walk back from our entry: at most 8 steps, stopping at the list head. */
	for (p = probe.list.prev, i = 0; i < 8; p = p->prev, i++) {
		sprint_symbol(sym, (unsigned long)p);
		if (strstr(sym, "dump_list"))
			break;
		sprint_symbol(sym, (unsigned long)list_entry(p, struct kmsg_dumper, list)->dump);
		if (!strncmp(sym, "pstore_dump+0x0/", 16)) {
			pstore = list_entry(p, struct kmsg_dumper, list);
			break;
		}
	}
	if (!pstore) {
		kmsg_dump_unregister(&probe);
		pr_err("no pstore dumper registered\n");
		return -ENODEV;
	}
	ns = kcalloc(n, sizeof(*ns), GFP_KERNEL);
	if (!ns) {
		kmsg_dump_unregister(&probe);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		u64 t0 = local_clock();

		pstore->dump(pstore, KMSG_DUMP_OOPS);
		ns[i] = local_clock() - t0;
		sum += ns[i];
	}
	kmsg_dump_unregister(&probe);
	sort(ns, n, sizeof(*ns), cmp_u64, NULL);
	pr_info("pstore_dump x%d: median %llu ns, mean %llu ns, min %llu ns, max %llu ns\n",
		n, ns[n / 2], div_u64(sum, n), ns[0], ns[n - 1]);
	kfree(ns);
	return 0;
}

static void __exit bench_exit(void) { }

module_init(bench_init);
module_exit(bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("times pstore's kmsg dump into the registered backend");
