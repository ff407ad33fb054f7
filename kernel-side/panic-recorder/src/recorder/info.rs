//! The info step's own lines: CPU, uptime, taint, KASLR offset, the panic
//! message and the plan, printed to the kernel log.

use crashview_ramoops::fmt::ByteWriter;

use super::Recorder;
use crate::plan::Plan;
use crate::platform::Platform;
use crate::text::{Lines, LINE_LEN};

impl Recorder {
    /// The built-in info lines: what an engineer wants at the top of any
    /// dump. They go to the kernel log, so the kmsg dump that follows holds them.
    pub(super) fn print_info<P: Platform + ?Sized>(&self, p: &P, plan: &Plan) {
        use core::fmt::Write;
        let (offset, taint) = p.kernel_facts();
        let now = p.now_ns();
        let mut buf = [0u8; LINE_LEN];
        let mut line = ByteWriter::new(&mut buf);
        let _ = write!(
            line,
            "CPU {} uptime {}.{:06}s taint {:#x}",
            p.cpu_id(),
            now / 1_000_000_000,
            now % 1_000_000_000 / 1000,
            taint
        );
        if let Some(off) = offset {
            let _ = write!(line, " kernel offset {off:#x}");
        }
        p.print(line.as_bytes());
        line.clear();
        line.put(b"panic: ");
        let st = self.st_ref();
        for &b in st.message.get(..st.message_len).unwrap_or(&[]) {
            // Printable ASCII only: the message may be anything.
            line.put(&[if (0x20..0x7f).contains(&b) { b } else { b'?' }]);
        }
        p.print(line.as_bytes());
        let mut text = Lines::new(&mut buf, |l: &[u8]| p.print(l));
        let _ = plan.write_text(&mut text);
    }
}
