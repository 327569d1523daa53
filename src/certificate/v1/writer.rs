//! The page writer of layout 1, frozen: it flows text set in the PDF standard fonts
//! (WinAnsiEncoding, so anything else is drawn as `?`) with wrapping estimated from character
//! counts. Do not change it: certificates made with layout 1 are verified by drawing them again
//! with exactly this code.

use super::super::page::{Colour, Font, Item, Page};
use super::super::winansi::printable;

pub const PAGE_HEIGHT: f32 = 841.89;
const PAGE_WIDTH: f32 = 595.28;
pub const LEFT: f32 = 50.0;
pub const RIGHT: f32 = PAGE_WIDTH - 50.0;
const TOP: f32 = PAGE_HEIGHT - 50.0;
const BOTTOM: f32 = 60.0;
const VALUE_X: f32 = 185.0;

/// Places items top to bottom on A4 pages, starting new pages as needed. Certificates,
/// collection reports and other documents are laid out with it.
pub struct Writer {
    pages: Vec<Page>,
    /// The cursor: the top of the next line, in points from the bottom of the page.
    pub y: f32,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            pages: vec![Page::default()],
            y: TOP,
        }
    }

    /// The first page (for items placed independently of the cursor).
    pub fn first_page(&mut self) -> &mut Page {
        &mut self.pages[0]
    }

    pub fn page(&mut self) -> &mut Page {
        self.pages.last_mut().expect("there is always a page")
    }

    pub fn down(&mut self, by: f32) {
        self.y -= by;
    }

    /// Starts a new page if `need` points do not fit.
    pub fn room(&mut self, need: f32) {
        if self.y - need < BOTTOM {
            self.pages.push(Page::default());
            self.y = TOP;
        }
    }

    pub fn text_at(&mut self, x: f32, y: f32, size: f32, font: Font, colour: Colour, text: &str) {
        let text = printable(text);
        if text.is_empty() {
            return;
        }
        self.page().items.push(Item::Text {
            x,
            y,
            size,
            font,
            colour,
            text,
        });
    }

    /// Text at the cursor (baseline `size` below it).
    pub fn text(&mut self, x: f32, size: f32, font: Font, colour: Colour, text: &str) {
        self.room(size + 2.0);
        let y = self.y - size;
        self.text_at(x, y, size, font, colour, text);
    }

    pub fn boxed(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Colour) {
        self.page().items.push(Item::Box { x, y, w, h, colour });
    }

    pub fn section(&mut self, title: &str) {
        self.room(40.0);
        self.down(10.0);
        self.text(LEFT, 11.0, Font::Bold, Colour::Black, title);
        self.down(14.0);
        let y = self.y + 1.0;
        self.page().items.push(Item::Rule {
            x1: LEFT,
            x2: RIGHT,
            y,
        });
        self.down(4.0);
    }

    pub fn row_with(&mut self, label: &str, value: &str, font: Font) {
        let per_line = chars_per_line(RIGHT - VALUE_X, 9.0, font);
        let lines = wrap(value, per_line);
        self.room(11.0 * lines.len().max(1) as f32);
        let y = self.y - 9.0;
        self.text_at(LEFT, y, 9.0, Font::Regular, Colour::Grey, label);
        for (i, line) in lines.iter().enumerate() {
            let y = self.y - 9.0 - 11.0 * i as f32;
            self.text_at(VALUE_X, y, 9.0, font, Colour::Black, line);
        }
        self.down(11.0 * lines.len().max(1) as f32 + 1.0);
    }

    pub fn row(&mut self, label: &str, value: &str) {
        self.row_with(label, value, Font::Regular);
    }

    pub fn mono_row(&mut self, label: &str, value: &str) {
        self.row_with(label, value, Font::Mono);
    }

    pub fn note(&mut self, text: &str) {
        let per_line = chars_per_line(RIGHT - LEFT - 30.0, 8.0, Font::Regular);
        for line in wrap(text, per_line) {
            self.room(10.0);
            let y = self.y - 8.0;
            self.text_at(LEFT + 30.0, y, 8.0, Font::Regular, Colour::Grey, &line);
            self.down(10.0);
        }
    }

    pub fn paragraph(&mut self, text: &str, font: Font, size: f32) {
        let per_line = chars_per_line(RIGHT - LEFT, size, font);
        for line in wrap(text, per_line) {
            self.room(size + 3.0);
            let y = self.y - size;
            self.text_at(LEFT, y, size, font, Colour::Black, &line);
            self.down(size + 3.0);
        }
    }

    pub fn table_header(&mut self, cols: &[f32], titles: &[&str]) {
        self.room(14.0);
        let (y, h) = (self.y - 12.0, 13.0);
        self.boxed(LEFT, y - 3.0, RIGHT - LEFT, h, Colour::Shade);
        for (x, t) in cols.iter().zip(titles) {
            self.text_at(*x + 2.0, y, 8.0, Font::Bold, Colour::Black, t);
        }
        self.down(h + 2.0);
    }

    pub fn table_row(&mut self, cols: &[f32], cells: &[&str]) {
        self.room(11.0);
        let y = self.y - 8.0;
        for (i, (x, c)) in cols.iter().zip(cells).enumerate() {
            let width = cols.get(i + 1).copied().unwrap_or(RIGHT) - x - 4.0;
            let max = chars_per_line(width, 8.0, Font::Regular);
            let text: String = c.chars().take(max).collect();
            self.text_at(*x + 2.0, y, 8.0, Font::Regular, Colour::Black, &text);
        }
        self.down(11.0);
    }

    /// Adds the footer (`<label> - page N of M`) to every page and returns them.
    pub fn finish(mut self, label: &str) -> Vec<Page> {
        let n = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            page.items.push(Item::Text {
                x: LEFT,
                y: 30.0,
                size: 8.0,
                font: Font::Regular,
                colour: Colour::Grey,
                text: printable(&format!("{label} - page {} of {n}", i + 1)),
            });
        }
        self.pages
    }
}

/// How many characters fit in `width` points (a safe estimate: Helvetica averages about half
/// an em; Courier is exactly 0.6 em).
fn chars_per_line(width: f32, size: f32, font: Font) -> usize {
    let em = match font {
        Font::Mono => 0.6,
        Font::Bold => 0.6,
        Font::Regular => 0.55,
    };
    ((width / (size * em)) as usize).max(8)
}

/// Wraps text at spaces (or anywhere, for long words such as hashes) to lines of at most `max`
/// characters.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let text = printable(text);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: String = word.to_string();
        loop {
            let used = line.chars().count();
            let need = word.chars().count() + usize::from(used > 0);
            if used + need <= max {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a line: split it.
            let head: String = word.chars().take(max).collect();
            word = word.chars().skip(max).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}
