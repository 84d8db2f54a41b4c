//! 申请表号 allocation from a block of numbers held locally (DESIGN.md "Numbers without a
//! round trip"): a block is a first number and a count; numbers are 21 digits.

/// A block of application numbers: `first`, `first + 1`, … `first + len - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberBlock {
    /// The first number of the block.
    pub first: u128,
    /// How many numbers the block holds.
    pub len: u64,
    /// How many have been used.
    pub used: u64,
}

/// Largest 21-digit number.
const MAX: u128 = 999_999_999_999_999_999_999;

/// Why a block or an allocation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// The text is not `FIRST:COUNT` with a 21-digit first number.
    #[error(
        "number block must be FIRST:COUNT with FIRST of 21 digits, e.g. 249999400000560600000:1000"
    )]
    Syntax,
    /// The block runs past 21 digits.
    #[error("number block runs past 21 digits")]
    Overflow,
    /// Every number has been used.
    #[error("no application numbers left in the local block; sync with the authority to get more")]
    Exhausted,
}

impl NumberBlock {
    /// Parses `FIRST:COUNT`.
    pub fn parse(s: &str) -> Result<Self, NumberError> {
        let (first, len) = s.split_once(':').ok_or(NumberError::Syntax)?;
        if first.len() != 21 || !first.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NumberError::Syntax);
        }
        let first: u128 = first.parse().map_err(|_| NumberError::Syntax)?;
        let len: u64 = len.parse().map_err(|_| NumberError::Syntax)?;
        if len == 0 {
            return Err(NumberError::Syntax);
        }
        if first + u128::from(len) - 1 > MAX {
            return Err(NumberError::Overflow);
        }
        Ok(Self {
            first,
            len,
            used: 0,
        })
    }

    /// Numbers still free.
    pub fn remaining(&self) -> u64 {
        self.len - self.used
    }

    /// Takes the next number, as 21 zero-padded digits.
    pub fn allocate(&mut self) -> Result<String, NumberError> {
        if self.used >= self.len {
            return Err(NumberError::Exhausted);
        }
        let n = self.first + u128::from(self.used);
        self.used += 1;
        Ok(format!("{n:021}"))
    }
}

/// Where an office's 申请表号 blocks start in the year of `today`: the year's two digits,
/// the office's two digits from the agency registry (`agency_block`, unique among
/// agencies), then 17 digits of serial space. No two offices, and no two years, share a
/// number.
pub fn office_block_start(today: jiff::civil::Date, agency_block: u8) -> u128 {
    let yy = (today.year() % 100) as u128;
    yy * 10u128.pow(19) + u128::from(agency_block % 100) * 10u128.pow(17)
}

/// The first number of the next block an office hands out: where it stopped, or the start
/// of this year's space if it stopped in an earlier year's (or has not begun).
pub fn office_next_block(
    stopped_at: Option<u128>,
    today: jiff::civil::Date,
    agency_block: u8,
) -> u128 {
    let start = office_block_start(today, agency_block);
    stopped_at.filter(|n| *n >= start).unwrap_or(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_in_order_until_exhausted() {
        let mut b = NumberBlock::parse("249999400000560600095:2").unwrap();
        assert_eq!(b.allocate().unwrap(), "249999400000560600095");
        assert_eq!(b.allocate().unwrap(), "249999400000560600096");
        assert_eq!(b.allocate(), Err(NumberError::Exhausted));
        assert_eq!(b.remaining(), 0);
    }

    #[test]
    fn bad_blocks_are_refused() {
        assert_eq!(NumberBlock::parse("12:5"), Err(NumberError::Syntax));
        assert_eq!(
            NumberBlock::parse("249999400000560600095"),
            Err(NumberError::Syntax)
        );
        assert_eq!(
            NumberBlock::parse("249999400000560600095:0"),
            Err(NumberError::Syntax)
        );
        assert_eq!(
            NumberBlock::parse("999999999999999999999:2"),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            NumberBlock::parse("000000000000000000001:3")
                .unwrap()
                .allocate()
                .unwrap(),
            "000000000000000000001"
        );
    }

    #[test]
    fn an_office_block_starts_at_its_year_and_agency() {
        let start = office_block_start(jiff::civil::date(2026, 5, 1), 90);
        assert_eq!(format!("{start:021}"), "269000000000000000000");
        assert_eq!(
            format!(
                "{:021}",
                office_block_start(jiff::civil::date(2027, 1, 1), 50)
            ),
            "275000000000000000000"
        );
    }

    #[test]
    fn the_next_block_moves_to_the_new_years_space() {
        let d26 = jiff::civil::date(2026, 12, 31);
        let d27 = jiff::civil::date(2027, 1, 1);
        assert_eq!(
            office_next_block(None, d26, 90),
            269_000_000_000_000_000_000
        );
        let stopped = 269_000_000_000_000_001_000;
        assert_eq!(office_next_block(Some(stopped), d26, 90), stopped);
        assert_eq!(
            office_next_block(Some(stopped), d27, 90),
            279_000_000_000_000_000_000
        );
    }
}
