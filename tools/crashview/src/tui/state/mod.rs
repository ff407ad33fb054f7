//! Plain state: what the TUI shows and where the cursors are. Key handlers
//! here only change state and report whether they used the key; drawing
//! lives in `views/` and reads this through a shared borrow.

pub mod log;
pub mod rows;
pub mod scroll;

use std::collections::VecDeque;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crashview_analysis::{Report, Symbols};

use self::log::LogState;
use self::rows::{timeline_rows, trace_rows};
use self::scroll::Scroll;

/// Did a handler use the event, or should it go further down the chain?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    /// Used; stop here.
    Consumed,
    /// Not used; let the next handler see it.
    NotConsumed,
}

/// A request from one pane to another, queued by a key handler and
/// carried out by [`App::process_actions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Show the log pane with the cursor on this log line.
    JumpToLog(usize),
}

/// The panes, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// Input, panic summary and pstore records.
    Summary,
    /// The kernel log.
    Log,
    /// Call traces.
    Traces,
    /// The panic-phase timeline.
    Timeline,
}

impl Pane {
    /// Every pane, in tab order.
    pub const ALL: [Pane; 4] = [Pane::Summary, Pane::Log, Pane::Traces, Pane::Timeline];

    /// The tab title.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Summary => "Summary",
            Pane::Log => "Log",
            Pane::Traces => "Traces",
            Pane::Timeline => "Timeline",
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }
}

/// Where loading the report is.
#[derive(Debug, Clone)]
pub enum Load {
    /// Still reading; `ticks` counts ticks since it started (the spinner).
    Loading {
        /// Ticks seen while loading.
        ticks: u64,
        /// The phase the loader reported last (`reading 1.0 GiB`).
        phase: String,
    },
    /// The input could not be read.
    Failed(String),
    /// The report, ready.
    Ready(Box<Report>),
}

/// Where resolving the traces' frames to file:line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolState {
    /// Not asked for (`--no-symbols`).
    Off,
    /// Reading debug files in the background.
    Resolving,
    /// Done: the report's frames carry their source lines; the warnings
    /// say what was not found.
    Done {
        /// Files used: vmlinux (0 or 1) plus modules.
        files: usize,
        /// What is missing or suspicious.
        warnings: Vec<String>,
    },
    /// A debug file named on the command line could not be read.
    Failed(String),
}

/// The whole TUI state.
#[derive(Debug, Clone)]
pub struct App {
    /// The input as named on the command line.
    pub input: String,
    /// The report, once loaded.
    pub load: Load,
    /// Source locations for the traces.
    pub symbols: SymbolState,
    /// The pane shown.
    pub pane: Pane,
    /// Record list cursor (summary pane).
    pub records: Scroll,
    /// Log pane.
    pub log: LogState,
    /// Trace pane cursor.
    pub traces: Scroll,
    /// Timeline pane cursor.
    pub timeline: Scroll,
    /// The help popup is open.
    pub help: bool,
    /// The user asked to quit.
    pub quit: bool,
    /// Terminal size (columns, rows), from the last resize.
    pub size: (u16, u16),
    /// Cross-pane requests not yet carried out.
    pub actions: VecDeque<Action>,
}

/// Rows the body of a pane has at terminal height `rows`: minus the tab
/// bar, the status line and the pane's border.
pub fn body_rows(rows: u16) -> usize {
    usize::from(rows.saturating_sub(4)).max(1)
}

impl App {
    /// A state waiting for `input` to load, for a terminal of `size`.
    pub fn new(input: String, size: (u16, u16)) -> App {
        App {
            input,
            load: Load::Loading {
                ticks: 0,
                phase: String::new(),
            },
            symbols: SymbolState::Off,
            pane: Pane::Summary,
            records: Scroll::default(),
            log: LogState::default(),
            traces: Scroll::default(),
            timeline: Scroll::default(),
            help: false,
            quit: false,
            size,
            actions: VecDeque::new(),
        }
    }

    /// The report, when loaded.
    pub fn report(&self) -> Option<&Report> {
        match &self.load {
            Load::Ready(r) => Some(r),
            _ => None,
        }
    }

    /// Loading finished.
    pub fn loaded(&mut self, result: Result<Report, String>) {
        match result {
            Ok(r) => {
                self.log = LogState::new(&r.log.lines);
                // A crash with a timeline opens on its summary; the panes
                // are one key away.
                self.load = Load::Ready(Box::new(r));
            }
            Err(e) => self.load = Load::Failed(e),
        }
    }

    /// The loader reports a new phase.
    pub fn progress(&mut self, what: String) {
        if let Load::Loading { phase, .. } = &mut self.load {
            *phase = what;
        }
    }

    /// The traces' source locations arrived (after [`loaded`](Self::loaded)).
    pub fn symbolized(&mut self, result: Result<Symbols, String>) {
        self.symbols = match result {
            Ok(s) => {
                let files = usize::from(s.files.vmlinux.is_some()) + s.files.modules.len();
                let warnings = s.files.warnings.clone();
                if let Load::Ready(r) = &mut self.load {
                    s.apply(r);
                }
                SymbolState::Done { files, warnings }
            }
            Err(e) => SymbolState::Failed(e),
        };
    }

    /// A tick: only the loading spinner moves. Returns whether to redraw.
    pub fn tick(&mut self) -> bool {
        if let Load::Loading { ticks, .. } = &mut self.load {
            *ticks += 1;
            true
        } else {
            false
        }
    }

    fn page(&self) -> usize {
        body_rows(self.size.1)
    }

    /// Routes a key: search input first, then the help popup, the active
    /// pane, and last the global keys.
    pub fn handle_key(&mut self, key: KeyEvent) -> EventState {
        if key.kind == KeyEventKind::Release {
            return EventState::NotConsumed;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return EventState::Consumed;
        }
        if self.help {
            // Any key closes help; q still quits.
            self.help = false;
            if key.code == KeyCode::Char('q') {
                self.quit = true;
            }
            return EventState::Consumed;
        }
        let page = self.page();
        let state = match &self.load {
            Load::Ready(r) => match self.pane {
                Pane::Summary => self.records.handle_key(key, r.records.len(), page),
                Pane::Log => self.log.handle_key(key, &r.log.lines, page),
                Pane::Traces => {
                    let rows = trace_rows(r);
                    if key.code == KeyCode::Enter {
                        // A frame row shows its own line, a title row the trace's first.
                        if let Some(row) = rows.get(self.traces.cursor) {
                            // A stack from the dump has no log line.
                            let logged = r.traces.get(row.trace).filter(|t| {
                                t.source == crashview_analysis::summary::TraceSource::Log
                            });
                            if let Some(t) = logged {
                                let line = row
                                    .frame
                                    .and_then(|f| t.frames.get(f))
                                    .map_or(t.lines.0, |f| f.line);
                                self.actions.push_back(Action::JumpToLog(line));
                            }
                        }
                        EventState::Consumed
                    } else {
                        self.traces.handle_key(key, rows.len(), page)
                    }
                }
                Pane::Timeline => {
                    let rows = timeline_rows(r);
                    if key.code == KeyCode::Enter {
                        if let Some(l) = rows.get(self.timeline.cursor).and_then(|x| x.log_line) {
                            self.actions.push_back(Action::JumpToLog(l));
                        }
                        EventState::Consumed
                    } else {
                        self.timeline.handle_key(key, rows.len(), page)
                    }
                }
            },
            _ => EventState::NotConsumed,
        };
        let state = if state == EventState::Consumed {
            EventState::Consumed
        } else {
            self.global_key(key)
        };
        self.process_actions();
        state
    }

    fn global_key(&mut self, key: KeyEvent) -> EventState {
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Tab => self.pane = Pane::ALL[(self.pane.index() + 1) % Pane::ALL.len()],
            KeyCode::BackTab => {
                self.pane = Pane::ALL[(self.pane.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
            }
            KeyCode::Char(c @ '1'..='4') => {
                let i = usize::from(c as u8 - b'1');
                self.pane = Pane::ALL.get(i).copied().unwrap_or(self.pane);
            }
            KeyCode::Char('o') => {
                let line = self.report().and_then(|r| {
                    r.summary
                        .first_report
                        .as_ref()
                        .or(r.summary.panic.as_ref())
                        .map(|m| m.line)
                });
                match line {
                    Some(l) => self.actions.push_back(Action::JumpToLog(l)),
                    None if self.report().is_some() => {
                        self.log.message = Some("no Oops/BUG/WARN or panic in the log".into());
                        self.pane = Pane::Log;
                    }
                    None => {}
                }
            }
            _ => return EventState::NotConsumed,
        }
        EventState::Consumed
    }

    /// Carries out queued cross-pane requests.
    pub fn process_actions(&mut self) {
        let page = self.page();
        while let Some(a) = self.actions.pop_front() {
            match a {
                Action::JumpToLog(line) => {
                    if let Load::Ready(r) = &self.load {
                        self.log.jump_to(line, &r.log.lines, page);
                        self.pane = Pane::Log;
                    }
                }
            }
        }
    }
}
