// SPDX-License-Identifier: GPL-2.0
/*
 * cvpk_selftest: faults for the patched kernel's panic path, built against
 * the patched tree (kernel-side/linux-patch/build.sh leaves it prepared).
 *   test=hang      a panic_notifier_list entry that never returns
 *   test=corrupt   a notifier_block on the chain whose callback is corrupted
 *                  (not text): the recorder must skip it, never call it
 *   test=nested    an info-list entry that panics again
 *   test=twocpu    panic on two CPUs at once (needs -smp 2)
 * Loading it arms the fault; the panic comes from the test script (sysrq),
 * except for twocpu, which panics on load.
 */
#define pr_fmt(fmt) "cvpk_selftest: " fmt

#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/panic.h>
#include <linux/panic_notifier.h>
#include <linux/panic_recorder.h>
#include <linux/smp.h>

static char *test = "";
module_param(test, charp, 0400);
MODULE_PARM_DESC(test, "hang, corrupt, nested or twocpu");

static int hung_notifier(struct notifier_block *nb, unsigned long ev, void *msg)
{
	pr_emerg("hung notifier entered\n");
	for (;;)
		mdelay(100);
	return NOTIFY_DONE;
}

static struct notifier_block hang_nb = { .notifier_call = hung_notifier };

static int victim_notifier(struct notifier_block *nb, unsigned long ev, void *msg)
{
	pr_emerg("corrupted notifier called: the recorder should have skipped it\n");
	return NOTIFY_DONE;
}

static struct notifier_block victim_nb = { .notifier_call = victim_notifier };

static void nested_entry(void *ctx)
{
	pr_emerg("info entry panics again\n");
	panic("cvpk_selftest: nested panic from an info-list entry");
}

static void panic_here(void *ctx)
{
	panic("cvpk_selftest: CPU %d panics", smp_processor_id());
}

static int __init selftest_init(void)
{
	int cpu;

	if (!strcmp(test, "hang")) {
		atomic_notifier_chain_register(&panic_notifier_list, &hang_nb);
	} else if (!strcmp(test, "corrupt")) {
		atomic_notifier_chain_register(&panic_notifier_list, &victim_nb);
		/* A flipped high bit: no longer kernel or module text. */
		WRITE_ONCE(victim_nb.notifier_call,
			   (notifier_fn_t)((unsigned long)victim_notifier ^ (1UL << 46)));
	} else if (!strcmp(test, "nested")) {
		if (panic_recorder_register(PANIC_RECORDER_INFO, nested_entry, NULL,
					    "nested_panic_entry") < 0)
			return -EINVAL;
	} else if (!strcmp(test, "twocpu")) {
		cpu = cpumask_any_but(cpu_online_mask, smp_processor_id());
		if (cpu >= nr_cpu_ids)
			return -ENODEV;
		/* The other CPU panics while this one does. */
		smp_call_function_single(cpu, panic_here, NULL, 0);
		panic_here(NULL);
	} else {
		return -EINVAL;
	}
	pr_info("armed: %s\n", test);
	return 0;
}

module_init(selftest_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("faults for the panic recorder's panic path");
