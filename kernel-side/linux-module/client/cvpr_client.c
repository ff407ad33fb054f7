// SPDX-License-Identifier: GPL-2.0
/*
 * cvpr_client: a module that registers real entries on the panic
 * recorder's lists through its exported API (the CI test of that API).
 * Its info entry prints what it knows of the machine into the log the kmsg
 * dump then stores; its pre-reboot entry stands for an LED or IPMI driver.
 */
#define pr_fmt(fmt) "cvpr_client: " fmt

#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/panic.h>

#include "panic_recorder.h" /* copied beside it by build.sh */

static int info_slot = -1, reboot_slot = -1;

static void client_info(void *ctx)
{
	pr_emerg("info entry: jiffies %lu, tainted %d\n", jiffies, test_taint(TAINT_OOT_MODULE));
}

static void client_pre_reboot(void *ctx)
{
	pr_emerg("pre-reboot entry: %s\n", (const char *)ctx);
}

static int __init client_init(void)
{
	info_slot = panic_recorder_register(THIS_MODULE, PANIC_RECORDER_INFO, client_info, NULL,
					    "cvpr_client_info");
	reboot_slot = panic_recorder_register(THIS_MODULE, PANIC_RECORDER_PRE_REBOOT,
					      client_pre_reboot, "led off", "cvpr_client_led");
	if (info_slot < 0 || reboot_slot < 0) {
		pr_err("registration failed: %d %d\n", info_slot, reboot_slot);
		return -EINVAL;
	}
	pr_info("registered info slot %d, pre-reboot slot %d\n", info_slot, reboot_slot);
	return 0;
}

static void __exit client_exit(void)
{
	panic_recorder_unregister(PANIC_RECORDER_INFO, info_slot);
	panic_recorder_unregister(PANIC_RECORDER_PRE_REBOOT, reboot_slot);
}

module_init(client_init);
module_exit(client_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("test client of the panic_recorder list API");
