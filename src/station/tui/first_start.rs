//! The questions an attended station asks on its first start: what every certificate must
//! name and the settings file does not say yet (the organisation and its address, the
//! station's own id, the operator). Answers are checked as the config checks them and kept
//! in `wipeproof.toml`, so they are asked once per stick, not once per start. Esc leaves them
//! unanswered: the station runs, and its certificates say plainly what is not configured.

use std::io;
use std::path::Path;
use std::time::Duration;

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::TerminalGuard;
use super::input::{TerminalInput, Waited};
use crate::config::{Config, is_placeholder_station_id};

/// One question: the setting it fills, what the person reads, and whether it may stay empty.
struct Question {
    setting: &'static str,
    label: &'static str,
    optional: bool,
    answer: String,
}

/// Longest answer, in characters (a scanner stuck on a key must not fill the screen).
const MAX_ANSWER_CHARS: usize = 200;

/// The questions `config` leaves open, in the order they are asked.
fn questions(config: &Config) -> Vec<Question> {
    let mut asked = Vec::new();
    let ask = |setting, label, optional| Question {
        setting,
        label,
        optional,
        answer: String::new(),
    };
    if config.organisation.name.trim().is_empty() {
        asked.push(ask(
            "organisation.name",
            "Organisation (the legal name printed on every certificate)",
            false,
        ));
        if config.organisation.address.trim().is_empty() {
            asked.push(ask(
                "organisation.address",
                "Its postal address, one line (Enter alone: none)",
                true,
            ));
        }
    }
    if is_placeholder_station_id(&config.station.id) {
        asked.push(ask(
            "station.id",
            "This station's id (its bay or label, unique in the organisation, e.g. bay-3)",
            false,
        ));
    }
    if config.station.operator.as_str() == "operator" {
        asked.push(ask(
            "station.operator",
            "Operator for unattended wipes (each person still signs in)",
            false,
        ));
    }
    asked
}

/// Whether an attended start has questions to ask.
pub fn needed(config: &Config) -> bool {
    !questions(config).is_empty()
}

/// Why `answer` cannot be the value of `setting`, if it cannot.
fn refusal(setting: &str, answer: &str, optional: bool) -> Option<String> {
    let answer = answer.trim();
    if answer.is_empty() {
        return (!optional).then(|| "this one is needed: type it, then Enter".to_string());
    }
    if let Some(why) = crate::identifier::problem(answer) {
        return Some(why);
    }
    match setting {
        "station.id" if is_placeholder_station_id(answer) => Some(format!(
            "{answer:?} says nothing about which station this is; type its bay or label"
        )),
        "station.id" if answer.chars().count() > 64 => {
            Some("a station id has at most 64 characters".into())
        }
        "station.operator" => crate::config::Operator::new(answer)
            .err()
            .map(|e| e.to_string()),
        _ => None,
    }
}

/// The answers given, as `section.key` and value, already kept in the config file.
pub type Answers = Vec<(&'static str, String)>;

/// Asks the open questions on the terminal and keeps the answers in the config file at
/// `path`. Returns them, or `None` when the person pressed Esc (nothing is written) or there
/// was nothing to ask.
pub fn ask(config: &Config, path: &Path) -> io::Result<Option<Answers>> {
    let mut asked = questions(config);
    if asked.is_empty() {
        return Ok(None);
    }
    let input = TerminalInput::open()?;
    let mut guard = TerminalGuard::enter()?;
    let mut current = 0;
    let mut problem: Option<String> = None;
    loop {
        guard
            .terminal
            .draw(|f| draw(f, &asked, current, problem.as_deref(), path))?;
        match input.wait(Duration::from_millis(200))? {
            Waited::Gone => {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the station's terminal hung up during its first-start questions",
                ));
            }
            Waited::Nothing => continue,
            Waited::Ready => {}
        }
        let mut after_enter = false;
        while event::poll(Duration::ZERO)? {
            let TermEvent::Key(key) = event::read()? else {
                continue;
            };
            if key.kind == KeyEventKind::Release {
                continue;
            }
            let Some(key) = super::input::line_end(key, after_enter) else {
                continue;
            };
            after_enter = key.code == KeyCode::Enter;
            let q = &mut asked[current];
            match key.code {
                KeyCode::Esc => return Ok(None),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Ok(None);
                }
                KeyCode::Char(c) if q.answer.chars().count() < MAX_ANSWER_CHARS => {
                    q.answer.push(c);
                    problem = None;
                }
                KeyCode::Backspace => {
                    q.answer.pop();
                }
                KeyCode::Up if current > 0 => current -= 1,
                KeyCode::Enter => match refusal(q.setting, &q.answer, q.optional) {
                    Some(why) => problem = Some(why),
                    None if current + 1 < asked.len() => current += 1,
                    None => {
                        drop(guard);
                        return keep(&asked, path).map(Some);
                    }
                },
                _ => {}
            }
        }
    }
}

/// Writes the answers into the config file, keeping everything else in it.
fn keep(asked: &[Question], path: &Path) -> io::Result<Answers> {
    let answers: Answers = asked
        .iter()
        .map(|q| (q.setting, q.answer.trim().to_string()))
        .collect();
    let settings: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::settings_file::write_settings(path, &settings)
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(answers)
}

fn draw(
    f: &mut ratatui::Frame,
    asked: &[Question],
    current: usize,
    problem: Option<&str>,
    path: &Path,
) {
    let mut lines = vec![
        Line::from("Certificates name who erased each drive, where and for whom."),
        Line::from(format!(
            "These settings are not set yet; the answers are kept in {}.",
            path.display()
        )),
        Line::from(""),
    ];
    for (i, q) in asked.iter().enumerate().take(current + 1) {
        lines.push(Line::from(q.label));
        let cursor = if i == current { "_" } else { "" };
        lines.push(Line::from(format!("  > {}{cursor}", q.answer)));
    }
    if let Some(why) = problem {
        lines.push(Line::from(""));
        lines.push(Line::from(format!("Not taken: {why}")));
    }
    let [body, keys] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default().borders(Borders::ALL).title(format!(
                " wipeproof station: first start ({}/{}) ",
                current + 1,
                asked.len()
            )),
        ),
        body,
    );
    f.render_widget(
        Paragraph::new(
            "Enter next  ↑ back  Esc skip (certificates will say what is not configured)",
        ),
        keys,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_open_is_asked() {
        let mut config = Config::default();
        config.organisation.name = String::new();
        config.station.id = "(none)".into();
        config.station.operator = crate::config::Operator::new("operator").unwrap();
        let asked: Vec<&str> = questions(&config).iter().map(|q| q.setting).collect();
        assert_eq!(
            asked,
            [
                "organisation.name",
                "organisation.address",
                "station.id",
                "station.operator"
            ]
        );
        config.organisation.name = "Acme".into();
        config.station.id = "bay-3".into();
        config.station.operator = crate::config::Operator::new("Ann").unwrap();
        assert!(!needed(&config));
    }

    #[test]
    fn answers_are_checked_as_the_config_checks_them() {
        assert!(refusal("organisation.name", "  ", false).is_some());
        assert!(refusal("organisation.address", "", true).is_none());
        assert!(refusal("organisation.name", "Acme\u{202E}Ltd", false).is_some());
        assert!(refusal("station.id", "localhost", false).is_some());
        assert!(refusal("station.id", "bay-3", false).is_none());
        assert!(refusal("station.operator", "Ann Smith", false).is_none());
    }
}
