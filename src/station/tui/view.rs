//! Drawing the station's screen: a table of drives (columns fitted to the width, so 80x24
//! stays usable with 24 drives: the table scrolls with the selection), the selected drive's
//! details, the log, and the keys. Colour only where `NO_COLOR` is unset.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};

use super::board::{Board, DriveRow, State};
use crate::station::progress::human_size;
use crate::verify::WipeResult;

/// What the screen shows besides the board.
pub struct Screen<'a> {
    pub board: &'a Board,
    pub selected: usize,
    /// The method the next start uses, per selected drive.
    pub method: &'a str,
    /// A prompt at the bottom (a confirmation, the tag being typed), if any.
    pub prompt: Option<String>,
    pub colour: bool,
    pub station: &'a str,
    pub auto: Option<&'a str>,
}

impl Screen<'_> {
    fn style(&self, colour: Color) -> Style {
        if self.colour {
            Style::default().fg(colour)
        } else {
            Style::default()
        }
    }

    fn state_style(&self, row: &DriveRow) -> Style {
        match row.state {
            State::Ended(WipeResult::Pass) => self.style(Color::Green).add_modifier(Modifier::BOLD),
            State::Ended(_) | State::Refused => self.style(Color::Red).add_modifier(Modifier::BOLD),
            State::Protected => self.style(Color::Yellow),
            State::Running => self.style(Color::Cyan),
            State::Scheduled(_) => self.style(Color::Magenta),
            State::Ready | State::Removed => Style::default(),
        }
    }
}

/// Cuts `s` to `n` characters (with `~` marking a cut).
fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('~');
    out
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, screen: &Screen) {
    let area = frame.area();
    let log_height = if area.height >= 30 { 8 } else { 4 };
    let [title, table, detail, log, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(3),
        Constraint::Length(log_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_title(frame, title, screen);
    draw_table(frame, table, screen);
    draw_detail(frame, detail, screen);
    draw_log(frame, log, screen);
    let help_text = match &screen.prompt {
        Some(p) => p.clone(),
        None => "↑↓ select  m method  s start  x stop  a stop all  c cancel auto  t tag  q quit"
            .to_string(),
    };
    frame.render_widget(
        Paragraph::new(help_text).style(Style::default().add_modifier(Modifier::REVERSED)),
        help,
    );
}

fn draw_title(frame: &mut Frame, area: Rect, screen: &Screen) {
    let rows = &screen.board.rows;
    let running = rows.iter().filter(|r| r.state == State::Running).count();
    let passed = rows
        .iter()
        .filter(|r| r.state == State::Ended(WipeResult::Pass))
        .count();
    let failed = rows
        .iter()
        .filter(|r| {
            matches!(
                r.state,
                State::Ended(WipeResult::Fail | WipeResult::Incomplete)
            )
        })
        .count();
    let auto = screen
        .auto
        .map(|m| format!("  auto: {m}"))
        .unwrap_or_default();
    let text = format!(
        "wipeproof station {}  drives {}  running {running}  pass {passed}  fail {failed}{auto}",
        screen.station,
        rows.len()
    );
    frame.render_widget(
        Paragraph::new(text).style(Style::default().add_modifier(Modifier::BOLD)),
        area,
    );
}

fn draw_table(frame: &mut Frame, area: Rect, screen: &Screen) {
    // Wide screens get every column; 80 columns get the ones a technician scans for.
    let wide = area.width >= 150;
    let header_names: &[&str] = if wide {
        &[
            "PATH",
            "MODEL",
            "SERIAL",
            "SIZE",
            "BUS",
            "TAG",
            "STATE",
            "METHOD",
            "PROG",
            "MB/s",
            "ETA",
            "CERTIFICATE",
        ]
    } else {
        &[
            "PATH", "MODEL", "SERIAL", "SIZE", "BUS", "TAG", "STATE", "PROG", "ETA",
        ]
    };
    let widths: Vec<Constraint> = if wide {
        [12, 20, 16, 8, 5, 12, 10, 16, 6, 7, 8, 36]
            .iter()
            .map(|w| Constraint::Length(*w))
            .collect()
    } else {
        [10, 10, 9, 6, 4, 8, 10, 6, 7]
            .iter()
            .map(|w| Constraint::Length(*w))
            .collect()
    };
    let header = Row::new(header_names.iter().map(|h| Cell::from(*h)))
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let rows: Vec<Row> = screen
        .board
        .rows
        .iter()
        .map(|r| {
            let path = r.path.strip_prefix("/dev/").unwrap_or(&r.path);
            let progress = match r.state {
                State::Running | State::Ended(_) if r.total > 0 => {
                    format!("{:5.1}%", r.fraction() * 100.0)
                }
                _ => String::new(),
            };
            let tag = r.asset_tag.clone().unwrap_or_default();
            let mut cells = vec![
                Cell::from(path.to_string()),
                Cell::from(r.model.clone()),
                Cell::from(r.serial.clone()),
                Cell::from(human_size(r.size_bytes)),
                Cell::from(r.transport.clone()),
                Cell::from(tag),
                Cell::from(r.state_text()).style(screen.state_style(r)),
            ];
            if wide {
                cells.push(Cell::from(r.method.clone().unwrap_or_default()));
            }
            cells.push(Cell::from(progress));
            if wide {
                let rate = r.rate();
                cells.push(Cell::from(if rate > 0.0 {
                    format!("{:.0}", rate / 1e6)
                } else {
                    String::new()
                }));
            }
            cells.push(Cell::from(r.eta()));
            if wide {
                cells.push(Cell::from(r.certificate_id.clone().unwrap_or_default()));
            }
            Row::new(cells)
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("");
    let mut state = TableState::default();
    if !screen.board.rows.is_empty() {
        state.select(Some(screen.selected.min(screen.board.rows.len() - 1)));
    }
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_detail(frame: &mut Frame, area: Rect, screen: &Screen) {
    let Some(r) = screen.board.rows.get(screen.selected) else {
        frame.render_widget(
            Paragraph::new("No drives yet: plug one in; it shows here within 2 seconds."),
            area,
        );
        return;
    };
    let first = match (&r.protected_reason, &r.state) {
        (Some(why), _) => Line::from(vec![
            Span::styled("protected: ", screen.style(Color::Yellow)),
            Span::raw(why.clone()),
        ]),
        (None, State::Running) => Line::from(format!(
            "{} {}  {}  {:.0} MB/s  ETA {}",
            r.method.clone().unwrap_or_default(),
            r.phase,
            format_args!("{:.1}%", r.fraction() * 100.0),
            r.rate() / 1e6,
            r.eta()
        )),
        (None, State::Ended(res)) => Line::from(vec![
            Span::styled(res.as_str(), screen.state_style(r)),
            Span::raw(format!(
                "  {}  certificate {}",
                r.method.clone().unwrap_or_default(),
                r.certificate_id
                    .clone()
                    .unwrap_or_else(|| "NOT WRITTEN".into())
            )),
        ]),
        (None, _) => Line::from(format!("method for s: {}", screen.method)),
    };
    let second = match r.failure_reasons.first() {
        Some(why) => Line::from(why.clone()),
        None => Line::from(format!(
            "{}  {}  serial {}  {}",
            r.path,
            r.model,
            r.serial,
            r.asset_tag
                .as_ref()
                .map(|t| format!("asset {t}"))
                .unwrap_or_else(|| "no asset tag".into())
        )),
    };
    let third = Line::from(r.health.clone());
    frame.render_widget(Paragraph::new(vec![first, second, third]), area);
}

fn draw_log(frame: &mut Frame, area: Rect, screen: &Screen) {
    let inner = area.height.saturating_sub(1) as usize;
    let lines: Vec<Line> = screen
        .board
        .log
        .iter()
        .rev()
        .take(inner)
        .rev()
        .map(|l| Line::from(fit(l, area.width as usize)))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title("log")),
        area,
    );
}
