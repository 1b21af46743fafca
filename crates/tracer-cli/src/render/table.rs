//! Aligned text tables: numbers right-aligned, text left-aligned, a header line that is
//! highlighted (csysdig's black-on-green) only when colour is on.

use anstyle::{AnsiColor, Color, Style};

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Pad on the right (text).
    Left,
    /// Pad on the left (numbers).
    Right,
}

/// A table with fixed columns, filled row by row.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these `(header, alignment)` columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = (S, Align)>) -> Self {
        Table {
            headers: columns.into_iter().map(|(h, a)| (h.into(), a)).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells are empty, extra cells are dropped.
    pub fn push(&mut self, mut row: Vec<String>) {
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// True when no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders header and rows, columns separated by two spaces, each line ending in
    /// `\n`, no trailing blanks. With `color`, the header is drawn black on green.
    pub fn render(&self, color: bool) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|(h, _)| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let header: Vec<String> = self.headers.iter().map(|(h, _)| h.clone()).collect();
        let mut out = String::new();
        let head_line = line(&header, &self.headers, &widths, n);
        if color {
            let style = Style::new()
                .fg_color(Some(Color::Ansi(AnsiColor::Black)))
                .bg_color(Some(Color::Ansi(AnsiColor::Green)));
            out.push_str(&format!("{style}{head_line}{style:#}\n"));
        } else {
            out.push_str(&head_line);
            out.push('\n');
        }
        for row in &self.rows {
            out.push_str(&line(row, &self.headers, &widths, n));
            out.push('\n');
        }
        out
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn line(cells: &[String], headers: &[(String, Align)], widths: &[usize], n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push_str("  ");
        }
        let pad = widths[i].saturating_sub(width(&cells[i]));
        match headers[i].1 {
            Align::Right => {
                s.extend(std::iter::repeat_n(' ', pad));
                s.push_str(&cells[i]);
            }
            Align::Left => {
                s.push_str(&cells[i]);
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
    }
    s.truncate(s.trim_end().len());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new([
            ("HITS", Align::Right),
            ("AVG TIME", Align::Right),
            ("TAG", Align::Left),
        ]);
        t.push(vec!["3".into(), "2.03µs".into(), "req".into()]);
        t.push(vec!["1".into(), "5.00ms".into(), "solo".into()]);
        t.push(vec!["120".into(), "0ns".into(), "open".into()]);
        t
    }

    #[test]
    fn aligns_numbers_right_text_left() {
        let want = "\
HITS  AVG TIME  TAG
   3    2.03µs  req
   1    5.00ms  solo
 120       0ns  open
";
        assert_eq!(sample().render(false), want);
    }

    #[test]
    fn colour_only_wraps_the_header() {
        let out = sample().render(true);
        let first = out.lines().next().unwrap();
        assert!(first.starts_with("\x1b["), "{first:?}");
        assert!(first.ends_with("\x1b[0m"), "{first:?}");
        // Body lines are identical to the plain rendering.
        let plain = sample().render(false);
        assert_eq!(
            out.lines().skip(1).collect::<Vec<_>>(),
            plain.lines().skip(1).collect::<Vec<_>>()
        );
    }

    #[test]
    fn short_rows_are_padded() {
        let mut t = Table::new([("A", Align::Left), ("B", Align::Right)]);
        t.push(vec!["x".into()]);
        assert_eq!(t.render(false), "A  B\nx\n");
        assert!(!t.is_empty());
    }
}
