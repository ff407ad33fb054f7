// SPDX-License-Identifier: GPL-2.0
/*
 * panic_recorder: the C side of the crashview panic recorder module.
 *
 * This file is the only code that touches kernel APIs. It is a pstore
 * backend that takes ramoops' parameters and lays out the reserved region
 * exactly as ramoops does, plus a panic journal in the region's last
 * journal_size bytes: pstore's frontend hands it every kmsg dump (Oops,
 * Panic, Emergency, Shutdown up to max_reason) and shows its records in
 * /sys/fs/pstore on the next boot. The recorder itself (Rust, no_std, no
 * alloc) is linked in as panic_recorder_rust.o.
 *
 * A module cannot change the stock panic(), so it observes it from hooks:
 * the head of panic_notifier_list (the recorder's own lists run there), its
 * tail (the kernel's notifiers are over), a kmsg dumper registered after
 * pstore's (the kmsg dump is over) and panic_blink (the console flush is
 * over; the pre- and post-reboot lists run there). The plan it prints is
 * built from the kernel's own crash_kexec_post_notifiers, panic_timeout
 * and kexec_crash_loaded().
 */
#define pr_fmt(fmt) "panic_recorder: " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/kexec.h>
#include <linux/kmsg_dump.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/panic.h>
#include <linux/panic_notifier.h>
#include <linux/pstore.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#include "panic_recorder.h"

/* ---- the Rust side (rust/src/lib.rs) ---- */

/**
 * struct cvpr_params - what cvpr_attach() needs, C layout of CvprParams
 * @region: kernel virtual address of the mapped region
 * @region_size: bytes of the region (ramoops zones + journal)
 * @journal_size: bytes of the journal zone at the region's end
 * @record_size: ramoops record_size
 * @console_size: ramoops console_size
 * @ftrace_size: ramoops ftrace_size
 * @pmsg_size: ramoops pmsg_size
 * @ecc: parity bytes per block (ramoops ecc, 1 meaning 16), 0 off
 * @ftrace_zones: per-CPU ftrace zones (nr_cpu_ids, as ramoops with params)
 * @version_code: LINUX_VERSION_CODE, for ftrace zone signatures
 * @crash_kexec_post_notifiers: the kernel's setting
 * @panic_timeout: the kernel's panic_timeout
 * @stock_panic: 1: the recorder observes the stock panic() (this module)
 * @prefer_crash_dump: unused by the module (the stock order is the kernel's)
 * @panic_notifiers_level: unused by the module, -1
 * @mirror: a second copy of the journal, NULL here
 * @mirror_size: its bytes
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
	s32 crash_kexec_post_notifiers;
	s32 panic_timeout;
	s32 stock_panic;
	s32 prefer_crash_dump;
	s32 panic_notifiers_level;
	void *mirror;
	size_t mirror_size;
};

/**
 * struct cvpr_chain_entry - C layout of CvprChainEntry (unused by the module)
 * @kind: 1 callable, 2 corrupt (chain goes on), 3 corrupt (chain ends)
 * @next: cursor of the next entry
 * @block: the notifier_block
 * @name: the callback's symbol, or what failed
 */
struct cvpr_chain_entry {
	u32 kind;
	unsigned long next;
	unsigned long block;
	char name[32];
};

/**
 * struct cvpr_stored - a stored record, C layout of CvprStored
 * @id: dmesg zone index (pstore record id)
 * @sec: dump time, seconds
 * @nsec: dump time, nanoseconds
 * @compressed: stored deflated
 * @header_len: bytes of the ramoops header (skipped)
 * @size: bytes of the record after the header
 * @notice_len: bytes of the ECC notice after the record
 */
struct cvpr_stored {
	u32 id;
	s64 sec;
	u64 nsec;
	u32 compressed;
	size_t header_len;
	size_t size;
	size_t notice_len;
};

/**
 * struct cvpr_zone - one zone as attach found it, C layout of CvprZone
 * @kind: 0 dmesg, 1 console, 2 ftrace, 3 pmsg
 * @index: index within its kind
 * @offset: offset in the region
 * @init: 1 empty, 2 kept, 3 invalid (zapped), 4 no signature (formatted)
 * @corrected: ECC symbols corrected
 * @bad_blocks: ECC blocks beyond repair
 * @header_bad: the zone header itself was beyond repair
 */
struct cvpr_zone {
	u32 kind;
	u32 index;
	u64 offset;
	u32 init;
	u32 corrected;
	u32 bad_blocks;
	u32 header_bad;
};

int cvpr_attach(const struct cvpr_params *p);
void cvpr_set_settings(int prefer_crash_dump, int crash_kexec_post_notifiers,
		       int panic_notifiers_level, int panic_timeout, int kmsg_dumper);
size_t cvpr_dmesg_bufsize(void);
int cvpr_register_slot(u32 list, cvpr_callback func, void *ctx, const char *name, size_t len);
int cvpr_unregister_slot(u32 list, u32 slot);
int cvpr_panic(const char *msg, size_t len, int crash_kernel_loaded);
int cvpr_resume_after(u32 step);
int cvpr_write_dmesg(u32 reason, u32 count, u32 part, u32 compressed, s64 sec, u64 nsec,
		     const char *buf, size_t len);
void cvpr_read_rewind(void);
int cvpr_read_next(struct cvpr_stored *out);
size_t cvpr_read_copy(const struct cvpr_stored *r, char *buf, size_t len);
int cvpr_erase(u32 id);
int cvpr_zone_report(u32 i, struct cvpr_zone *out);
size_t cvpr_plan_text(char *buf, size_t len, int crash_kernel_loaded);
size_t cvpr_check_plan(char *buf, size_t len, int crash_kernel_loaded);
int cvpr_selftest_corrupt(u32 list, u32 slot);

/* The journal's step codes (crates/journal StepKind) the hooks name. */
enum { CVPR_STEP_KMSG_DUMP = 5, CVPR_STEP_CONSOLE_FLUSH = 7, CVPR_STEP_NOTIFIER_CHAIN = 12 };

/* ---- module parameters: ramoops' names and meanings, plus the journal ---- */

static unsigned long long mem_address;
module_param_hw(mem_address, ullong, other, 0400);
MODULE_PARM_DESC(mem_address, "start of reserved RAM (as ramoops)");
static ulong mem_size;
module_param(mem_size, ulong, 0400);
MODULE_PARM_DESC(mem_size, "size of reserved RAM: ramoops zones, then the journal's journal_size bytes");
static unsigned int mem_type;
module_param(mem_type, uint, 0400);
MODULE_PARM_DESC(mem_type, "memory type: 0=write-combined (default), 1=unbuffered, 2=cached (as ramoops)");
static ulong record_size = 4096;
module_param(record_size, ulong, 0400);
MODULE_PARM_DESC(record_size, "size of each dump done on oops/panic (as ramoops)");
static ulong console_size = 4096;
module_param(console_size, ulong, 0400);
MODULE_PARM_DESC(console_size, "size of the console zone (laid out as ramoops; not written)");
static ulong ftrace_size = 4096;
module_param(ftrace_size, ulong, 0400);
MODULE_PARM_DESC(ftrace_size, "size of the ftrace zones (laid out as ramoops; not written)");
static ulong pmsg_size = 4096;
module_param(pmsg_size, ulong, 0400);
MODULE_PARM_DESC(pmsg_size, "size of the pmsg zone (laid out as ramoops; not written)");
static int max_reason = -1;
module_param(max_reason, int, 0400);
MODULE_PARM_DESC(max_reason, "maximum reason for kmsg dump (default 2: Oops and Panic), as ramoops");
static int ecc;
module_param(ecc, int, 0400);
MODULE_PARM_DESC(ecc, "ECC bytes per 128-byte block, 1 meaning 16 (as ramoops)");
static int dump_oops = -1;
module_param(dump_oops, int, 0400);
MODULE_PARM_DESC(dump_oops, "(deprecated: use max_reason) 1 oopses and panics, 0 panics only");
static ulong journal_size = 0x2000;
module_param(journal_size, ulong, 0400);
MODULE_PARM_DESC(journal_size, "bytes of the panic journal at the end of mem_size");
static char *selftest = "";
module_param(selftest, charp, 0400);
MODULE_PARM_DESC(selftest, "'+'-separated: nested (hypervisor entry panics), hang (pre-reboot entry hangs), corrupt (an info entry is corrupted)");

/* ---- the region ---- */

static void *region;
static bool region_vmapped;

/* Map the region as ramoops maps its zones (persistent_ram_buffer_map):
 * vmap of its pages with the mem_type's protection when they have struct
 * pages, else ioremap (write-combined for mem_type 0). */
static void *map_region(phys_addr_t start, size_t size, unsigned int type)
{
	phys_addr_t page_start = start - offset_in_page(start);
	unsigned int i, count = DIV_ROUND_UP(size + offset_in_page(start), PAGE_SIZE);
	struct page **pages;
	pgprot_t prot;
	void *va;

	if (!pfn_valid(start >> PAGE_SHIFT)) {
		if (!request_mem_region(start, size, "panic_recorder"))
			return NULL;
		va = type ? ioremap(start, size) : ioremap_wc(start, size);
		if (!va)
			release_mem_region(start, size);
		return (void __force *)va;
	}
	switch (type) {
	case 0:
		prot = pgprot_writecombine(PAGE_KERNEL);
		break;
	case 1:
		prot = pgprot_noncached(PAGE_KERNEL);
		break;
	case 2:
		prot = PAGE_KERNEL;
		break;
	default:
		pr_err("invalid mem_type=%u\n", type);
		return NULL;
	}
	pages = kmalloc_array(count, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < count; i++)
		pages[i] = pfn_to_page((page_start >> PAGE_SHIFT) + i);
	va = vmap(pages, count, VM_MAP | VM_IOREMAP, prot);
	kfree(pages);
	if (!va)
		return NULL;
	region_vmapped = true;
	return va + offset_in_page(start);
}

static void unmap_region(void)
{
	if (region_vmapped) {
		vunmap((void *)((unsigned long)region & PAGE_MASK));
	} else {
		iounmap((void __iomem __force *)region);
		release_mem_region(mem_address, mem_size);
	}
}

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

void cvpr_shim_wmb(void) { wmb(); }

/*
 * The steps the stock panic() performs itself: the module's plan marks
 * them as the kernel's, so the recorder never asks; if it did, the answer
 * is "not done here".
 */
int cvpr_shim_stop_cpus(void) { return 0; }
void cvpr_shim_crash_kexec(void) { }
int cvpr_shim_console_flush(void) { return 0; }
int cvpr_shim_delay(u64 ms) { return 0; }
int cvpr_shim_reboot(void) { return 0; }
int cvpr_shim_kmsg_dump(void) { return 0; }
int cvpr_shim_notifier_next(unsigned long cursor, struct cvpr_chain_entry *e) { return 0; }
void cvpr_shim_notifier_call(unsigned long block) { }
/* _text is not exported to modules: x86 prints "Kernel Offset:" itself. */
u64 cvpr_shim_kaslr_offset(void) { return 0; }

/*
 * Text ranges a list entry may point into: this module's and those of the
 * modules that registered entries through panic_recorder_register(). The
 * kernel exports no "is this kernel text" test to modules, so built-in
 * callers cannot register here (the patch series is for them).
 */
#define CVPR_OWNERS 16
static struct { unsigned long base, size; } owners[CVPR_OWNERS];

static bool in_text(const struct module *m, unsigned long addr)
{
	unsigned long base = (unsigned long)m->core_layout.base;

	return addr >= base && addr < base + m->core_layout.text_size;
}

int cvpr_shim_is_code(unsigned long addr)
{
	int i;

	if (in_text(THIS_MODULE, addr))
		return 1;
	for (i = 0; i < CVPR_OWNERS; i++)
		if (owners[i].size && addr >= owners[i].base &&
		    addr < owners[i].base + owners[i].size)
			return 1;
	return 0;
}

void cvpr_shim_print(const char *s, size_t len)
{
	pr_emerg("%.*s\n", (int)len, s);
}

/* A module cannot read _text, so no KASLR offset here (x86's own panic
 * notifier prints "Kernel Offset:" before the kmsg dump). */
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

/* ---- the list API other modules use ---- */

/**
 * panic_recorder_register() - add a callback to one of the recorder's lists
 * @owner: the calling module (THIS_MODULE); @func must lie in its text
 * @list: which list (enum panic_recorder_list)
 * @func: called with @ctx on the panicking CPU, interrupts off
 * @ctx: its argument
 * @name: up to 32 bytes, journaled with each call
 *
 * Return: the slot (>= 0) to pass to panic_recorder_unregister(), or a
 * negative errno: -EINVAL for a bad list or a @func outside @owner's text,
 * -ENOSPC when the list or the owner table is full. The caller must
 * unregister before it is unloaded.
 */
int panic_recorder_register(struct module *owner, enum panic_recorder_list list,
			    panic_recorder_fn func, void *ctx, const char *name)
{
	unsigned long base, size;
	int i, free = -1, r;

	if (!owner || !in_text(owner, (unsigned long)func))
		return -EINVAL;
	base = (unsigned long)owner->core_layout.base;
	size = owner->core_layout.text_size;
	for (i = 0; i < CVPR_OWNERS; i++) {
		if (owners[i].base == base && owners[i].size == size)
			break;
		if (!owners[i].size && free < 0)
			free = i;
	}
	if (i == CVPR_OWNERS) {
		if (free < 0)
			return -ENOSPC;
		owners[free].base = base;
		WRITE_ONCE(owners[free].size, size);
	}
	r = cvpr_register_slot(list, func, ctx, name, strnlen(name, 32));
	return r < 0 ? (r == -22 ? -EINVAL : -ENOSPC) : r;
}
EXPORT_SYMBOL_GPL(panic_recorder_register);

/**
 * panic_recorder_unregister() - remove a callback added by panic_recorder_register()
 * @list: the list it was added to
 * @slot: what panic_recorder_register() returned
 *
 * Return: 0, or -ENOENT when no such registration exists.
 */
int panic_recorder_unregister(enum panic_recorder_list list, int slot)
{
	return cvpr_unregister_slot(list, slot) ? -ENOENT : 0;
}
EXPORT_SYMBOL_GPL(panic_recorder_unregister);

/* ---- self-test entries ---- */

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

static void entry_note(void *ctx) { pr_emerg("selftest: %s called\n", (const char *)ctx); }

static bool has_test(const char *t) { return strstr(selftest, t) != NULL; }

static void selftests(void)
{
	int r;

	if (has_test("nested"))
		panic_recorder_register(THIS_MODULE, PANIC_RECORDER_HYPERVISOR, entry_nested,
					NULL, "nested_panic_entry");
	if (has_test("corrupt")) {
		r = panic_recorder_register(THIS_MODULE, PANIC_RECORDER_INFO, entry_note,
					    "corrupted_entry", "corrupted_entry");
		if (r >= 0)
			cvpr_selftest_corrupt(PANIC_RECORDER_INFO, r);
	}
	if (has_test("hang"))
		panic_recorder_register(THIS_MODULE, PANIC_RECORDER_PRE_REBOOT, entry_hang, NULL,
					"hung_notifier");
}

/* ---- the kernel's settings ---- */

/* crash_kexec_post_notifiers is not exported to modules; its core_param
 * shows it in sysfs. Read when loaded and whenever the plan is shown. */
static int read_post_notifiers(void)
{
	const char *path = "/sys/module/kernel/parameters/crash_kexec_post_notifiers";
	struct file *f = filp_open(path, O_RDONLY, 0);
	char c = 'N';
	loff_t pos = 0;

	if (IS_ERR(f)) {
		pr_warn("cannot read %s (%ld): assuming crash_kexec_post_notifiers=N\n",
			path, PTR_ERR(f));
		return 0;
	}
	if (kernel_read(f, &c, 1, &pos) != 1)
		c = 'N';
	filp_close(f, NULL);
	return c == 'Y' || c == 'y' || c == '1';
}

static void refresh_settings(void)
{
	cvpr_set_settings(1, read_post_notifiers(), -1, panic_timeout, -1);
}

/* ---- hooks into the stock panic path ---- */

static int on_panic_first(struct notifier_block *nb, unsigned long ev, void *msg)
{
	const char *m = msg ? msg : "";

	cvpr_panic(m, strnlen(m, 256), kexec_crash_loaded());
	return NOTIFY_DONE;
}

static int on_panic_last(struct notifier_block *nb, unsigned long ev, void *msg)
{
	cvpr_resume_after(CVPR_STEP_NOTIFIER_CHAIN);
	return NOTIFY_DONE;
}

static struct notifier_block panic_first = {
	.notifier_call = on_panic_first,
	.priority = INT_MAX,
};

static struct notifier_block panic_last = {
	.notifier_call = on_panic_last,
	.priority = INT_MIN,
};

/* Registered after pstore's dumper, so it runs when the dump is over. */
static void on_kmsg_dump_done(struct kmsg_dumper *d, enum kmsg_dump_reason reason)
{
	if (reason == KMSG_DUMP_PANIC)
		cvpr_resume_after(CVPR_STEP_KMSG_DUMP);
}

static struct kmsg_dumper dump_done = {
	.dump = on_kmsg_dump_done,
	.max_reason = KMSG_DUMP_PANIC,
};

static long (*old_blink)(int state);
static bool blinked;

/* panic() calls panic_blink after console_flush_on_panic(), in its delay
 * loop (panic_timeout > 0) and its final loop (panic_timeout == 0). */
static long on_blink(int state)
{
	if (!blinked) {
		blinked = true;
		cvpr_resume_after(CVPR_STEP_CONSOLE_FLUSH);
	}
	return old_blink ? old_blink(state) : 0;
}

/* ---- the pstore backend ---- */

static int cvpr_pstore_open(struct pstore_info *psi)
{
	cvpr_read_rewind();
	return 0;
}

static ssize_t cvpr_pstore_read(struct pstore_record *record)
{
	struct cvpr_stored r;
	size_t len;

	record->time.tv_sec = 0;
	record->time.tv_nsec = 0;
	record->compressed = false;
	if (!cvpr_read_next(&r))
		return 0;
	len = r.size + r.notice_len + 1;
	record->buf = kmalloc(len, GFP_KERNEL);
	if (!record->buf)
		return -ENOMEM;
	cvpr_read_copy(&r, record->buf, len);
	record->type = PSTORE_TYPE_DMESG;
	record->id = r.id;
	record->time.tv_sec = r.sec;
	record->time.tv_nsec = r.nsec;
	record->compressed = r.compressed;
	record->ecc_notice_size = r.notice_len;
	return r.size;
}

static int cvpr_pstore_write(struct pstore_record *record)
{
	if (record->type != PSTORE_TYPE_DMESG)
		return -EINVAL;
	return cvpr_write_dmesg(record->reason, record->count, record->part, record->compressed,
				record->time.tv_sec, record->time.tv_nsec, record->buf,
				record->size);
}

static int cvpr_pstore_erase(struct pstore_record *record)
{
	if (record->type != PSTORE_TYPE_DMESG)
		return -EINVAL;
	return cvpr_erase(record->id) ? 0 : -EINVAL;
}

static struct pstore_info backend = {
	.owner = THIS_MODULE,
	.name = "panic_recorder",
	.open = cvpr_pstore_open,
	.read = cvpr_pstore_read,
	.write = cvpr_pstore_write,
	.erase = cvpr_pstore_erase,
};

/* ---- debugfs: the previous boot's journal, the plan ---- */

static struct dentry *dbg_dir;
static struct debugfs_blob_wrapper old_journal;

static ssize_t plan_read(struct file *f, char __user *ubuf, size_t count, loff_t *ppos)
{
	char *buf = kmalloc(2048, GFP_KERNEL);
	ssize_t r;
	size_t n;

	if (!buf)
		return -ENOMEM;
	refresh_settings();
	n = cvpr_plan_text(buf, 2048, kexec_crash_loaded());
	r = simple_read_from_buffer(ubuf, count, ppos, buf, n);
	kfree(buf);
	return r;
}

static const struct file_operations plan_fops = {
	.owner = THIS_MODULE,
	.read = plan_read,
	.llseek = default_llseek,
};

static void zone_messages(void)
{
	static const char *const kinds[] = { "dmesg", "console", "ftrace", "pmsg" };
	struct cvpr_zone z;
	u32 i;

	for (i = 0; cvpr_zone_report(i, &z); i++) {
		const char *k = z.kind < 4 ? kinds[z.kind] : "?";

		if (z.header_bad)
			pr_info("%s zone %u (offset %#llx): uncorrectable error in header\n", k,
				z.index, z.offset);
		if (z.init == 3)
			pr_info("%s zone %u (offset %#llx): found existing invalid buffer: zapped\n",
				k, z.index, z.offset);
		if (z.corrected || z.bad_blocks)
			pr_info("%s zone %u (offset %#llx): ECC: %u Corrected bytes, %u unrecoverable blocks\n",
				k, z.index, z.offset, z.corrected, z.bad_blocks);
	}
}

static int __init cvpr_init(void)
{
	struct cvpr_params p;
	char *text;
	size_t n;
	int r;

	if (!mem_size || journal_size >= mem_size) {
		pr_err("mem_size is required and must exceed journal_size (%#lx)\n", journal_size);
		return -EINVAL;
	}
	region = map_region(mem_address, mem_size, mem_type);
	if (!region) {
		pr_err("cannot map %#lx bytes at %#llx (mem_type %u)\n", mem_size, mem_address,
		       mem_type);
		return -ENOMEM;
	}
	/* Keep the previous boot's journal before anything can re-arm it. */
	old_journal.size = journal_size;
	old_journal.data = vmalloc(journal_size);
	if (!old_journal.data) {
		r = -ENOMEM;
		goto unmap;
	}
	memcpy(old_journal.data, region + mem_size - journal_size, journal_size);

	p = (struct cvpr_params){
		.region = region,
		.region_size = mem_size,
		.journal_size = journal_size,
		.record_size = record_size,
		.console_size = console_size,
		.ftrace_size = ftrace_size,
		.pmsg_size = pmsg_size,
		.ecc = ecc == 1 ? 16 : ecc,
		.ftrace_zones = nr_cpu_ids,
		.version_code = LINUX_VERSION_CODE,
		.crash_kexec_post_notifiers = read_post_notifiers(),
		.panic_timeout = panic_timeout,
		.stock_panic = 1,
		.prefer_crash_dump = 1,
		.panic_notifiers_level = -1,
	};
	r = cvpr_attach(&p);
	if (r) {
		pr_err("invalid parameters or region (%d)\n", r);
		goto free_journal;
	}
	text = kmalloc(2048, GFP_KERNEL);
	if (!text) {
		r = -ENOMEM;
		goto free_journal;
	}
	n = cvpr_check_plan(text, 2047, kexec_crash_loaded());
	if (n) {
		text[n] = 0;
		pr_err("refusing an invalid panic plan: %s\n", text);
		kfree(text);
		r = -EINVAL;
		goto free_journal;
	}
	zone_messages();

	backend.max_reason = max_reason >= 0 ? max_reason :
			     dump_oops != -1 ? (dump_oops ? KMSG_DUMP_OOPS : KMSG_DUMP_PANIC) :
			     KMSG_DUMP_OOPS;
	backend.flags = PSTORE_FLAGS_DMESG;
	backend.bufsize = cvpr_dmesg_bufsize();
	if (!backend.bufsize) {
		pr_err("no dmesg zones in this layout (record_size %#lx)\n", record_size);
		kfree(text);
		r = -EINVAL;
		goto free_journal;
	}
	backend.buf = kzalloc(backend.bufsize, GFP_KERNEL);
	if (!backend.buf) {
		kfree(text);
		r = -ENOMEM;
		goto free_journal;
	}
	r = pstore_register(&backend);
	if (r) {
		pr_err("registering with pstore failed (%d)\n", r);
		kfree(text);
		goto free_buf;
	}
	kmsg_dump_register(&dump_done);
	atomic_notifier_chain_register(&panic_notifier_list, &panic_first);
	atomic_notifier_chain_register(&panic_notifier_list, &panic_last);
	old_blink = panic_blink;
	panic_blink = on_blink;

	dbg_dir = debugfs_create_dir("panic_recorder", NULL);
	debugfs_create_blob("journal", 0400, dbg_dir, &old_journal);
	debugfs_create_file("plan", 0400, dbg_dir, NULL, &plan_fops);

	selftests();
	n = cvpr_plan_text(text, 2047, kexec_crash_loaded());
	text[n] = 0;
	pr_info("pstore backend on %#lx bytes at %#llx (journal %#lx, ecc %d, max_reason %d), selftest '%s'\n%s",
		mem_size, mem_address, journal_size, p.ecc, backend.max_reason, selftest, text);
	kfree(text);
	return 0;

free_buf:
	kfree(backend.buf);
free_journal:
	vfree(old_journal.data);
unmap:
	unmap_region();
	return r;
}

static void __exit cvpr_exit(void)
{
	debugfs_remove_recursive(dbg_dir);
	if (panic_blink == on_blink)
		panic_blink = old_blink;
	atomic_notifier_chain_unregister(&panic_notifier_list, &panic_last);
	atomic_notifier_chain_unregister(&panic_notifier_list, &panic_first);
	kmsg_dump_unregister(&dump_done);
	pstore_unregister(&backend);
	kfree(backend.buf);
	vfree(old_journal.data);
	/* The region is left as it is, for the next boot to read. */
	unmap_region();
}

module_init(cvpr_init);
module_exit(cvpr_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("crashview panic recorder: a ramoops-compatible pstore backend with a panic journal");
