//! Reads the QR code in an uploaded photo or screenshot (PNG or JPEG) of an e-licence
//! page, so a customs officer with a phone camera and no scanner can present a licence.

use std::io::Cursor;

/// Larger uploads are refused before decoding.
pub const MAX_BYTES: usize = 16 << 20;
/// Photos are scaled down to this many pixels on the long side before the search.
const MAX_SIDE: u32 = 2048;

/// Why no QR text came out of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Not a PNG or JPEG this decoder reads, or larger than it accepts.
    #[error("not a PNG or JPEG image that can be read")]
    Unreadable,
    /// An image with no QR code that decodes.
    #[error("no readable QR code in the image")]
    NoCode,
}

impl ScanError {
    /// Catalogue key of the message.
    pub fn message_key(self) -> &'static str {
        match self {
            Self::Unreadable => "customs.qr.unreadable",
            Self::NoCode => "customs.qr.none",
        }
    }
}

/// The text of the first QR code in `bytes` that decodes. CPU-bound: call it off the
/// async workers.
pub fn read(bytes: &[u8]) -> Result<String, ScanError> {
    if bytes.len() > MAX_BYTES {
        return Err(ScanError::Unreadable);
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ScanError::Unreadable)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    let mut img = reader.decode().map_err(|_| ScanError::Unreadable)?;
    if img.width().max(img.height()) > MAX_SIDE {
        img = img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::Triangle);
    }
    let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|g| g.decode().ok().map(|(_, text)| text))
        .ok_or(ScanError::NoCode)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of `text` as a QR code, `scale` pixels a module, with a quiet zone.
    fn png_of(text: &str, scale: u32) -> Vec<u8> {
        let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::L).unwrap();
        let w = code.width() as u32;
        let side = (w + 8) * scale;
        let colors = code.to_colors();
        let img = image::GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = ((x / scale) as i64 - 4, (y / scale) as i64 - 4);
            let dark = (0..w as i64).contains(&mx)
                && (0..w as i64).contains(&my)
                && colors[(my * w as i64 + mx) as usize] == qrcode::Color::Dark;
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_screenshot_of_a_licence_code_reads_back_and_junk_is_named() {
        let text = format!("EXLIC-LIC1:{}", "A".repeat(1400));
        assert_eq!(read(&png_of(&text, 2)).as_deref(), Ok(text.as_str()));
        assert_eq!(read(b"not an image"), Err(ScanError::Unreadable));
        let blank = png_of("x", 3);
        let mut img = image::load_from_memory(&blank).unwrap().to_luma8();
        img.pixels_mut().for_each(|p| p.0 = [255]);
        let mut white = Vec::new();
        img.write_to(&mut Cursor::new(&mut white), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(read(&white), Err(ScanError::NoCode));
    }
}
