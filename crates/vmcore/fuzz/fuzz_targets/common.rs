// Shared by the targets: open, read everything reachable, format it.
pub fn exercise(bytes: &[u8]) {
    let Ok(core) = crashview_vmcore::Vmcore::parse(bytes) else { return };
    for c in core.cpus() {
        let _ = c.reg("rip");
    }
    let mut b = [0u8; 64];
    let _ = core.read_phys(0x1000, &mut b);
    let _ = core.read_virt(0xffff_ffff_8100_0000, &mut b);
    if let Ok(log) = crashview_printk::read_log(&core) {
        for r in log.records.iter().take(64) {
            let _ = r.makedumpfile_line();
            let _ = r.console_lines();
        }
    }
}
