//! The page model every wipeproof PDF is drawn from (A4 pages of text, rules, boxes and QR
//! codes) and `Writer`, which flows items down the page and starts new pages. Certificates,
//! collection reports and asset labels are laid out with it; `pdf` draws it.

use super::fonts;

/// A4 in points.
pub const PAGE_WIDTH: f32 = 595.28;
pub const PAGE_HEIGHT: f32 = 841.89;
pub const LEFT: f32 = 50.0;
pub const RIGHT: f32 = PAGE_WIDTH - 50.0;
pub const TOP: f32 = PAGE_HEIGHT - 50.0;
const BOTTOM: f32 = 60.0;
pub const VALUE_X: f32 = 185.0;

/// Typefaces: DejaVu Sans, DejaVu Sans Bold and DejaVu Sans Mono (with a CJK face where they
/// have no glyph) in layout 2; Helvetica, Helvetica-Bold and Courier in layout 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
    Mono,
}

/// Colours used on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Black,
    Grey,
    White,
    Pass,
    Fail,
    Incomplete,
    Shade,
}

impl Colour {
    pub fn rgb(self) -> (f32, f32, f32) {
        match self {
            Colour::Black => (0.0, 0.0, 0.0),
            Colour::Grey => (0.4, 0.4, 0.4),
            Colour::White => (1.0, 1.0, 1.0),
            Colour::Pass => (0.10, 0.50, 0.20),
            Colour::Fail => (0.72, 0.10, 0.10),
            Colour::Incomplete => (0.80, 0.50, 0.00),
            Colour::Shade => (0.93, 0.93, 0.93),
        }
    }
}

/// One thing drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text {
        x: f32,
        y: f32,
        size: f32,
        font: Font,
        colour: Colour,
        text: String,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
    },
    Box {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: Colour,
    },
    /// A QR code: `modules[row][col]` dark, drawn `size` points square with its lower left
    /// corner at `(x, y)`.
    Qr {
        x: f32,
        y: f32,
        size: f32,
        modules: Vec<Vec<bool>>,
    },
}

/// One page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
}

impl Page {
    /// The text shown on the page, in drawing order.
    pub fn texts(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// The QR modules for a payload (empty if it cannot be encoded, which a short ASCII payload
/// always can).
pub fn qr_modules(payload: &str) -> Vec<Vec<bool>> {
    match qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let width = code.width();
            let colors = code.to_colors();
            colors
                .chunks(width)
                .map(|row| row.iter().map(|c| *c == qrcode::Color::Dark).collect())
                .collect()
        }
        Err(_) => Vec::new(),
    }
}

/// Places items top to bottom on A4 pages, starting new pages as needed, and keeps every text
/// inside its box: values wrap at spaces (or anywhere, for long words such as hashes) by the
/// measured width of the embedded faces, and cells of a table wrap inside their column.
/// Certificates, collection reports and other documents are laid out with it.
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
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// How many pages are begun.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// The height a page offers between its top and bottom margins.
    pub fn page_height() -> f32 {
        TOP - BOTTOM
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

    /// One line of text with its baseline at `y` (control characters shown as spaces).
    pub fn text_at(&mut self, x: f32, y: f32, size: f32, font: Font, colour: Colour, text: &str) {
        let text = clean(text);
        if text.trim().is_empty() {
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

    /// Text at the cursor, wrapped inside the page's width.
    pub fn text(&mut self, x: f32, size: f32, font: Font, colour: Colour, text: &str) {
        self.text_box(x, RIGHT - x, size, font, colour, text);
    }

    /// Text at the cursor wrapped to `width` points, one line every `1.2 × size`.
    pub fn text_box(
        &mut self,
        x: f32,
        width: f32,
        size: f32,
        font: Font,
        colour: Colour,
        text: &str,
    ) {
        for (i, line) in wrap(text, font, size, width).iter().enumerate() {
            if i > 0 {
                self.down(size * 0.2);
            }
            self.room(size + 2.0);
            let y = self.y - size;
            self.text_at(x, y, size, font, colour, line);
            self.down(size);
        }
    }

    pub fn boxed(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Colour) {
        self.page().items.push(Item::Box { x, y, w, h, colour });
    }

    pub fn section(&mut self, title: &str) {
        self.room(40.0);
        self.down(10.0);
        self.text(LEFT, 11.0, Font::Bold, Colour::Black, title);
        self.down(3.0);
        let y = self.y + 1.0;
        self.page().items.push(Item::Rule {
            x1: LEFT,
            x2: RIGHT,
            y,
        });
        self.down(4.0);
    }

    /// A label and its value, each wrapped inside its column; a monospaced value (a hash, a
    /// key id) is set a little smaller rather than broken, where that makes it fit one line.
    pub fn row_with(&mut self, label: &str, value: &str, font: Font) {
        let labels = wrap(label, Font::Regular, 9.0, VALUE_X - LEFT - 8.0);
        let size = match fit(value, font, 9.0, 7.5, RIGHT - VALUE_X, 1) {
            (size, lines) if font == Font::Mono && lines.len() == 1 => size,
            _ => 9.0,
        };
        let values = wrap(value, font, size, RIGHT - VALUE_X);
        let lines = labels.len().max(values.len()).max(1);
        self.room(11.0 * lines as f32);
        for (i, line) in labels.iter().enumerate() {
            let y = self.y - 9.0 - 11.0 * i as f32;
            self.text_at(LEFT, y, 9.0, Font::Regular, Colour::Grey, line);
        }
        for (i, line) in values.iter().enumerate() {
            let y = self.y - 9.0 - 11.0 * i as f32;
            self.text_at(VALUE_X, y, size, font, Colour::Black, line);
        }
        self.down(11.0 * lines as f32 + 1.0);
    }

    pub fn row(&mut self, label: &str, value: &str) {
        self.row_with(label, value, Font::Regular);
    }

    pub fn mono_row(&mut self, label: &str, value: &str) {
        self.row_with(label, value, Font::Mono);
    }

    pub fn note(&mut self, text: &str) {
        for line in wrap(text, Font::Regular, 8.0, RIGHT - LEFT - 30.0) {
            self.room(10.0);
            let y = self.y - 8.0;
            self.text_at(LEFT + 30.0, y, 8.0, Font::Regular, Colour::Grey, &line);
            self.down(10.0);
        }
    }

    pub fn paragraph(&mut self, text: &str, font: Font, size: f32) {
        for line in wrap(text, font, size, RIGHT - LEFT) {
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

    /// One row of a table; a cell too long for its column wraps, and the row grows.
    pub fn table_row(&mut self, cols: &[f32], cells: &[&str]) {
        let wrapped: Vec<Vec<String>> = cols
            .iter()
            .zip(cells)
            .enumerate()
            .map(|(i, (x, c))| {
                let width = cols.get(i + 1).copied().unwrap_or(RIGHT) - x - 4.0;
                wrap(c, Font::Regular, 8.0, width)
            })
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        self.room(10.0 * lines as f32 + 1.0);
        for (x, cell) in cols.iter().zip(&wrapped) {
            for (i, line) in cell.iter().enumerate() {
                let y = self.y - 8.0 - 10.0 * i as f32;
                self.text_at(*x + 2.0, y, 8.0, Font::Regular, Colour::Black, line);
            }
        }
        self.down(10.0 * lines as f32 + 1.0);
    }

    /// One row of a table whose cells are lines that are never broken inside a word: a
    /// [`Cell`]'s lines shrink, and at the smallest size are cut with "..." (the full value
    /// stays in the signed record the page is drawn from).
    pub fn table_row_cells(&mut self, cols: &[f32], cells: &[Vec<Cell>]) {
        let drawn: Vec<Vec<(f32, Colour, String)>> = cols
            .iter()
            .zip(cells)
            .enumerate()
            .map(|(i, (x, lines))| {
                let width = cols.get(i + 1).copied().unwrap_or(RIGHT) - x - 4.0;
                lines.iter().flat_map(|l| l.lines(width)).collect()
            })
            .collect();
        let height = |lines: &[(f32, Colour, String)]| -> f32 {
            lines.iter().map(|(size, _, _)| size + 2.0).sum::<f32>()
        };
        let row = drawn.iter().map(|c| height(c)).fold(10.0, f32::max) + 1.0;
        self.room(row);
        for (x, lines) in cols.iter().zip(&drawn) {
            let mut y = self.y;
            for (size, colour, text) in lines {
                self.text_at(*x + 2.0, y - size, *size, Font::Regular, *colour, text);
                y -= size + 2.0;
            }
        }
        self.down(row);
    }

    /// Adds the footer (`<label> - page N of M`) to every page and returns them.
    pub fn finish(mut self, label: &str) -> Vec<Page> {
        let n = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            let footer = format!("{label} - page {} of {n}", i + 1);
            for (j, line) in wrap(&footer, Font::Regular, 8.0, RIGHT - LEFT)
                .into_iter()
                .enumerate()
            {
                page.items.push(Item::Text {
                    x: LEFT,
                    y: 30.0 - 10.0 * j as f32,
                    size: 8.0,
                    font: Font::Regular,
                    colour: Colour::Grey,
                    text: line,
                });
            }
        }
        self.pages
    }
}

/// A line of a table cell drawn by [`Writer::table_row_cells`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Words, wrapped at spaces; a word too wide for the column shrinks the cell (to 6 pt),
    /// then is cut with "...".
    Words(String),
    /// One line never broken (a serial, a date): shrinks to 6 pt, then loses its middle to
    /// "..." so that both ends stay readable.
    Whole(String),
    /// A smaller grey line under the first (a drive's model), whole like [`Cell::Whole`].
    Note(String),
}

/// The smallest size a table cell shrinks to.
const CELL_MIN: f32 = 6.0;

impl Cell {
    fn lines(&self, width: f32) -> Vec<(f32, Colour, String)> {
        let fits = |s: &str, size: f32| fonts::width(Font::Regular, size, s) <= width;
        match self {
            Cell::Words(text) => {
                let text = clean(text);
                let mut size = 8.0;
                while size > CELL_MIN && !text.split(' ').all(|w| fits(w, size)) {
                    size -= 0.5;
                }
                let words: Vec<String> = text
                    .split(' ')
                    .map(|w| cut_end(w, |s| fits(s, size)))
                    .collect();
                wrap(&words.join(" "), Font::Regular, size, width)
                    .into_iter()
                    .map(|l| (size, Colour::Black, l))
                    .collect()
            }
            Cell::Whole(text) | Cell::Note(text) => {
                let (start, colour) = match self {
                    Cell::Note(_) => (7.0, Colour::Grey),
                    _ => (8.0, Colour::Black),
                };
                let text = clean(text);
                let mut size = start;
                while size > CELL_MIN && !fits(&text, size) {
                    size -= 0.5;
                }
                vec![(size, colour, cut_middle(&text, |s| fits(s, size)))]
            }
        }
    }
}

/// `text`, or as much of its start as fits followed by "...".
fn cut_end(text: &str, fits: impl Fn(&str) -> bool) -> String {
    if fits(text) {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>() + "...";
        if fits(&candidate) {
            return candidate;
        }
    }
    "...".into()
}

/// `text`, or its start and end around "..." as far as they fit.
fn cut_middle(text: &str, fits: impl Fn(&str) -> bool) -> String {
    if fits(text) {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    while keep > 0 {
        keep -= 1;
        let head = keep.div_ceil(2);
        let tail = keep / 2;
        let candidate: String = chars[..head].iter().collect::<String>()
            + "..."
            + &chars[chars.len() - tail..].iter().collect::<String>();
        if fits(&candidate) {
            return candidate;
        }
    }
    "...".into()
}

/// Every text drawn on `pages`: page index, left, right, bottom, top (by the embedded faces'
/// measures), text. For tests that check nothing overlaps or runs off the page.
#[cfg(test)]
pub(crate) fn text_boxes(pages: &[Page]) -> Vec<(usize, f32, f32, f32, f32, String)> {
    let mut out = Vec::new();
    for (n, p) in pages.iter().enumerate() {
        for i in &p.items {
            if let Item::Text {
                x,
                y,
                size,
                font,
                text,
                ..
            } = i
            {
                let w = fonts::width(*font, *size, text);
                out.push((n, *x, x + w, y - 0.2 * size, y + 0.8 * size, text.clone()));
            }
        }
    }
    out
}

/// Text as it is drawn: control characters (tabs, line breaks) become spaces.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Wraps text at spaces (or anywhere, for words longer than a line, such as hashes) to lines
/// no wider than `width` points in `font` at `size`.
pub fn wrap(text: &str, font: Font, size: f32, width: f32) -> Vec<String> {
    let fits = |s: &str| fonts::width(font, size, s) <= width;
    let text = clean(text);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if fits(&candidate) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // The word alone, split where it must be.
        for c in word.chars() {
            line.push(c);
            if !fits(&line) && line.chars().count() > 1 {
                line.pop();
                lines.push(std::mem::take(&mut line));
                line.push(c);
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The largest size from `size` down to `min` (in half points) at which `text` fits in
/// `max_lines` lines of `width` points, and those lines; at `min`, as many lines as it takes.
pub fn fit(
    text: &str,
    font: Font,
    size: f32,
    min: f32,
    width: f32,
    max_lines: usize,
) -> (f32, Vec<String>) {
    let mut s = size;
    loop {
        let lines = wrap(text, font, s, width);
        if lines.len() <= max_lines || s - 0.5 < min {
            return (s, lines);
        }
        s -= 0.5;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_line_inside_its_width_and_every_character() {
        let w = fonts::width(Font::Regular, 10.0, "aaa bbb");
        assert_eq!(
            wrap("aaa bbb ccc", Font::Regular, 10.0, w),
            ["aaa bbb", "ccc"]
        );
        let long = "x".repeat(200);
        let lines = wrap(&long, Font::Mono, 9.0, 100.0);
        assert!(lines.len() > 2);
        assert_eq!(lines.concat(), long);
        for l in &lines {
            assert!(fonts::width(Font::Mono, 9.0, l) <= 100.0, "{l}");
        }
        assert_eq!(wrap("", Font::Regular, 8.0, 50.0), [""]);
        assert_eq!(wrap("a\tb", Font::Regular, 8.0, 50.0), ["a b"]);
        let (size, lines) = fit(&"Word ".repeat(20), Font::Bold, 16.0, 10.0, 200.0, 2);
        assert!((10.0..16.0).contains(&size));
        assert!(lines.len() <= 2 || size == 10.0);
    }

    #[test]
    fn a_long_document_flows_onto_new_pages() {
        let mut w = Writer::new();
        for i in 0..200 {
            w.row(&format!("line {i}"), "value");
        }
        let pages = w.finish("Test");
        assert!(pages.len() > 1, "200 rows need more than one A4 page");
        for p in &pages {
            for item in &p.items {
                if let Item::Text { y, .. } = item {
                    assert!(
                        *y >= BOTTOM - 40.0 && *y <= PAGE_HEIGHT,
                        "text at y={y} is off the page"
                    );
                }
            }
        }
    }
}
