//! The station's full-screen terminal UI: a sink that collects the station's events into a
//! [`board::Board`], a screen drawn from it ([`view`]), and keys that drive the [`Live`]
//! station. The terminal is restored on every way out: a normal quit, an error, a signal, and
//! a panic (a hook restores it before the panic message is printed).

pub mod board;
pub mod first_start;
mod input;
pub mod view;

use std::collections::HashMap;
use std::io::{self, Stdout};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use super::events::Queue;
use super::live::{Live, WhenIdle};
use board::{Board, State};
use input::{TerminalInput, Waited};
use view::Screen;

/// How often the whole screen is painted again, in case something else wrote over it.
const REPAINT_EVERY: Duration = Duration::from_secs(15);

/// How the screen is set up.
pub struct TuiOptions {
    pub station: String,
    /// The method `s` starts with until the operator picks another.
    pub default_method: String,
    pub auto: Option<String>,
    /// False when `NO_COLOR` is set.
    pub colour: bool,
    /// `station.poweroff_when_done`: leave for a power-off once unattended work is done and the
    /// results have been on the screen this long (a key press starts the wait again).
    pub poweroff_after: Option<Duration>,
    /// `station.operator` (or `--operator`) unless it is the placeholder: Enter alone at the
    /// sign-in takes it.
    pub configured_operator: Option<String>,
}

/// Why the screen was left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The operator quit, or a signal stopped the station.
    Quit,
    /// Unattended work is done: the machine is to be powered off.
    Done,
}

/// Whether colour is allowed (<https://no-color.org>: set and not empty means no colour).
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Puts the terminal back as it was. Safe to call more than once.
fn restore() {
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
}

/// The terminal in raw mode on the alternate screen, restored when dropped.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> io::Result<TerminalGuard> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        let entered =
            crossterm::execute!(io::stdout(), EnterAlternateScreen, crossterm::cursor::Hide)
                .and_then(|_| Terminal::new(CrosstermBackend::new(io::stdout())));
        match entered {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// What the keyboard is doing.
enum Mode {
    Normal,
    /// Typing (or scanning) an asset tag for the selected drive.
    Tag(String),
    /// The operator signs in (typed, or a badge scanned: a scanner types and ends with Enter):
    /// at the start of an attended station, and with `o` to change.
    SignIn(String),
    Confirm(Pending),
}

enum Pending {
    Start {
        path: String,
        method: String,
    },
    /// A drive of an asset already retired or destroyed: confirmed with `R`, not `y`.
    Rewipe {
        path: String,
        method: String,
        asset: String,
        state: String,
    },
    StopAll,
    Quit,
}

struct App {
    board: Board,
    selected: usize,
    methods: HashMap<String, String>,
    mode: Mode,
    quitting: bool,
    /// Paint the whole screen again at the next frame.
    repaint: bool,
    options: TuiOptions,
}

impl App {
    fn selected_path(&self) -> Option<String> {
        self.board.rows.get(self.selected).map(|r| r.path.clone())
    }

    fn method_for(&self, path: &str) -> String {
        self.methods
            .get(path)
            .cloned()
            .unwrap_or_else(|| self.options.default_method.clone())
    }

    /// The overwrite methods and the firmware methods this drive offers, in order.
    fn next_method(&self, path: &str) -> String {
        let mut all: Vec<String> = crate::erase::method::names()
            .into_iter()
            .map(String::from)
            .collect();
        if let Some(r) = self.board.rows.iter().find(|r| r.path == path) {
            all.extend(r.firmware_methods.iter().cloned());
        }
        let now = self.method_for(path);
        let at = all.iter().position(|m| *m == now).map_or(0, |i| i + 1);
        all.get(at % all.len().max(1)).cloned().unwrap_or(now)
    }

    fn prompt(&self) -> Option<String> {
        match &self.mode {
            Mode::Normal if self.quitting => {
                Some("stopping: waiting for running wipes to end".into())
            }
            Mode::Normal => None,
            Mode::Tag(t) => Some(format!("asset tag: {t}_   (Enter links it, Esc cancels)")),
            Mode::SignIn(t) => Some(match &self.options.configured_operator {
                Some(name) if t.is_empty() => format!(
                    "sign in: {t}_   type your name or scan your badge, then Enter (Enter alone: {name})"
                ),
                _ => format!("sign in: {t}_   type your name or scan your badge, then Enter"),
            }),
            Mode::Confirm(Pending::Start { path, method }) => Some(format!(
                "ERASE ALL DATA on {path} with {method}? y = yes, any other key = no"
            )),
            Mode::Confirm(Pending::Rewipe {
                path,
                method,
                asset,
                state,
            }) => Some(format!(
                "asset {asset} is {}: wipe {path} AGAIN with {method}? R = rewipe, other = no",
                state.to_uppercase()
            )),
            Mode::Confirm(Pending::StopAll) => {
                Some("stop EVERY running wipe (each ends INCOMPLETE)? y = yes".into())
            }
            Mode::Confirm(Pending::Quit) => {
                Some("wipes are running: stop them all and quit? y = yes".into())
            }
        }
    }

    fn key(&mut self, key: KeyEvent, live: &mut Live) {
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        match mode {
            Mode::Tag(mut tag) => match key.code {
                KeyCode::Enter => {
                    if let Some(path) = self.selected_path()
                        && let Err(e) = live.tag(&path, &tag)
                    {
                        self.board.note(format!("{path}: {e}"));
                    }
                }
                KeyCode::Esc => {}
                KeyCode::Backspace => {
                    tag.pop();
                    self.mode = Mode::Tag(tag);
                }
                KeyCode::Char(c) if !c.is_control() && tag.len() < 64 => {
                    tag.push(c);
                    self.mode = Mode::Tag(tag);
                }
                _ => self.mode = Mode::Tag(tag),
            },
            Mode::SignIn(name) => self.sign_in_key(name, key, live),
            Mode::Confirm(Pending::Rewipe { path, method, .. }) => {
                if key.code == KeyCode::Char('R') {
                    let _ = live.start_wipe(&path, &method, true);
                } else {
                    self.board.note(format!("{path}: not wiped again"));
                }
            }
            Mode::Confirm(pending) => {
                if key.code == KeyCode::Char('y') {
                    match pending {
                        Pending::Start { path, method } => {
                            let _ = live.start_wipe(&path, &method, false);
                        }
                        Pending::Rewipe { .. } => {}
                        Pending::StopAll => live.stop_all(),
                        Pending::Quit => {
                            live.stop_all();
                            self.quitting = true;
                        }
                    }
                }
            }
            Mode::Normal => self.normal_key(key, live),
        }
    }

    /// A key while the operator signs in. Ctrl-C still quits; Esc keeps whoever was signed
    /// in before (there must be someone).
    fn sign_in_key(&mut self, mut name: String, key: KeyEvent, live: &mut Live) {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.normal_key(key, live);
            return;
        }
        match key.code {
            KeyCode::Enter => {
                let typed = match (&self.options.configured_operator, name.trim()) {
                    (Some(configured), "") => configured.clone(),
                    (_, typed) => typed.to_string(),
                };
                match live.sign_in(&typed) {
                    Ok(()) => self.board.note(format!("operator {typed} signed in")),
                    Err(why) => {
                        self.board.note(why);
                        self.mode = Mode::SignIn(String::new());
                    }
                }
            }
            KeyCode::Esc if live.operator().is_some() => {}
            KeyCode::Backspace => {
                name.pop();
                self.mode = Mode::SignIn(name);
            }
            KeyCode::Char(c)
                if !c.is_control() && name.chars().count() < crate::config::MAX_OPERATOR_CHARS =>
            {
                name.push(c);
                self.mode = Mode::SignIn(name);
            }
            _ => self.mode = Mode::SignIn(name),
        }
    }

    fn normal_key(&mut self, key: KeyEvent, live: &mut Live) {
        let rows = self.board.rows.len();
        let path = self.selected_path();
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        match key.code {
            KeyCode::Char('l') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.repaint = true
            }
            _ if ctrl_c || key.code == KeyCode::Char('q') => {
                if live.busy() {
                    self.mode = Mode::Confirm(Pending::Quit);
                } else {
                    self.quitting = true;
                }
            }
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(rows.saturating_sub(1))
            }
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(10),
            KeyCode::PageDown => self.selected = (self.selected + 10).min(rows.saturating_sub(1)),
            KeyCode::Home => self.selected = 0,
            KeyCode::End => self.selected = rows.saturating_sub(1),
            KeyCode::Char('m') => {
                if let Some(p) = path {
                    let next = self.next_method(&p);
                    self.methods.insert(p, next);
                }
            }
            KeyCode::Char('s') => {
                if let Some(p) = path {
                    let row = &self.board.rows[self.selected];
                    if let Some(why) = &row.protected_reason {
                        self.board.note(format!("{p} is protected: {why}"));
                    } else if let Some(why) = &row.busy_reason {
                        self.board.note(format!("{p} is busy: {why}"));
                    } else if matches!(row.state, State::Running) {
                        self.board.note(format!("{p} is already being wiped"));
                    } else if let Some((asset, state)) = row.finished_asset() {
                        let (asset, state) = (asset.to_string(), state.to_string());
                        let method = self.method_for(&p);
                        self.mode = Mode::Confirm(Pending::Rewipe {
                            path: p,
                            method,
                            asset,
                            state,
                        });
                    } else {
                        let method = self.method_for(&p);
                        self.mode = Mode::Confirm(Pending::Start { path: p, method });
                    }
                }
            }
            KeyCode::Char('x') => {
                if let Some(p) = path
                    && !live.stop(&p)
                {
                    self.board.note(format!("{p}: nothing to stop"));
                }
            }
            KeyCode::Char('c') => {
                if let Some(p) = path {
                    live.cancel(&p);
                }
            }
            KeyCode::Char('a') => self.mode = Mode::Confirm(Pending::StopAll),
            KeyCode::Char('t') => self.mode = Mode::Tag(String::new()),
            KeyCode::Char('o') => self.mode = Mode::SignIn(String::new()),
            // A barcode scanner types the tag and Enter: a tag starts with a capital or digit.
            KeyCode::Char(c) if c.is_ascii_uppercase() || c.is_ascii_digit() => {
                self.mode = Mode::Tag(c.to_string())
            }
            _ => {}
        }
    }
}

/// Runs the terminal UI until the operator quits (or a signal stops the station) and every
/// running wipe has ended with its certificate.
pub fn run(live: &mut Live, queue: Arc<Queue>, options: TuiOptions) -> io::Result<Exit> {
    let input = TerminalInput::open()?;
    let mut guard = TerminalGuard::enter()?;
    // Set when the terminal hangs up or can no longer be written to: the station then stops
    // as on SIGHUP, and says why once its wipes have their certificates.
    let mut lost: Option<io::Error> = None;
    let mut size = guard.terminal.size().ok();
    let mut idle = options.poweroff_after.map(WhenIdle::new);
    let mut exit = Exit::Quit;
    let mut repainted = Instant::now();
    let mut app = App {
        board: Board::default(),
        selected: 0,
        methods: HashMap::new(),
        // An attended station starts by asking who is there; an unattended one never waits.
        mode: if options.auto.is_none() {
            Mode::SignIn(String::new())
        } else {
            Mode::Normal
        },
        quitting: false,
        repaint: false,
        options,
    };
    loop {
        for e in queue.drain() {
            app.board.apply(&e);
        }
        let method = app
            .selected_path()
            .map(|p| app.method_for(&p))
            .unwrap_or_else(|| app.options.default_method.clone());
        let left = idle.as_mut().and_then(|i| i.left(live));
        if left.is_some_and(|l| l.is_zero()) && !app.quitting {
            app.quitting = true;
            exit = Exit::Done;
        }
        let prompt = app.prompt().or_else(|| {
            left.map(|l| {
                format!(
                    "all wipes done: powering off in {} s (station.poweroff_when_done); any key waits",
                    l.as_secs()
                )
            })
        });
        if lost.is_none()
            && let Err(e) = draw(
                &mut guard,
                &mut app,
                &mut repainted,
                &mut size,
                &method,
                prompt,
                live,
            )
        {
            lost = Some(e);
        }
        if app.quitting && !live.busy() {
            break;
        }
        if lost.is_some() {
            std::thread::sleep(Duration::from_millis(50));
        } else {
            let keys = match input.wait(Duration::from_millis(50)) {
                Ok(Waited::Gone) => Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the station's terminal hung up",
                )),
                Ok(Waited::Ready) => read_keys(&mut app, live, idle.as_mut()),
                Ok(Waited::Nothing) => Ok(()),
                Err(e) => Err(e),
            };
            lost = keys.err();
        }
        if lost.is_some() && !app.quitting {
            // Nobody can see the screen or type: stop every wipe as SIGHUP does.
            live.session().stop_flag().stop();
            app.quitting = true;
        }
        live.tick(Duration::from_millis(150));
        if live.session().stop_flag().is_stopped() {
            // A signal: every wipe is stopping; leave once they have their certificates.
            app.quitting = true;
        }
    }
    live.finish();
    drop(guard);
    match lost {
        Some(e) if exit == Exit::Quit => Err(e),
        _ => Ok(exit),
    }
}

/// Paints the screen: all of it now and then (whatever else wrote to the terminal, a kernel
/// message on a console, is painted over), and at once on Ctrl-L or a resize.
fn draw(
    guard: &mut TerminalGuard,
    app: &mut App,
    repainted: &mut Instant,
    size: &mut Option<ratatui::layout::Size>,
    method: &str,
    prompt: Option<String>,
    live: &Live,
) -> io::Result<()> {
    let now = guard.terminal.size().ok();
    if now != *size {
        *size = now;
        app.repaint = true;
    }
    if app.repaint || repainted.elapsed() >= REPAINT_EVERY {
        guard.terminal.clear()?;
        app.repaint = false;
        *repainted = Instant::now();
    }
    guard.terminal.draw(|f| {
        view::draw(
            f,
            &Screen {
                board: &app.board,
                selected: app.selected,
                method,
                prompt,
                colour: app.options.colour,
                station: &app.options.station,
                auto: app.options.auto.as_deref(),
                operator: live
                    .operator()
                    .or(app.options.configured_operator.as_deref()),
            },
        )
    })?;
    Ok(())
}

/// Hands every key the terminal has to the screen. Asked only when the terminal has bytes
/// (see [`input`]); a scanner's whole tag may come in one read, so every event crossterm has
/// parsed is taken before waiting again.
fn read_keys(app: &mut App, live: &mut Live, mut idle: Option<&mut WhenIdle>) -> io::Result<()> {
    let mut after_enter = false;
    while event::poll(Duration::ZERO)? {
        match event::read()? {
            TermEvent::Resize(..) => app.repaint = true,
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                if let Some(i) = idle.as_deref_mut() {
                    i.reset();
                }
                let Some(key) = input::line_end(key, after_enter) else {
                    continue;
                };
                after_enter = key.code == KeyCode::Enter;
                app.key(key, live);
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::board::Board;
    use super::view::{Screen, draw};
    use crate::device::{DriveInfo, Media, Transport};
    use crate::station::events::{StationEvent, What};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn drive(n: usize) -> DriveInfo {
        DriveInfo {
            path: format!("/dev/sd{}", (b'a' + n as u8) as char),
            model: Some("WDC WD10EZEX-08WN4A0".into()),
            serial: Some(format!("WD-WCC6Y{n:06}")),
            firmware: None,
            wwn: None,
            transport: Transport::Sata,
            media: Media::Hdd,
            size_bytes: 1_000_204_886_016,
            logical_sector_size: 512,
            physical_sector_size: 4096,
            removable: false,
            read_only: false,
            protected: n == 0,
            protected_reason: (n == 0).then(|| "holds the running system".into()),
            capabilities: None,
            firmware_methods: vec![],
            health: crate::device::health::Health::unknown("not read in this test"),
            copy_on_write: None,
            busy: None,
            vendor: None,
            disk: None,
            identity: Default::default(),
        }
    }

    fn text(terminal: &Terminal<TestBackend>) -> String {
        let buf = terminal.backend().buffer();
        let mut s = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                s.push_str(buf[(x, y)].symbol());
            }
            s.push('\n');
        }
        s
    }

    #[test]
    fn twenty_four_drives_fit_80x24_and_the_selection_scrolls_into_view() {
        let mut board = Board::default();
        for n in 0..24 {
            board.apply(&StationEvent {
                drive: drive(n).path,
                what: What::Appeared {
                    info: Box::new(drive(n)),
                    existing: true,
                    location: Some(format!("ata{}", n + 1)),
                },
            });
        }
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        for (selected, want) in [(0, "sda"), (23, "sdx")] {
            terminal
                .draw(|f| {
                    draw(
                        f,
                        &Screen {
                            board: &board,
                            selected,
                            method: "zero",
                            prompt: None,
                            colour: false,
                            station: "bay-3",
                            auto: None,
                            operator: Some("Ann Smith"),
                        },
                    )
                })
                .unwrap();
            let screen = text(&terminal);
            assert!(screen.contains(want), "{want} not on screen:\n{screen}");
            assert!(screen.contains("drives 24"), "{screen}");
            assert!(screen.contains("s start"), "{screen}");
            // The detail pane says the selected drive's health.
            assert!(
                screen.contains("health unknown: not read in this test"),
                "{screen}"
            );
        }
        let screen = text(&terminal);
        // The selected last drive is on screen, the protected first one scrolled away.
        assert!(
            screen.contains("sdx") && !screen.contains("PROTECTED"),
            "{screen}"
        );
    }

    #[test]
    fn serials_cut_with_an_ellipsis_whole_in_the_detail_pane_with_the_place_of_each_drive() {
        let mut board = Board::default();
        for n in [1, 2] {
            let mut d = drive(n);
            d.serial = Some(format!("ACME-00010{n}-LONG-SERIAL"));
            board.apply(&StationEvent {
                drive: d.path.clone(),
                what: What::Appeared {
                    info: Box::new(d),
                    existing: true,
                    location: Some(format!("usb 1-{n}.4")),
                },
            });
        }
        for (width, height) in [(80, 24), (160, 45)] {
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            terminal
                .draw(|f| {
                    draw(
                        f,
                        &Screen {
                            board: &board,
                            selected: 1,
                            method: "zero",
                            prompt: None,
                            colour: false,
                            station: "bay-3",
                            auto: None,
                            operator: Some("Ann Smith"),
                        },
                    )
                })
                .unwrap();
            let screen = text(&terminal);
            assert!(screen.contains("WHERE"), "{screen}");
            for n in [1, 2] {
                let row = screen
                    .lines()
                    .find(|l| l.contains(&format!("usb 1-{n}.4")))
                    .unwrap_or_else(|| panic!("no location of drive {n}:\n{screen}"));
                assert!(row.contains(&format!("ACME-00010{n}")), "{row}");
            }
            if width == 80 {
                assert!(
                    screen.contains("…"),
                    "a cut serial has no ellipsis:\n{screen}"
                );
            }
            // The selected drive's whole serial is in the detail pane.
            assert!(
                screen.contains("serial ACME-000102-LONG-SERIAL"),
                "{screen}"
            );
        }
    }
}
