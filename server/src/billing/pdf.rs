//! A small PDF writer for statements and receipts: text only, Helvetica (one of the fourteen fonts
//! every reader has, so nothing is embedded), A4 pages, WinAnsi encoding (which has `£`). A
//! statement is a few hundred lines of text; a layout engine would be a large dependency for it.

use std::fmt::Write as _;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;

/// One line of text: where it starts across the page, its size, whether bold.
#[derive(Debug, Clone)]
pub struct Line {
    pub x: f32,
    pub size: f32,
    pub bold: bool,
    pub text: String,
}

impl Line {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            x: MARGIN,
            size: 9.0,
            bold: false,
            text: text.into(),
        }
    }

    pub fn heading(text: impl Into<String>) -> Self {
        Self {
            size: 14.0,
            bold: true,
            ..Self::new(text)
        }
    }

    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
}

/// A row of columns laid out at fixed positions (x from the left margin), as one PDF line each.
pub fn row(columns: &[(f32, String)], bold: bool) -> Vec<Line> {
    columns
        .iter()
        .map(|(x, text)| Line {
            x: MARGIN + x,
            size: 8.5,
            bold,
            text: text.clone(),
        })
        .collect()
}

/// A document: rows of lines, each row one baseline; rows flow onto new pages.
#[derive(Debug, Default)]
pub struct Document {
    rows: Vec<Vec<Line>>,
    title: String,
}

impl Document {
    pub fn new(title: &str) -> Self {
        Self {
            rows: Vec::new(),
            title: title.to_owned(),
        }
    }

    /// Adds one row (several lines on one baseline).
    pub fn push(&mut self, row: Vec<Line>) {
        self.rows.push(row);
    }

    /// Adds an empty row.
    pub fn gap(&mut self) {
        self.rows.push(Vec::new());
    }

    /// The PDF's bytes.
    pub fn render(&self) -> Vec<u8> {
        let mut pages: Vec<String> = Vec::new();
        let mut content = String::new();
        let mut y = PAGE_HEIGHT - MARGIN;
        for row in &self.rows {
            let height = row.iter().map(|l| l.size).fold(9.0_f32, f32::max) * 1.45;
            if y - height < MARGIN {
                pages.push(std::mem::take(&mut content));
                y = PAGE_HEIGHT - MARGIN;
            }
            y -= height;
            for line in row {
                let font = if line.bold { "F2" } else { "F1" };
                let _ = writeln!(
                    content,
                    "BT /{font} {:.1} Tf {:.1} {:.1} Td ({}) Tj ET",
                    line.size,
                    line.x,
                    y,
                    escape(&line.text)
                );
            }
        }
        pages.push(content);
        let page_count = pages.len();
        // Objects: 1 catalog, 2 pages, 3 font, 4 bold font, 5 info, then (page, content) pairs.
        let mut objects: Vec<Vec<u8>> = Vec::new();
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        let kids: Vec<String> = (0..page_count)
            .map(|i| format!("{} 0 R", 6 + i * 2))
            .collect();
        objects.push(
            format!(
                "<< /Type /Pages /Kids [{}] /Count {page_count} >>",
                kids.join(" ")
            )
            .into_bytes(),
        );
        objects.push(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
                .to_vec(),
        );
        objects.push(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
                .to_vec(),
        );
        let mut info = b"<< /Producer (Docket) /Title (".to_vec();
        info.extend(escape(&self.title).into_bytes());
        info.extend(b") >>");
        objects.push(info);
        for (i, page) in pages.iter().enumerate() {
            let content_id = 7 + i * 2;
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                     /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>"
                )
                .into_bytes(),
            );
            let stream = page.as_bytes();
            let mut object = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
            object.extend(stream);
            object.extend(b"\nendstream");
            objects.push(object);
        }
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
            out.extend(object);
            out.extend(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
        for offset in offsets {
            out.extend(format!("{offset:010} 00000 n \n").into_bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .into_bytes(),
        );
        out
    }
}

/// Text as the body of a PDF string in WinAnsi, in ASCII: `( ) \` escaped, `£` and the rest of
/// Latin-1 as octal escapes, anything else (and every control character) a `?`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '\u{a0}'..='\u{ff}' => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            '\u{2013}' | '\u{2014}' => out.push('-'),
            _ => out.push('?'),
        }
    }
    out
}

pub use docket_protocol::billing::pounds;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_pages_flow() {
        assert_eq!(escape("a(b)\\ \u{a3}1 \u{1F600}"), "a\\(b\\)\\\\ \\2431 ?");
        let mut doc = Document::new("Statement");
        for i in 0..200 {
            doc.push(vec![Line::new(format!("line {i}"))]);
        }
        let pdf = doc.render();
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.contains("/Count 4"), "200 lines take four pages");
        assert!(text.trim_end().ends_with("%%EOF"));
        let xref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(
            pdf[xref..].starts_with(b"xref"),
            "the cross-reference offset is right"
        );
    }
}
