//! The unified social credit code (统一社会信用代码, USCC) check of GB 32100-2015.
//!
//! 18 characters from a 31-character alphabet (no I, O, S, V or Z); character 18 is a
//! check character over the first 17 with weights 3^(i-1) mod 31.

/// The 31 characters a USCC may contain; a character's value is its index.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights for positions 1..=17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a string is not a valid USCC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsccError {
    /// Not exactly 18 characters.
    #[error("must be 18 characters, got {0}")]
    Length(usize),
    /// A character outside `0-9A-HJ-NPQRTUWXY` at the given 1-based position.
    #[error("character {0} is not allowed (only 0-9 and A-Y without I, O, S, V, Z)")]
    Character(usize),
    /// The check character (position 18) does not match.
    #[error("check character should be {expected}")]
    Checksum {
        /// The check character the first 17 characters call for.
        expected: char,
    },
}

fn value(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// Computes the check character for the first 17 characters of a USCC.
pub fn check_char(first17: &str) -> Result<char, UsccError> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return Err(UsccError::Length(bytes.len()));
    }
    let mut sum = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        sum += value(b).ok_or(UsccError::Character(i + 1))? * WEIGHTS[i];
    }
    let c = (31 - sum % 31) % 31;
    Ok(CHARSET[c as usize] as char)
}

/// Checks format and checksum of a USCC.
pub fn validate(code: &str) -> Result<(), UsccError> {
    let n = code.chars().count();
    if n != 18 {
        return Err(UsccError::Length(n));
    }
    if let Some(pos) = code.chars().position(|c| !c.is_ascii()) {
        return Err(UsccError::Character(pos + 1));
    }
    let expected = check_char(&code[..17])?;
    let last = code.as_bytes()[17];
    if value(last).is_none() {
        return Err(UsccError::Character(18));
    }
    if last as char != expected {
        return Err(UsccError::Checksum { expected });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_from_the_domain_reference_pass() {
        for code in [
            "91350100M000100Y43",
            "913502000728319549",
            "91440101MA5CJQ4N59",
            "91110000600037341L",
        ] {
            assert_eq!(validate(code), Ok(()), "{code}");
        }
    }

    #[test]
    fn worked_example_sum_gives_check_char_3() {
        assert_eq!(check_char("91350100M000100Y4"), Ok('3'));
    }

    #[test]
    fn known_registry_exception_fails_the_checksum() {
        assert!(matches!(
            validate("91350203M0001QAY9B"),
            Err(UsccError::Checksum { .. })
        ));
    }

    #[test]
    fn wrong_length_and_characters_are_named() {
        assert_eq!(validate("9135010"), Err(UsccError::Length(7)));
        assert_eq!(
            validate("91350100M000100I43"),
            Err(UsccError::Character(16))
        );
        assert_eq!(
            validate("91350100M000100Y4O"),
            Err(UsccError::Character(18))
        );
        assert_eq!(
            validate("91350100M000100Y4中"),
            Err(UsccError::Character(18))
        );
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let good = "91350100M000100Y43";
        for pos in 0..18 {
            for &c in CHARSET {
                if good.as_bytes()[pos] == c {
                    continue;
                }
                let mut b = good.as_bytes().to_vec();
                b[pos] = c;
                let s = String::from_utf8(b).unwrap();
                assert!(validate(&s).is_err(), "{s} should fail");
            }
        }
    }
}
