//! The e-licence as a one-page A4 PDF drawn by the node: the paper form of
//! [`licence_form`](super::licence_form) with its boxes, the QR code and the licence's
//! standing, in a CJK font embedded as a subset of the glyphs used.
//!
//! The font is a TrueType CJK font found on the machine ([`font`]): `EXLIC_PDF_FONT`, else
//! the first of [`FONT_PATHS`] that exists. Debian's `fonts-wqy-microhei` (文泉驿微米黑,
//! Apache-2.0 or GPL-3.0 with the font-embedding exception) is the one the project installs
//! and tests with; a subset of it is embedded in every PDF, so the file opens anywhere.

use super::licence_form::{Cell, Form, TITLE};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Where the node looks for a CJK font after `EXLIC_PDF_FONT`, in order.
pub const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];

/// Why no PDF could be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PdfError {
    /// No usable CJK font on this machine.
    #[error(
        "no CJK TrueType font: set EXLIC_PDF_FONT to one, or install Debian's fonts-wqy-microhei (looked in {0})"
    )]
    NoFont(String),
    /// The font could not be read or cut down.
    #[error("the font {path} cannot be used: {why}")]
    BadFont {
        /// The font file.
        path: String,
        /// What went wrong.
        why: String,
    },
}

/// A font file read once: its path, its bytes and the face index in a collection.
#[derive(Debug)]
pub struct FontFile {
    path: PathBuf,
    data: Vec<u8>,
}

/// The CJK font this node draws PDFs with, read on first use.
pub fn font() -> Result<Arc<FontFile>, PdfError> {
    static FONT: OnceLock<Result<Arc<FontFile>, PdfError>> = OnceLock::new();
    FONT.get_or_init(|| {
        let chosen = std::env::var_os("EXLIC_PDF_FONT").map(PathBuf::from);
        let candidates: Vec<PathBuf> = match chosen {
            Some(p) => vec![p],
            None => FONT_PATHS.iter().map(PathBuf::from).collect(),
        };
        let path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
            PdfError::NoFont(
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
        load(path).map(Arc::new)
    })
    .clone()
}

fn load(path: &Path) -> Result<FontFile, PdfError> {
    let bad = |why: String| PdfError::BadFont {
        path: path.display().to_string(),
        why,
    };
    let data = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let face = ttf_parser::Face::parse(&data, 0).map_err(|e| bad(e.to_string()))?;
    if face.tables().glyf.is_none() {
        return Err(bad("it has no TrueType outlines (glyf)".into()));
    }
    if face.glyph_index('许').is_none() {
        return Err(bad("it has no Chinese characters".into()));
    }
    Ok(FontFile {
        path: path.to_owned(),
        data,
    })
}

/// The standing printed on the licence: the word in both languages, and since/as of.
#[derive(Debug, Clone)]
pub struct StandingLine {
    /// Valid (black) or not (red, stamped across the form).
    pub ok: bool,
    /// The standing in Chinese and English.
    pub words: (String, String),
    /// "截至 2026-12-02 10:00" in the reader's language, if known.
    pub detail: String,
}

/// A QR code's modules, row by row, `true` for dark.
#[derive(Debug, Clone)]
pub struct QrModules {
    /// Modules per side.
    pub width: usize,
    /// `width`² modules.
    pub dark: Vec<bool>,
}

impl From<&qrcode::QrCode> for QrModules {
    fn from(c: &qrcode::QrCode) -> Self {
        Self {
            width: c.width(),
            dark: c
                .to_colors()
                .into_iter()
                .map(|x| x == qrcode::Color::Dark)
                .collect(),
        }
    }
}

/// What the PDF shows besides the form: the QR code's modules and the standing.
#[derive(Debug)]
pub struct Extras<'a> {
    /// The QR code to print in box 20, if the licence has one.
    pub qr: Option<&'a QrModules>,
    /// The standing as this node knows it.
    pub standing: StandingLine,
    /// The hint printed under the form (how to verify).
    pub footer: String,
}

const PAGE: (f32, f32) = (595.28, 841.89);
const LEFT: f32 = 36.0;
const WIDTH: f32 = PAGE.0 - 2.0 * LEFT;
const FONT: Name<'static> = Name(b"F1");
/// The least space kept below the form's last line.
const MARGIN: f32 = 28.0;
const QR: Name<'static> = Name(b"Q1");

/// Text set in the one embedded font, collecting the glyphs it uses.
struct Pen<'f> {
    face: ttf_parser::Face<'f>,
    upem: f32,
    remap: subsetter::GlyphRemapper,
    chars: BTreeMap<u16, char>,
    c: Content,
}

impl<'f> Pen<'f> {
    fn advance(&self, ch: char) -> f32 {
        let g = self.face.glyph_index(ch).unwrap_or(ttf_parser::GlyphId(0));
        f32::from(self.face.glyph_hor_advance(g).unwrap_or(0)) / self.upem
    }

    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|ch| self.advance(ch)).sum::<f32>() * size
    }

    /// `s` broken into lines no wider than `max` (at spaces where it can, else anywhere:
    /// Chinese breaks between any two characters).
    fn wrap(&self, s: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for ch in s.chars() {
            line.push(ch);
            if self.width(&line, size) <= max || line.chars().count() == 1 {
                continue;
            }
            line.pop();
            // Inside a Latin word: carry the word over to the next line.
            let cut = match line.rfind(' ') {
                Some(i) if ch.is_ascii_alphanumeric() && i > 0 => i,
                _ => line.len(),
            };
            let rest = line.split_off(cut);
            lines.push(std::mem::take(&mut line));
            line = rest.trim_start().to_owned();
            if !(ch == ' ' && line.is_empty()) {
                line.push(ch);
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Strokes the outline of a box.
    fn frame(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.c.rect(x, y, w, h);
        self.c.stroke();
    }

    /// Sets `s` with its baseline's left end at (`x`, `y`).
    fn text(&mut self, x: f32, y: f32, size: f32, s: &str) {
        let mut bytes = Vec::with_capacity(s.len() * 2);
        for ch in s.chars() {
            let g = self.face.glyph_index(ch).map_or(0, |g| g.0);
            let new = self.remap.remap(g);
            if g != 0 {
                self.chars.entry(new).or_insert(ch);
            }
            bytes.extend_from_slice(&new.to_be_bytes());
        }
        self.c.begin_text();
        self.c.set_font(FONT, size);
        self.c.next_line(x, y);
        self.c.show(Str(&bytes));
        self.c.end_text();
    }

    fn centred(&mut self, y: f32, size: f32, s: &str) {
        let w = self.width(s, size);
        self.text(LEFT + (WIDTH - w) / 2.0, y, size, s);
    }
}

const LABEL: f32 = 7.5;
const LABEL_EN: f32 = 6.0;
const VALUE: f32 = 9.5;
const LEAD: f32 = 12.0;

/// Draws a box's label at the top of the box whose top-left is (`x`, `top`), `w` wide;
/// returns the y below the label.
fn label(pen: &mut Pen<'_>, x: f32, top: f32, w: f32, c: &Cell) -> f32 {
    let zh = if c.no.is_empty() {
        c.zh.clone()
    } else {
        format!("{}. {}", c.no, c.zh)
    };
    let mut y = top - 9.0;
    pen.text(x + 3.0, y, LABEL, &zh);
    let after = x + 3.0 + pen.width(&zh, LABEL) + 4.0;
    let en_w = pen.width(&c.en, LABEL_EN);
    if after + en_w <= x + w - 3.0 {
        pen.text(after, y, LABEL_EN, &c.en);
    } else {
        for line in pen.wrap(&c.en, LABEL_EN, w - 6.0) {
            y -= 7.5;
            pen.text(x + 3.0, y, LABEL_EN, &line);
        }
    }
    y - 3.0
}

/// The lines `c`'s value takes in a box `w` wide.
fn value_lines(pen: &Pen<'_>, c: &Cell, w: f32) -> Vec<String> {
    c.lines
        .iter()
        .flat_map(|l| pen.wrap(l, VALUE, w - 8.0))
        .collect()
}

/// Draws one box (label and value) at (`x`, `top`), `w` by `h`.
fn boxed(pen: &mut Pen<'_>, x: f32, top: f32, w: f32, h: f32, c: &Cell) {
    pen.frame(x, top - h, w, h);
    let mut y = label(pen, x, top, w, c) - 9.0;
    for line in value_lines(pen, c, w) {
        pen.text(x + 5.0, y, VALUE, &line);
        y -= LEAD;
    }
}

fn box_height(pen: &Pen<'_>, c: &Cell, w: f32) -> f32 {
    (value_lines(pen, c, w).len().max(1) as f32) * LEAD + 18.0
}

/// The licence as a one-page A4 PDF.
pub fn render(form: &Form, extras: &Extras<'_>, title: &str) -> Result<Vec<u8>, PdfError> {
    let font = font()?;
    let bad = |why: String| PdfError::BadFont {
        path: font.path.display().to_string(),
        why,
    };
    let face = ttf_parser::Face::parse(&font.data, 0).map_err(|e| bad(e.to_string()))?;
    let upem = f32::from(face.units_per_em());
    let mut pen = Pen {
        face,
        upem,
        remap: subsetter::GlyphRemapper::new(),
        chars: BTreeMap::new(),
        c: Content::new(),
    };
    // Many goods rows or a long remark run past the page's foot: draw again, scaled down
    // about the top centre so the whole form fits the one page.
    let bottom = draw(&mut pen, form, extras);
    if let Some(m) = fit(bottom) {
        pen.c = Content::new();
        pen.c.save_state();
        pen.c.transform(m);
        draw(&mut pen, form, extras);
        pen.c.restore_state();
    }
    let Pen {
        face,
        remap,
        chars,
        c,
        ..
    } = pen;

    let subset = subsetter::subset(&font.data, 0, &remap).map_err(|e| bad(e.to_string()))?;
    let mut pdf = Pdf::new();
    let [
        catalog,
        tree,
        page,
        content,
        type0,
        cid,
        descriptor,
        file,
        cmap,
        info,
        qr,
    ] = std::array::from_fn(|i| Ref::new(i as i32 + 1));
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1));
    p.parent(tree);
    p.contents(content);
    let mut res = p.resources();
    res.fonts().pair(FONT, type0);
    if extras.qr.is_some() {
        res.x_objects().pair(QR, qr);
    }
    res.finish();
    p.finish();
    if let Some(q) = extras.qr {
        let (side, data) = qr_image(q);
        let mut img = pdf.image_xobject(qr, &data);
        img.width(side).height(side).bits_per_component(1);
        img.color_space().device_gray();
        img.interpolate(false);
    }
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("exlic"));
    pdf.stream(content, &deflate(&c.finish()))
        .filter(Filter::FlateDecode);

    let base = Name(b"EXLICA+CJK");
    pdf.type0_font(type0)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    let scale = 1000.0 / upem;
    let widths: Vec<f32> = remap
        .remapped_gids()
        .map(|old| {
            f32::from(
                face.glyph_hor_advance(ttf_parser::GlyphId(old))
                    .unwrap_or(0),
            ) * scale
        })
        .collect();
    let mut cf = pdf.cid_font(cid);
    cf.subtype(CidFontType::Type2)
        .base_font(base)
        .system_info(system)
        .font_descriptor(descriptor)
        .default_width(1000.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cf.widths().consecutive(0, widths);
    cf.finish();
    let bbox = face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(base)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(face.ascender()) * scale)
        .descent(f32::from(face.descender()) * scale)
        .cap_height(f32::from(face.capital_height().unwrap_or(face.ascender())) * scale)
        .stem_v(80.0)
        .font_file2(file);
    pdf.stream(file, &deflate(&subset))
        .filter(Filter::FlateDecode);
    let mut uc = UnicodeCmap::new(Name(b"Custom"), system);
    for (g, ch) in chars {
        uc.pair(g, ch);
    }
    pdf.cmap(cmap, &uc.finish());
    Ok(pdf.finish())
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).expect("writing to memory");
    z.finish().expect("writing to memory")
}

/// The transform that scales a form whose last line is at `bottom` down about the top
/// centre so that line sits on the margin; `None` when it fits as drawn.
fn fit(bottom: f32) -> Option<[f32; 6]> {
    (bottom < MARGIN).then(|| {
        let k = (PAGE.1 - 2.0 * MARGIN) / (PAGE.1 - MARGIN - bottom);
        [
            k,
            0.0,
            0.0,
            k,
            (1.0 - k) * PAGE.0 / 2.0,
            (1.0 - k) * (PAGE.1 - MARGIN),
        ]
    })
}

/// Draws the form from the page's top; returns the y of its last line.
fn draw(pen: &mut Pen<'_>, form: &Form, ex: &Extras<'_>) -> f32 {
    pen.c.set_line_width(0.6);
    let mut top = PAGE.1 - 40.0;
    pen.centred(top, 16.0, TITLE.0);
    top -= 14.0;
    pen.centred(top, 8.5, TITLE.1);

    // The standing, top right, red when the licence may not be used.
    let st = &ex.standing;
    if st.ok {
        pen.c.set_fill_rgb(0.0, 0.35, 0.0);
    } else {
        pen.c.set_fill_rgb(0.75, 0.0, 0.0);
    }
    let words = format!("{} {}", st.words.0, st.words.1);
    let right = LEFT + WIDTH;
    pen.text(right - pen.width(&words, 9.0), top - 14.0, 9.0, &words);
    pen.text(
        right - pen.width(&st.detail, 6.5),
        top - 23.0,
        6.5,
        &st.detail,
    );
    pen.c.set_fill_rgb(0.0, 0.0, 0.0);
    top -= 30.0;

    // Boxes 1–11, two to a row.
    let half = WIDTH / 2.0;
    for pair in &form.pairs {
        let h = box_height(pen, &pair[0], half).max(box_height(pen, &pair[1], half));
        boxed(pen, LEFT, top, half, h, &pair[0]);
        boxed(pen, LEFT + half, top, half, h, &pair[1]);
        top -= h;
    }

    // Boxes 12–17: the goods, at least four rows as on the paper form; 18 under them.
    let cols = [0.27, 0.09, 0.12, 0.16, 0.18, 0.18].map(|f| f * WIDTH);
    let head_h = form
        .goods_head
        .iter()
        .zip(cols)
        .map(|(c, w)| {
            let zh = pen
                .wrap(&format!("{}. {}", c.no, c.zh), LABEL, w - 6.0)
                .len();
            let en = pen.wrap(&c.en, LABEL_EN, w - 6.0).len();
            zh as f32 * 9.0 + en as f32 * 7.5 + 6.0
        })
        .fold(0.0, f32::max);
    let mut x = LEFT;
    for (c, w) in form.goods_head.iter().zip(cols) {
        pen.frame(x, top - head_h, w, head_h);
        let mut y = top - 9.0;
        for line in pen.wrap(&format!("{}. {}", c.no, c.zh), LABEL, w - 6.0) {
            pen.text(x + 3.0, y, LABEL, &line);
            y -= 9.0;
        }
        for line in pen.wrap(&c.en, LABEL_EN, w - 6.0) {
            pen.text(x + 3.0, y + 1.5, LABEL_EN, &line);
            y -= 7.5;
        }
        x += w;
    }
    top -= head_h;
    let mut rows: Vec<Vec<Vec<String>>> = form
        .goods
        .iter()
        .map(|g| {
            g.iter()
                .zip(cols)
                .map(|(v, w)| pen.wrap(v, VALUE, w - 8.0))
                .collect()
        })
        .collect();
    while rows.len() < 4 {
        rows.push(vec![Vec::new(); 6]);
    }
    for row in &rows {
        let lines = row.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let h = lines as f32 * LEAD + 6.0;
        let mut x = LEFT;
        for (i, (cell, w)) in row.iter().zip(cols).enumerate() {
            pen.frame(x, top - h, w, h);
            let mut y = top - 12.0;
            for line in cell {
                // Numbers right-aligned, text left.
                let lx = if i >= 2 {
                    x + w - 4.0 - pen.width(line, VALUE)
                } else {
                    x + 4.0
                };
                pen.text(lx, y, VALUE, line);
                y -= LEAD;
            }
            x += w;
        }
        top -= h;
    }
    let total_w: f32 = cols[..4].iter().sum();
    let h = 20.0;
    pen.frame(LEFT, top - h, total_w, h);
    let t = format!("{}. {}", form.total.no, form.total.zh);
    pen.text(LEFT + 3.0, top - 13.0, LABEL, &t);
    pen.text(
        LEFT + 7.0 + pen.width(&t, LABEL),
        top - 13.0,
        LABEL_EN,
        &form.total.en,
    );
    let mut x = LEFT + total_w;
    for (v, w) in form.total_values.iter().zip(&cols[4..]) {
        pen.frame(x, top - h, *w, h);
        pen.text(x + w - 4.0 - pen.width(v, VALUE), top - 13.5, VALUE, v);
        x += w;
    }
    top -= h;

    // 19 (备注) beside 20 (the seal with the QR code), 21 under 20.
    let qr_side: f32 = 190.0;
    // As tall as the QR code needs, or the remarks if they are longer.
    let seal_h = (44.0 + qr_side).max(box_height(pen, &form.remarks, half));
    boxed(pen, LEFT, top, half, seal_h, &form.remarks);
    boxed(pen, LEFT + half, top, half, seal_h, &form.seal);
    if ex.qr.is_some() {
        draw_qr(
            pen,
            LEFT + half + (half - qr_side) / 2.0,
            top - seal_h + 6.0,
            qr_side,
        );
    }
    top -= seal_h;
    let h = 34.0;
    pen.frame(LEFT, top - h, half, h);
    let mut y = top - 11.0;
    for (k, v) in &form.notes {
        pen.text(LEFT + 4.0, y, LABEL, &format!("{k}: {v}"));
        y -= 9.5;
    }
    boxed(pen, LEFT + half, top, half, h, &form.issue_date);
    top -= h;

    for line in pen.wrap(&ex.footer, 7.0, WIDTH) {
        top -= 11.0;
        pen.text(LEFT, top, 7.0, &line);
    }

    if !st.ok {
        // Stamped across the form in red, so no one mistakes it for a usable licence.
        let stamp = format!("{} {}", st.words.0, st.words.1.to_uppercase());
        pen.c.save_state();
        pen.c.set_fill_rgb(0.8, 0.0, 0.0);
        let (s, c) = (0.5_f32, 0.866_f32);
        pen.c.transform([c, s, -s, c, PAGE.0 / 2.0, PAGE.1 / 2.0]);
        let w = pen.width(&stamp, 48.0);
        pen.text(-w / 2.0, 0.0, 48.0, &stamp);
        pen.c.restore_state();
    }
    top
}

/// Places the QR image (drawn by [`qr_image`]) as a `side`-point square at (`x`, `y`).
fn draw_qr(pen: &mut Pen<'_>, x: f32, y: f32, side: f32) {
    pen.c.save_state();
    pen.c.transform([side, 0.0, 0.0, side, x, y]);
    pen.c.x_object(QR);
    pen.c.restore_state();
}

/// The QR code as a 1-bit grey image, a module a pixel with the quiet zone of four: a
/// viewer scales it without seams between modules. Returns the side in pixels and the rows.
fn qr_image(qr: &QrModules) -> (i32, Vec<u8>) {
    let n = qr.width;
    let side = n + 8;
    let row_bytes = side.div_ceil(8);
    let mut data = vec![0xFF; row_bytes * side];
    for row in 0..n {
        for col in 0..n {
            if qr.dark[row * n + col] {
                let (r, c) = (row + 4, col + 4);
                data[r * row_bytes + c / 8] &= !(0x80 >> (c % 8));
            }
        }
    }
    (i32::try_from(side).unwrap_or(i32::MAX), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_pdf(ok: bool) -> Vec<u8> {
        let mut l = exlic_client::sample::licence();
        l.remarks = "非一批一证 up to twelve declarations, a long remark that has to wrap inside box nineteen".into();
        let form = super::super::licence_form::form(&l, false, &|k| k.to_owned());
        let qr = qrcode::QrCode::new(b"EXLIC-LICREF1:26AA000001:00:00").unwrap();
        let qr = QrModules::from(&qr);
        let extras = Extras {
            qr: Some(&qr),
            standing: StandingLine {
                ok,
                words: ("已删证".into(), "Deleted".into()),
                detail: "状态截至 2026-12-02 10:00".into(),
            },
            footer: "二维码包含签名许可证".into(),
        };
        render(&form, &extras, &l.licence_no)
            .expect("the CJK font is installed (fonts-wqy-microhei)")
    }

    #[test]
    fn one_a4_page_with_a_subset_font_and_the_text_findable() {
        let pdf = sample_pdf(false);
        if let Ok(dir) = std::env::var("EXLIC_PDF_OUT") {
            std::fs::write(format!("{dir}/sample.pdf"), &pdf).unwrap();
        }
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(
            text.matches("/Type /Page\n").count() + text.matches("/Type /Page ").count(),
            1
        );
        assert!(text.contains("/FontFile2"), "the font is embedded");
        assert!(
            text.contains("/ToUnicode"),
            "text can be searched and copied"
        );
        // The whole font is megabytes; the subset of the glyphs used is small.
        assert!(pdf.len() < 150_000, "{} bytes", pdf.len());
    }

    #[test]
    fn many_goods_rows_and_a_long_remark_still_fit_one_page() {
        let mut l = exlic_client::sample::licence();
        l.lines = (0..14).map(|_| l.lines[0].clone()).collect();
        l.remarks = "非一批一证，分批出运。".repeat(50);
        let form = super::super::licence_form::form(&l, false, &|k| k.to_owned());
        let qr = QrModules::from(&qrcode::QrCode::new(b"EXLIC-LICREF1:26AA000001:00:00").unwrap());
        let extras = Extras {
            qr: Some(&qr),
            standing: StandingLine {
                ok: true,
                words: ("有效".into(), "Valid".into()),
                detail: String::new(),
            },
            footer: "二维码".into(),
        };
        let font = font().expect("the CJK font is installed");
        let face = ttf_parser::Face::parse(&font.data, 0).unwrap();
        let mut pen = Pen {
            upem: f32::from(face.units_per_em()),
            face,
            remap: subsetter::GlyphRemapper::new(),
            chars: BTreeMap::new(),
            c: Content::new(),
        };
        let bottom = draw(&mut pen, &form, &extras);
        assert!(bottom < MARGIN, "this form is longer than a page: {bottom}");
        // Scaled, its last line sits on the margin and its first stays where it was.
        let m = fit(bottom).expect("scaled");
        let y = |y: f32| m[3] * y + m[5];
        assert!((y(bottom) - MARGIN).abs() < 0.01, "{}", y(bottom));
        assert!((y(PAGE.1 - MARGIN) - (PAGE.1 - MARGIN)).abs() < 0.01);
        assert!(m[0] > 0.5, "still legible: scale {}", m[0]);
        assert_eq!(
            fit(MARGIN + 1.0),
            None,
            "a form that fits is drawn as it is"
        );
        let pdf = render(&form, &extras, &l.licence_no).unwrap();
        if let Ok(dir) = std::env::var("EXLIC_PDF_OUT") {
            std::fs::write(format!("{dir}/long.pdf"), &pdf).unwrap();
        }
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(
            text.matches("/Type /Page\n").count() + text.matches("/Type /Page ").count(),
            1
        );
    }

    #[test]
    fn words_wrap_at_spaces_and_chinese_anywhere() {
        let font = font().expect("the CJK font is installed");
        let face = ttf_parser::Face::parse(&font.data, 0).unwrap();
        let pen = Pen {
            upem: f32::from(face.units_per_em()),
            face,
            remap: subsetter::GlyphRemapper::new(),
            chars: BTreeMap::new(),
            c: Content::new(),
        };
        let lines = pen.wrap("Issuing authority's stamp & signature", 10.0, 80.0);
        assert!(lines.len() > 1);
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with(' ') && !l.ends_with(' ')),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), "Issuing authority's stamp & signature");
        let zh = pen.wrap("中华人民共和国出口许可证", 10.0, 45.0);
        assert!(zh.len() > 2, "{zh:?}");
        assert_eq!(zh.concat(), "中华人民共和国出口许可证");
        assert_eq!(pen.wrap("", 10.0, 45.0), [""]);
    }
}
