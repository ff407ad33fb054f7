//! Finding call traces in kernel log text.
//!
//! The input is any text a kernel log passes through: a pstore
//! `dmesg-ramoops-N` record (`<4>[    2.48] …`), a serial console log
//! (`[    2.48] …`), `dmesg` or `journalctl -k` output, or a trace pasted into
//! a bug report with no prefixes at all. Each line is stripped of its
//! prefixes (syslog `host kernel:`, `<lvl>`, `[time]`, `[T123]` caller id) and
//! the rest is classified by small [nom] parsers ([`classify`]); a state
//! machine groups the lines into [`Trace`]s.
//!
//! Nothing here fails: what is not understood is skipped. Every loop is
//! bounded by the input length and by [`MAX_TRACES`] / [`MAX_ENTRIES`];
//! lines longer than [`MAX_LINE`] are ignored.

use nom::bytes::complete::{tag, take_while1, take_while_m_n};
use nom::character::complete::{char, space0, space1};
use nom::combinator::{eof, opt};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

/// Traces kept per input; more are counted in [`Log::dropped_traces`].
pub const MAX_TRACES: usize = 4096;
/// Entries (frames, section markers, register blocks) kept per trace.
pub const MAX_ENTRIES: usize = 1024;
/// Longer lines are not looked at (no kernel line is this long).
pub const MAX_LINE: usize = 4096;
/// Unrecognised lines tolerated inside a trace before it is closed (other
/// CPUs' messages can interleave with a trace on a console).
const MAX_NOISE: usize = 4;

/// Everything found in one text: the traces and what the log says about
/// the kernel that printed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log<'t> {
    /// Call traces in input order.
    pub traces: Vec<Trace<'t>>,
    /// Release, KASLR offset, build id.
    pub info: LogInfo<'t>,
    /// Traces beyond [`MAX_TRACES`], not kept.
    pub dropped_traces: usize,
}

/// What the log says about the running kernel (the last value seen wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogInfo<'t> {
    /// `uname -r` of the kernel, from the `CPU: … Comm: …` or `Linux version` line.
    pub release: Option<&'t str>,
    /// KASLR offset from `Kernel Offset: 0x… from 0xffffffff81000000`.
    pub kernel_offset: Option<u64>,
    /// vmlinux build id (hex), printed at the end of the `CPU:` line by
    /// kernels with `CONFIG_STACKTRACE_BUILD_ID`.
    pub build_id: Option<&'t str>,
}

/// One call trace and the register dump that introduced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace<'t> {
    /// The report's first line (`BUG: …`, `WARNING: …`, `Kernel panic - …`).
    pub title: Option<&'t str>,
    /// The `RIP:`/`Code:` lines printed before `Call Trace:`.
    pub regs: Option<Regs<'t>>,
    /// Frames, section markers and in-trace register dumps, in order.
    pub entries: Vec<Entry<'t>>,
    /// 0-based line of the first line that belongs to the trace (the `RIP:`
    /// line if any, else `Call Trace:`).
    pub first_line: usize,
    /// 0-based line of the last entry.
    pub last_line: usize,
    /// Entries beyond [`MAX_ENTRIES`] were dropped.
    pub truncated: bool,
}

impl<'t> Trace<'t> {
    /// Every frame with a symbol or address, the header `RIP:` first.
    pub fn frames(&self) -> impl Iterator<Item = &Frame<'t>> {
        self.regs
            .iter()
            .map(|r| &r.rip)
            .chain(self.entries.iter().filter_map(|e| match e {
                Entry::Frame(f) => Some(f),
                Entry::Regs(r) => Some(&r.rip),
                Entry::Section { .. } => None,
            }))
    }
}

/// One line of a trace body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<'t> {
    /// A stack frame.
    Frame(Frame<'t>),
    /// `<IRQ>`, `</IRQ>`, `<TASK>`, `<NMI>`, … (`name` without brackets or slash).
    Section {
        /// `IRQ`, `TASK`, `NMI`, `SOFTIRQ`, `#DF`, `EOI`, …
        name: &'t str,
        /// `<X>` opens, `</X>` closes.
        open: bool,
        /// 0-based input line.
        line: usize,
    },
    /// A register dump inside the trace (the interrupted context).
    Regs(Regs<'t>),
}

/// A `RIP:` line and the `Code:` line that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regs<'t> {
    /// The instruction pointer as a frame (`is_rip` set).
    pub rip: Frame<'t>,
    /// The code bytes around it.
    pub code: Option<Code>,
}

/// A `symbol+0xoff/0xlen` reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolRef<'t> {
    /// Symbol name as printed (`crashmod_write.cold`).
    pub name: &'t str,
    /// Offset into the symbol.
    pub offset: u64,
    /// The symbol's size, when printed.
    pub size: Option<u64>,
}

/// One stack frame (or `RIP:` value) as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'t> {
    /// 0-based input line.
    pub line: usize,
    /// The line with its log prefixes removed and whitespace trimmed.
    pub text: &'t str,
    /// `false` for `?` frames (a stale return address the unwinder found on
    /// the stack).
    pub reliable: bool,
    /// The printed address (`[<ffffffff…>]` or a bare `0x…`), if any.
    pub address: Option<u64>,
    /// The printed symbol, if any.
    pub symbol: Option<SymbolRef<'t>>,
    /// `[module]`: the module the frame is in; `None` means vmlinux.
    pub module: Option<&'t str>,
    /// `[module <build id>]` with `CONFIG_STACKTRACE_BUILD_ID`.
    pub module_build_id: Option<&'t str>,
    /// The innermost open section (`IRQ`, `TASK`, …) when printed.
    pub section: Option<&'t str>,
    /// This is a `RIP:` (or arm64 `pc :`) line, the exact faulting address
    /// rather than a return address.
    pub is_rip: bool,
    /// A user-mode `RIP:` (code segment with RPL 3, e.g. `0033:`).
    pub user: bool,
}

/// The bytes of a `Code:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// 0-based input line.
    pub line: usize,
    /// The bytes in order.
    pub bytes: Vec<u8>,
    /// Index in `bytes` of the byte printed as `<xx>` (or `(xx)`): the first
    /// byte of the faulting instruction.
    pub fault: Option<usize>,
}

/// What one line is, after its prefixes are removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'t> {
    /// `Call Trace:` (or arm64 `Call trace:`).
    CallTrace,
    /// `<IRQ>`, `</TASK>`, …
    Section {
        /// Marker name.
        name: &'t str,
        /// Opening marker.
        open: bool,
    },
    /// A stack frame.
    Frame(Frame<'t>),
    /// `RIP: 0010:…`.
    Rip(Frame<'t>),
    /// `Code: …`.
    Code(Code),
    /// Other register lines (`RSP:`, `RAX:`, `CR2:`, arm64 `x29:` …).
    Register,
    /// The first line of a report.
    Title(&'t str),
    /// A line that closes any open trace (`Modules linked in:`, `---[ end trace`).
    End,
    /// `Kernel Offset: 0x… from …`.
    KernelOffset(u64),
    /// The release (and build id) from a `CPU:` or `Linux version` line.
    Release(&'t str, Option<&'t str>),
    /// Anything else.
    Other,
}

/// Removes syslog, level, timestamp and caller-id prefixes.
pub fn strip_prefixes(line: &str) -> &str {
    let mut s = line.trim_end_matches(['\r', '\n']);
    // `Nov 29 02:43:01 host kernel: …` or `2026-11-29T02:43:01+0000 host kernel: …`:
    // only when what precedes `kernel: ` looks like a syslog prefix (it has a
    // clock time), so `Kernel panic - not syncing: kernel: panic_on_warn` stays.
    if let Some(p) = s.find(" kernel: ") {
        let head = s.get(..p).unwrap_or("");
        if !head.contains(['<', '[']) && has_clock(head) {
            s = s
                .get(p..)
                .and_then(|t| t.strip_prefix(" kernel: "))
                .unwrap_or("");
        }
    }
    if let Ok((rest, _)) = level(s) {
        s = rest;
    }
    // `[    2.485764]` then optionally `[    T1]` / `[   C0]`.
    for _ in 0..2 {
        if let Ok((rest, _)) = bracketed_prefix(s) {
            s = rest;
        }
    }
    s.trim()
}

fn has_clock(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(8).any(|w| {
        matches!(w, [a, b, b':', c, d, b':', e, f]
            if [a, b, c, d, e, f].iter().all(|x| x.is_ascii_digit()))
    })
}

fn level(s: &str) -> IResult<&str, &str> {
    delimited(
        char('<'),
        take_while_m_n(1, 3, |c: char| c.is_ascii_digit()),
        char('>'),
    )
    .parse(s)
}

/// `[    2.485764]`, `[    T1]`, `[   C0]` (and the space after).
fn bracketed_prefix(s: &str) -> IResult<&str, &str> {
    let (rest, inner) = delimited(
        char('['),
        preceded(
            space0,
            take_while1(|c: char| c.is_ascii_digit() || c == '.' || c == 'T' || c == 'C'),
        ),
        char(']'),
    )
    .parse(s)?;
    // A frame's `[<ffffffff…>]` never matches: it starts with `<`.
    let ok = inner.contains('.')
        || (inner.len() > 1
            && inner.starts_with(['T', 'C'])
            && inner
                .get(1..)
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit())));
    if !ok {
        return Err(nom::Err::Error(nom::error::Error::new(
            s,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((rest, inner))
}

fn hex_u64(s: &str) -> IResult<&str, u64> {
    let (rest, digits) = take_while_m_n(1, 16, |c: char| c.is_ascii_hexdigit()).parse(s)?;
    match u64::from_str_radix(digits, 16) {
        Ok(v) => Ok((rest, v)),
        Err(_) => Err(nom::Err::Error(nom::error::Error::new(
            s,
            nom::error::ErrorKind::HexDigit,
        ))),
    }
}

fn hex0x(s: &str) -> IResult<&str, u64> {
    preceded(tag("0x"), hex_u64).parse(s)
}

fn is_sym_char(c: char) -> bool {
    !c.is_whitespace() && c != '+' && c != '[' && c != ']' && c != '/' && c != '<' && c != '>'
}

/// `name+0xoff` with optional `/0xlen`.
fn symbol_ref(s: &str) -> IResult<&str, SymbolRef<'_>> {
    let (s, name) = take_while1(is_sym_char).parse(s)?;
    let (s, offset) = preceded(char('+'), hex0x).parse(s)?;
    let (s, size) = opt(preceded(char('/'), hex0x)).parse(s)?;
    Ok((s, SymbolRef { name, offset, size }))
}

/// ` [module]` or ` [module 0123abcd…]`.
fn module_ref(s: &str) -> IResult<&str, (&str, Option<&str>)> {
    let (s, _) = space1(s)?;
    let (s, _) = char('[').parse(s)?;
    let (s, name) =
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-').parse(s)?;
    let (s, id) = opt(preceded(
        space1,
        take_while_m_n(8, 64, |c: char| c.is_ascii_hexdigit()),
    ))
    .parse(s)?;
    let (s, _) = char(']').parse(s)?;
    Ok((s, (name, id)))
}

/// `[<ffffffff81234567>]` (and the spaces after).
fn bracket_addr(s: &str) -> IResult<&str, u64> {
    let (s, a) = delimited(tag("[<"), hex_u64, tag(">]")).parse(s)?;
    let (s, _) = space0(s)?;
    Ok((s, a))
}

struct FrameParts<'t> {
    reliable: bool,
    address: Option<u64>,
    symbol: Option<SymbolRef<'t>>,
    module: Option<(&'t str, Option<&'t str>)>,
}

/// The frame grammar, for a whole (prefix-free) line:
/// `[<addr>]* [? ] (sym+0xoff[/0xlen] | 0xaddr) [ [module[ buildid]]]`.
fn frame_parts(s: &str) -> IResult<&str, FrameParts<'_>> {
    let mut s = s;
    let mut address = None;
    // Old kernels print the address twice on RIP lines: `[<a>]  [<a>] sym`.
    for _ in 0..2 {
        match bracket_addr(s) {
            Ok((rest, a)) => {
                address = Some(a);
                s = rest;
            }
            Err(_) => break,
        }
    }
    let (s, q) = opt((char('?'), space1)).parse(s)?;
    let (s, symbol, address) = match symbol_ref(s) {
        Ok((rest, sym)) if !sym.name.starts_with("0x") => (rest, Some(sym), address),
        _ => {
            let (rest, a) = hex0x(s)?;
            (rest, None, Some(a))
        }
    };
    let (s, module) = opt(module_ref).parse(s)?;
    let (s, _) = space0(s)?;
    let (s, _) = eof(s)?;
    Ok((
        s,
        FrameParts {
            reliable: q.is_none(),
            address,
            symbol,
            module,
        },
    ))
}

fn make_frame<'t>(text: &'t str, p: FrameParts<'t>, line: usize) -> Frame<'t> {
    Frame {
        line,
        text,
        reliable: p.reliable,
        address: p.address,
        symbol: p.symbol,
        module: p.module.map(|m| m.0),
        module_build_id: p.module.and_then(|m| m.1),
        section: None,
        is_rip: false,
        user: false,
    }
}

/// `RIP: 0010:sym+0x1c/0x25 [mod]`, `RIP: 0033:0x47b7a0`,
/// `RIP: 0010:[<ffffffff8100b1c2>]  [<ffffffff8100b1c2>] sym+0x12/0x30`,
/// arm64 `pc : sym+0x1c/0x25 [mod]`.
fn rip_line(s: &str) -> IResult<&str, (Option<u64>, FrameParts<'_>)> {
    let (s, _) = nom::branch::alt((tag("RIP:"), tag("pc :"), tag("EIP:"))).parse(s)?;
    let (s, _) = space0(s)?;
    let (s, seg) = opt((hex_u64, char(':'))).parse(s)?;
    let (s, _) = space0(s)?;
    let (s, parts) = frame_parts(s)?;
    Ok((s, (seg.map(|x| x.0), parts)))
}

/// `Code: 48 89 <8b> 43 …`; `Code: Unable to access opcode bytes at …`
/// gives no bytes.
fn code_line(s: &str, line: usize) -> Option<Code> {
    let rest = s.strip_prefix("Code:")?;
    let mut bytes = Vec::new();
    let mut fault = None;
    for tok in rest.split_ascii_whitespace().take(256) {
        let (marked, hex) = if let Some(h) = tok.strip_prefix('<').and_then(|t| t.strip_suffix('>'))
        {
            (true, h)
        } else if let Some(h) = tok.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            (true, h)
        } else {
            (false, tok)
        };
        if hex.len() != 2 {
            // Words (other architectures) or prose: not x86 code bytes.
            if bytes.is_empty() {
                return Some(Code {
                    line,
                    bytes,
                    fault: None,
                });
            }
            break;
        }
        let Ok(b) = u8::from_str_radix(hex, 16) else {
            break;
        };
        if marked && fault.is_none() {
            fault = Some(bytes.len());
        }
        bytes.push(b);
    }
    Some(Code { line, bytes, fault })
}

const TITLES: &[&str] = &[
    "BUG: ",
    "WARNING: ",
    "Kernel panic - not syncing",
    "general protection fault",
    "kernel BUG at ",
    "Unable to handle kernel",
    "Internal error: ",
    "INFO: task ",
    "INFO: rcu_",
    "rcu: INFO: ",
    "watchdog: BUG: ",
    "NMI backtrace for cpu",
    "Sending NMI from CPU",
    "divide error:",
    "invalid opcode:",
    "stack segment:",
    "double fault:",
    "------------[ cut here ]------------",
    "sysrq: Show",
    "Hardware name:",
];

/// `BUG:`/`WARNING:` and friends start a report. `Hardware name:` is in the
/// list only to reset stale `RIP:` state; it is not used as a title.
fn title(s: &str) -> Option<&str> {
    TITLES.iter().find(|t| s.starts_with(**t)).map(|_| s)
}

/// `CPU: 0 PID: 99 Comm: sh Tainted: G OE 6.1.0-56-amd64 #1 Debian 6.1.192-2 [buildid]`
/// or `Linux version 6.1.0-56-amd64 (…)`.
fn release_line(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix("Linux version ") {
        let rel = rest.split_ascii_whitespace().next()?;
        return Some((rel, None));
    }
    if !(s.starts_with("CPU: ") && s.contains(" Comm: ")) {
        return None;
    }
    let words: Vec<&str> = s.split_ascii_whitespace().take(64).collect();
    let hash = words.iter().position(|w| {
        w.len() > 1 && w.starts_with('#') && w.bytes().skip(1).all(|b| b.is_ascii_digit())
    })?;
    let rel = *words.get(hash.checked_sub(1)?)?;
    let last = words.last().copied();
    let build_id =
        last.filter(|w| w.len() >= 32 && w.len() <= 64 && w.bytes().all(|b| b.is_ascii_hexdigit()));
    Some((rel, build_id))
}

/// `Kernel Offset: 0x37200000 from 0xffffffff81000000 (…)`; also
/// VMCOREINFO's `KERNELOFFSET=37200000`.
fn kernel_offset(s: &str) -> Option<u64> {
    if let Some(rest) = s.strip_prefix("Kernel Offset: ") {
        let (_, v) = hex0x(rest).ok()?;
        return Some(v);
    }
    let rest = s.strip_prefix("KERNELOFFSET=")?;
    let (_, v) = hex_u64(rest).ok()?;
    Some(v)
}

fn is_register_line(s: &str) -> bool {
    // x86: `RSP: 0018:…`, `RAX: …`, `R10: …`, `FS:  …`, `CS:  …`, `CR2: …`,
    // `DR0: …`, `PKRU: …`, `EFLAGS`; arm64: `x29: …`, `sp : …`, `pstate: …`, `lr : …`.
    let b = s.as_bytes();
    let Some(colon) = b.iter().take(8).position(|&c| c == b':') else {
        return false;
    };
    let name = s.get(..colon).unwrap_or("").trim_end();
    if name.is_empty() {
        return false;
    }
    let upper = name.len() <= 6
        && name
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && name.bytes().next().is_some_and(|c| c.is_ascii_uppercase())
        && !matches!(name, "CPU" | "BUG" | "PID" | "INFO");
    let arm = matches!(name, "sp" | "lr" | "pstate")
        || (name.starts_with('x')
            && name.len() <= 3
            && name.bytes().skip(1).all(|c| c.is_ascii_digit()));
    upper || arm
}

fn section_marker(s: &str) -> Option<(&str, bool)> {
    let inner = s.strip_prefix('<')?.strip_suffix('>')?;
    let (name, open) = match inner.strip_prefix('/') {
        Some(n) => (n, false),
        None => (inner, true),
    };
    let ok = !name.is_empty()
        && name.len() <= 20
        && name
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'#' || c == b'_');
    ok.then_some((name, open))
}

/// Classifies one line (prefixes already removed by [`strip_prefixes`]).
pub fn classify(body: &str, line: usize) -> Line<'_> {
    if body.len() > MAX_LINE || body.is_empty() {
        return Line::Other;
    }
    if body == "Call Trace:" || body == "Call trace:" {
        return Line::CallTrace;
    }
    if let Some((name, open)) = section_marker(body) {
        return Line::Section { name, open };
    }
    if let Ok((_, (seg, parts))) = rip_line(body) {
        let mut f = make_frame(body, parts, line);
        f.is_rip = true;
        f.user = seg.is_some_and(|s| s & 3 == 3);
        return Line::Rip(f);
    }
    if let Some(code) = code_line(body, line) {
        return Line::Code(code);
    }
    if let Some(off) = kernel_offset(body) {
        return Line::KernelOffset(off);
    }
    if let Some((rel, id)) = release_line(body) {
        return Line::Release(rel, id);
    }
    if body.starts_with("Modules linked in:") || body.starts_with("---[ end ") {
        return Line::End;
    }
    if let Some(t) = title(body) {
        return Line::Title(t);
    }
    if is_register_line(body) {
        return Line::Register;
    }
    if let Ok((_, parts)) = frame_parts(body) {
        return Line::Frame(make_frame(body, parts, line));
    }
    Line::Other
}

/// Parses a whole text: every trace, plus release/KASLR/build id.
pub fn parse_log(text: &str) -> Log<'_> {
    let mut p = State::default();
    for (n, raw) in text.lines().enumerate() {
        if raw.len() > MAX_LINE + 64 {
            p.other();
            continue;
        }
        p.line(classify(strip_prefixes(raw), n), n);
    }
    p.finish()
}

#[derive(Default)]
struct State<'t> {
    log: Log<'t>,
    title: Option<&'t str>,
    pending: Option<Regs<'t>>,
    pending_line: usize,
    cur: Option<Trace<'t>>,
    sections: Vec<&'t str>,
    noise: usize,
    /// The last line was a `RIP:` whose `Code:` may follow.
    after_rip: bool,
}

impl<'t> State<'t> {
    fn close(&mut self) {
        if let Some(t) = self.cur.take() {
            if self.log.traces.len() < MAX_TRACES {
                self.log.traces.push(t);
            } else {
                self.log.dropped_traces = self.log.dropped_traces.saturating_add(1);
            }
        }
        self.sections.clear();
        self.noise = 0;
    }

    fn push(&mut self, e: Entry<'t>, n: usize) {
        if let Some(t) = self.cur.as_mut() {
            if t.entries.len() < MAX_ENTRIES {
                t.entries.push(e);
                t.last_line = n;
            } else {
                t.truncated = true;
            }
        }
    }

    fn start(&mut self, n: usize) {
        self.close();
        let regs = self.pending.take();
        let first_line = if regs.is_some() { self.pending_line } else { n };
        self.cur = Some(Trace {
            title: self
                .title
                .take()
                .filter(|t| !t.starts_with("Hardware name:")),
            regs,
            entries: Vec::new(),
            first_line,
            last_line: n,
            truncated: false,
        });
    }

    fn other(&mut self) {
        self.after_rip = false;
        if self.cur.is_some() {
            self.noise = self.noise.saturating_add(1);
            if self.noise > MAX_NOISE {
                self.close();
            }
        }
    }

    fn line(&mut self, l: Line<'t>, n: usize) {
        let after_rip = std::mem::replace(&mut self.after_rip, false);
        match l {
            Line::CallTrace => self.start(n),
            Line::Section { name, open } => {
                if self.cur.is_none() {
                    self.start(n);
                }
                self.noise = 0;
                if open {
                    if self.sections.len() < 64 {
                        self.sections.push(name);
                    }
                } else if let Some(i) = self.sections.iter().rposition(|s| *s == name) {
                    self.sections.truncate(i);
                }
                self.push(
                    Entry::Section {
                        name,
                        open,
                        line: n,
                    },
                    n,
                );
            }
            Line::Frame(mut f) => {
                if self.cur.is_none() {
                    // A pasted trace without its `Call Trace:` header.
                    self.start(n);
                }
                self.noise = 0;
                f.section = self.sections.last().copied();
                self.push(Entry::Frame(f), n);
            }
            Line::Rip(mut f) => {
                self.after_rip = true;
                if self.cur.is_some() {
                    self.noise = 0;
                    f.section = self.sections.last().copied();
                    self.push(Entry::Regs(Regs { rip: f, code: None }), n);
                } else {
                    self.pending = Some(Regs { rip: f, code: None });
                    self.pending_line = n;
                }
            }
            Line::Code(code) => {
                if !after_rip {
                    return;
                }
                if let Some(t) = self.cur.as_mut() {
                    if let Some(Entry::Regs(r)) = t.entries.last_mut() {
                        r.code = Some(code);
                    }
                } else if let Some(r) = self.pending.as_mut() {
                    r.code = Some(code);
                }
            }
            Line::Register => {
                // Part of a register dump; it neither extends nor ends a trace.
            }
            Line::Title(t) => {
                self.close();
                self.pending = None;
                if !t.starts_with("Hardware name:") || self.title.is_none() {
                    self.title = Some(t);
                }
            }
            Line::End => self.close(),
            Line::KernelOffset(off) => {
                self.close();
                self.log.info.kernel_offset = Some(off);
            }
            Line::Release(rel, id) => {
                self.log.info.release = Some(rel);
                if id.is_some() {
                    self.log.info.build_id = id;
                }
                if self.cur.is_some() {
                    self.close();
                }
            }
            Line::Other => self.other(),
        }
    }

    fn finish(mut self) -> Log<'t> {
        self.close();
        self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(
            strip_prefixes("<4>[    2.290385]  crashmod_write.cold+0x36/0x3b [crashmod]"),
            "crashmod_write.cold+0x36/0x3b [crashmod]"
        );
        assert_eq!(
            strip_prefixes("[    2.1][    T1] Call Trace:"),
            "Call Trace:"
        );
        assert_eq!(
            strip_prefixes("Nov 29 02:43:01 host kernel: Call Trace:"),
            "Call Trace:"
        );
        assert_eq!(
            strip_prefixes("Kernel panic - not syncing: kernel: panic_on_warn set ..."),
            "Kernel panic - not syncing: kernel: panic_on_warn set ..."
        );
    }

    #[test]
    fn frames() {
        let Line::Frame(f) = classify("? crashmod_oops_target+0x25/0x25 [crashmod]", 3) else {
            panic!()
        };
        assert!(!f.reliable);
        assert_eq!(f.module, Some("crashmod"));
        assert_eq!(
            f.symbol,
            Some(SymbolRef {
                name: "crashmod_oops_target",
                offset: 0x25,
                size: Some(0x25)
            })
        );
        let Line::Frame(f) = classify("[<ffffffff8100b1c2>] ? do_one_initcall+0x12/0x30", 0) else {
            panic!()
        };
        assert_eq!(f.address, Some(0xffffffff8100b1c2));
        assert_eq!(f.symbol.map(|s| s.name), Some("do_one_initcall"));
        let Line::Frame(f) = classify("foo+0x1/0x2 [mod_x 0123456789abcdef0123]", 0) else {
            panic!()
        };
        assert_eq!(f.module_build_id, Some("0123456789abcdef0123"));
        assert_eq!(classify("vfs_write+0xc7/0x3f0 trailing", 0), Line::Other);
    }

    #[test]
    fn rip_and_code() {
        let Line::Rip(f) = classify("RIP: 0010:crashmod_timer_fn+0x18/0x28 [crashmod]", 0) else {
            panic!()
        };
        assert!(f.is_rip && !f.user);
        let Line::Rip(f) = classify("RIP: 0033:0x47b7a0", 0) else {
            panic!()
        };
        assert!(f.user);
        assert_eq!(f.address, Some(0x47b7a0));
        let Line::Code(c) = classify("Code: 0f 1f <8b> 43", 0) else {
            panic!()
        };
        assert_eq!(c.bytes, vec![0x0f, 0x1f, 0x8b, 0x43]);
        assert_eq!(c.fault, Some(2));
    }

    #[test]
    fn release() {
        let l = classify(
            "CPU: 0 PID: 99 Comm: sh Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2",
            0,
        );
        assert_eq!(l, Line::Release("6.1.0-56-amd64", None));
        assert_eq!(
            classify("Kernel Offset: 0x37200000 from 0xffffffff81000000 (relocation range: 0xffffffff80000000-0xffffffffbfffffff)", 0),
            Line::KernelOffset(0x37200000)
        );
    }
}
