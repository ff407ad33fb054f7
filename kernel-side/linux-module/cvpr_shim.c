// SPDX-License-Identifier: GPL-2.0
/*
 * panic_recorder: the C side of the crashview panic recorder module.
 *
 * This file is the only code that touches kernel APIs. It maps the reserved
 * region, registers a panic notifier (run first: INT_MAX priority) that runs
 * the recorder's plan, and a kmsg dumper that journals when the stock
 * kmsg_dump() reaches it. The recorder itself (Rust, no_std, no alloc) is
 * linked in as panic_recorder_rust.o.
 */
#define pr_fmt(fmt) "panic_recorder: " fmt

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/kexec.h>
#include <linux/kmsg_dump.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/panic.h>
#include <linux/panic_notifier.h>
#include <linux/sched/clock.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include <linux/version.h>

/* ---- the Rust side (rust/src/lib.rs) ---- */

/**
 * struct cvpr_params - what cvpr_attach() needs, C layout of CvprParams
 * @region: kernel virtual address of the reserved region
 * @region_size: bytes of the region (ramoops zones + journal)
 * @journal_size: bytes of the journal zone at the region's end
 * @record_size: ramoops record_size
 * @console_size: ramoops console_size
 * @ftrace_size: ramoops ftrace_size
 * @pmsg_size: ramoops pmsg_size
 * @ecc: ramoops ecc (0 off, 1 means 16)
 * @ftrace_zones: per-CPU ftrace zones (nr_cpu_ids, as ramoops with params)
 * @version_code: LINUX_VERSION_CODE, for ftrace zone signatures
 * @prefer_crash_dump: crash dump first (1) or notifiers first (0)
 * @crash_kexec_post_notifiers: legacy setting
 * @panic_notifiers_level: legacy 0..4, -1 unset
 * @panic_timeout: the kernel's panic_timeout
 * @compress: deflate dumps, as pstore does by default
 */
struct cvpr_params {
	void *region;
	size_t region_size;
	size_t journal_size;
	u64 record_size;
	u64 console_size;
	u64 ftrace_size;
	u64 pmsg_size;
	u32 ecc;
	u32 ftrace_zones;
	u32 version_code;
	s32 prefer_crash_dump;
	s32 crash_kexec_post_notifiers;
	s32 panic_notifiers_level;
	s32 panic_timeout;
	s32 compress;
};

typedef void (*cvpr_callback)(void *ctx);
int cvpr_attach(const struct cvpr_params *p);
int cvpr_register(u32 list, cvpr_callback func, void *ctx, const char *name, size_t len);
int cvpr_unregister(u32 list, u32 slot);
int cvpr_panic(const char *msg, size_t len, int crash_kernel_loaded);
size_t cvpr_plan_text(char *buf, size_t len, int crash_kernel_loaded);
int cvpr_selftest_corrupt(u32 list, u32 slot);

enum { CVPR_PRE_CRASH_DUMP, CVPR_HYPERVISOR, CVPR_INFO, CVPR_PRE_REBOOT, CVPR_POST_REBOOT };

/* ---- module parameters ---- */

static unsigned long long region_addr;
module_param(region_addr, ullong, 0400);
MODULE_PARM_DESC(region_addr, "physical address of the reserved region (memmap=)");
static unsigned long region_size;
module_param(region_size, ulong, 0400);
MODULE_PARM_DESC(region_size, "bytes of the region: ramoops zones then the journal");
static unsigned long journal_size = 0x2000;
module_param(journal_size, ulong, 0400);
MODULE_PARM_DESC(journal_size, "bytes of the panic journal at the region's end");
static unsigned long record_size = 0x4000;
module_param(record_size, ulong, 0400);
static unsigned long console_size = 4096;
module_param(console_size, ulong, 0400);
static unsigned long ftrace_size = 4096;
module_param(ftrace_size, ulong, 0400);
static unsigned long pmsg_size = 4096;
module_param(pmsg_size, ulong, 0400);
static int ecc;
module_param(ecc, int, 0400);
static bool prefer_crash_dump = true;
module_param(prefer_crash_dump, bool, 0400);
MODULE_PARM_DESC(prefer_crash_dump, "crash dump first (default) or notifiers and kmsg dump first");
static bool post_notifiers;
module_param(post_notifiers, bool, 0400);
MODULE_PARM_DESC(post_notifiers, "legacy crash_kexec_post_notifiers");
static int notifiers_level = -1;
module_param(notifiers_level, int, 0400);
MODULE_PARM_DESC(notifiers_level, "legacy panic_notifiers_level 0..4 (-1: unset)");
static bool compress = true;
module_param(compress, bool, 0400);
MODULE_PARM_DESC(compress, "deflate dumps like pstore's default (stock ramoops inflates them)");
static char *selftest = "";
module_param(selftest, charp, 0400);
MODULE_PARM_DESC(selftest, "'+'-separated: nested (hypervisor entry panics), hang (pre-reboot entry hangs), corrupt (an info entry is corrupted)");

/* ---- the Platform, called from Rust ---- */

u64 cvpr_shim_now_ns(void) { return local_clock(); }

void cvpr_shim_wall_time(s64 *sec, u64 *nsec)
{
	struct timespec64 ts;

	ktime_get_real_ts64(&ts);
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
}

u32 cvpr_shim_cpu_id(void) { return raw_smp_processor_id(); }

/* Only this module's callbacks can be registered through our API. */
int cvpr_shim_is_code(unsigned long addr)
{
	unsigned long base = (unsigned long)THIS_MODULE->core_layout.base;

	return addr >= base && addr < base + THIS_MODULE->core_layout.text_size;
}

void cvpr_shim_print(const char *s, size_t len)
{
	pr_emerg("%.*s\n", (int)len, s);
}

size_t cvpr_shim_kmsg_tail(char *buf, size_t len)
{
	struct kmsg_dump_iter iter;
	size_t n = 0;

	kmsg_dump_rewind(&iter);
	kmsg_dump_get_buffer(&iter, true, buf, len, &n);
	return n;
}

/* A module cannot read _text, so no KASLR offset here (x86's own panic
 * notifier prints "Kernel Offset:"). */
u64 cvpr_shim_taint(void)
{
	unsigned int i;
	u64 taint = 0;

	for (i = 0; i < TAINT_FLAGS_COUNT; i++)
		if (test_taint(i))
			taint |= 1ULL << i;
	return taint;
}

void cvpr_shim_bug(void) { BUG(); }

/* ---- self-test entries ---- */

static void entry_note(void *ctx) { pr_emerg("%s called\n", (const char *)ctx); }

static void entry_nested(void *ctx)
{
	pr_emerg("selftest: hypervisor entry panics (nested panic)\n");
	panic("panic_recorder selftest: nested panic from a notifier");
}

static void entry_hang(void *ctx)
{
	pr_emerg("selftest: pre-reboot entry hangs\n");
	/* Bounded only by the machine: this is the hung notifier to catch. */
	for (;;)
		mdelay(100);
}

static void reg(u32 list, cvpr_callback f, const char *name)
{
	int r = cvpr_register(list, f, (void *)name, name, strlen(name));

	if (r < 0)
		pr_err("cannot register %s: %d\n", name, r);
}

static bool has_test(const char *t) { return strstr(selftest, t) != NULL; }

/* ---- hooks into the stock panic path ---- */

static int on_panic(struct notifier_block *nb, unsigned long ev, void *msg)
{
	const char *m = msg ? msg : "";
	int r = cvpr_panic(m, strnlen(m, 256), kexec_crash_loaded());

	if (r == 3)
		pr_emerg("not attached\n");
	return NOTIFY_DONE;
}

static struct notifier_block panic_nb = {
	.notifier_call = on_panic,
	.priority = INT_MAX, /* first on the chain */
};

static void on_kmsg_dump(struct kmsg_dumper *d, enum kmsg_dump_reason reason)
{
	/* The recorder wrote its dump from the notifier; this only shows the
	 * stock path reached kmsg_dump() afterwards. */
	pr_emerg("stock kmsg_dump(%s) reached\n", kmsg_dump_reason_str(reason));
}

static struct kmsg_dumper dumper = {
	.dump = on_kmsg_dump,
	.max_reason = KMSG_DUMP_PANIC,
};

static void *region;

static int __init cvpr_init(void)
{
	struct cvpr_params p;
	static char plan[1024];
	size_t n;
	int r;

	if (!region_addr || !region_size) {
		pr_err("region_addr and region_size are required\n");
		return -EINVAL;
	}
	region = memremap(region_addr, region_size, MEMREMAP_WB);
	if (!region) {
		pr_err("cannot map %#lx bytes at %#llx\n", region_size, region_addr);
		return -ENOMEM;
	}
	p = (struct cvpr_params){
		.region = region,
		.region_size = region_size,
		.journal_size = journal_size,
		.record_size = record_size,
		.console_size = console_size,
		.ftrace_size = ftrace_size,
		.pmsg_size = pmsg_size,
		.ecc = ecc == 1 ? 16 : ecc,
		.ftrace_zones = nr_cpu_ids,
		.version_code = LINUX_VERSION_CODE,
		.prefer_crash_dump = prefer_crash_dump,
		.crash_kexec_post_notifiers = post_notifiers,
		.panic_notifiers_level = notifiers_level,
		.panic_timeout = panic_timeout,
		.compress = compress,
	};
	r = cvpr_attach(&p);
	if (r) {
		pr_err("attach failed: %d\n", r);
		memunmap(region);
		return r;
	}

	reg(CVPR_PRE_CRASH_DUMP, entry_note, "hv_disconnect");
	reg(CVPR_HYPERVISOR, entry_note, "hv_notify_host");
	if (has_test("nested"))
		reg(CVPR_HYPERVISOR, entry_nested, "nested_panic_entry");
	reg(CVPR_INFO, entry_note, "ftrace_dump_stub");
	if (has_test("corrupt")) {
		r = cvpr_register(CVPR_INFO, entry_note, "corrupted_entry", "corrupted_entry", 15);
		if (r >= 0)
			cvpr_selftest_corrupt(CVPR_INFO, r);
	}
	reg(CVPR_PRE_REBOOT, entry_note, "led_blink");
	if (has_test("hang"))
		reg(CVPR_PRE_REBOOT, entry_hang, "hung_notifier");
	reg(CVPR_POST_REBOOT, entry_note, "arch_late_stop");

	atomic_notifier_chain_register(&panic_notifier_list, &panic_nb);
	kmsg_dump_register(&dumper);

	n = cvpr_plan_text(plan, sizeof(plan) - 1, kexec_crash_loaded());
	plan[n] = 0;
	pr_info("attached %#lx bytes at %#llx (journal %#lx), selftest '%s'\n%s",
		region_size, region_addr, journal_size, selftest, plan);
	return 0;
}

static void __exit cvpr_exit(void)
{
	kmsg_dump_unregister(&dumper);
	atomic_notifier_chain_unregister(&panic_notifier_list, &panic_nb);
	/* The recorder stays attached to nothing after this; the region is
	 * left as it is, for the next boot to read. */
	memunmap(region);
}

module_init(cvpr_init);
module_exit(cvpr_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("crashview panic recorder: explicit, journaled panic path");
