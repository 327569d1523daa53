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
    /// Who the next wipe names as its operator.
    pub operator: Option<&'a str>,
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
            State::Protected | State::Busy => self.style(Color::Yellow),
            State::Running => self.style(Color::Cyan),
            State::Scheduled(_) => self.style(Color::Magenta),
            State::Ready | State::Removed => Style::default(),
        }
    }
}

/// Cuts `s` to `n` characters, with `…` where it was cut (the detail pane shows it whole).
pub fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    if n == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    out
}

/// A column of the drive table: its heading, the width it needs at least, and how much of
/// the spare width it takes (its share among all shares).
struct Column {
    name: &'static str,
    min: u16,
    grow: u16,
}

const fn col(name: &'static str, min: u16, grow: u16) -> Column {
    Column { name, min, grow }
}

/// The columns at 80 (what a technician scans for: which drive, where, whose, how far).
const NARROW: &[Column] = &[
    col("PATH", 7, 0),
    col("WHERE", 10, 2),
    col("SERIAL", 14, 3),
    col("SIZE", 8, 0),
    col("TAG", 11, 2),
    col("STATE", 10, 0),
    col("PROG", 6, 0),
    col("ETA", 7, 0),
];

/// The columns from 150 on.
const WIDE: &[Column] = &[
    col("PATH", 8, 0),
    col("WHERE", 14, 1),
    col("MODEL", 20, 1),
    col("SERIAL", 20, 2),
    col("SIZE", 8, 0),
    col("BUS", 5, 0),
    col("TAG", 14, 1),
    col("STATE", 10, 0),
    col("METHOD", 10, 0),
    col("PROG", 6, 0),
    col("MB/s", 5, 0),
    col("ETA", 7, 0),
    col("CERTIFICATE", 12, 2),
];

/// Each column's width in `width` (one space between columns).
fn widths(columns: &[Column], width: u16) -> Vec<u16> {
    let gaps = columns.len().saturating_sub(1) as u16;
    let min: u16 = columns.iter().map(|c| c.min).sum::<u16>() + gaps;
    let spare = width.saturating_sub(min);
    let shares: u16 = columns.iter().map(|c| c.grow).sum::<u16>().max(1);
    let mut out: Vec<u16> = columns
        .iter()
        .map(|c| c.min + spare * c.grow / shares)
        .collect();
    // What integer division left over goes to the first column that grows.
    let used: u16 = out.iter().sum::<u16>() + gaps;
    if let Some(i) = columns.iter().position(|c| c.grow > 0) {
        out[i] += width.saturating_sub(used).min(spare);
    }
    out
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, screen: &Screen) {
    let area = frame.area();
    let log_height = if area.height >= 30 { 8 } else { 4 };
    let [title, table, detail, log, help] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(4),
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
    let text = title_text(
        screen,
        [rows.len(), running, passed, failed],
        area.width as usize,
    );
    frame.render_widget(
        Paragraph::new(text).style(Style::default().add_modifier(Modifier::BOLD)),
        area,
    );
}

/// The header: the station, who is signed in, the counts and the automatic method, in the
/// richest wording that fits `width` (at 80 columns the labels go before any count is cut).
fn title_text(
    screen: &Screen,
    [drives, running, passed, failed]: [usize; 4],
    width: usize,
) -> String {
    let station = screen.station;
    let labelled = |prefix: &str| {
        let operator = screen
            .operator
            .map(|o| format!("  operator {o}"))
            .unwrap_or_default();
        let auto = screen
            .auto
            .map(|m| format!("  auto: {m}"))
            .unwrap_or_default();
        format!(
            "{prefix}station {station}{operator}  drives {drives}  running {running}  pass {passed}  fail {failed}{auto}"
        )
    };
    let lean = {
        let operator = screen
            .operator
            .map(|o| format!("  {o}"))
            .unwrap_or_default();
        let auto = screen
            .auto
            .map(|m| format!("  auto {m}"))
            .unwrap_or_default();
        format!(
            "{station}{operator}  {drives} drives  {running} running  {passed} pass  {failed} fail{auto}"
        )
    };
    [labelled("wipeproof "), labelled(""), lean.clone()]
        .into_iter()
        .find(|t| t.chars().count() <= width)
        .unwrap_or_else(|| fit(&lean, width))
}

/// The text of each cell of a row, by column name.
fn cell(r: &DriveRow, name: &str) -> String {
    match name {
        "PATH" => r.path.strip_prefix("/dev/").unwrap_or(&r.path).to_string(),
        "WHERE" => r.location.clone(),
        "MODEL" => r.model.clone(),
        "SERIAL" => r.serial.clone(),
        "SIZE" => human_size(r.size_bytes),
        "BUS" => r.transport.clone(),
        "TAG" => r.asset_tag.clone().unwrap_or_default(),
        "STATE" => r.state_text(),
        "METHOD" => r.method.clone().unwrap_or_default(),
        "PROG" => match r.state {
            State::Running | State::Ended(_) if r.total > 0 => {
                format!("{:5.1}%", r.fraction() * 100.0)
            }
            _ => String::new(),
        },
        "MB/s" => {
            let rate = r.rate();
            if rate > 0.0 {
                format!("{:.0}", rate / 1e6)
            } else {
                String::new()
            }
        }
        "ETA" => r.eta(),
        "CERTIFICATE" => r.certificate_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn draw_table(frame: &mut Frame, area: Rect, screen: &Screen) {
    // Wide screens get every column; 80 columns get the ones a technician scans for.
    let columns = if area.width >= 150 { WIDE } else { NARROW };
    let sizes = widths(columns, area.width);
    let header = Row::new(columns.iter().map(|c| Cell::from(c.name)))
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let rows: Vec<Row> = screen
        .board
        .rows
        .iter()
        .map(|r| {
            Row::new(columns.iter().zip(&sizes).map(|(c, w)| {
                let text = fit(&cell(r, c.name), *w as usize);
                if c.name == "STATE" {
                    Cell::from(text).style(screen.state_style(r))
                } else {
                    Cell::from(text)
                }
            }))
        })
        .collect();
    let constraints: Vec<Constraint> = sizes.iter().map(|w| Constraint::Length(*w)).collect();
    let table = Table::new(rows, constraints)
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
        (None, State::Busy) => Line::from(vec![
            Span::styled("busy: ", screen.style(Color::Yellow)),
            Span::raw(r.busy_reason.clone().unwrap_or_default()),
        ]),
        (None, State::Running) => Line::from(format!(
            "{} {}  {:.1}% of the wipe  {:.0} MB/s  ETA {}",
            r.method.clone().unwrap_or_default(),
            r.phase,
            r.fraction() * 100.0,
            r.rate() / 1e6,
            r.eta()
        )),
        (None, State::Ended(res)) => Line::from(vec![
            Span::styled(res.as_str(), screen.state_style(r)),
            Span::raw(format!(
                "  {}{}  certificate {}{}",
                r.method.clone().unwrap_or_default(),
                match r.final_rate {
                    Some(rate) if rate > 0.0 => format!("  {:.0} MB/s average", rate / 1e6),
                    _ => String::new(),
                },
                r.certificate_id
                    .clone()
                    .unwrap_or_else(|| "NOT WRITTEN".into()),
                r.issued_at
                    .as_ref()
                    .map(|t| format!("  (issued {t})"))
                    .unwrap_or_default()
            )),
        ]),
        (None, _) => Line::from(format!("method for s: {}", screen.method)),
    };
    let second = Line::from(format!(
        "{}{}  {}  serial {}  {}",
        r.path,
        if r.location.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.location)
        },
        r.model,
        r.serial,
        human_size(r.size_bytes)
    ));
    let third = match (r.failure_reasons.first(), r.finished_asset()) {
        (Some(why), _) => Line::from(why.clone()),
        (None, Some((tag, state))) => Line::from(vec![
            Span::styled(
                format!("asset {tag} is {state}"),
                screen.style(Color::Yellow),
            ),
            Span::raw(": its drives have their certificates; s, then R wipes this one again"),
        ]),
        (None, None) => Line::from(
            r.asset_tag
                .as_ref()
                .map(|t| match &r.asset_state {
                    Some(s) => format!("asset {t} ({s})"),
                    None => format!("asset {t}"),
                })
                .unwrap_or_else(|| "no asset tag: t (or a scan) links one".into()),
        ),
    };
    let fourth = Line::from(r.health.clone());
    frame.render_widget(Paragraph::new(vec![first, second, third, fourth]), area);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_keeps_every_count_and_the_method_at_80_columns() {
        let board = Board::default();
        let screen = Screen {
            board: &board,
            selected: 0,
            method: "zero",
            prompt: None,
            colour: false,
            station: "bay-live",
            auto: Some("zero"),
            operator: Some("Lee Tester"),
        };
        let narrow = title_text(&screen, [3, 0, 2, 0], 80);
        assert!(narrow.chars().count() <= 80, "{narrow}");
        for want in [
            "bay-live",
            "Lee Tester",
            "3 drives",
            "2 pass",
            "0 fail",
            "auto zero",
        ] {
            assert!(narrow.contains(want), "{want:?} not in {narrow:?}");
        }
        let wide = title_text(&screen, [3, 0, 2, 0], 160);
        assert!(
            wide.starts_with("wipeproof station bay-live  operator Lee Tester  drives 3"),
            "{wide}"
        );
        assert!(title_text(&screen, [3, 0, 2, 0], 20).chars().count() <= 20);
    }
}
