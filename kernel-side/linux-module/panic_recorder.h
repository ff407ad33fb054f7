/* SPDX-License-Identifier: GPL-2.0 */
/*
 * panic_recorder.h - the list API of the panic_recorder module.
 *
 * Another module adds callbacks to the recorder's phase lists; they run on
 * the panicking CPU with interrupts off, each journaled (begin and end, with
 * its name) in persistent memory, a corrupted entry skipped and journaled
 * instead of called.
 */
#ifndef PANIC_RECORDER_H
#define PANIC_RECORDER_H

struct module;

/**
 * enum panic_recorder_list - the recorder's lists, in the order of the
 * 2022 "panic: Refactor the panic path" proposal
 * @PANIC_RECORDER_PRE_CRASH_DUMP: the small set that must precede a crash dump
 * @PANIC_RECORDER_HYPERVISOR: tell a hypervisor or firmware the guest died
 * @PANIC_RECORDER_INFO: add information to the kmsg dump
 * @PANIC_RECORDER_PRE_REBOOT: LEDs, IPMI, the rest
 * @PANIC_RECORDER_POST_REBOOT: last architecture hooks
 */
enum panic_recorder_list {
	PANIC_RECORDER_PRE_CRASH_DUMP,
	PANIC_RECORDER_HYPERVISOR,
	PANIC_RECORDER_INFO,
	PANIC_RECORDER_PRE_REBOOT,
	PANIC_RECORDER_POST_REBOOT,
};

typedef void (*panic_recorder_fn)(void *ctx);
typedef panic_recorder_fn cvpr_callback;

int panic_recorder_register(struct module *owner, enum panic_recorder_list list,
			    panic_recorder_fn func, void *ctx, const char *name);
int panic_recorder_unregister(enum panic_recorder_list list, int slot);

#endif
